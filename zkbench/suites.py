"""Named sweeps: which workload sizes a suite runs. Provers default to every available one.

``quick`` takes each workload's ``quick_sizes()`` and ``full`` its ``sizes()``; any other suite
is what the workloads declare in their optional ``suites()`` mapping (``coi-params``,
``coi-depth``, ``paper``). A workload that does not name a suite is not in it.
"""

from __future__ import annotations

from typing import Any

from zkbench import registry

DESCRIPTIONS = {
    "quick": "the small sizes of every workload: a first look (about 12 min with the peers)",
    "full": "every size of every workload",
    "coi-params": "The Cost of Intelligence, parameter suite: 12 MLPs, 49k to 18.3M params",
    "coi-depth": "The Cost of Intelligence, depth suite: 14 MLPs, 3 to 500 layers",
    "paper": "representative sizes of every workload, for the committed reference run",
}


class UnknownSuite(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def _declared(workload: Any) -> dict[str, list[str]]:
    return dict(workload.suites()) if hasattr(workload, "suites") else {}


def suite_names() -> list[str]:
    names = dict.fromkeys(DESCRIPTIONS)
    for wname in registry.workload_names():
        names.update(dict.fromkeys(_declared(registry.create_workload(wname))))
    return list(names)


def suite_sizes(name: str, workloads: list[str] | None = None) -> dict[str, list[str]]:
    """workload -> sizes for suite ``name`` (restricted to ``workloads`` when given)."""
    if name not in suite_names():
        raise UnknownSuite(f"unknown suite {name!r}; known: {', '.join(suite_names())}")
    out: dict[str, list[str]] = {}
    for wname in workloads or registry.workload_names():
        w: Any = registry.create_workload(wname)
        if name == "quick":
            sizes = list(w.quick_sizes())
        elif name == "full":
            sizes = list(w.sizes())
        else:
            sizes = list(_declared(w).get(name, []))
        if sizes:
            out[wname] = sizes
    return out

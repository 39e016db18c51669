"""Named sweeps: which workload sizes a suite runs. Provers default to every available one."""

from __future__ import annotations

from typing import Any

from zkbench import registry


class UnknownSuite(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


SUITES = {
    "quick": "the small sizes of every workload: a first look in under two minutes",
    "full": "every size of every workload",
}


def suite_sizes(name: str, workloads: list[str] | None = None) -> dict[str, list[str]]:
    """workload -> sizes for suite ``name`` (restricted to ``workloads`` when given)."""
    if name not in SUITES:
        raise UnknownSuite(f"unknown suite {name!r}; known: {', '.join(SUITES)}")
    out: dict[str, list[str]] = {}
    for wname in workloads or registry.workload_names():
        w: Any = registry.create_workload(wname)
        out[wname] = list(w.quick_sizes() if name == "quick" else w.sizes())
    return out

"""Which provers and workloads exist: explicit in-tree tables plus installed entry points.

In-tree entries are named as ``module:Class`` and imported only when used, so ``zkbench list``
stays fast and a prover whose dependencies are missing is reported, not fatal. Out-of-tree
packages register under the entry-point groups ``zkbench.provers`` and ``zkbench.workloads``.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

PROVERS: dict[str, str] = {
    "null": "provers.null:NullProver",
    "plain": "provers.plain:PlainProver",
    "gkr": "provers.gkr.adapter:GkrProver",
    "gkr-cw": "provers.gkr.adapter:GkrCommittedProver",
    "gkr-ca": "provers.gkr.adapter:GkrCommittedAdviceProver",
    "gkr-zk": "provers.gkr.adapter:GkrZkProver",
    "ezkl": "provers.ezkl.adapter:EzklProver",
    "ezkl-cw": "provers.ezkl.adapter:EzklCommittedProver",
    "snarkjs-groth16": "provers.snarkjs.adapter:SnarkjsGroth16Prover",
    "snarkjs-groth16-cw": "provers.snarkjs.adapter:SnarkjsGroth16CommittedProver",
}

WORKLOADS: dict[str, str] = {
    "matmul": "workloads.matmul:MatMul",
    "mlp": "workloads.mlp:Mlp",
    "cnn": "workloads.cnn:Cnn",
    "chess": "workloads.chess:Chess",
    "decision_tree": "workloads.decision_tree:DecisionTree",
}

# Workloads built from a user's file (``zkbench run --model``): created with arguments, never
# listed, never in a suite.
FILE_WORKLOADS: dict[str, str] = {
    "onnx_file": "workloads.onnx_file:OnnxFile",
}

PROVER_GROUP = "zkbench.provers"
WORKLOAD_GROUP = "zkbench.workloads"


class UnknownName(KeyError):
    """An unknown prover or workload; the message lists the known ones."""

    def __str__(self) -> str:
        return str(self.args[0])


def _targets(table: dict[str, str], group: str) -> dict[str, str]:
    found = dict(table)
    for ep in entry_points(group=group):
        found.setdefault(ep.name, ep.value)
    return found


def prover_names() -> list[str]:
    return list(_targets(PROVERS, PROVER_GROUP))


def workload_names() -> list[str]:
    return list(_targets(WORKLOADS, WORKLOAD_GROUP))


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def prover_class(name: str) -> type:
    targets = _targets(PROVERS, PROVER_GROUP)
    if name not in targets:
        raise UnknownName(f"unknown prover {name!r}; known: {', '.join(targets)}")
    return _load(targets[name])


def create_prover(name: str, backend: str = "cpu") -> Any:
    return prover_class(name)(backend=backend)


def create_workload(name: str, **args: Any) -> Any:
    """A workload instance; ``args`` are a file workload's arguments (``FILE_WORKLOADS``)."""
    if name in FILE_WORKLOADS:
        return _load(FILE_WORKLOADS[name])(**args)
    targets = _targets(WORKLOADS, WORKLOAD_GROUP)
    if name not in targets:
        raise UnknownName(f"unknown workload {name!r}; known: {', '.join(targets)}")
    return _load(targets[name])()


def prover_status(name: str) -> tuple[Any | None, str | None]:
    """(prover instance, None) when it loads and runs here, else (instance or None, reason)."""
    try:
        prover = create_prover(name)
    except UnknownName:
        raise
    except Exception as exc:  # a broken plug-in is reported by `zkbench list`, not fatal
        return None, f"cannot load: {exc.__class__.__name__}: {exc}"
    return prover, prover.available()

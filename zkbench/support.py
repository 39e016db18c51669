"""Which provers can take a model, and what stops the others: the op, the node, the prover.

Every in-tree prover starts from zkbench's quantized model, so an ONNX op the quantizer does
not lower stops them all; an op of the quantized model a prover does not list in its
capabilities stops that prover; ``compile`` may still refuse (the GKR prover refuses bounds
that could wrap its field). ``zkbench inspect``, ``zkbench run --model`` and
``zkbench prove --model`` ask here before any cell runs, so a model nobody can take ends in
one line and no results.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx

from zkbench.quantize import SUPPORTED_ONNX_OPS


@dataclass(frozen=True)
class Stop:
    """Why one prover cannot take a model. ``op``/``node`` name the ONNX node when one is
    to blame; ``model`` is False for reasons of the machine (prover not installed)."""

    reason: str
    op: str = ""
    node: str = ""
    model: bool = True


def unsupported_node(model: onnx.ModelProto) -> onnx.NodeProto | None:
    """The first node of op type the quantizer cannot lower (any op of another domain)."""
    for node in model.graph.node:
        if node.domain not in ("", "ai.onnx") or node.op_type not in SUPPORTED_ONNX_OPS:
            return node
    return None


def stops(fmodel: onnx.ModelProto, qmodel: Any, provers: list[str], backend: str = "cpu",
          compile_check: bool = False) -> dict[str, Stop | None]:
    """prover -> None when it can take ``qmodel`` here, else what stops it. With
    ``compile_check`` a prover that lists every op also compiles the model (in a temporary
    folder), which is where size and bound limits show."""
    from provers.base import Unsupported
    from zkbench import registry

    op_of = {n.name: n.op_type for n in fmodel.graph.node}
    out: dict[str, Stop | None] = {}
    for name in provers:
        prover, reason = registry.prover_status(name)
        if prover is None or reason:
            out[name] = Stop(f"unavailable here: {reason}", model=False)
            continue
        ops = prover.capabilities().ops
        missing = next((n for n in qmodel.nodes if n.op not in ops), None)
        if missing is not None:
            onnx_op = op_of.get(missing.name, "?")
            out[name] = Stop(f"op {onnx_op} at node {missing.name!r} (quantized as "
                             f"{missing.op})", onnx_op, missing.name)
            continue
        reason = prover.skip_reason(qmodel, "", backend)
        if reason:
            out[name] = Stop(reason)
            continue
        out[name] = None
        if compile_check:
            with tempfile.TemporaryDirectory(prefix="zkbench-inspect-") as tmp:
                try:
                    prover.compile(qmodel, Path(tmp))
                except Unsupported as exc:
                    out[name] = Stop(f"its compiler refuses: {exc}")
    return out


def unsupported_line(where: str, node: onnx.NodeProto, provers: list[str]) -> str:
    return (f"{where}: op {node.op_type} at node {node.name!r} is not supported by "
            f"{', '.join(provers)} (zkbench's quantizer has no {node.op_type})")


def summary_line(where: str, found: dict[str, Stop | None]) -> str:
    """One line for provers that cannot take a model: grouped by op and node when those are
    what stops them."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for prover, stop in found.items():
        if stop is None:
            continue
        key = (stop.op, stop.node, "" if stop.op else stop.reason)
        groups.setdefault(key, []).append(prover)
    parts = []
    for (op, node, reason), names in groups.items():
        if op:
            parts.append(f"op {op} at node {node!r} is not supported by {', '.join(names)}")
        else:
            parts.append(f"{', '.join(names)}: {reason}")
    return f"{where}: {'; '.join(parts)}"

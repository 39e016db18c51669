"""ONNX graph facts the harness needs: checks, float reference output, params, MACs, digest."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper


class ModelError(ValueError):
    """A model file or graph that zkbench cannot use; the message names the file or node."""


def load(path: Path) -> onnx.ModelProto:
    path = Path(path)
    try:
        model = onnx.load(str(path))
    except FileNotFoundError as exc:
        raise ModelError(f"{path}: no such model file") from exc
    except Exception as exc:  # onnx raises DecodeError and others for garbage
        raise ModelError(f"{path}: not a readable ONNX model ({exc.__class__.__name__})") from exc
    check(model, where=str(path))
    return model


def check(model: onnx.ModelProto, where: str = "model") -> None:
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as exc:
        # The checker's reason can span lines ("... of node: \nname: r OpType: Relu\n is not
        # ..."): one line, so it reads whole in a terminal and a log.
        reason = " ".join(part.strip() for part in str(exc).splitlines() if part.strip())
        raise ModelError(f"{where}: fails onnx's checker: {reason or 'invalid graph'}") from exc


def digest(model: onnx.ModelProto) -> str:
    return hashlib.sha256(model.SerializeToString(deterministic=True)).hexdigest()


def initializers(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def n_params(model: onnx.ModelProto) -> int:
    return int(sum(int(np.prod(t.dims)) for t in model.graph.initializer))


def n_macs(model: onnx.ModelProto) -> int:
    """Multiply-accumulates of MatMul, Gemm and Conv nodes, from inferred static shapes."""
    inferred = onnx.shape_inference.infer_shapes(model)
    shapes: dict[str, tuple[int, ...]] = {}
    for vi in [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]:
        dims = tuple(d.dim_value for d in vi.type.tensor_type.shape.dim)
        shapes[vi.name] = dims
    for t in model.graph.initializer:
        shapes[t.name] = tuple(t.dims)
    total = 0
    for node in model.graph.node:
        if node.op_type in ("MatMul", "Gemm"):
            out = shapes.get(node.output[0], ())
            a = shapes.get(node.input[0], ())
            trans_a = any(at.name == "transA" and at.i for at in node.attribute)
            k = (a[-2] if trans_a else a[-1]) if a else 0
            total += int(np.prod(out)) * int(k) if out else 0
        elif node.op_type == "Conv":
            out = shapes.get(node.output[0], ())
            w = shapes.get(node.input[1], ())
            if out and w:
                total += int(np.prod(out)) * int(np.prod(w[1:]))
    return total


def run_float(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    """The float model's output on ``x`` with onnxruntime: the fidelity reference."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    name = session.get_inputs()[0].name
    return session.run(None, {name: np.asarray(x, dtype=np.float32)})[0]

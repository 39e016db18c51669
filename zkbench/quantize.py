"""Float ONNX model -> fixed-point integer model (QuantizedModel), and fidelity metrics.

Symmetric, per-tensor, power-of-two scales: a tensor with largest magnitude m gets the largest
scale exponent s with m * 2**s <= 2**(bits-1) - 1, so it fits signed ``bits``-bit integers.
Weights are scaled from their own values; activations from a calibration input run through a
float64 evaluation of the same graph. Products keep the exact accumulator scale (s_a + s_b);
before an accumulator feeds another matrix product it is rescaled (a rounding shift) back to
the calibrated ``bits``-bit range. This is the int8-between-layers scheme of DeepProve and most
int8 deployments, restricted to power-of-two scales so every rescale is provable as a shift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import numpy_helper

from zkbench.qmodel import QNode, QuantizedModel

SUPPORTED_ONNX_OPS = ("MatMul", "Gemm", "Add", "Mul", "Relu", "Identity", "Reshape", "Flatten",
                      "Transpose")
MATRIX_OPS = ("matmul",)


class QuantizationError(ValueError):
    """The model cannot be quantized; the message names the op and node."""


@dataclass(frozen=True)
class Fidelity:
    max_abs_err: float
    top1_agree: float | None


def scale_exponent(max_abs: float, bits: int) -> int:
    """Largest s with max_abs * 2**s <= 2**(bits-1) - 1 (0 for an all-zero tensor)."""
    limit = 2 ** (bits - 1) - 1
    if max_abs <= 0 or not math.isfinite(max_abs):
        return 0
    return math.floor(math.log2(limit / max_abs))


def quantize_tensor(x: np.ndarray, s: int, bits: int) -> np.ndarray:
    limit = 2 ** (bits - 1) - 1
    return np.clip(np.rint(np.asarray(x, np.float64) * 2.0**s), -limit, limit).astype(np.int64)


def quantize(
    model: onnx.ModelProto,
    calibration: np.ndarray,
    bits: int = 8,
    output_kind: str = "values",
) -> QuantizedModel:
    """Quantize ``model`` (one input, one output); ``calibration`` is one input or a batch of
    inputs (an extra leading axis) from which activation scales are taken."""
    if not 2 <= bits <= 16:
        raise QuantizationError(f"quantization bits must be in [2, 16], got {bits}")
    graph = model.graph
    init = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in init]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise QuantizationError(
            f"model {graph.name!r}: needs exactly one input and one output, "
            f"has {len(inputs)} and {len(graph.output)}"
        )
    input_name, output_name = inputs[0].name, graph.output[0].name
    x = np.asarray(calibration, np.float64)
    declared = tuple(d.dim_value for d in inputs[0].type.tensor_type.shape.dim)
    # A calibration batch (one more leading axis) sets scales from many inputs at once.
    input_shape = x.shape[1:] if x.ndim == len(declared) + 1 else x.shape

    b = _Builder(bits, init, batched=x.ndim == len(declared) + 1)
    b.add_input(input_name, x)
    for node in graph.node:
        b.add_onnx_node(node)
    out = b.alias.get(output_name, output_name)
    if out not in b.scale:
        raise QuantizationError(f"model {graph.name!r}: output {output_name!r} is never computed")
    used = {n for node in b.nodes for n in node.inputs}
    constants = {k: v for k, v in b.constants.items() if k in used}
    return QuantizedModel(
        name=graph.name or "model",
        input_name=input_name,
        input_shape=tuple(input_shape),
        output_name=out,
        bits=bits,
        nodes=tuple(b.nodes),
        constants=constants,
        scale_bits=dict(b.scale),
        bounds=dict(b.bound),
        output_kind=output_kind,
        source=model,
    )


class _Builder:
    """Walks the ONNX graph once, emitting integer nodes and a float64 shadow for calibration."""

    def __init__(self, bits: int, init: dict[str, np.ndarray], batched: bool) -> None:
        self.batched = batched
        """Activations' float shadows carry a leading calibration-batch axis."""
        self.bits = bits
        self.limit = 2 ** (bits - 1) - 1
        self.init = init
        self.float: dict[str, np.ndarray] = {}
        self.scale: dict[str, int] = {}
        self.bound: dict[str, int] = {}
        self.constants: dict[str, np.ndarray] = {}
        self.nodes: list[QNode] = []
        self.alias: dict[str, str] = {}

    def add_input(self, name: str, x: np.ndarray) -> None:
        self.float[name] = x
        self.scale[name] = scale_exponent(float(np.max(np.abs(x))), self.bits)
        self.bound[name] = self.limit

    def resolve(self, name: str) -> str:
        return self.alias.get(name, name)

    def operand(self, name: str, node: onnx.NodeProto, scale: int | None = None) -> str:
        """An integer tensor for ``name``: quantizing a constant on first use."""
        name = self.resolve(name)
        if name in self.scale:
            return name
        if name not in self.init:
            raise QuantizationError(
                f"node {node.name!r} ({node.op_type}): input {name!r} is not computed before use"
            )
        value = self.init[name]
        s = scale if scale is not None else scale_exponent(float(np.max(np.abs(value))), self.bits)
        q = np.rint(value * 2.0**s).astype(np.int64)
        if scale is None:
            q = np.clip(q, -self.limit, self.limit)
        self.constants[name] = q
        self.float[name] = value
        self.scale[name] = s
        self.bound[name] = int(np.max(np.abs(q))) if q.size else 0
        return name

    def emit(self, op: str, inputs: tuple[str, ...], out: str, node_name: str,
             scale: int, bound: int, value: np.ndarray, **attrs: int) -> str:
        self.nodes.append(QNode(op, inputs, out, node_name, dict(attrs)))
        self.scale[out] = scale
        self.bound[out] = bound
        self.float[out] = value
        return out

    def narrow(self, name: str, node_name: str) -> str:
        """Rescale an accumulator back to ``bits``-bit range before it feeds a matrix product."""
        if self.bound[name] <= self.limit:
            return name
        value = self.float[name]
        target = scale_exponent(float(np.max(np.abs(value))), self.bits)
        shift = self.scale[name] - target
        if shift <= 0:
            return name
        # The shift is calibrated, the bound stays worst case: exactness and range checks
        # downstream rely on it being true for every input, not only the calibration input.
        bound = (self.bound[name] >> shift) + 1
        return self.emit("rescale", (name,), f"{name}/rescaled", node_name,
                         target, bound, value, shift=shift)

    def add_onnx_node(self, node: onnx.NodeProto) -> None:
        op = node.op_type
        if op not in SUPPORTED_ONNX_OPS:
            raise QuantizationError(
                f"node {node.name!r}: op {op} is not supported by the quantizer "
                f"(supported: {', '.join(SUPPORTED_ONNX_OPS)})"
            )
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        out = node.output[0]
        if op == "Identity":
            self.alias[out] = self.operand(node.input[0], node)
        elif op == "Relu":
            a = self.operand(node.input[0], node)
            self.emit("relu", (a,), out, node.name, self.scale[a], self.bound[a],
                      np.maximum(self.float[a], 0.0))
        elif op == "MatMul":
            self.matmul(node, node.input[0], node.input[1], out)
        elif op == "Gemm":
            self.gemm(node, attrs, out)
        elif op == "Add":
            self.add(node, node.input[0], node.input[1], out)
        elif op == "Mul":
            a, b = self.operand(node.input[0], node), self.operand(node.input[1], node)
            if self.sample_shape(a) != self.sample_shape(b):
                raise QuantizationError(f"node {node.name!r} (Mul): broadcasting "
                                        f"{self.sample_shape(a)} x {self.sample_shape(b)}")
            self.emit("mul", (a, b), out, node.name, self.scale[a] + self.scale[b],
                      self.bound[a] * self.bound[b], self.float[a] * self.float[b])
        elif op in ("Reshape", "Flatten", "Transpose"):
            self.rearrange(node, attrs, out)

    def sample_shape(self, name: str) -> tuple[int, ...]:
        """A tensor's shape for one input (without the calibration batch axis)."""
        shape = self.float[name].shape
        return shape[1:] if self.batched and name not in self.constants else shape

    def rearrange(self, node: onnx.NodeProto, attrs: dict, out: str) -> None:
        """Reshape, Flatten and Transpose as a fixed index map over the flattened input."""
        a = self.operand(node.input[0], node)
        value = self.float[a]
        sample = self.sample_shape(a)
        positions = np.arange(int(np.prod(sample)), dtype=np.int64).reshape(sample)
        if node.op_type == "Reshape":
            shape_name = self.resolve(node.input[1])
            if shape_name not in self.init:
                raise QuantizationError(f"node {node.name!r} (Reshape): shape is not a constant")
            target = [int(d) for d in self.init[shape_name]]
            target = [sample[i] if d == 0 else d for i, d in enumerate(target)]
            index = positions.reshape(target)
        elif node.op_type == "Flatten":
            axis = int(attrs.get("axis", 1)) % max(len(sample), 1)
            index = positions.reshape(int(np.prod(sample[:axis])), -1)
        else:
            index = positions.transpose(attrs.get("perm") or None)
        lead = value.shape[: value.ndim - len(sample)]
        shadow = value.reshape(*lead, -1)[..., index]
        self.emit("rearrange", (a,), out, node.name, self.scale[a], self.bound[a], shadow,
                  index=np.ascontiguousarray(index))

    def matmul(self, node: onnx.NodeProto, a_name: str, b_name: str, out: str,
               transpose_b: bool = False) -> str:
        a = self.narrow(self.operand(a_name, node), node.name)
        b_src = self.resolve(b_name)
        if transpose_b:
            if b_src not in self.init:
                raise QuantizationError(f"node {node.name!r}: transB needs a constant B")
            self.init[f"{b_src}^T"] = self.init[b_src].T
            b_src = f"{b_src}^T"
        b = self.narrow(self.operand(b_src, node), node.name)
        fa, fb = self.float[a], self.float[b]
        k = fa.shape[-1]
        return self.emit("matmul", (a, b), out, node.name, self.scale[a] + self.scale[b],
                         k * self.bound[a] * self.bound[b], fa @ fb)

    def gemm(self, node: onnx.NodeProto, attrs: dict, out: str) -> None:
        plain = attrs.get("alpha", 1.0) == 1.0 and attrs.get("beta", 1.0) == 1.0
        if attrs.get("transA", 0) or not plain:
            raise QuantizationError(
                f"node {node.name!r} (Gemm): only alpha=1, beta=1, transA=0 are supported"
            )
        has_bias = len(node.input) > 2 and node.input[2]
        prod = self.matmul(node, node.input[0], node.input[1],
                           f"{out}/matmul" if has_bias else out, bool(attrs.get("transB", 0)))
        if has_bias:
            self.add(node, prod, node.input[2], out)

    def add(self, node: onnx.NodeProto, a_name: str, b_name: str, out: str) -> None:
        a_src, b_src = self.resolve(a_name), self.resolve(b_name)
        if a_src in self.init and b_src not in self.init:
            a_src, b_src = b_src, a_src
        a = self.operand(a_src, node)
        # A constant addend (a bias) is quantized straight at the other side's scale: exact.
        b = self.operand(b_src, node, scale=self.scale[a] if b_src in self.init else None)
        sa, sb = self.scale[a], self.scale[b]
        if sa != sb:  # align the coarser side up by an exact power of two
            lo, hi = (a, b) if sa < sb else (b, a)
            d = abs(sa - sb)
            lifted = self.emit("mulconst", (lo,), f"{lo}/x2^{d}", node.name, self.scale[hi],
                               self.bound[lo] << d, self.float[lo], c=1 << d)
            a, b = (lifted, hi) if lo == a else (hi, lifted)
        self.emit("add", (a, b), out, node.name, self.scale[a],
                  self.bound[a] + self.bound[b], self.float[a] + self.float[b])


def fidelity(reference: np.ndarray, approx: np.ndarray, output_kind: str) -> Fidelity:
    """Max absolute error and, for score vectors, top-1 agreement over the leading axes."""
    ref = np.asarray(reference, np.float64)
    got = np.asarray(approx, np.float64).reshape(ref.shape)
    err = float(np.max(np.abs(ref - got))) if ref.size else 0.0
    top1 = None
    if output_kind == "scores":
        top1 = float(np.mean(np.argmax(ref, axis=-1) == np.argmax(got, axis=-1)))
    return Fidelity(err, top1)

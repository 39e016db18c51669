"""Float ONNX model -> fixed-point integer model (QuantizedModel), and fidelity metrics.

Symmetric, per-tensor, power-of-two scales: a tensor with largest magnitude m gets the largest
scale exponent s with m * 2**s <= 2**(bits-1) - 1, so it fits signed ``bits``-bit integers.
Weights are scaled from their own values; activations from a calibration input run through a
float64 evaluation of the same graph. Products keep the exact accumulator scale (s_a + s_b);
before an accumulator feeds another matrix product it is rescaled (a rounding shift) back to
the calibrated ``bits``-bit range and saturated there (clip to +-(2^(bits-1) - 1), written as
ReLUs: min(q, L) = L - relu(L - q)). This is the int8-between-layers scheme of DeepProve and
most int8 deployments, restricted to power-of-two scales so every rescale is provable as a
shift, and saturating so every bound stays true for every input.

Convolutions become an im2col rearrangement and a matrix product W (F x C k k) @ cols
(C k k x H'W'), so activations after a convolution are stored as (channels, pixels): the flat
order of NCHW. Max-pooling is max(a, b) = b + relu(a - b) over the window's corners.
Comparisons with constants (Less, LessOrEqual, Greater, Equal) become [d > 0] of an exact
integer difference d.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import numpy_helper

from zkbench.qmodel import QNode, QuantizedModel

SUPPORTED_ONNX_OPS = ("MatMul", "Gemm", "Conv", "MaxPool", "Add", "Sub", "Mul", "Relu",
                      "Identity", "Reshape", "Flatten", "Transpose", "Less", "LessOrEqual",
                      "Greater", "Equal", "Cast")
ELEMENTWISE = ("add", "mulconst", "addconst", "mul", "relu", "sign", "rescale")


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


def exact_scale(value: np.ndarray, bits: int) -> int:
    """The range-filling scale exponent, or a smaller one that represents ``value`` exactly:
    0/1 selection matrices and small integer tables stay small integers, which keeps every
    product and range check downstream narrow."""
    s_max = scale_exponent(float(np.max(np.abs(value))) if value.size else 0.0, bits)
    for s in range(0, s_max):
        scaled = value * 2.0**s
        if np.array_equal(scaled, np.rint(scaled)):
            return s
    return s_max


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
        self.shapes_logical: dict[str, tuple[int, ...]] = {}
        """ONNX shapes of tensors stored flatter than ONNX sees them (convolution outputs)."""
        self.producer: dict[str, QNode] = {}
        self.binary: set[str] = set()
        """Tensors whose entries are 0 or 1 (comparison outputs)."""
        self.nonneg: set[str] = set()
        """Tensors known to be >= 0 (ReLU and comparison outputs)."""

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
        s = scale if scale is not None else exact_scale(value, self.bits)
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
        self.producer[out] = self.nodes[-1]
        if op == "sign":
            self.binary.add(out)
        if op in ELEMENTWISE and inputs[0] in self.shapes_logical:
            self.shapes_logical[out] = self.shapes_logical[inputs[0]]
        self.scale[out] = scale
        self.bound[out] = bound
        self.float[out] = value
        return out

    def narrow(self, name: str, node_name: str) -> str:
        """Rescale an accumulator back to ``bits``-bit range and saturate it there, before it
        feeds a matrix product. The shift is calibrated; the saturation makes the bound true
        for every input, which exactness and range checks downstream rely on."""
        if self.bound[name] <= self.limit:
            return name
        value = self.float[name]
        target = scale_exponent(float(np.max(np.abs(value))), self.bits)
        shift = self.scale[name] - target
        nonneg = name in self.nonneg
        if shift > 0:
            bound = (self.bound[name] >> shift) + 1
            name = self.emit("rescale", (name,), f"{name}/rescaled", node_name,
                             target, bound, value, shift=shift)
            if nonneg:
                self.nonneg.add(name)
        if self.bound[name] <= self.limit:
            return name
        return self.saturate(name, node_name)

    def saturate(self, name: str, node_name: str) -> str:
        """clip(x, -L, L) (or min(x, L) for x >= 0) from ReLUs, exact on integers."""
        lim, s, value = self.limit, self.scale[name], self.float[name]
        clipped = np.clip(value, -lim * 2.0**-s, lim * 2.0**-s)
        x = name
        if name not in self.nonneg:  # max(x, -L) = relu(x + L) - L
            up = self.emit("addconst", (x,), f"{name}/+L", node_name, s,
                           self.bound[x] + lim, value, c=lim)
            r = self.emit("relu", (up,), f"{name}/relu(+L)", node_name, s, self.bound[up], value)
            x = self.emit("addconst", (r,), f"{name}/max-L", node_name, s, self.bound[r],
                          value, c=-lim)
        neg = self.emit("mulconst", (x,), f"{name}/neg", node_name, s, self.bound[x], -value,
                        c=-1)
        gap = self.emit("addconst", (neg,), f"{name}/L-x", node_name, s, self.bound[neg] + lim,
                        lim * 2.0**-s - value, c=lim)
        r = self.emit("relu", (gap,), f"{name}/relu(L-x)", node_name, s, self.bound[gap],
                      lim * 2.0**-s - value)
        back = self.emit("mulconst", (r,), f"{name}/-relu", node_name, s, self.bound[r],
                         value, c=-1)
        out = self.emit("addconst", (back,), f"{name}/clipped", node_name, s, lim, clipped,
                        c=lim)
        if name in self.nonneg:
            self.nonneg.add(out)
        return out

    def const(self, name: str, ints: np.ndarray, scale: int) -> str:
        """Register an integer constant made by the quantizer itself."""
        self.constants[name] = np.asarray(ints, dtype=np.int64)
        self.scale[name] = scale
        self.bound[name] = int(np.max(np.abs(ints))) if np.size(ints) else 0
        self.float[name] = np.asarray(ints, np.float64) * 2.0**-scale
        return name

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
            self.nonneg.add(out)
        elif op == "Cast":  # comparison results are already the integers 0 and 1
            self.alias[out] = self.operand(node.input[0], node)
        elif op in ("Less", "LessOrEqual", "Greater", "Equal"):
            self.compare(node, out)
        elif op == "Sub":
            self.sub(node, out)
        elif op == "Conv":
            self.conv(node, attrs, out)
        elif op == "MaxPool":
            self.maxpool(node, attrs, out)
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

    def logical(self, name: str) -> tuple[int, ...]:
        """The ONNX shape of one sample (activations may be stored flatter)."""
        return self.sample_shape(name)

    def conv(self, node: onnx.NodeProto, attrs: dict, out: str) -> None:
        if attrs.get("group", 1) != 1 or any(d != 1 for d in attrs.get("dilations", [1, 1])):
            raise QuantizationError(f"node {node.name!r} (Conv): only group=1, dilation 1")
        w_name = self.resolve(node.input[1])
        if w_name not in self.init:
            raise QuantizationError(f"node {node.name!r} (Conv): weight is not a constant")
        w = self.init[w_name]
        f_out, c_in, kh, kw = w.shape
        a = self.narrow(self.operand(node.input[0], node), node.name)
        shape = self.logical(a)
        if len(shape) != 4 or shape[0] != 1 or shape[1] != c_in:
            raise QuantizationError(f"node {node.name!r} (Conv): input {shape}, expected "
                                    f"(1, {c_in}, H, W)")
        h, wd = shape[2], shape[3]
        sh, sw = attrs.get("strides", [1, 1])
        pt, pl, pb, pr = attrs.get("pads", [0, 0, 0, 0])
        oh, ow = (h + pt + pb - kh) // sh + 1, (wd + pl + pr - kw) // sw + 1
        c, i, j, y, x = np.meshgrid(np.arange(c_in), np.arange(kh), np.arange(kw),
                                    np.arange(oh), np.arange(ow), indexing="ij")
        rows, cols = y * sh + i - pt, x * sw + j - pl
        inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < wd)
        index = np.where(inside, (c * h + rows.clip(0, h - 1)) * wd + cols.clip(0, wd - 1), -1)
        index = index.reshape(c_in * kh * kw, oh * ow)
        flat = self.flat_shadow(a)
        patches = np.where(index >= 0, flat[..., np.maximum(index, 0)], 0.0)
        im2col = self.emit("rearrange", (a,), f"{out}/im2col", node.name, self.scale[a],
                           self.bound[a], patches, index=index)
        if a in self.nonneg:
            self.nonneg.add(im2col)
        self.init[f"{w_name}#mat"] = w.reshape(f_out, -1)
        wm = self.operand(f"{w_name}#mat", node)
        acc_scale = self.scale[wm] + self.scale[im2col]
        acc = self.float[wm] @ patches
        has_bias = len(node.input) > 2 and node.input[2]
        prod = self.emit("matmul", (wm, im2col), f"{out}/matmul" if has_bias else out,
                         node.name, acc_scale,
                         self.matmul_bound(wm, im2col), acc)
        if has_bias:
            bias = self.init[self.resolve(node.input[2])]
            full = np.rint(np.repeat(bias[:, None], oh * ow, axis=1) * 2.0**acc_scale)
            b = self.const(f"{out}/bias", full.astype(np.int64), acc_scale)
            self.emit("add", (prod, b), out, node.name, acc_scale,
                      self.bound[prod] + self.bound[b], acc + self.float[b])
        self.shapes_logical[out] = (1, f_out, oh, ow)

    def maxpool(self, node: onnx.NodeProto, attrs: dict, out: str) -> None:
        if (list(attrs.get("kernel_shape", [])) != [2, 2] or list(attrs.get("strides", [1, 1]))
                != [2, 2] or any(attrs.get("pads", [0]))):
            raise QuantizationError(f"node {node.name!r} (MaxPool): only 2x2, stride 2, no pads")
        a = self.operand(node.input[0], node)
        _, ch, h, wd = self.logical(a)
        oh, ow = h // 2, wd // 2
        c, y, x = np.meshgrid(np.arange(ch), np.arange(oh), np.arange(ow), indexing="ij")
        flat = self.flat_shadow(a)
        corners = []
        for di, dj in ((0, 0), (0, 1), (1, 0), (1, 1)):
            index = ((c * h + 2 * y + di) * wd + 2 * x + dj).reshape(ch, oh * ow)
            corners.append(self.emit("rearrange", (a,), f"{out}/corner{di}{dj}", node.name,
                                     self.scale[a], self.bound[a], flat[..., index],
                                     index=index))
        left = self.max2(corners[0], corners[1], f"{out}/max01", node.name)
        right = self.max2(corners[2], corners[3], f"{out}/max23", node.name)
        final = self.max2(left, right, out, node.name)
        if a in self.nonneg:
            self.nonneg.add(final)
        self.shapes_logical[final] = (1, ch, oh, ow)

    def max2(self, a: str, b: str, out: str, node_name: str) -> str:
        """max(a, b) = b + relu(a - b), same scale."""
        s, fa, fb = self.scale[a], self.float[a], self.float[b]
        nb = self.emit("mulconst", (b,), f"{out}/-b", node_name, s, self.bound[b], -fb, c=-1)
        d = self.emit("add", (a, nb), f"{out}/a-b", node_name, s, self.bound[a] + self.bound[b],
                      fa - fb)
        r = self.emit("relu", (d,), f"{out}/relu", node_name, s, self.bound[d],
                      np.maximum(fa - fb, 0.0))
        return self.emit("add", (r, b), out, node_name, s, max(self.bound[a], self.bound[b]),
                         np.maximum(fa, fb))

    def compare(self, node: onnx.NodeProto, out: str) -> None:
        """x < t, x <= t, x > t against a constant t, and x == t, as exact integer signs."""
        a_name, t_name = self.resolve(node.input[0]), self.resolve(node.input[1])
        if t_name not in self.init:
            raise QuantizationError(f"node {node.name!r} ({node.op_type}): the right-hand "
                                    f"side must be a constant")
        a = self.operand(a_name, node)
        s, fa = self.scale[a], self.float[a]
        t = self.init[t_name] * 2.0**s
        op = node.op_type
        if op == "Equal" and not np.array_equal(t, np.rint(t)):
            raise QuantizationError(f"node {node.name!r} (Equal): the constant is not exact "
                                    f"at scale 2^{s}")
        truth = {"Less": fa < self.init[t_name], "LessOrEqual": fa <= self.init[t_name],
                 "Greater": fa > self.init[t_name], "Equal": fa == self.init[t_name]}[op]

        def sign_of(diff_name: str, consts: np.ndarray, negate: bool, tag: str) -> str:
            x = a
            if negate:
                x = self.emit("mulconst", (a,), f"{out}/-x{tag}", node.name, s, self.bound[a],
                              -fa, c=-1)
            k = self.const(f"{out}/t{tag}", consts.astype(np.int64), s)
            d = self.emit("add", (x, k), f"{out}/d{tag}", node.name, s,
                          self.bound[x] + self.bound[k], self.float[x] + self.float[k])
            return self.emit("sign", (d,), diff_name, node.name, 0, 1, truth.astype(float))

        if op == "Less":  # x < t  <=>  ceil(t) - x > 0
            sign_of(out, np.ceil(t), True, "")
        elif op == "LessOrEqual":  # x <= t  <=>  floor(t) + 1 - x > 0
            sign_of(out, np.floor(t) + 1, True, "")
        elif op == "Greater":  # x > t  <=>  x - floor(t) > 0
            sign_of(out, -np.floor(t), False, "")
        else:  # x == t  <=>  not (x - t > 0) and not (t - x > 0)
            lo, hi = self.range_of(a)
            parts = []
            if hi is None or np.any(hi > t):  # x can exceed t somewhere
                parts.append(sign_of(f"{out}/above", -t, False, "+"))
            if lo is None or np.any(lo < t):  # x can fall below t somewhere
                parts.append(sign_of(f"{out}/below", t, True, "-"))
            either = parts[0] if len(parts) == 1 else self.emit(
                "add", tuple(parts), f"{out}/either", node.name, 0, 2, 1.0 - truth)
            neg = self.emit("mulconst", (either,), f"{out}/not", node.name, 0, 2,
                            truth - 1.0, c=-1)
            self.emit("addconst", (neg,), out, node.name, 0, 1, truth.astype(float), c=1)
        self.nonneg.add(out)

    def range_of(self, name: str) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Per-column integer bounds of a product of a 0/1 tensor with a constant matrix (a
        tree's path counts), or (None, None) when unknown."""
        node = self.producer.get(name)
        if (node is None or node.op != "matmul" or node.inputs[0] not in self.binary
                or node.inputs[1] not in self.constants):
            return None, None
        p = self.constants[node.inputs[1]]
        return np.minimum(p, 0).sum(axis=0), np.maximum(p, 0).sum(axis=0)

    def sub(self, node: onnx.NodeProto, out: str) -> None:
        b_name = self.resolve(node.input[1])
        if b_name in self.init:
            self.init[f"{b_name}#neg"] = -self.init[b_name]
            self.add(node, node.input[0], f"{b_name}#neg", out)
            return
        b = self.operand(b_name, node)
        nb = self.emit("mulconst", (b,), f"{out}/-b", node.name, self.scale[b], self.bound[b],
                       -self.float[b], c=-1)
        self.add(node, node.input[0], nb, out)

    def flat_shadow(self, name: str) -> np.ndarray:
        """The float shadow with each sample flattened (row-major, the order of its ONNX
        shape): (batch, size) when calibrating on a batch, else (size,)."""
        value = self.float[name]
        batched = self.batched and name not in self.constants
        return value.reshape(value.shape[0], -1) if batched else value.reshape(-1)

    def sample_shape(self, name: str) -> tuple[int, ...]:
        """A tensor's ONNX shape for one input (without the calibration batch axis)."""
        if name in self.shapes_logical:
            return self.shapes_logical[name]
        shape = self.float[name].shape
        return shape[1:] if self.batched and name not in self.constants else shape

    def matmul_bound(self, a: str, b: str) -> int:
        """Worst case of |a @ b| over every input: exact when one side is a constant
        (largest absolute row or column sum times the other side's bound)."""
        if b in self.constants:
            return self.bound[a] * int(np.abs(self.constants[b]).sum(axis=0).max(initial=0))
        if a in self.constants:
            return self.bound[b] * int(np.abs(self.constants[a]).sum(axis=1).max(initial=0))
        return self.sample_shape(a)[-1] * self.bound[a] * self.bound[b]

    def rearrange(self, node: onnx.NodeProto, attrs: dict, out: str) -> None:
        """Reshape, Flatten and Transpose as a fixed index map over the flattened input."""
        a = self.operand(node.input[0], node)
        sample = self.sample_shape(a)
        positions = self.positions(a)
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
        self.indexed(a, index, out, node.name)

    def indexed(self, a: str, index: np.ndarray, out: str, node_name: str) -> str:
        """A rearrange of ``a``: output element i is ``a.flat[index.flat[i]]``."""
        if a in self.nonneg:
            self.nonneg.add(out)
        return self.emit("rearrange", (a,), out, node_name, self.scale[a], self.bound[a],
                         self.flat_shadow(a)[..., index], index=np.ascontiguousarray(index))

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
        lead = self.sample_shape(a)[:-2]
        if lead and len(self.sample_shape(b)) == 2:
            # A batch of inputs through one matrix: fold the batch axes into the rows.
            k, n = self.sample_shape(b)
            a = self.indexed(a, self.positions(a).reshape(-1, k), f"{out}/rows", node.name)
            rows = self.emit("matmul", (a, b), f"{out}/matmul", node.name,
                             self.scale[a] + self.scale[b], self.matmul_bound(a, b),
                             self.float[a] @ self.float[b])
            return self.indexed(rows, self.positions(rows).reshape(*lead, -1, n), out,
                                node.name)
        fa, fb = self.float[a], self.float[b]
        return self.emit("matmul", (a, b), out, node.name, self.scale[a] + self.scale[b],
                         self.matmul_bound(a, b), fa @ fb)

    def positions(self, name: str) -> np.ndarray:
        """Flat positions of one sample of ``name``, in its ONNX shape."""
        sample = self.sample_shape(name)
        return np.arange(int(np.prod(sample)), dtype=np.int64).reshape(sample)

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

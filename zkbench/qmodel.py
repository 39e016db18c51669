"""The quantized integer model every prover starts from, and its exact integer inference.

A QuantizedModel is a small dataflow graph over integer tensors. Each tensor ``t`` stands for the
real value ``t / 2**scale_bits[t]`` (power-of-two scales, so every rescale is a rounding shift
that a circuit can prove). Ops:

- ``matmul``  C = A @ B (exact; either side a constant or an activation)
- ``add``     C = A + B with equal scales (B may broadcast over leading axes, e.g. a bias)
- ``mulconst`` C = A * c for an integer constant c (aligns scales exactly)
- ``mul``     C = A * B elementwise, same shapes (scale s_a + s_b)
- ``rearrange`` C = A.flat[index] with a fixed integer ``index`` array of C's shape, -1 giving 0:
  reshape, flatten, transpose, im2col and pooling windows are all this op
- ``addconst`` C = A + c for an integer constant c
- ``relu``    C = max(A, 0)
- ``sign``    C = [A > 0] (1 or 0): comparisons
- ``rescale`` C = floor((A + 2**(s-1)) / 2**s), round-half-up division by 2**s

``run`` is the reference inference: the ``plain`` prover's work and every prover's oracle. It uses
float64 BLAS whenever the static bounds guarantee every partial sum is an exact integer below
2**53, which is far faster than numpy's integer matmul, and int64 otherwise.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

OPS = frozenset({"matmul", "add", "mulconst", "addconst", "mul", "relu", "sign", "rescale",
                 "rearrange"})
EXACT_FLOAT64 = 2**53


@dataclass(frozen=True)
class QNode:
    """One op. ``name`` is the ONNX node it came from, so errors can name it."""

    op: str
    inputs: tuple[str, ...]
    output: str
    name: str = ""
    attrs: dict[str, Any] = field(default_factory=dict)
    """Integers, or (``rearrange``'s ``index``) an int64 array."""


@dataclass(frozen=True)
class QuantizedModel:
    name: str
    input_name: str
    input_shape: tuple[int, ...]
    output_name: str
    bits: int
    nodes: tuple[QNode, ...]
    constants: dict[str, np.ndarray]
    scale_bits: dict[str, int]
    bounds: dict[str, int]
    """A static bound on ``|value|`` of every tensor, for every input within ``bits``."""
    output_kind: str = "values"
    """``scores`` when the output is a vector of class scores (top-1 agreement applies)."""
    source: Any = None
    """The float ``onnx.ModelProto`` it was quantized from (peers that quantize themselves)."""

    @property
    def input_scale_bits(self) -> int:
        return self.scale_bits[self.input_name]

    @property
    def output_scale_bits(self) -> int:
        return self.scale_bits[self.output_name]

    @property
    def output_shape(self) -> tuple[int, ...]:
        shapes = self.shapes()
        return shapes[self.output_name]

    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        limit = 2 ** (self.bits - 1) - 1
        q = np.rint(np.asarray(x, dtype=np.float64) * 2.0**self.input_scale_bits)
        return np.clip(q, -limit, limit).astype(np.int64)

    def dequantize_output(self, y: np.ndarray) -> np.ndarray:
        return np.asarray(y, dtype=np.float64) / 2.0**self.output_scale_bits

    def run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Every tensor of the integer inference on quantized input ``x``."""
        x = np.asarray(x)
        if x.shape != self.input_shape:
            raise ValueError(
                f"model {self.name!r}: input {self.input_name!r} has shape {self.input_shape}, "
                f"got {x.shape}"
            )
        values: dict[str, np.ndarray] = {self.input_name: x.astype(np.int64)}
        values.update(self.constants)
        for node in self.nodes:
            args = [values[name] for name in node.inputs]
            values[node.output] = _apply(node, args, [self.bounds[n] for n in node.inputs])
        return values

    def output(self, x: np.ndarray) -> np.ndarray:
        return self.run(x)[self.output_name]

    def shapes(self) -> dict[str, tuple[int, ...]]:
        shapes = {self.input_name: self.input_shape}
        shapes.update({k: v.shape for k, v in self.constants.items()})
        for node in self.nodes:
            a = shapes[node.inputs[0]]
            if node.op == "matmul":
                b = shapes[node.inputs[1]]
                shapes[node.output] = (*a[:-1], b[-1])
            elif node.op == "rearrange":
                shapes[node.output] = tuple(node.attrs["index"].shape)
            elif node.op == "add":
                shapes[node.output] = tuple(np.broadcast_shapes(a, shapes[node.inputs[1]]))
            else:
                shapes[node.output] = a
        return shapes

    def digest(self) -> str:
        """SHA-256 over the graph, the scales and every constant's bytes."""
        h = hashlib.sha256()
        header = {
            "name": self.name,
            "input": [self.input_name, list(self.input_shape)],
            "output": self.output_name,
            "bits": self.bits,
            "scale_bits": dict(sorted(self.scale_bits.items())),
            "nodes": [[n.op, list(n.inputs), n.output,
                       {k: v for k, v in sorted(n.attrs.items()) if not isinstance(v, np.ndarray)}]
                      for n in self.nodes],
        }
        h.update(json.dumps(header, sort_keys=True).encode())
        for n in self.nodes:
            for key, value in sorted(n.attrs.items()):
                if isinstance(value, np.ndarray):
                    arr = np.ascontiguousarray(value, dtype=np.int64)
                    h.update(f"{n.output}/{key}{arr.shape}".encode() + arr.tobytes())
        for name in sorted(self.constants):
            arr = np.ascontiguousarray(self.constants[name], dtype=np.int64)
            h.update(name.encode() + b"\0" + repr(arr.shape).encode() + arr.tobytes())
        return h.hexdigest()


def matmul_exact(a: np.ndarray, b: np.ndarray, bound_a: int, bound_b: int) -> np.ndarray:
    """Exact integer A @ B: float64 BLAS when ``k * bound_a * bound_b < 2**53``, else int64."""
    k = a.shape[-1]
    if k * bound_a * bound_b < EXACT_FLOAT64:
        return np.matmul(a.astype(np.float64), b.astype(np.float64)).astype(np.int64)
    return np.matmul(a.astype(np.int64), b.astype(np.int64))


def gather(x: np.ndarray, index: np.ndarray) -> np.ndarray:
    """x.flat[index] with -1 -> 0."""
    flat = np.concatenate([np.asarray(x).reshape(-1), np.zeros(1, dtype=np.int64)])
    return flat[np.where(index < 0, flat.size - 1, index)]


def rescale(x: np.ndarray, shift: int) -> np.ndarray:
    """floor((x + 2**(shift-1)) / 2**shift): round half up, as the circuits prove it."""
    if shift <= 0:
        raise ValueError(f"rescale shift must be positive, got {shift}")
    return (x + (1 << (shift - 1))) >> shift


def _apply(node: QNode, args: list[np.ndarray], bounds: list[int]) -> np.ndarray:
    if node.op == "matmul":
        return matmul_exact(args[0], args[1], bounds[0], bounds[1])
    if node.op == "add":
        return args[0] + args[1]
    if node.op == "mulconst":
        return args[0] * node.attrs["c"]
    if node.op == "mul":
        return args[0] * args[1]
    if node.op == "rearrange":
        return gather(args[0], node.attrs["index"])
    if node.op == "relu":
        return np.maximum(args[0], 0)
    if node.op == "sign":
        return (args[0] > 0).astype(np.int64)
    if node.op == "addconst":
        return args[0] + node.attrs["c"]
    if node.op == "rescale":
        return rescale(args[0], node.attrs["shift"])
    raise ValueError(f"node {node.name!r}: unknown op {node.op!r}")

"""Circuit descriptions: immutable, serialisable data, shared by prover and verifier.

A circuit is a DAG of tensors (PROTOCOL.md, "Objects"): *leaves* — the public ``input``,
public ``weight`` constants and prover ``advice`` — and *derived* tensors, each the output of
exactly one layer. Layers are listed in topological order; the output tensor is public. The
digest covers every tensor's name, role and shape, every layer's kind and parameters, and the
bytes of every weight, and is absorbed before the first challenge.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from provers.gkr import logup
from provers.gkr import tensor as T
from provers.gkr.field import P

ROLES = ("input", "weight", "advice", "derived")
P_HALF = P // 2


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    """The true shape; the circuit works on ``padded`` (each dimension a power of two)."""
    role: str

    @property
    def padded(self) -> tuple[int, ...]:
        return T.padded_shape(self.shape)

    @property
    def num_vars(self) -> int:
        return T.num_vars(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.padded)


@dataclass(frozen=True)
class Layer:
    """Base of every layer description: one output, named inputs, kind-specific parameters."""

    out: str
    inputs: tuple[str, ...]

    kind = "layer"

    def params(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("out")
        d.pop("inputs")
        return d

    def error_terms(self, tensors: dict[str, TensorInfo]) -> int:
        """Sum of degree x rounds over this layer's sumchecks (plus combinations): its
        soundness error is this many times 1/|K|."""
        return 0


@dataclass(frozen=True)
class MatMul(Layer):
    """out = a @ b for 2-d a (m x k) and b (k x n) (Thaler 2013, section 4)."""

    kind = "matmul"

    def error_terms(self, tensors: dict[str, TensorInfo]) -> int:
        k = tensors[self.inputs[0]].padded[1]
        return 2 * int(math.log2(k))


@dataclass(frozen=True)
class Add(Layer):
    """out = a + b, same shapes."""

    kind = "add"


@dataclass(frozen=True)
class AddBias(Layer):
    """out[i, l] = a[i, l] + bias[l] for the ``rows`` true rows, zero on padding rows."""

    rows: int = 1
    kind = "add_bias"


@dataclass(frozen=True)
class Scale(Layer):
    """out = c * a for a nonzero integer constant c."""

    c: int = 1
    kind = "scale"


@dataclass(frozen=True)
class AddConst(Layer):
    """out = a + c on true entries (zero on padding) for an integer constant c."""

    c: int = 0
    kind = "add_const"


@dataclass(frozen=True)
class Hadamard(Layer):
    """out = a * b elementwise, same shapes."""

    kind = "hadamard"

    def error_terms(self, tensors: dict[str, TensorInfo]) -> int:
        return 3 * tensors[self.out].num_vars


@dataclass(frozen=True, eq=False)
class Rearrange(Layer):
    """out.flat[t] = a.flat[index[t]] over padded tensors, index -1 giving 0: reshape,
    transpose, im2col, pooling windows."""

    index: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    kind = "rearrange"

    def params(self) -> dict[str, Any]:
        index = np.ascontiguousarray(self.index, dtype="<i8")
        return {"index_sha256": hashlib.sha256(index.tobytes()).hexdigest(),
                "index_shape": list(index.shape)}

    def error_terms(self, tensors: dict[str, TensorInfo]) -> int:
        return 2 * tensors[self.inputs[0]].num_vars


@dataclass(frozen=True)
class LimbPart:
    """One range-checked quantity of a requant layer in its limbs tensor: ``limbs`` columns
    from ``start``, each a value in [0, 2^limb_bits), the quantity being
    sum_i 2^(limb_bits i) limb_i; its top limb is meant to hold ``top_bits`` bits, and when
    that is fewer than limb_bits column ``offset`` holds top + 2^limb_bits - 2^top_bits,
    range-checked too, so the top limb is below 2^top_bits (-1: no such column)."""

    key: str
    start: int
    limbs: int
    top_bits: int
    offset: int


@dataclass(frozen=True)
class Requant(Layer):
    """q = floor((x + 2^(shift-1)) / 2^shift) elementwise, then out = max(0, q) (mode
    ``relu``), q (``identity``) or [q > 0] (``sign``, the comparisons of decision trees),
    proven with range-checked advice (PROTOCOL.md, "Requantize + ReLU"): quotient ``q``, sign
    bit ``s``, the remainder (``shift`` bits) and the magnitude (``mag_bits`` bits) as limbs
    of ``limb_bits`` bits in one tensor ``limbs``, range-checked by LogUp against the table
    [0, 2^limb_bits) together with every other layer's limbs of that width
    (``Circuit.lookups``; PROTOCOL.md, "LogUp-GKR range checks")."""

    shift: int = 0
    mode: str = "relu"
    mag_bits: int = 8
    limb_bits: int = 8
    kind = "requant"

    @property
    def advice(self) -> dict[str, str]:
        return {"q": f"{self.out}#q", "s": f"{self.out}#s", "limbs": f"{self.out}#limbs"}

    @property
    def parts(self) -> tuple[LimbPart, ...]:
        """The remainder ("r", exactly ``shift`` bits) and the magnitude ("d", at least
        ``mag_bits`` bits: widened to whole limbs where 2^(shift + width) + 2^shift < p/2
        still holds, the bound the layer's soundness needs) as limb columns."""
        width_l = self.limb_bits
        parts, col = [], 0
        for key, width, exact in (("r", self.shift, True), ("d", self.mag_bits, False)):
            if width == 0:
                continue
            limbs = -(-width // width_l)
            top = width - (limbs - 1) * width_l
            if not exact and (1 << (self.shift + limbs * width_l)) + (1 << self.shift) < (
                    P_HALF):
                top = width_l
            offset = col + limbs if top < width_l else -1
            parts.append(LimbPart(key, col, limbs, top, offset))
            col += limbs + (offset >= 0)
        return tuple(parts)

    @property
    def limb_count(self) -> int:
        return sum(p.limbs + (p.offset >= 0) for p in self.parts)

    def advice_shapes(self, x_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        return {"q": x_shape, "s": x_shape, "limbs": (*x_shape, self.limb_count)}

    def error_terms(self, tensors: dict[str, TensorInfo]) -> int:
        v = tensors[self.inputs[0]].num_vars
        terms = 3 * v if self.mode == "relu" else 0  # the Hadamard out = s * q
        terms += v + 2 + 3 * v  # random point, beta combination, constraint sumcheck
        limbs = tensors[self.advice["limbs"]]
        parts = self.parts
        quantities = len(parts) + sum(p.offset >= 0 for p in parts)
        terms += v if any(p.offset >= 0 for p in parts) else 0  # offsets checked at a point
        return terms + max(quantities - 1, 0) + 2 * (limbs.num_vars - v)  # recomposition


def lookup_mult(bits: int) -> str:
    """The advice tensor of the multiplicities of the table [0, 2^bits) (Circuit.lookups)."""
    return f"range{bits}#mult"


@dataclass(frozen=True)
class Circuit:
    tensors: dict[str, TensorInfo]
    layers: tuple[Layer, ...]
    input: str
    output: str
    weights: dict[str, np.ndarray] = field(repr=False)
    """Public constants, zero-padded int64, by tensor name."""

    def advice(self) -> list[str]:
        """Advice tensors in the order they enter the transcript."""
        return [t.name for t in self.tensors.values() if t.role == "advice"]

    def lookups(self) -> dict[int, list[str]]:
        """The range checks, one per limb width L in increasing order: L -> the limbs tensors
        of every requant layer of that width, in layer order, checked in one LogUp argument
        against [0, 2^L) with the multiplicities ``lookup_mult(L)`` (an advice tensor)."""
        groups: dict[int, list[str]] = {}
        for layer in self.layers:
            if isinstance(layer, Requant):
                groups.setdefault(layer.limb_bits, []).append(layer.advice["limbs"])
        return dict(sorted(groups.items()))

    def producer(self) -> dict[str, Layer]:
        return {layer.out: layer for layer in self.layers}

    def consumers(self) -> dict[str, int]:
        count = {name: 0 for name in self.tensors}
        count[self.output] += 1  # the output claim
        for layer in self.layers:
            for name in layer.inputs:
                count[name] += 1
        return count

    def description(self) -> dict[str, Any]:
        return {
            "tensors": [[t.name, list(t.shape), t.role] for t in self.tensors.values()],
            "layers": [[layer.kind, layer.out, list(layer.inputs), layer.params()]
                       for layer in self.layers],
            "input": self.input,
            "output": self.output,
        }

    @functools.cached_property
    def _digest(self) -> bytes:
        return self._compute_digest()

    def digest(self) -> bytes:
        """SHA-256 of the description and weights; computed once per circuit object."""
        return self._digest

    def _compute_digest(self) -> bytes:
        h = hashlib.sha256(b"zkbench/gkr/circuit/v1\0")
        h.update(json.dumps(self.description(), sort_keys=True).encode())
        for name in sorted(self.weights):
            w = np.ascontiguousarray(self.weights[name], dtype="<i8")
            h.update(name.encode() + b"\0" + w.tobytes())
        return h.digest()

    def soundness_error_terms(self) -> int:
        """The whole proof's soundness error in units of 1/|K| (PROTOCOL.md, "Soundness
        accounting"): the output point (Schwartz-Zippel, v_y), every merge of t claims
        (t - 1, plus a degree-2 sumcheck over the tensor), and every layer's sumchecks."""
        terms = self.tensors[self.output].num_vars
        for name, count in self.consumers().items():
            if count > 1 and self.tensors[name].role == "derived":
                terms += (count - 1) + 2 * self.tensors[name].num_vars
        terms += sum(layer.error_terms(self.tensors) for layer in self.layers)
        for bits, names in self.lookups().items():
            terms += logup.error_terms([self.tensors[n].size for n in names], bits)
        return terms

    def security_bits(self, field_bits: float) -> int:
        return math.floor(field_bits - math.log2(max(self.soundness_error_terms(), 1)))

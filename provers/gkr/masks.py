"""The masks of a zero-knowledge proof: which tensors are masked, how, and each mask's value.

PROTOCOL.md, "Zero knowledge". A zero-knowledge proof never reveals T~(z) for a secret
tensor T: it works with a masked extension T' = T~ + mask_T, where mask_T is zero on the
cube {0,1}^v, so T' agrees with T there and every layer relation still holds. A *fresh*
mask of a tensor with v variables x_1..x_v (MSB first, as claim points) is

    Z(x) (delta0(x_1) + delta1(x_1)),   Z(x) = prod_j x_j (1 - x_j),

delta0 and delta1 univariate of degree ``degree`` with coefficients from the proof's mask
vector (random, committed with hiding Ligero before the first challenge). Two halves, so
that the layer proving a claim T'(z) = c can move Z(z) delta(z_1) into its sumcheck as an
output term with two table entries, a0 = delta0(z_1) and a1 = delta1(z_1) (zk_sumcheck.py).

The free layers (add, add-bias, add-constant, scale) keep their checks, identities between
masked values, by *deriving* their outputs' masks from their inputs' instead of drawing
them (``MaskPlan.build``, in layer order; the input, the public output and public weights
have none):

    Scale      out = c X:            mask_out = c mask_X
    AddConst   out = X + c M:        mask_out = mask_X
    Add        out = X + Y:          mask_out = mask_X + mask_Y
    AddBias    out = X + bias S:     mask_out = mask_X + mask_bias S

with S(x_i) = sum_{i < rows} eq(x_i, i). A mask is therefore a sum of *parts*
coef * S(x_rows) * Z(x_slice) delta_source(x_slice,1): a fresh mask placed on a slice of
the variables, optionally times a row selector. A free layer computing the public output
from masked tensors would need a mask of zero there; that is refused with an error naming
the layer (no workload does it: their outputs come from a matmul or a requant).

Degree: every revealed value that involves a fresh mask is one linear functional of its
coefficients (the claims on the tensors that use it, each merge's point, each output
term's d). ``degree`` is chosen above their count, so that the revealed values are
uniform and independent given the witness (the functionals are evaluations of delta at
distinct points, a Vandermonde system).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from provers.gkr import field as F
from provers.gkr import mle
from provers.gkr.circuit import Add, AddBias, AddConst, Circuit, Requant, Scale

FREE_LAYERS = (Add, AddBias, AddConst, Scale)
"""Layers reduced without a sumcheck, whose outputs' masks are derived, never drawn."""


@dataclass(frozen=True)
class Part:
    """coef * S(x[:offset]) * Z(x[offset:offset + v]) * delta_source(x[offset]), where S is
    the selector of the first ``rows`` rows over x[:offset] (rows = 0: no selector, and
    offset must be 0 then)."""

    source: str
    coef: int
    """A base-field element (canonical)."""
    offset: int = 0
    rows: int = 0

    def scaled(self, c: int) -> Part:
        return Part(self.source, c * self.coef % F.P, self.offset, self.rows)


@dataclass(frozen=True)
class Fresh:
    """A fresh mask: its variables' count and where its coefficients lie in the mask vector
    (delta0 at ``offset``, delta1 right after, ``degree + 1`` each, constant term first)."""

    name: str
    num_vars: int
    degree: int
    offset: int

    @property
    def size(self) -> int:
        return 2 * (self.degree + 1)


@dataclass(frozen=True)
class MaskPlan:
    """Every tensor's mask as parts over the fresh masks, and the mask vector's layout."""

    parts: dict[str, tuple[Part, ...]]
    """Tensor name -> its mask's parts (empty: unmasked, the public tensors)."""
    fresh: dict[str, Fresh]
    size: int
    """Entries of the mask vector used by the fresh masks."""
    extra: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Further named blocks of the vector (offset, size): the sumchecks' g polynomials."""

    @classmethod
    def build(cls, circuit: Circuit, public_weights: bool = False,
              extra_claims: dict[str, int] | None = None,
              virtual: dict[str, tuple[int, tuple[Part, ...] | None]] | None = None
              ) -> MaskPlan:
        """Assign every tensor's mask. ``public_weights``: the weights are public (no
        masks); otherwise they are secret (committed). ``extra_claims``: per tensor,
        revealed values beyond one per consumer (several claims from one layer, merges),
        to size the degrees. ``virtual``: quantities a layer evaluates without a tensor of
        the circuit (requant's recomposed values, LogUp's tree levels), name -> (variables,
        parts): parts None gives the name a fresh mask of its own; otherwise its mask is
        those parts, whose sources may be fresh virtual names listed here too (a virtual
        name used only as a source: parts ``()``)."""
        public = {circuit.input, circuit.output}
        if public_weights:
            public |= {n for n, t in circuit.tensors.items() if t.role == "weight"}
        parts: dict[str, tuple[Part, ...]] = {}

        def mask_of(name: str) -> tuple[Part, ...]:
            if name not in parts:
                parts[name] = () if name in public else (Part(name, 1),)
            return parts[name]

        path = _output_path(circuit)
        on_path = {layer.out for layer, _ in path}
        # A requant layer's output in identity (sign) mode is its advice q (s): one mask.
        aliases = {layer.out: layer.advice["q" if layer.mode == "identity" else "s"]
                   for layer in circuit.layers
                   if isinstance(layer, Requant) and layer.mode != "relu"}
        end = path[-1][1] if path else None
        for out, alias in aliases.items():
            if out not in public and out != end:
                parts[out] = mask_of(alias)
        for layer in circuit.layers:
            if isinstance(layer, FREE_LAYERS) and layer.out not in on_path:
                parts[layer.out] = _normalized(_derived(circuit, layer,
                                                        [mask_of(n) for n in layer.inputs]))
        # Down the path from the public output (mask zero), each layer's path input takes
        # the mask that makes the layer's output mask the one required of it.
        required: tuple[Part, ...] = ()
        for layer, x in path:
            parts[layer.out] = required
            others = [() if n == x else mask_of(n) for n in layer.inputs]
            rest = _derived(circuit, layer, others)
            if isinstance(layer, Scale):
                inv = int(F.inv(F.encode(np.array(layer.c, np.int64))))
                required = tuple(p.scaled(inv) for p in required)
            else:  # add-constant: rest is empty; add, add-bias: remove the others' share
                required = required + tuple(p.scaled(F.P - 1) for p in rest)
            required = _normalized(required)
        if path:
            parts[path[-1][1]] = required
        for out, alias in aliases.items():
            if out in public or out == end:
                parts[alias] = mask_of(out)
        for name in circuit.tensors:
            mask_of(name)

        num_vars = {n: t.num_vars for n, t in circuit.tensors.items()}
        for name, (nv, own) in (virtual or {}).items():
            num_vars[name] = nv
            parts[name] = (Part(name, 1),) if own is None else tuple(own)
        uses: dict[str, int] = {}
        consumers = circuit.consumers()
        extra_claims = extra_claims or {}
        for name, ps in parts.items():
            for p in ps:
                uses[p.source] = uses.get(p.source, 0) + max(consumers.get(name, 0), 1) + \
                    extra_claims.get(name, 0)
        table, offset = {}, 0
        for source in sorted(uses):
            degree = 2 * uses[source] + 2
            entry = Fresh(source, num_vars[source], degree, offset)
            table[source] = entry
            offset += entry.size
        return cls(parts, table, offset)

    def random_vector(self, rng: np.random.Generator) -> np.ndarray:
        """A fresh mask vector (uniform base elements) of ``size`` entries."""
        return F.random(rng, (self.size,))

    # -------------------------------------------------------------------- evaluation

    def delta_halves(self, vector: np.ndarray, source: str, x1: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
        """(delta0(x1), delta1(x1)) of a fresh mask at an extension point x1 (4,)."""
        entry = self.fresh[source]
        powers = _powers(x1, entry.degree + 1)
        n = entry.degree + 1
        coeffs = np.asarray(vector, np.uint64)[entry.offset:entry.offset + 2 * n]
        return (F.ext_dot(powers, F.ext_from_base(coeffs[:n])),
                F.ext_dot(powers, F.ext_from_base(coeffs[n:])))

    def part_scale(self, part: Part, point: np.ndarray) -> np.ndarray:
        """coef * S * Z of a part at ``point`` (4, v): everything but its delta."""
        v = self.fresh[part.source].num_vars
        scale = F.ext_from_base(np.uint64(part.coef))
        sub = point[:, part.offset:part.offset + v]
        scale = F.ext_mul(scale, vanishing(sub))
        if part.rows:
            scale = F.ext_mul(scale, prefix_selector(point[:, :part.offset], part.rows))
        return scale

    def evaluate(self, vector: np.ndarray, name: str, point: np.ndarray) -> np.ndarray:
        """mask_name(point), an extension scalar."""
        total = F.ext_zero()
        for part in self.parts[name]:
            scale = self.part_scale(part, point)
            if not F.ext_eq(scale, F.ext_zero()):
                a0, a1 = self.delta_halves(vector, part.source, point[:, part.offset])
                total = F.ext_add(total, F.ext_mul(scale, F.ext_add(a0, a1)))
        return total

    def output_term(self, vector: np.ndarray, name: str, point: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
        """(a0, a1) with a0 + a1 = mask_name(point): the two entries of the output term a
        layer proving a claim on ``name`` at ``point`` adds to its sumcheck (scale 1)."""
        a0, a1 = F.ext_zero(), F.ext_zero()
        for part in self.parts[name]:
            scale = self.part_scale(part, point)
            h0, h1 = self.delta_halves(vector, part.source, point[:, part.offset])
            a0 = F.ext_add(a0, F.ext_mul(scale, h0))
            a1 = F.ext_add(a1, F.ext_mul(scale, h1))
        return a0, a1

    def output_functional(self, name: str, point: np.ndarray, r1: np.ndarray
                          ) -> dict[int, np.ndarray]:
        """The mask vector's linear functional a0 (1 - r1) + a1 r1 (the output term's MLE
        value at a sumcheck point whose first coordinate is r1), as {index: coefficient}:
        what the verifier asks the mask commitment to open."""
        out: dict[int, np.ndarray] = {}
        w0 = F.ext_sub(F.ext_one(), r1)
        for part in self.parts[name]:
            entry = self.fresh[part.source]
            scale = self.part_scale(part, point)
            powers = _powers(point[:, part.offset], entry.degree + 1)
            n = entry.degree + 1
            for half, weight in ((0, w0), (1, r1)):
                coef = F.ext_mul(scale, weight)
                for e in range(n):
                    idx = entry.offset + half * n + e
                    term = F.ext_mul(coef, powers[:, e])
                    out[idx] = term if idx not in out else F.ext_add(out[idx], term)
        return out

    def value_functional(self, name: str, point: np.ndarray) -> dict[int, np.ndarray]:
        """The mask vector's linear functional mask_name(point), as {index: coefficient}:
        the part of a claim T'(z) = T~(z) + mask_T(z) on a committed tensor that the mask
        commitment opens."""
        out: dict[int, np.ndarray] = {}
        for part in self.parts[name]:
            entry = self.fresh[part.source]
            scale = self.part_scale(part, point)
            powers = _powers(point[:, part.offset], entry.degree + 1)
            n = entry.degree + 1
            for half in (0, 1):
                for e in range(n):
                    idx = entry.offset + half * n + e
                    term = F.ext_mul(scale, powers[:, e])
                    out[idx] = term if idx not in out else F.ext_add(out[idx], term)
        return out

    def line_polynomial(self, vector: np.ndarray, name: str, prefix: np.ndarray,
                        suffix: np.ndarray, degree: int) -> np.ndarray:
        """The mask of ``name`` on the line prefix || X || suffix, as coefficients in X
        (4, degree + 1), from its values at X = 0..degree: what a sumcheck's last round
        adds to a masked factor."""
        values = []
        for x in range(degree + 1):
            node = F.ext_from_base(np.full((1,), x, np.uint64))
            point = np.concatenate([prefix, node, suffix], axis=1)
            values.append(self.evaluate(vector, name, point))
        return coefficients_from_values(np.stack(values, axis=1))

    def line_degree(self, name: str, position: int) -> int:
        """The degree in the variable at ``position`` of the mask of ``name``: 2 from Z,
        the delta's degree when that variable is its first, 1 from a row selector."""
        best = 0
        for part in self.parts[name]:
            entry = self.fresh[part.source]
            lo, hi = part.offset, part.offset + entry.num_vars
            if lo <= position < hi:
                degree = 2 + (entry.degree if position == lo else 0)
            else:
                degree = 1 if part.rows and position < part.offset else 0
            best = max(best, degree)
        return best


def _derived(circuit: Circuit, layer, ins: list[tuple[Part, ...]]) -> tuple[Part, ...]:
    """The mask of a free layer's output from its inputs' masks."""
    if isinstance(layer, Scale):
        c = int(F.encode(np.array(layer.c, np.int64)))
        return tuple(p.scaled(c) for p in ins[0])
    if isinstance(layer, AddConst):
        return ins[0]
    if isinstance(layer, Add):
        return ins[0] + ins[1]
    # AddBias: the bias's mask on the column variables, times the selector of the true rows
    if any(p.offset for p in ins[1]):
        raise ValueError(f"zk: bias {layer.inputs[1]!r} of layer {layer.out!r} has a derived "
                         "mask")
    row_vars = mle.log2_exact(circuit.tensors[layer.out].padded[0])
    return ins[0] + tuple(Part(p.source, p.coef, row_vars, layer.rows) for p in ins[1])


def _output_path(circuit: Circuit) -> list[tuple]:
    """The public output may come from free layers, which cannot hide anything from it:
    follow them back, at each one input X (used nowhere else) whose mask is then fixed by
    the requirement that the output's be zero, down to an X made by a layer with a sumcheck
    (whose output term then carries that mask). Returns [(layer, X)] from the output down;
    refuses a circuit with no such path, naming the layer."""
    producer = circuit.producer()
    consumers = circuit.consumers()
    path: list[tuple] = []
    name = circuit.output
    while name in producer and isinstance(producer[name], FREE_LAYERS):
        layer = producer[name]
        options = layer.inputs[:1] if isinstance(layer, (AddBias, Scale, AddConst)) \
            else layer.inputs
        usable = [x for x in options if x in producer and consumers[x] == 1]
        # a layer with a sumcheck ends the path: prefer it
        usable.sort(key=lambda x: isinstance(producer[x], FREE_LAYERS))
        if not usable:
            raise ValueError(f"zk: the public output is computed through the {layer.kind} "
                             f"layer {layer.out!r} from masked tensors none of which can "
                             "absorb the others' masks; not supported")
        path.append((layer, usable[0]))
        name = usable[0]
    return path


def _normalized(parts: tuple[Part, ...]) -> tuple[Part, ...]:
    """Parts with the same source and placement merged (coefficients added), zeros dropped."""
    total: dict[tuple[str, int, int], int] = {}
    for p in parts:
        key = (p.source, p.offset, p.rows)
        total[key] = (total.get(key, 0) + p.coef) % F.P
    return tuple(Part(src, coef, off, rows) for (src, off, rows), coef in total.items() if coef)


def _powers(x: np.ndarray, count: int) -> np.ndarray:
    """1, x, x^2, ..., as (4, count)."""
    out = F.ext_one((count,))
    for e in range(1, count):
        out[:, e] = F.ext_mul(out[:, e - 1], x)
    return out


def prefix_selector(point: np.ndarray, rows: int) -> np.ndarray:
    """S(x) = sum_{i < rows} eq(x, i) over x in K^n (MSB first), in O(n): for every bit j
    set in ``rows``, the indices below it that agree with it above j and have 0 at j
    contribute prod_{l < j} eq(x_l, bit_l) (1 - x_j), their lower bits summing to 1."""
    point = np.asarray(point, np.uint64)
    n = point.shape[1]
    if rows >= 1 << n:
        return F.ext_one()
    one = F.ext_one()
    total, prefix = F.ext_zero(), F.ext_one()
    for j in range(n):
        x = point[:, j]
        if (rows >> (n - 1 - j)) & 1:
            total = F.ext_add(total, F.ext_mul(prefix, F.ext_sub(one, x)))
            prefix = F.ext_mul(prefix, x)
        else:
            prefix = F.ext_mul(prefix, F.ext_sub(one, x))
    return total


def vanishing(point: np.ndarray) -> np.ndarray:
    """Z(point) = prod_j x_j (1 - x_j) (1 for no variables)."""
    point = np.asarray(point, np.uint64)
    total = F.ext_one()
    for j in range(point.shape[1]):
        x = point[:, j]
        total = F.ext_mul(total, F.ext_mul(x, F.ext_sub(F.ext_one(), x)))
    return total


def coefficients_from_values(values: np.ndarray) -> np.ndarray:
    """The coefficients (4, n) of the polynomial of degree < n taking ``values`` (4, n) at
    0..n-1 (Newton's divided differences, then expanded)."""
    values = F._as_ext(values)
    n = values.shape[1]
    table = [values[:, i].copy() for i in range(n)]
    newton = [table[0]]
    for level in range(1, n):
        inv = F.ext_from_base(F.inv(F.encode(np.array(level, np.int64))))
        table = [F.ext_mul(F.ext_sub(table[i + 1], table[i]), inv)
                 for i in range(len(table) - 1)]
        newton.append(table[0])
    coeffs = F.ext_zero((n,))
    basis = F.ext_zero((n,))
    basis[:, 0] = F.ext_one()
    for k in range(n):
        # basis = prod_{j < k} (X - j)
        coeffs = F.ext_add(coeffs, F.ext_mul(basis, newton[k].reshape(F.EXT_DEGREE, 1)))
        shifted = F.ext_zero((n,))
        shifted[:, 1:] = basis[:, :-1]
        minus_k = F.ext_from_base(F.encode(np.array(-k, np.int64)))
        basis = F.ext_add(shifted, F.ext_mul(basis, minus_k.reshape(F.EXT_DEGREE, 1)))
    return coeffs

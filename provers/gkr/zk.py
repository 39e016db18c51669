"""Zero knowledge, the parts prover and verifier share: the mask vector's layout, the masked
sumchecks a proof runs (their shapes, in proof order), and the verifier's side of running one
and collecting the mask claims it leaves. Imports nothing from the prover (a test checks).

PROTOCOL.md, "Zero knowledge". A zero-knowledge proof commits (hiding Ligero) to one mask
vector before the output point is drawn:

    [ every fresh tensor mask's delta0, delta1 (masks.MaskPlan) |
      every masked sumcheck's g, in proof order (``schedule``) |
      the opening's column-sumcheck g ]

Each sumcheck of the proof runs masked (zk_sumcheck): its g is the next block of the vector;
its tables that stand for masked tensors (``MaskedTable``) get their masks on the last
round's line; the claim it proves on a masked tensor adds an output term. What it leaves
besides the claims on tensors are *mask claims*: g(r) and the output term's d, each a linear
functional of the mask vector (a dict index -> coefficient in K) with its value. The claims on
committed tensors and every mask claim are opened together, in zero knowledge, at the end
(zk_opening).

Every block of the vector is used in the order ``schedule`` lists them; ``MaskCursor`` hands
them out and raises if the proof asks for a shape other than the scheduled one (a prover or
verifier that drifted from the schedule).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from provers.gkr import field as F
from provers.gkr import logup, mle, sumcheck, zk_opening, zk_sumcheck
from provers.gkr.circuit import Circuit, lookup_mult
from provers.gkr.claim import merge_label, merge_masked
from provers.gkr.masks import MaskPlan
from provers.gkr.runner import MaskedTable

LABEL_ROOT = "zk/mask-root"


@dataclass(frozen=True)
class SumcheckShape:
    label: str
    num_vars: int
    degree: int
    last_degree: int

    @property
    def degrees(self) -> tuple[int, ...]:
        return (self.degree,) * (self.num_vars - 1) + (self.last_degree,)

    @property
    def size(self) -> int:
        """Base entries of its g: deg_i + 1 coefficients in K per round, 4 entries each."""
        return F.EXT_DEGREE * sum(d + 1 for d in self.degrees)


def masked_degrees(plan: MaskPlan, masked: list[MaskedTable], num_vars: int) -> dict[int, int]:
    """Table -> the degree of its mask on the last round's line (the variable at position
    prefix_len + num_vars - 1 of its tensor); tables of unmasked tensors are left out."""
    out = {}
    for m in masked:
        if plan.parts[m.tensor]:
            out[m.table] = plan.line_degree(m.tensor, m.prefix_len + num_vars - 1)
    return out


def shape_of(label: str, plan: MaskPlan, terms, masked: list[MaskedTable], num_vars: int
             ) -> SumcheckShape:
    """The shape of a masked sumcheck over ``terms`` (sumcheck.Term list)."""
    degree = sumcheck.terms_degree(list(terms))
    last = zk_sumcheck.last_round_degree(terms, masked_degrees(plan, masked, num_vars))
    return SumcheckShape(label, num_vars, degree, last)


@dataclass(frozen=True)
class MaskLayout:
    """The mask vector: the plan's fresh masks, then one g block per scheduled sumcheck."""

    plan: MaskPlan
    shapes: tuple[SumcheckShape, ...]
    offsets: tuple[int, ...]
    size: int
    cols: int

    @classmethod
    def build(cls, plan: MaskPlan, shapes: list[SumcheckShape], cols: int) -> MaskLayout:
        """The last block (the opening's g) starts a row of ``cols`` entries and fits in it:
        the opening proves it with one product on that row."""
        offsets, pos = [], plan.size
        for i, s in enumerate(shapes):
            if i == len(shapes) - 1:
                pos = -(-pos // cols) * cols
                if s.size > cols:
                    raise ValueError(f"zk: the opening's mask ({s.size} entries) does not fit "
                                     f"in a row of {cols}")
            offsets.append(pos)
            pos += s.size
        return cls(plan, tuple(shapes), tuple(offsets), pos, cols)

    @property
    def opening_row(self) -> int:
        return self.offsets[-1] // self.cols

    @property
    def rows(self) -> int:
        return -(-self.size // self.cols)


def g_functional(offset: int, shape: SumcheckShape, r: np.ndarray) -> dict[int, np.ndarray]:
    """g(r) as a functional of the mask vector, for g's block at ``offset``
    (zk_opening.mask_entries' layout: coordinate l of g_i's coefficient e at
    4 (sum_{i'<i} (deg_i' + 1) + e) + l)."""
    weights = zk_opening.mask_functional(shape.degrees, r)
    return {offset + j: np.ascontiguousarray(weights[:, j]) for j in range(weights.shape[1])}


def g_coefficients(vector: np.ndarray, offset: int, shape: SumcheckShape) -> tuple:
    """The block's g as zk_sumcheck.SumcheckMask coefficients: per round (4, deg_i + 1)."""
    coeffs, pos = [], offset
    for deg in shape.degrees:
        n = deg + 1
        block = np.asarray(vector[pos:pos + F.EXT_DEGREE * n], np.uint64)
        coeffs.append(np.ascontiguousarray(block.reshape(n, F.EXT_DEGREE).T))
        pos += F.EXT_DEGREE * n
    return tuple(coeffs)


@dataclass
class MaskClaim:
    """<mask vector, functional> = value."""

    functional: dict[int, np.ndarray]
    value: np.ndarray


def add_functionals(parts: list[tuple[np.ndarray, dict[int, np.ndarray]]]
                    ) -> dict[int, np.ndarray]:
    """sum_j c_j f_j for (coefficient, functional) pairs."""
    out: dict[int, np.ndarray] = {}
    for coef, f in parts:
        for idx, w in f.items():
            term = F.ext_mul(coef, w)
            out[idx] = term if idx not in out else F.ext_add(out[idx], term)
    return out


@dataclass
class MaskCursor:
    """Hands out the scheduled g blocks in order and collects the mask claims."""

    layout: MaskLayout
    position: int = 0
    claims: list[MaskClaim] = field(default_factory=list)

    def next(self, shape: SumcheckShape) -> int:
        """The offset of the next block, which must have this shape."""
        if self.position >= len(self.layout.shapes):
            raise ValueError(f"zk: sumcheck {shape.label!r} is beyond the schedule's "
                             f"{len(self.layout.shapes)}")
        expected = self.layout.shapes[self.position]
        if (expected.num_vars, expected.degree, expected.last_degree) != (
                shape.num_vars, shape.degree, shape.last_degree):
            raise ValueError(f"zk: sumcheck {shape.label!r} has shape {shape}, the schedule "
                             f"has {expected} there")
        offset = self.layout.offsets[self.position]
        self.position += 1
        return offset

    def done(self) -> None:
        if self.position != len(self.layout.shapes):
            raise ValueError(f"zk: {self.position} of {len(self.layout.shapes)} scheduled "
                             "sumchecks ran")


def output_parts(plan: MaskPlan, outputs: list[tuple[np.ndarray, str, np.ndarray]]
                 ) -> list[tuple[np.ndarray, str, np.ndarray]]:
    """The output-term parts (coefficient, tensor, point) whose tensors are masked."""
    return [(c, name, z) for c, name, z in outputs if plan.parts[name]]


def output_functional(plan: MaskPlan, outputs, r1: np.ndarray) -> dict[int, np.ndarray]:
    return add_functionals([(c, plan.output_functional(name, z, r1))
                            for c, name, z in outputs])


class ZkVerifier:
    """The verifier's side of the masked sumchecks of one proof (runner.PlainVerifier's
    counterpart)."""

    masked = True

    def __init__(self, layout: MaskLayout) -> None:
        self.plan = layout.plan
        self.cursor = MaskCursor(layout)

    def sumcheck(self, label: str, channel, claim: np.ndarray, num_vars: int, terms,
                 masked: list[MaskedTable],
                 outputs: list[tuple[np.ndarray, str, np.ndarray]]
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Check one masked sumcheck; returns (r, the value the terms must take at r)."""
        shape = shape_of(label, self.plan, terms, masked, num_vars)
        offset = self.cursor.next(shape)
        outputs = output_parts(self.plan, outputs)
        proof = channel.recv_zk_sumcheck(label, num_vars, shape.degree, shape.last_degree,
                                         bool(outputs))
        r, value, g_r, d = zk_sumcheck.verify(claim, num_vars, shape.degree,
                                              shape.last_degree, proof, channel.transcript,
                                              F.ext_one() if outputs else None)
        self.cursor.claims.append(MaskClaim(g_functional(offset, shape, r), g_r))
        if outputs:
            self.cursor.claims.append(MaskClaim(output_functional(self.plan, outputs,
                                                                  r[:, 0]), d))
        return r, value


ZK_LAYERS = frozenset({"matmul", "hadamard", "rearrange", "add", "add_bias", "add_const",
                       "scale", "requant"})
"""The layer kinds with a masked reduction (a new kind is refused until it has one)."""


def unsupported(circuit: Circuit) -> str | None:
    """Why a circuit cannot be proven in zero knowledge yet (None: it can)."""
    for layer in circuit.layers:
        if layer.kind not in ZK_LAYERS:
            return (f"zk: {layer.kind} layers (layer {layer.out!r}) have no masked "
                    f"reduction; masked: {', '.join(sorted(ZK_LAYERS))}")
    for names in circuit.lookups().values():
        small = [n for n in names if circuit.tensors[n].size < 2]
        if small:
            return f"zk: range-checked tensor {small[0]!r} has one entry (needs two or more)"
    return None


def virtual_tensors(circuit: Circuit) -> dict:
    """Every layer's virtual quantities (masks.MaskPlan.build's ``virtual``)."""
    from provers.gkr.layers import REDUCTIONS

    out: dict = {}
    for layer in circuit.layers:
        module = REDUCTIONS[layer.kind]
        if hasattr(module, "zk_virtual"):
            out.update(module.zk_virtual(layer, circuit.tensors))
    for bits, names in circuit.lookups().items():
        out.update(logup.zk_virtual(names, [circuit.tensors[n].size for n in names], bits,
                                    lookup_mult(bits)))
    return out


def extra_claims(circuit: Circuit) -> dict[str, int]:
    """Claims layers leave beyond one per consumer (for the masks' degrees)."""
    from provers.gkr.layers import REDUCTIONS

    out: dict[str, int] = {}
    for layer in circuit.layers:
        module = REDUCTIONS[layer.kind]
        if hasattr(module, "zk_claims"):
            for name, count in module.zk_claims(layer).items():
                out[name] = out.get(name, 0) + count
    return out


def schedule(circuit: Circuit, plan: MaskPlan, opening_vars: int) -> list[SumcheckShape]:
    """Every masked sumcheck of a proof, in proof order: per layer from the output back, the
    merge of its output's claims (when several) and the layer's own; the range checks';
    then the opening's column sumcheck (``opening_vars`` variables, degree 2)."""
    from provers.gkr.layers import REDUCTIONS

    counts = {circuit.output: 1}
    shapes: list[SumcheckShape] = []
    for layer in reversed(circuit.layers):
        if counts.pop(layer.out, 0) > 1:
            shapes.append(shape_of(merge_label(layer.out), plan, zk_sumcheck.product_terms(2),
                                   merge_masked(layer.out), circuit.tensors[layer.out].num_vars))
        shapes += REDUCTIONS[layer.kind].zk_shapes(layer, circuit.tensors, plan)
        for name in layer.inputs:
            counts[name] = counts.get(name, 0) + 1
    for bits, names in circuit.lookups().items():
        shapes += logup.zk_shapes([circuit.tensors[n].size for n in names], bits, plan,
                                  f"lookup/{bits}")
    shapes.append(SumcheckShape("zk-opening/sumcheck", opening_vars, 2, 2))
    return shapes


def _functional_components(functional: dict[int, np.ndarray], cols: int, matrix: int
                           ) -> list:
    """A functional of the mask vector as opening components, one per row it touches (row
    weight 1 on that row, its coefficients there as explicit column weights)."""
    by_row: dict[int, np.ndarray] = {}
    for idx, coef in functional.items():
        row, col = divmod(idx, cols)
        if row not in by_row:
            by_row[row] = F.ext_zero((cols,))
        by_row[row][:, col] = F.ext_add(by_row[row][:, col], coef)
    return [zk_opening.Component(matrix, F.ext_one((1,)), e, row0=row)
            for row, e in sorted(by_row.items())]


def claims_of(layout: MaskLayout, committed_layouts: list, claims: dict,
              mask_claims: list[MaskClaim]) -> list:
    """The opening's claims (zk_opening.Claim) over the matrices [mask vector (0), then the
    committed tensors' matrices (1, 2, ...: the weights', the advice's) in the order of
    ``committed_layouts``]: every claim left on a committed tensor,
    T'(z) = T~(z) + mask_T(z), as its matrix's segment plus the mask's functional; every
    mask claim as its functional. Takes those claims out of ``claims`` (left: the public
    input's)."""
    from provers.gkr import committed  # committed -> claim -> zk: imported here

    out = []
    for index, lay in enumerate(committed_layouts, start=1):
        for name in [n for n in claims if n in lay.slots]:
            for claim in claims.pop(name):
                seg = committed.segment(lay, claim)
                parts = [zk_opening.Component(index, mle.eq_table(seg.row_point),
                                              zk_opening.EqColumns(seg.col_point, seg.col0),
                                              row0=seg.row0)]
                parts += _functional_components(
                    layout.plan.value_functional(name, claim.point), layout.cols, 0)
                out.append(zk_opening.Claim(claim.value, tuple(parts)))
    for mc in mask_claims:
        out.append(zk_opening.Claim(mc.value, tuple(_functional_components(
            mc.functional, layout.cols, 0))))
    return out

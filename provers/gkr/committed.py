"""Committed leaf tensors: their layout in Ligero matrices, and the verifier's side of
opening the claims GKR leaves on them. Imports nothing from the prover (a test checks).

PROTOCOL.md, "Committed weights" and "Committed advice". Every committed tensor (zero-padded,
2^v entries) occupies a slot of a committed vector; slots are sorted by size, largest first,
so each starts at a multiple of its own size. With k = 2^c columns, a tensor of 2^v >= k
entries fills 2^(v - c) whole rows, and a smaller one lies inside one row. A claim
T~(z) = y (z in K^v) is then a claim on the committed matrix U that holds T:

    y = sum_rows a(row) sum_cols U[row, col] e(col),

a = eq(z_high, .) on the slot's rows (z_high the first v - c coordinates; a single row for a
small tensor) and e = eq(z_low, .) on the slot's columns. Several matrices with the same k
(the weights, committed in setup, and the advice, committed by each proof) are opened
together. For claims i = 1..m, over all of them:

1. alpha; a sumcheck over the c column variables proves
   sum_i alpha^i y_i = sum_col sum_i alpha^i u_i(col) e_i(col), with u_i = a_i^T U_i
   (degree 2), ending at rho with the prover's values u~_i(rho), which become claims
   U_i~(a_i, rho) = y'_i.
2. beta; one Ligero opening of the row combinations w_M = sum_{i on M} beta^i a_i, one per
   matrix M, with one set of column queries, gives u = sum_M w_M^T U_M, and the verifier
   checks <u, eq(rho, .)> = sum_i beta^i y'_i.

The verifier's work: the sumcheck (c rounds), e_i~(rho) in O(v) each, the w_M in O(R), and
the Ligero checks. Soundness error added: (m - 1) + 2c + (m - 1) over |K| plus the
commitment's (one set of queries, so once).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from provers.gkr import field as F
from provers.gkr import mle, sumcheck
from provers.gkr.circuit import Circuit, Requant, TensorInfo
from provers.gkr.claim import Claim
from provers.gkr.errors import SumcheckFailed
from provers.gkr.pcs import ligero_verifier
from provers.gkr.pcs.errors import OpeningMismatch
from provers.gkr.pcs.params import DEFAULT, Commitment, LigeroParams, choose_cols


@dataclass(frozen=True)
class Layout:
    """Where every committed tensor lives: name -> (offset, padded size), and the column
    count of the committed matrix."""

    slots: dict[str, tuple[int, int]]
    cols: int
    total: int

    @classmethod
    def build(cls, tensors: list[TensorInfo], params: LigeroParams = DEFAULT,
              cols: int | None = None) -> Layout:
        """``cols``: the column count, when the matrix is opened together with others (all
        of them need the same); by default the one that minimises this matrix's opening."""
        order = sorted(tensors, key=lambda t: (-t.size, t.name))
        slots, offset = {}, 0
        for t in order:
            slots[t.name] = (offset, t.size)
            offset += t.size
        if cols is None:
            cols = choose_cols(max(offset, 1), params, opened_rows=2)
        return cls(slots, cols, offset)

    @property
    def rows(self) -> int:
        """The committed matrix's rows (ligero.commit's count for ``total`` entries)."""
        return max(-(-self.total // self.cols), 1)

    def commitment(self, root: bytes, params: LigeroParams = DEFAULT) -> Commitment:
        """What the verifier holds about a matrix of this layout committed to ``root``."""
        return Commitment(root, self.rows, self.cols, params)

    def vector(self, values: dict[str, np.ndarray]) -> np.ndarray:
        """The committed vector: every tensor's padded entries at its offset."""
        out = np.zeros(self.total, np.int64)
        for name, (offset, size) in self.slots.items():
            out[offset:offset + size] = np.asarray(values[name], np.int64).reshape(-1)
        return out

    def description(self) -> list:
        return [self.cols, sorted([n, o, s] for n, (o, s) in self.slots.items())]


def advice_layout(circuit: Circuit, cols: int | None = None,
                  params: LigeroParams = DEFAULT) -> Layout | None:
    """The layout of a circuit's advice, committed by each proof (None: it has none)."""
    names = circuit.advice()
    if not names:
        return None
    return Layout.build([circuit.tensors[n] for n in names], params, cols)


def advice_claim_count(circuit: Circuit) -> int:
    """How many claims GKR leaves on advice (requant layers, layers/requant.py): the ReLU
    product's two (or the output's one), the constraints' two, the limbs' recomposition
    claim and LogUp claim; and per range check (Circuit.lookups) the multiplicities' claim."""
    count = len(circuit.lookups())
    for layer in circuit.layers:
        if isinstance(layer, Requant):
            count += (2 if layer.mode == "relu" else 1) + 2 + 2
    return count


@dataclass(frozen=True)
class Segment:
    """A claim's place in the matrix: rows row0.. (2^len(row_point) of them, weighted by
    eq(row_point, .)) and columns col0.. (weighted by eq(col_point, .))."""

    row0: int
    row_point: np.ndarray
    col0: int
    col_point: np.ndarray


def segment(layout: Layout, claim: Claim) -> Segment:
    offset, size = layout.slots[claim.tensor]
    c = layout.cols.bit_length() - 1
    v = size.bit_length() - 1
    z = np.asarray(claim.point, np.uint64)
    if size >= layout.cols:
        return Segment(offset // layout.cols, z[:, : v - c], 0, z[:, v - c:])
    return Segment(offset // layout.cols, z[:, :0], offset % layout.cols, z)


def scatter(table: np.ndarray, start: int, length: int) -> np.ndarray:
    """``table`` (4, m) placed at ``start`` in a zero extension vector of ``length``."""
    out = F.ext_zero((length,))
    out[:, start:start + table.shape[1]] = table
    return out


def col_weights_at(layout: Layout, seg: Segment, rho: np.ndarray) -> np.ndarray:
    """e~(rho) for e = eq(col_point, .) placed at col0: the bits of col0 above the segment
    select it, so e~(rho) = eq(bits(col0), rho_high) eq(col_point, rho_low). O(c)."""
    c = layout.cols.bit_length() - 1
    width = seg.col_point.shape[1]
    high = c - width
    bits = [(seg.col0 >> (c - 1 - i)) & 1 for i in range(high)]
    selector = F.ext_from_base(np.array(bits, np.uint64)).reshape(F.EXT_DEGREE, high)
    return F.ext_mul(mle.eq_eval(selector, rho[:, :high]),
                     mle.eq_eval(seg.col_point, rho[:, high:]))


def powers(x: np.ndarray, count: int) -> list[np.ndarray]:
    out = [F.ext_one()]
    for _ in range(count - 1):
        out.append(F.ext_mul(out[-1], x))
    return out


def combined_rows(layout: Layout, rows: int, segments: list[Segment],
                  coeffs: list[np.ndarray]) -> np.ndarray:
    """w = sum_i coeffs_i a_i over the matrix's rows."""
    w = F.ext_zero((rows,))
    for seg, coef in zip(segments, coeffs, strict=True):
        a = F.ext_mul(mle.eq_table(seg.row_point), coef)
        w[:, seg.row0:seg.row0 + a.shape[1]] = F.ext_add(
            w[:, seg.row0:seg.row0 + a.shape[1]], a)
    return w


def weighted_sum(values: list[np.ndarray], coeffs: list[np.ndarray]) -> np.ndarray:
    total = F.ext_zero()
    for v, a in zip(values, coeffs, strict=True):
        total = F.ext_add(total, F.ext_mul(v, a))
    return total


def error_terms(cols: int, claims: int) -> int:
    """The reduction's soundness error in units of 1/|K| (the module docstring)."""
    c = cols.bit_length() - 1
    return 2 * max(claims - 1, 0) + 2 * c


def security_error(cols: int, claims: int, params: LigeroParams = DEFAULT) -> float:
    """The probability bound this part adds: its sumcheck and combinations plus Ligero's
    (one opening for every matrix of ``cols`` columns)."""
    k_size = 2.0 ** (F.EXT_DEGREE * math.log2(F.P))
    return error_terms(cols, claims) / k_size + params.error(cols * params.blowup)


@dataclass(frozen=True)
class Opening:
    """One committed matrix's part in an opening: its layout, what the verifier holds about
    it, and the claims on its tensors."""

    layout: Layout
    commitment: Commitment
    claims: list[Claim]


def verify_claims(parts: list[Opening], channel) -> None:
    """Check the opening of the claims on committed tensors, every matrix's at once (the
    module docstring's steps); raises SumcheckFailed, a pcs error or MalformedProof."""
    parts = [p for p in parts if p.claims]
    if not parts:
        return
    cols = parts[0].layout.cols
    if any(p.layout.cols != cols for p in parts):
        raise ValueError("committed: matrices opened together need the same columns")
    c = cols.bit_length() - 1
    segments = [[segment(p.layout, cl) for cl in p.claims] for p in parts]
    values = [cl.value for p in parts for cl in p.claims]
    m = len(values)
    alphas = powers(channel.challenge("committed/alpha"), m)
    proof = channel.recv_sumcheck("committed/sumcheck", c, 2)
    rho, final = sumcheck.verify(weighted_sum(values, alphas), c, 2, proof,
                                 channel.transcript)
    evals = channel.recv_ext("committed/evals", m)
    evals = [evals[:, i].copy() for i in range(m)] if m > 1 else [evals]
    flat = [(p.layout, s) for p, segs in zip(parts, segments, strict=True) for s in segs]
    expected = weighted_sum([F.ext_mul(y, col_weights_at(layout, s, rho))
                             for y, (layout, s) in zip(evals, flat, strict=True)], alphas)
    if not F.ext_eq(expected, final):
        raise SumcheckFailed("the column sumcheck of the committed-tensor openings")
    betas = powers(channel.challenge("committed/beta"), m)
    weights, start = [], 0
    for p, segs in zip(parts, segments, strict=True):
        weights.append(combined_rows(p.layout, p.commitment.rows, segs,
                                     betas[start:start + len(segs)]))
        start += len(segs)
    (u,) = ligero_verifier.verify_combinations([p.commitment for p in parts], [weights],
                                               channel)
    if not F.ext_eq(F.ext_dot(mle.eq_table(rho), u), weighted_sum(evals, betas)):
        raise OpeningMismatch("committed tensors: the opened row does not give the claimed "
                              "evaluations")

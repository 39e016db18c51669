"""Sumcheck for products of one to three multilinear tables (and sums of such products),
prover and verifier.

Protocol step: PROTOCOL.md, "Sumcheck" (Lund, Fortnow, Karloff, Nisan 1992; the
linear-time prover for products of multilinear tables of Thaler 2013, section 3). The claim is

    sum over b in {0,1}^v of  prod_j T_j(b)  =  claim,

with 1 <= d <= 3 factor tables, each base (1-d) or extension (4, 2^v). Variables are bound
MSB first, so the returned point r is ordered like a claim point. In round i the prover sends
g_i, of degree d, as its values at 0, 2, ..., d ("compact form": g_i(1) = claim - g_i(0) is
implied); it is absorbed into the transcript before r_i is drawn, and every table is folded
with r_i. The verifier checks nothing per round: it sets claim <- g_i(r_i) by Lagrange
interpolation on 0..d, and the caller finally compares that claim with the product of the
factors' claimed evaluations at r (check_final), which become new claims.

Transcript use (prover and verifier alike): absorb "sumcheck/header" (v, d as two u32),
"sumcheck/claim" (the claim), then per round "sumcheck/round" (g_i at 0, 2..d) and draw
"sumcheck/r". The final evaluations are the caller's to absorb.

The verifier part (verify, check_final, terms_final_value, SumcheckProof) uses only field and
transcript; the prover's kernels below are never reached from it. ``prove_terms`` proves a
sum of such products with the same transcript protocol (the constraint layers' form).

Prover cost: each round evaluates g_i at d points and folds each table, linear in the table
size (about 2N extension multiplications per factor in all); after round 1 every table is an
extension table, folded between two buffers of the prover's own. Round evaluations run in
numba kernels that accumulate unreduced products in split 32-bit halves (no reduction per
element); without numba the same values come from vectorised numpy. Measured on the 2-core
VM: two extension factors at v = 20, 24-30 ms (38-40 ms on one thread).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import ArrayLike

from provers.gkr import field as F
from provers.gkr import mle
from provers.gkr.field import _helper, _inline, _kernel, _serial, prange
from provers.gkr.transcript import Transcript

MAX_DEGREE = 3

_LABEL_HEADER = b"sumcheck/header"
_LABEL_CLAIM = b"sumcheck/claim"
_LABEL_ROUND = b"sumcheck/round"
_LABEL_R = b"sumcheck/r"


class SumcheckError(ValueError):
    """A malformed sumcheck proof (wrong number of rounds or evaluations, bad encoding)."""


@dataclass(frozen=True, eq=False)
class SumcheckProof:
    """The round messages: round_evals[:, i, k] is g_i at 0 for k = 0 and at k + 1 for k >= 1
    (extension array of shape (4, v, d))."""

    round_evals: np.ndarray

    @property
    def num_vars(self) -> int:
        return int(self.round_evals.shape[1])

    @property
    def degree(self) -> int:
        return int(self.round_evals.shape[2])

    def to_bytes(self) -> bytes:
        """Canonical: rounds in order, each its d evaluations, 16 bytes each (field's
        ext_to_bytes)."""
        return F.ext_to_bytes(self.round_evals)

    @classmethod
    def from_bytes(cls, data: bytes, num_vars: int, degree: int) -> SumcheckProof:
        """Decode a proof of known shape; SumcheckError on a wrong length or a coefficient
        >= p."""
        expected = 16 * num_vars * degree
        if len(data) != expected:
            raise SumcheckError(
                f"sumcheck proof: expected {expected} bytes for {num_vars} rounds of "
                f"{degree} evaluations, got {len(data)}"
            )
        try:
            evals = F.ext_from_bytes(data, (num_vars, degree))
        except ValueError as exc:
            raise SumcheckError(f"sumcheck proof: {exc}") from None
        return cls(evals)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SumcheckProof):
            return NotImplemented
        return F.ext_eq(self.round_evals, other.round_evals)

    __hash__ = None  # type: ignore[assignment]


# --------------------------------------------------------------------------------------------
# verifier
# --------------------------------------------------------------------------------------------


@cache
def _lagrange_weights(d: int) -> np.ndarray:
    """1 / prod_{m != i} (i - m) mod p for the nodes 0..d."""
    denoms = []
    for i in range(d + 1):
        prod = 1
        for m in range(d + 1):
            if m != i:
                prod *= i - m
        denoms.append(prod % F.P)
    return F.inv(np.array(denoms, dtype=np.uint64))


def interpolate_round(claim: ArrayLike, evals: ArrayLike, r: ArrayLike) -> np.ndarray:
    """g(r) for the degree-d round polynomial given in compact form: evals (4, d) holds g at
    0, 2, ..., d and g(1) = claim - g(0). Barycentric Lagrange on the nodes 0..d."""
    evals = F._as_ext(evals)
    claim = _as_scalar(claim)
    r = _as_scalar(r)
    d = evals.shape[1]
    values = np.empty((F.EXT_DEGREE, d + 1), np.uint64)
    values[:, 0] = evals[:, 0]
    values[:, 1] = F.ext_sub(claim, evals[:, 0])
    values[:, 2:] = evals[:, 1:]
    # r - m for each node m; the numerator of basis i is the product of all but term i.
    nodes = F.ext_from_base(np.arange(d + 1, dtype=np.uint64))
    diffs = F.ext_sub(r.reshape(F.EXT_DEGREE, 1), nodes)
    prefix = F.ext_one((d + 1,))
    suffix = F.ext_one((d + 1,))
    for i in range(1, d + 1):
        prefix[:, i] = F.ext_mul(prefix[:, i - 1], diffs[:, i - 1])
        suffix[:, d - i] = F.ext_mul(suffix[:, d - i + 1], diffs[:, d - i + 1])
    basis = F.ext_mul_base(F.ext_mul(prefix, suffix), _lagrange_weights(d))
    return F.ext_sum_all(F.ext_mul(basis, values))


def _absorb_header(transcript: Transcript, claim: np.ndarray, v: int, d: int) -> None:
    transcript.absorb_bytes(_LABEL_HEADER, struct.pack("<II", v, d))
    transcript.absorb_ext(_LABEL_CLAIM, claim)


def _as_scalar(value) -> np.ndarray:
    c = np.asarray(value, dtype=np.uint64)
    if c.shape != (F.EXT_DEGREE,):
        raise ValueError(f"expected an extension scalar of shape (4,), got {c.shape}")
    return c


def verify(
    claim: ArrayLike, num_vars: int, degree: int, proof: SumcheckProof, transcript: Transcript
) -> tuple[np.ndarray, np.ndarray]:
    """Replay the sumcheck on the verifier's transcript.

    Returns (r, final_claim): the point r (4, num_vars) and the value the product of the
    factors must take at r. The caller then checks check_final(final_claim, evals) for the
    prover's claimed factor evaluations (absorbing those). Raises SumcheckError naming the
    round when the proof has the wrong number of rounds or evaluations or a non-canonical
    value.
    """
    claim = _as_scalar(claim)
    if degree < 1:
        raise SumcheckError(f"sumcheck: degree must be >= 1, got {degree}")
    if not isinstance(proof, SumcheckProof):
        raise SumcheckError(f"sumcheck: expected a SumcheckProof, got {type(proof).__name__}")
    evals = np.asarray(proof.round_evals)
    if evals.ndim != 3 or evals.shape[0] != F.EXT_DEGREE:
        raise SumcheckError(f"sumcheck: round messages must be (4, v, d), got {evals.shape}")
    if evals.shape[1] != num_vars:
        raise SumcheckError(
            f"sumcheck: expected {num_vars} rounds, got {evals.shape[1]} "
            f"(round {min(evals.shape[1], num_vars)} is missing or extra)"
        )
    if evals.shape[2] != degree and num_vars > 0:
        raise SumcheckError(
            f"sumcheck round 0: expected {degree} evaluations (at 0, 2..{degree}), "
            f"got {evals.shape[2]}"
        )
    if evals.dtype != np.uint64:
        raise SumcheckError(f"sumcheck: round messages must be uint64, got {evals.dtype}")
    if num_vars > 0:
        bad = np.nonzero((evals >= F.P).any(axis=(0, 2)))[0]
        if bad.size:
            raise SumcheckError(f"sumcheck round {int(bad[0])}: non-canonical field element")
    _absorb_header(transcript, claim, num_vars, degree)
    point = np.empty((F.EXT_DEGREE, num_vars), np.uint64)
    for i in range(num_vars):
        msg = np.ascontiguousarray(evals[:, i, :])
        transcript.absorb_ext(_LABEL_ROUND, msg)
        r = transcript.challenge_ext(_LABEL_R)
        point[:, i] = r
        claim = interpolate_round(claim, msg, r)
    return point, claim


def check_final(final_claim: ArrayLike, factor_evals: Sequence[ArrayLike]) -> bool:
    """True iff the product of the claimed factor evaluations equals final_claim."""
    evals = [_as_scalar(e) for e in factor_evals]
    if not evals:
        return False
    prod = F.ext_prod_all(np.stack(evals, axis=1))
    return F.ext_eq(prod, _as_scalar(final_claim))


# --------------------------------------------------------------------------------------------
# prover kernels (numba). This module keeps its own copies of the small helpers: numba caches
# compiled code per source file and would not notice an edit to a helper in field.py.
# --------------------------------------------------------------------------------------------

_PU = np.uint64(F.P)
_PI = np.int64(F.P)
_INV_P = 1.0 / F.P
_U0 = np.uint64(0)
_U11 = np.uint64(F.W)
_M32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_R32 = np.uint64((1 << 32) % F.P)


@_helper
def _red(x):
    # Float-reciprocal Barrett step, exact for every uint64 (see field._red). Its branches
    # are almost never taken, so they predict well and beat a select here.
    q = np.uint64(np.float64(x) * _INV_P)
    r = np.int64(x - q * _PU)
    if r < 0:
        r += _PI
    elif r >= _PI:
        r -= _PI
    return np.uint64(r)


@_helper
def _fin(lo, hi):
    """(hi * 2^32 + lo) mod p for a pair of split accumulators."""
    return _red(_red(hi) * _R32 + _red(lo))


@_helper
def _addm(x, y):
    # min(s, s - p) is a branch-free conditional subtraction (s - p wraps when s < p); a
    # branch on these uniformly random values would mispredict half the time.
    s = x + y
    return min(s, s - _PU)


@_helper
def _subm(x, y):
    s = x + _PU - y
    return min(s, s - _PU)


@_helper
def _line2(x0, x1):
    """x0 + 2 (x1 - x0) = 2 x1 - x0, the line through x0, x1 at t = 2."""
    s = x1 + x1 + _PU - x0
    s = min(s, s - _PU)
    return min(s, s - _PU)


@_helper
def _lines3(x0, x1):
    """The line through x0, x1 at t = 2 and t = 3."""
    d = _subm(x1, x0)
    l2 = _addm(x1, d)
    return l2, _addm(l2, d)


@_inline
def _ext_mul_red(a0, a1, a2, a3, b0, b1, b2, b3):
    """a * b in K, reduced."""
    t = _red(a1 * b3 + a2 * b2 + a3 * b1)
    c0 = _red(a0 * b0 + t * _U11)
    t = _red(a2 * b3 + a3 * b2)
    c1 = _red(a0 * b1 + a1 * b0 + t * _U11)
    t = _red(a3 * b3)
    c2 = _red(a0 * b2 + a1 * b1 + a2 * b0 + t * _U11)
    c3 = _red(a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0)
    return c0, c1, c2, c3


@_helper
def _split_ext(a0, a1, a2, a3, b0, b1, b2, b3):
    """Unreduced a * b in K as (low, high) 32-bit halves of each coefficient.

    Each coefficient is a direct part plus W times a wrapped part, both sums of at most four
    products below p^2, so below 2^64. The halves, the wrapped ones times W, add less than
    2^36 per element: a chunk of 2^20 elements accumulates without overflow.
    """
    d0 = a0 * b0
    s0 = a1 * b3 + a2 * b2 + a3 * b1
    d1 = a0 * b1 + a1 * b0
    s1 = a2 * b3 + a3 * b2
    d2 = a0 * b2 + a1 * b1 + a2 * b0
    s2 = a3 * b3
    d3 = a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0
    return (
        (d0 & _M32) + (s0 & _M32) * _U11,
        (d0 >> _S32) + (s0 >> _S32) * _U11,
        (d1 & _M32) + (s1 & _M32) * _U11,
        (d1 >> _S32) + (s1 >> _S32) * _U11,
        (d2 & _M32) + (s2 & _M32) * _U11,
        (d2 >> _S32) + (s2 >> _S32) * _U11,
        d3 & _M32,
        d3 >> _S32,
    )


@_helper
def _split_base(a0, a1, a2, a3, x):
    """Unreduced a * x for a in K, x in F_p, as split halves (see _split_ext)."""
    p0 = a0 * x
    p1 = a1 * x
    p2 = a2 * x
    p3 = a3 * x
    return (
        p0 & _M32,
        p0 >> _S32,
        p1 & _M32,
        p1 >> _S32,
        p2 & _M32,
        p2 >> _S32,
        p3 & _M32,
        p3 >> _S32,
    )


# Round kernels. The serial bodies (_s_round_*) sum g(t) over rows j0..j1 of the first half,
# for t = 0, 2 (and 3 when d = 3), into out[c]; small rounds call them directly (see
# field._launch), large ones through the parallel wrappers (_p_round_*), which keep numba's
# slow parallel passes off the large bodies. Accumulators are plain scalars: a tuple carried
# around the loop costs about 40% here. Factor names: a, b, e extension tables; x, y base
# tables; suffixes 0_, 2_, 3_ the line at t = 0, 2, 3.


@_serial
def _s_round_ee(a, b, h, j0, j1, out, c):
    hu = np.uint64(h)
    l00 = l01 = l02 = l03 = h00 = h01 = h02 = h03 = _U0
    l20 = l21 = l22 = l23 = h20 = h21 = h22 = h23 = _U0
    for j in range(np.uint64(j0), np.uint64(j1)):
        a0_0 = a[0, j]
        a0_1 = a[1, j]
        a0_2 = a[2, j]
        a0_3 = a[3, j]
        b0_0 = b[0, j]
        b0_1 = b[1, j]
        b0_2 = b[2, j]
        b0_3 = b[3, j]
        a2_0 = _line2(a0_0, a[0, hu + j])
        a2_1 = _line2(a0_1, a[1, hu + j])
        a2_2 = _line2(a0_2, a[2, hu + j])
        a2_3 = _line2(a0_3, a[3, hu + j])
        b2_0 = _line2(b0_0, b[0, hu + j])
        b2_1 = _line2(b0_1, b[1, hu + j])
        b2_2 = _line2(b0_2, b[2, hu + j])
        b2_3 = _line2(b0_3, b[3, hu + j])
        i0, i1, i2, i3, i4, i5, i6, i7 = _split_ext(a0_0, a0_1, a0_2, a0_3, b0_0, b0_1, b0_2, b0_3)
        l00 += i0
        h00 += i1
        l01 += i2
        h01 += i3
        l02 += i4
        h02 += i5
        l03 += i6
        h03 += i7
        i0, i1, i2, i3, i4, i5, i6, i7 = _split_ext(a2_0, a2_1, a2_2, a2_3, b2_0, b2_1, b2_2, b2_3)
        l20 += i0
        h20 += i1
        l21 += i2
        h21 += i3
        l22 += i4
        h22 += i5
        l23 += i6
        h23 += i7
    out[c, 0, 0] = _fin(l00, h00)
    out[c, 0, 1] = _fin(l01, h01)
    out[c, 0, 2] = _fin(l02, h02)
    out[c, 0, 3] = _fin(l03, h03)
    out[c, 1, 0] = _fin(l20, h20)
    out[c, 1, 1] = _fin(l21, h21)
    out[c, 1, 2] = _fin(l22, h22)
    out[c, 1, 3] = _fin(l23, h23)


@_serial
def _s_round_eb(a, x, h, j0, j1, out, c):
    hu = np.uint64(h)
    l00 = l01 = l02 = l03 = h00 = h01 = h02 = h03 = _U0
    l20 = l21 = l22 = l23 = h20 = h21 = h22 = h23 = _U0
    for j in range(np.uint64(j0), np.uint64(j1)):
        a0_0 = a[0, j]
        a0_1 = a[1, j]
        a0_2 = a[2, j]
        a0_3 = a[3, j]
        x0_ = x[j]
        a2_0 = _line2(a0_0, a[0, hu + j])
        a2_1 = _line2(a0_1, a[1, hu + j])
        a2_2 = _line2(a0_2, a[2, hu + j])
        a2_3 = _line2(a0_3, a[3, hu + j])
        x2_ = _line2(x0_, x[hu + j])
        i0, i1, i2, i3, i4, i5, i6, i7 = _split_base(a0_0, a0_1, a0_2, a0_3, x0_)
        l00 += i0
        h00 += i1
        l01 += i2
        h01 += i3
        l02 += i4
        h02 += i5
        l03 += i6
        h03 += i7
        i0, i1, i2, i3, i4, i5, i6, i7 = _split_base(a2_0, a2_1, a2_2, a2_3, x2_)
        l20 += i0
        h20 += i1
        l21 += i2
        h21 += i3
        l22 += i4
        h22 += i5
        l23 += i6
        h23 += i7
    out[c, 0, 0] = _fin(l00, h00)
    out[c, 0, 1] = _fin(l01, h01)
    out[c, 0, 2] = _fin(l02, h02)
    out[c, 0, 3] = _fin(l03, h03)
    out[c, 1, 0] = _fin(l20, h20)
    out[c, 1, 1] = _fin(l21, h21)
    out[c, 1, 2] = _fin(l22, h22)
    out[c, 1, 3] = _fin(l23, h23)


@_serial
def _s_round_eee(a, b, e, h, j0, j1, out, c):
    hu = np.uint64(h)
    l00 = l01 = l02 = l03 = h00 = h01 = h02 = h03 = _U0
    l20 = l21 = l22 = l23 = h20 = h21 = h22 = h23 = _U0
    l30 = l31 = l32 = l33 = h30 = h31 = h32 = h33 = _U0
    for j in range(np.uint64(j0), np.uint64(j1)):
        a0_0 = a[0, j]
        a0_1 = a[1, j]
        a0_2 = a[2, j]
        a0_3 = a[3, j]
        b0_0 = b[0, j]
        b0_1 = b[1, j]
        b0_2 = b[2, j]
        b0_3 = b[3, j]
        e0_0 = e[0, j]
        e0_1 = e[1, j]
        e0_2 = e[2, j]
        e0_3 = e[3, j]
        a2_0, a3_0 = _lines3(a0_0, a[0, hu + j])
        a2_1, a3_1 = _lines3(a0_1, a[1, hu + j])
        a2_2, a3_2 = _lines3(a0_2, a[2, hu + j])
        a2_3, a3_3 = _lines3(a0_3, a[3, hu + j])
        b2_0, b3_0 = _lines3(b0_0, b[0, hu + j])
        b2_1, b3_1 = _lines3(b0_1, b[1, hu + j])
        b2_2, b3_2 = _lines3(b0_2, b[2, hu + j])
        b2_3, b3_3 = _lines3(b0_3, b[3, hu + j])
        e2_0, e3_0 = _lines3(e0_0, e[0, hu + j])
        e2_1, e3_1 = _lines3(e0_1, e[1, hu + j])
        e2_2, e3_2 = _lines3(e0_2, e[2, hu + j])
        e2_3, e3_3 = _lines3(e0_3, e[3, hu + j])
        m0, m1, m2, m3 = _ext_mul_red(a0_0, a0_1, a0_2, a0_3, b0_0, b0_1, b0_2, b0_3)
        i0, i1, i2, i3, i4, i5, i6, i7 = _split_ext(m0, m1, m2, m3, e0_0, e0_1, e0_2, e0_3)
        l00 += i0
        h00 += i1
        l01 += i2
        h01 += i3
        l02 += i4
        h02 += i5
        l03 += i6
        h03 += i7
        m0, m1, m2, m3 = _ext_mul_red(a2_0, a2_1, a2_2, a2_3, b2_0, b2_1, b2_2, b2_3)
        i0, i1, i2, i3, i4, i5, i6, i7 = _split_ext(m0, m1, m2, m3, e2_0, e2_1, e2_2, e2_3)
        l20 += i0
        h20 += i1
        l21 += i2
        h21 += i3
        l22 += i4
        h22 += i5
        l23 += i6
        h23 += i7
        m0, m1, m2, m3 = _ext_mul_red(a3_0, a3_1, a3_2, a3_3, b3_0, b3_1, b3_2, b3_3)
        i0, i1, i2, i3, i4, i5, i6, i7 = _split_ext(m0, m1, m2, m3, e3_0, e3_1, e3_2, e3_3)
        l30 += i0
        h30 += i1
        l31 += i2
        h31 += i3
        l32 += i4
        h32 += i5
        l33 += i6
        h33 += i7
    out[c, 0, 0] = _fin(l00, h00)
    out[c, 0, 1] = _fin(l01, h01)
    out[c, 0, 2] = _fin(l02, h02)
    out[c, 0, 3] = _fin(l03, h03)
    out[c, 1, 0] = _fin(l20, h20)
    out[c, 1, 1] = _fin(l21, h21)
    out[c, 1, 2] = _fin(l22, h22)
    out[c, 1, 3] = _fin(l23, h23)
    out[c, 2, 0] = _fin(l30, h30)
    out[c, 2, 1] = _fin(l31, h31)
    out[c, 2, 2] = _fin(l32, h32)
    out[c, 2, 3] = _fin(l33, h33)


@_serial
def _s_round_eeb(a, b, x, h, j0, j1, out, c):
    hu = np.uint64(h)
    l00 = l01 = l02 = l03 = h00 = h01 = h02 = h03 = _U0
    l20 = l21 = l22 = l23 = h20 = h21 = h22 = h23 = _U0
    l30 = l31 = l32 = l33 = h30 = h31 = h32 = h33 = _U0
    for j in range(np.uint64(j0), np.uint64(j1)):
        a0_0 = a[0, j]
        a0_1 = a[1, j]
        a0_2 = a[2, j]
        a0_3 = a[3, j]
        b0_0 = b[0, j]
        b0_1 = b[1, j]
        b0_2 = b[2, j]
        b0_3 = b[3, j]
        x0_ = x[j]
        a2_0, a3_0 = _lines3(a0_0, a[0, hu + j])
        a2_1, a3_1 = _lines3(a0_1, a[1, hu + j])
        a2_2, a3_2 = _lines3(a0_2, a[2, hu + j])
        a2_3, a3_3 = _lines3(a0_3, a[3, hu + j])
        b2_0, b3_0 = _lines3(b0_0, b[0, hu + j])
        b2_1, b3_1 = _lines3(b0_1, b[1, hu + j])
        b2_2, b3_2 = _lines3(b0_2, b[2, hu + j])
        b2_3, b3_3 = _lines3(b0_3, b[3, hu + j])
        x2_, x3_ = _lines3(x0_, x[hu + j])
        m0, m1, m2, m3 = _ext_mul_red(a0_0, a0_1, a0_2, a0_3, b0_0, b0_1, b0_2, b0_3)
        i0, i1, i2, i3, i4, i5, i6, i7 = _split_base(m0, m1, m2, m3, x0_)
        l00 += i0
        h00 += i1
        l01 += i2
        h01 += i3
        l02 += i4
        h02 += i5
        l03 += i6
        h03 += i7
        m0, m1, m2, m3 = _ext_mul_red(a2_0, a2_1, a2_2, a2_3, b2_0, b2_1, b2_2, b2_3)
        i0, i1, i2, i3, i4, i5, i6, i7 = _split_base(m0, m1, m2, m3, x2_)
        l20 += i0
        h20 += i1
        l21 += i2
        h21 += i3
        l22 += i4
        h22 += i5
        l23 += i6
        h23 += i7
        m0, m1, m2, m3 = _ext_mul_red(a3_0, a3_1, a3_2, a3_3, b3_0, b3_1, b3_2, b3_3)
        i0, i1, i2, i3, i4, i5, i6, i7 = _split_base(m0, m1, m2, m3, x3_)
        l30 += i0
        h30 += i1
        l31 += i2
        h31 += i3
        l32 += i4
        h32 += i5
        l33 += i6
        h33 += i7
    out[c, 0, 0] = _fin(l00, h00)
    out[c, 0, 1] = _fin(l01, h01)
    out[c, 0, 2] = _fin(l02, h02)
    out[c, 0, 3] = _fin(l03, h03)
    out[c, 1, 0] = _fin(l20, h20)
    out[c, 1, 1] = _fin(l21, h21)
    out[c, 1, 2] = _fin(l22, h22)
    out[c, 1, 3] = _fin(l23, h23)
    out[c, 2, 0] = _fin(l30, h30)
    out[c, 2, 1] = _fin(l31, h31)
    out[c, 2, 2] = _fin(l32, h32)
    out[c, 2, 3] = _fin(l33, h33)


@_serial
def _s_round_ebb(a, x, y, h, j0, j1, out, c):
    hu = np.uint64(h)
    l00 = l01 = l02 = l03 = h00 = h01 = h02 = h03 = _U0
    l20 = l21 = l22 = l23 = h20 = h21 = h22 = h23 = _U0
    l30 = l31 = l32 = l33 = h30 = h31 = h32 = h33 = _U0
    for j in range(np.uint64(j0), np.uint64(j1)):
        a0_0 = a[0, j]
        a0_1 = a[1, j]
        a0_2 = a[2, j]
        a0_3 = a[3, j]
        x0_ = x[j]
        y0_ = y[j]
        a2_0, a3_0 = _lines3(a0_0, a[0, hu + j])
        a2_1, a3_1 = _lines3(a0_1, a[1, hu + j])
        a2_2, a3_2 = _lines3(a0_2, a[2, hu + j])
        a2_3, a3_3 = _lines3(a0_3, a[3, hu + j])
        x2_, x3_ = _lines3(x0_, x[hu + j])
        y2_, y3_ = _lines3(y0_, y[hu + j])
        i0, i1, i2, i3, i4, i5, i6, i7 = _split_base(a0_0, a0_1, a0_2, a0_3, _red(x0_ * y0_))
        l00 += i0
        h00 += i1
        l01 += i2
        h01 += i3
        l02 += i4
        h02 += i5
        l03 += i6
        h03 += i7
        i0, i1, i2, i3, i4, i5, i6, i7 = _split_base(a2_0, a2_1, a2_2, a2_3, _red(x2_ * y2_))
        l20 += i0
        h20 += i1
        l21 += i2
        h21 += i3
        l22 += i4
        h22 += i5
        l23 += i6
        h23 += i7
        i0, i1, i2, i3, i4, i5, i6, i7 = _split_base(a3_0, a3_1, a3_2, a3_3, _red(x3_ * y3_))
        l30 += i0
        h30 += i1
        l31 += i2
        h31 += i3
        l32 += i4
        h32 += i5
        l33 += i6
        h33 += i7
    out[c, 0, 0] = _fin(l00, h00)
    out[c, 0, 1] = _fin(l01, h01)
    out[c, 0, 2] = _fin(l02, h02)
    out[c, 0, 3] = _fin(l03, h03)
    out[c, 1, 0] = _fin(l20, h20)
    out[c, 1, 1] = _fin(l21, h21)
    out[c, 1, 2] = _fin(l22, h22)
    out[c, 1, 3] = _fin(l23, h23)
    out[c, 2, 0] = _fin(l30, h30)
    out[c, 2, 1] = _fin(l31, h31)
    out[c, 2, 2] = _fin(l32, h32)
    out[c, 2, 3] = _fin(l33, h33)


@_kernel
def _p_round_ee(a, b, h, chunk, out):
    for c in prange(out.shape[0]):
        _s_round_ee(a, b, h, c * chunk, min(c * chunk + chunk, h), out, c)


@_kernel
def _p_round_eb(a, x, h, chunk, out):
    for c in prange(out.shape[0]):
        _s_round_eb(a, x, h, c * chunk, min(c * chunk + chunk, h), out, c)


@_kernel
def _p_round_eee(a, b, e, h, chunk, out):
    for c in prange(out.shape[0]):
        _s_round_eee(a, b, e, h, c * chunk, min(c * chunk + chunk, h), out, c)


@_kernel
def _p_round_eeb(a, b, x, h, chunk, out):
    for c in prange(out.shape[0]):
        _s_round_eeb(a, b, x, h, c * chunk, min(c * chunk + chunk, h), out, c)


@_kernel
def _p_round_ebb(a, x, y, h, chunk, out):
    for c in prange(out.shape[0]):
        _s_round_ebb(a, x, y, h, c * chunk, min(c * chunk + chunk, h), out, c)


# (extension factors, base factors) -> (serial body, parallel wrapper)
_ROUND_KERNELS = {
    (2, 0): (_s_round_ee, _p_round_ee),
    (1, 1): (_s_round_eb, _p_round_eb),
    (3, 0): (_s_round_eee, _p_round_eee),
    (2, 1): (_s_round_eeb, _p_round_eeb),
    (1, 2): (_s_round_ebb, _p_round_ebb),
}

# Rows of the round evaluation per parallel task: enough tasks for both cores, and at most
# 2^20 so that the split accumulators cannot overflow (bound in _split_ext).
_ROUND_CHUNK_MIN = 1 << 11
_ROUND_CHUNK_MAX = 1 << 20


def _round_chunking(h: int) -> tuple[int, int]:
    nch = max(1, min(16, -(-h // _ROUND_CHUNK_MIN)))
    chunk = min(_ROUND_CHUNK_MAX, -(-h // nch))
    return chunk, -(-h // chunk)


def _line(t: np.ndarray, h: int, x: int) -> np.ndarray:
    """Table line at t = x over the first half: T[:h] + x (T[h:] - T[:h])."""
    if t.ndim == 1:
        lo, hi = t[:h], t[h : 2 * h]
        return lo if x == 0 else F.add(lo, F.mul(F.sub(hi, lo), x))
    lo, hi = t[:, :h], t[:, h : 2 * h]
    return lo if x == 0 else F.ext_add(lo, F.mul(F.ext_sub(hi, lo), x))


def _round_numpy(tables: list[np.ndarray], h: int, d: int) -> np.ndarray:
    """Round evaluations g(0), g(2), ..., g(d) with vectorised numpy (any base/ext mix)."""
    out = np.empty((F.EXT_DEGREE, d), np.uint64)
    for k, x in enumerate([0] + list(range(2, d + 1))):
        prod = None
        for t in tables:
            line = _line(t, h, x)
            if prod is None:
                prod = line
            elif prod.ndim == 1 and line.ndim == 1:
                prod = F.mul(prod, line)
            elif prod.ndim == 1:
                prod = F.ext_mul_base(line, prod)
            elif line.ndim == 1:
                prod = F.ext_mul_base(prod, line)
            else:
                prod = F.ext_mul(prod, line)
        out[:, k] = F.ext_sum_all(prod) if prod.ndim == 2 else F.ext_from_base(F.sum_all(prod))
    return out


def _round(tables: list[np.ndarray], h: int, d: int) -> np.ndarray:
    """g(0), g(2), ..., g(d) as (4, d); tables are ordered extension first."""
    n_ext = sum(t.ndim == 2 for t in tables)
    kernels = _ROUND_KERNELS.get((n_ext, d - n_ext)) if F.BACKEND == "numba" else None
    if kernels is None:
        return _round_numpy(tables, h, d)
    serial, parallel = kernels
    if h < F.PARALLEL_MIN:
        part = np.empty((1, d, F.EXT_DEGREE), np.uint64)
        serial(*tables, h, 0, h, part, 0)
        return np.ascontiguousarray(part[0].T)
    chunk, nch = _round_chunking(h)
    part = np.empty((nch, d, F.EXT_DEGREE), np.uint64)
    parallel(*tables, h, chunk, part)
    total = part.sum(axis=0, dtype=np.uint64) % _PU  # nch <= 2^11 canonical terms
    return np.ascontiguousarray(total.T)


def _as_table(t) -> np.ndarray:
    t = np.asarray(t, dtype=np.uint64)
    if t.ndim == 1 or (t.ndim == 2 and t.shape[0] == F.EXT_DEGREE):
        return np.ascontiguousarray(t)
    raise ValueError(f"a sumcheck table is 1-d (base) or (4, n) (extension), got {t.shape}")


def prove(
    tables: Sequence[ArrayLike],
    claim: ArrayLike,
    transcript: Transcript,
    *,
    check: bool = False,
) -> tuple[SumcheckProof, np.ndarray, list[np.ndarray]]:
    """Prove sum_b prod_j tables[j][b] = claim.

    Returns (proof, r, final_evals): r (4, v) is the point every table was folded to and
    final_evals[j] = tables[j]~(r) (extension scalars, in the order of `tables`). The input
    tables are not modified. A wrong claim still yields a proof (which the verifier
    rejects), so tests can play a cheating prover; check=True instead replays the
    verifier's arithmetic (O(v d)) and raises ValueError if the claim is not the tables' sum,
    to catch a caller's bug at its source.
    """
    if not 1 <= len(tables) <= MAX_DEGREE:
        raise ValueError(f"sumcheck: 1 to {MAX_DEGREE} factor tables, got {len(tables)}")
    claim = _as_scalar(claim)
    tabs = [_as_table(t) for t in tables]
    n = tabs[0].shape[-1]
    if any(t.shape[-1] != n for t in tabs):
        raise ValueError(f"sumcheck: tables of different lengths {[t.shape[-1] for t in tabs]}")
    v = n.bit_length() - 1
    if n == 0 or n != 1 << v:
        raise ValueError(f"sumcheck: table length {n} is not a power of two")
    d = len(tabs)
    # The product is symmetric, so the kernels see extension tables first.
    order = sorted(range(d), key=lambda k: tabs[k].ndim == 1)
    bufs = [tabs[k] for k in order]  # bufs[k][..., :2h] holds factor k in the current round
    # Folds ping-pong between two buffers of our own: folding in place would be correct, but
    # the aliasing stops LLVM from vectorising the fold (3x slower). Extra memory: N/4 per
    # factor; the caller's tables are never written.
    spare: list[np.ndarray | None] = [None] * d
    owned = [False] * d
    _absorb_header(transcript, claim, v, d)
    round_evals = np.empty((F.EXT_DEGREE, v, d), np.uint64)
    point = np.empty((F.EXT_DEGREE, v), np.uint64)
    running = claim
    for i in range(v):
        h = 1 << (v - 1 - i)
        msg = _round(bufs, h, d)
        round_evals[:, i, :] = msg
        transcript.absorb_ext(_LABEL_ROUND, msg)
        r = transcript.challenge_ext(_LABEL_R)
        point[:, i] = r
        if check:
            running = interpolate_round(running, msg, r)
        for k in range(d):
            target = spare[k]
            if target is None or target.shape[1] < h:
                target = F.empty((F.EXT_DEGREE, h))
            mle.fold_buffer(bufs[k], h, r, target)
            spare[k] = bufs[k] if owned[k] else None
            bufs[k] = target
            owned[k] = True
    finals_sorted = [
        np.ascontiguousarray(b[:, 0]) if b.ndim == 2 else F.ext_from_base(b[0]) for b in bufs
    ]
    final_evals: list[np.ndarray] = [np.empty(0)] * d
    for pos, k in enumerate(order):
        final_evals[k] = finals_sorted[pos]
    if check and not check_final(running, final_evals):
        raise ValueError("sumcheck: the claim is not the sum of the product of the tables")
    return SumcheckProof(round_evals), point, final_evals


def warmup() -> None:
    """Compile (or load from cache) the round kernels and the kernels they rely on."""
    mle.warmup()
    rng = np.random.default_rng(0)
    n = 2 * F.PARALLEL_MIN
    base = [F.random(rng, (n,)) for _ in range(3)]
    ext = [F.ext_random(rng, (n,)) for _ in range(3)]
    for n_ext, n_base in _ROUND_KERNELS:
        tables = ext[:n_ext] + base[:n_base]
        for h in (4, n // 2):
            _round(tables, h, n_ext + n_base)


# --------------------------------------------------------------------------------------------
# sums of products
# --------------------------------------------------------------------------------------------


Term = tuple[np.ndarray, tuple[int, ...]]
"""(coefficient as an extension scalar (4,), indices of the tables it multiplies)."""


def terms_degree(terms: list[Term]) -> int:
    return max(len(idx) for _, idx in terms)


def terms_final_value(terms: list[Term], evals: list[np.ndarray]) -> np.ndarray:
    """sum_t coeff_t prod_{j in t} evals[j]: what the final claim must equal."""
    total = F.ext_zero()
    for coeff, idx in terms:
        prod = coeff
        for j in idx:
            prod = F.ext_mul(prod, evals[j])
        total = F.ext_add(total, prod)
    return total


def _as_ext_table(t: np.ndarray) -> np.ndarray:
    t = np.asarray(t, dtype=np.uint64)
    return F.ext_from_base(t) if t.ndim == 1 else np.ascontiguousarray(t)


def prove_terms(tables: list[np.ndarray], terms: list[Term], claim: np.ndarray,
                transcript: Transcript) -> tuple[SumcheckProof, np.ndarray, list[np.ndarray]]:
    """Prove sum_b sum_t coeff_t prod_{j in t} tables[j][b] = claim (the constraint layers'
    form, PROTOCOL.md "Constraint layers"). Same transcript protocol as ``prove``, so ``verify``
    checks it unchanged; the caller's final check is ``terms_final_value``. Returns (proof,
    point r, every table's evaluation at r). Vectorised numpy, linear per round."""
    tabs = [_as_ext_table(t) for t in tables]
    n = tabs[0].shape[1]
    v = n.bit_length() - 1
    if n != 1 << v or any(t.shape[1] != n for t in tabs):
        raise ValueError(f"sumcheck terms: tables must share a power-of-two length, got "
                         f"{[t.shape[1] for t in tabs]}")
    d = terms_degree(terms)
    _absorb_header(transcript, np.asarray(claim, np.uint64), v, d)
    points = [0, *range(2, d + 1)]
    rounds = np.empty((F.EXT_DEGREE, v, d), np.uint64)
    r_all = np.empty((F.EXT_DEGREE, v), np.uint64)
    for i in range(v):
        h = tabs[0].shape[1] // 2
        lo = [t[:, :h] for t in tabs]
        step = [F.ext_sub(t[:, h:], t[:, :h]) for t in tabs]
        msg = np.empty((F.EXT_DEGREE, d), np.uint64)
        for k, x in enumerate(points):
            at_x = [F.ext_add(a, F.ext_mul_base(s, np.uint64(x))) if x else a
                    for a, s in zip(lo, step, strict=True)]
            total = F.ext_zero()
            for coeff, idx in terms:
                prod = at_x[idx[0]]
                for j in idx[1:]:
                    prod = F.ext_mul(prod, at_x[j])
                total = F.ext_add(total, F.ext_mul(coeff, F.ext_sum_all(prod)))
            msg[:, k] = total
        rounds[:, i, :] = msg
        transcript.absorb_ext(_LABEL_ROUND, msg)
        r = transcript.challenge_ext(_LABEL_R)
        r_all[:, i] = r
        tabs = [mle.fold(t, r) for t in tabs]
    return SumcheckProof(rounds), r_all, [np.ascontiguousarray(t[:, 0]) for t in tabs]

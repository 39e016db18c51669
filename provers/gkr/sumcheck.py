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
VM: two extension factors at v = 20, 24-30 ms (38-40 ms on one thread). ``prove_terms``
first factors the sum (shared tables out, linear forms as single tables) and then runs one
such pass per round over the factored form (see the notes above _TBLOCK).
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable, Sequence
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


RoundHook = Callable[[int, np.ndarray, np.ndarray], np.ndarray]
"""round_hook(i, message, point) -> the message to send in round i. ``message`` is the compact
round message (4, d) the prover computed for its tables, ``point`` the challenges drawn so far
(4, i). The hook runs before the message is absorbed, so it may absorb messages of its own
first (the masked sumcheck sends its mask's sum and draws its weight there in round 0)."""


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


def _rounds_to_run(v: int, check: bool, round_hook, stop_before_last: bool) -> int:
    """How many rounds a prover runs: v, or v - 1 with stop_before_last (which needs v >= 1).
    check replays the plain sumcheck, so it takes neither keyword."""
    if check and (round_hook is not None or stop_before_last):
        raise ValueError("sumcheck: check=True applies to the plain sumcheck (no round_hook, "
                         "no stop_before_last)")
    if not stop_before_last:
        return v
    if v < 1:
        raise ValueError("sumcheck: stop_before_last needs at least one variable")
    return v - 1


def _hooked(round_hook: RoundHook, i: int, msg: np.ndarray, point: np.ndarray) -> np.ndarray:
    """The message round_hook sends in round i in place of msg, checked to keep its shape."""
    out = np.ascontiguousarray(round_hook(i, msg, point[:, :i]), dtype=np.uint64)
    if out.shape != msg.shape:
        raise ValueError(f"sumcheck: round_hook returned shape {out.shape} for round {i}, "
                         f"expected {msg.shape}")
    return out


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
    round_hook: RoundHook | None = None,
    stop_before_last: bool = False,
) -> tuple[SumcheckProof, np.ndarray, list[np.ndarray]]:
    """Prove sum_b prod_j tables[j][b] = claim.

    Returns (proof, r, final_evals): r (4, v) is the point every table was folded to and
    final_evals[j] = tables[j]~(r) (extension scalars, in the order of `tables`). The input
    tables are not modified. A wrong claim still yields a proof (which the verifier
    rejects), so tests can play a cheating prover; check=True instead replays the
    verifier's arithmetic (O(v d)) and raises ValueError if the claim is not the tables' sum,
    to catch a caller's bug at its source.

    For the masked sumcheck (zk_sumcheck.py): ``round_hook`` replaces each round's message
    before it is absorbed (see RoundHook); ``stop_before_last`` runs rounds 1..v-1 only and
    returns, in place of the final evaluations, every table folded to its last variable
    (extension (4, 2): T~(r, 0), T~(r, 1)). Without them the proof is the plain sumcheck's.
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
    num_rounds = _rounds_to_run(v, check, round_hook, stop_before_last)
    # The product is symmetric, so the kernels see extension tables first.
    order = sorted(range(d), key=lambda k: tabs[k].ndim == 1)
    bufs = [tabs[k] for k in order]  # bufs[k][..., :2h] holds factor k in the current round
    # Folds ping-pong between two buffers of our own: folding in place would be correct, but
    # the aliasing stops LLVM from vectorising the fold (3x slower). Extra memory: N/4 per
    # factor; the caller's tables are never written.
    spare: list[np.ndarray | None] = [None] * d
    owned = [False] * d
    _absorb_header(transcript, claim, v, d)
    round_evals = np.empty((F.EXT_DEGREE, num_rounds, d), np.uint64)
    point = np.empty((F.EXT_DEGREE, num_rounds), np.uint64)
    running = claim
    for i in range(num_rounds):
        h = 1 << (v - 1 - i)
        msg = _round(bufs, h, d)
        if round_hook is not None:
            msg = _hooked(round_hook, i, msg, point)
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
    if stop_before_last:
        pairs: list[np.ndarray] = [np.empty(0)] * d
        for pos, k in enumerate(order):
            pairs[k] = _as_ext_table(bufs[pos][..., :2]).copy()
        return SumcheckProof(round_evals), point, pairs
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
    # sums of products: 2^15 rows take the parallel build, round and fold, 2^4 the serial
    # ones (a derived table of each field, a shifted factor, terms of degree 1 to 3)
    one, minus_one = F.ext_one(), F.ext_from_base(np.uint64(F.P - 1))
    terms = [(one, (0, 1)), (ext[1][:, 0].copy(), (0, 2)), (one, (0, 2)), (one, (0, 3, 3)),
             (minus_one, (0, 3)), (one, (1, 2))]
    for size in (n, 16):
        tables = [ext[0][:, :size], base[0][:size], base[1][:size], base[2][:size]]
        prove_terms(tables, terms, F.ext_zero(), Transcript("sumcheck warmup"))


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


# The prover for sums of products (numba). The sum f = sum_t c_t prod_{j in t} T_j is first
# rewritten, exactly, in a factored form (see _terms_form)
#
#     f = P * (c + sum_g prod_{k in g} F_k),
#
# P the product of the tables every monomial shares, each F_k a table or a linear form of
# tables c' + sum_j a_j T_j (a linear combination of multilinear tables is multilinear, and
# folding commutes with it). The requantisation constraint becomes
# eq * (L + S (beta S - 2 beta^2 Q)) and booleanity eq * b * (b - 1): two or three products
# per point instead of ten. A factor T_j + c' is read from T_j's own line; any other linear
# form is materialised once as a "derived" table. Only the tables the form reads (the
# "kernel rows") are folded each round; a table that occurs only inside derived forms is
# evaluated at r once at the end (all base ones together, as mle.evaluate does). Base tables
# stay base in round 1 (so does a derived form with base coefficients of base tables) and
# become extension tables with the first fold.
#
# A round kernel walks rows in blocks of _TBLOCK: for each point t it writes every factor's
# line at t into a small slot buffer, then runs the form's products over the block
# (vectorised loops over the slots), adds the groups lazily (canonical values, far below
# 2^64) and accumulates P * inner in split 32-bit halves as the product kernels above do.
# prog (int64) describes the form in slot numbers:
#   [npts, npe, pe0, pe1, pe2, npb, pb0, pb1, pb2, ng, then per group: ne, e0, e1, e2, nb,
#    b0, b1, b2]
# (pe/e: extension line slots, pb/b: base line slots; a group's extension factors first).
# Cost is then dominated by the extension multiplications (about 3 ns each, vectorised):
# measured on the 2-core VM (best of several runs, the machine shared), the requantisation
# constraint (7 tables, 10 terms) at v = 14, 17, 20 takes 2.0, 12 and 80 ms, against 43 ms,
# 0.13 s and 1.0 s for the numpy prover per term (_prove_terms_numpy).

_TBLOCK = 128
_PROG_HEAD = 10
_PROG_GROUP = 8


@_helper
def _line_at(x0, x1, x):
    """The line through x0, x1 at x in {0, 2, 3}."""
    if x == 0:
        return x0
    l2 = _line2(x0, x1)
    if x == 2:
        return l2
    return _addm(l2, _subm(x1, x0))


@_helper
def _bk_line_e(t, j0, h, m, x, c, d):
    """d[:, :m] = the line through t[:, j0 + j], t[:, h + j0 + j] at x (0, 2 or 3), plus the
    constant c (4,)."""
    ju = np.uint64(j0)
    hu = np.uint64(h) + ju
    mu = np.uint64(m)
    for i in range(4):
        ci = c[i]
        if ci:
            for j in range(mu):
                d[i, j] = _addm(_line_at(t[i, ju + j], t[i, hu + j], x), ci)
        elif x == 0:
            for j in range(mu):
                d[i, j] = t[i, ju + j]
        elif x == 2:
            for j in range(mu):
                d[i, j] = _line2(t[i, ju + j], t[i, hu + j])
        else:
            for j in range(mu):
                x0 = t[i, ju + j]
                x1 = t[i, hu + j]
                d[i, j] = _addm(_line2(x0, x1), _subm(x1, x0))


@_helper
def _bk_line_b(t, j0, h, m, x, c, d):
    ju = np.uint64(j0)
    hu = np.uint64(h) + ju
    mu = np.uint64(m)
    if c:
        for j in range(mu):
            d[j] = _addm(_line_at(t[ju + j], t[hu + j], x), c)
    elif x == 0:
        for j in range(mu):
            d[j] = t[ju + j]
    elif x == 2:
        for j in range(mu):
            d[j] = _line2(t[ju + j], t[hu + j])
    else:
        for j in range(mu):
            x0 = t[ju + j]
            x1 = t[hu + j]
            d[j] = _addm(_line2(x0, x1), _subm(x1, x0))


@_helper
def _bk_mul_ee(a, b, d, m):
    for j in range(np.uint64(m)):
        c0, c1, c2, c3 = _ext_mul_red(a[0, j], a[1, j], a[2, j], a[3, j],
                                      b[0, j], b[1, j], b[2, j], b[3, j])
        d[0, j] = c0
        d[1, j] = c1
        d[2, j] = c2
        d[3, j] = c3


@_helper
def _bk_mul_eb(a, x, d, m):
    for j in range(np.uint64(m)):
        y = x[j]
        d[0, j] = _red(a[0, j] * y)
        d[1, j] = _red(a[1, j] * y)
        d[2, j] = _red(a[2, j] * y)
        d[3, j] = _red(a[3, j] * y)


@_helper
def _bk_mul_bb(x, y, d, m):
    for j in range(np.uint64(m)):
        d[j] = _red(x[j] * y[j])


# Lazy sums: the _bk_add_* helpers add canonical values into acc (acc += ...), the
# _bk_add2_* ones write s + ... into a distinct d; reduced later (see _bk_red_e).


@_helper
def _bk_add_ee(acc, a, b, m):
    for j in range(np.uint64(m)):
        c0, c1, c2, c3 = _ext_mul_red(a[0, j], a[1, j], a[2, j], a[3, j],
                                      b[0, j], b[1, j], b[2, j], b[3, j])
        acc[0, j] += c0
        acc[1, j] += c1
        acc[2, j] += c2
        acc[3, j] += c3


@_helper
def _bk_add2_ee(d, s, a, b, m):
    for j in range(np.uint64(m)):
        c0, c1, c2, c3 = _ext_mul_red(a[0, j], a[1, j], a[2, j], a[3, j],
                                      b[0, j], b[1, j], b[2, j], b[3, j])
        d[0, j] = s[0, j] + c0
        d[1, j] = s[1, j] + c1
        d[2, j] = s[2, j] + c2
        d[3, j] = s[3, j] + c3


@_helper
def _bk_add_eb(acc, a, x, m):
    for j in range(np.uint64(m)):
        y = x[j]
        acc[0, j] += _red(a[0, j] * y)
        acc[1, j] += _red(a[1, j] * y)
        acc[2, j] += _red(a[2, j] * y)
        acc[3, j] += _red(a[3, j] * y)


@_helper
def _bk_add2_eb(d, s, a, x, m):
    for j in range(np.uint64(m)):
        y = x[j]
        d[0, j] = s[0, j] + _red(a[0, j] * y)
        d[1, j] = s[1, j] + _red(a[1, j] * y)
        d[2, j] = s[2, j] + _red(a[2, j] * y)
        d[3, j] = s[3, j] + _red(a[3, j] * y)


@_helper
def _bk_add_e(acc, a, m):
    for i in range(4):
        for j in range(np.uint64(m)):
            acc[i, j] += a[i, j]


@_helper
def _bk_add2_e(d, s, a, m):
    for i in range(4):
        for j in range(np.uint64(m)):
            d[i, j] = s[i, j] + a[i, j]


@_helper
def _bk_add_b(acc, x, m):
    for j in range(np.uint64(m)):
        acc[j] += x[j]


@_helper
def _bk_copy_b(d, x, m):
    for j in range(np.uint64(m)):
        d[j] = x[j]


@_helper
def _bk_fill_e(acc, cst, m):
    for i in range(4):
        ci = cst[i]
        for j in range(np.uint64(m)):
            acc[i, j] = ci


@_helper
def _bk_red_e(acc, ib, use_ib, d, m):
    """d = acc (+ ib on the first coefficient), reduced."""
    if use_ib:
        for j in range(np.uint64(m)):
            d[0, j] = _red(acc[0, j] + ib[j])
    else:
        for j in range(np.uint64(m)):
            d[0, j] = _red(acc[0, j])
    for i in range(1, 4):
        for j in range(np.uint64(m)):
            d[i, j] = _red(acc[i, j])


@_helper
def _bk_red_b(acc, d, m):
    for j in range(np.uint64(m)):
        d[j] = _red(acc[j])


# Block sums, as (low, high) halves of the four coefficients (bounds as in _split_ext).


@_helper
def _bk_dot_ee(a, b, m):
    l0 = l1 = l2 = l3 = h0 = h1 = h2 = h3 = _U0
    for j in range(np.uint64(m)):
        i0, i1, i2, i3, i4, i5, i6, i7 = _split_ext(a[0, j], a[1, j], a[2, j], a[3, j],
                                                    b[0, j], b[1, j], b[2, j], b[3, j])
        l0 += i0
        h0 += i1
        l1 += i2
        h1 += i3
        l2 += i4
        h2 += i5
        l3 += i6
        h3 += i7
    return l0, h0, l1, h1, l2, h2, l3, h3


@_helper
def _bk_dot_ee_red(a, acc, m):
    """_bk_dot_ee(a, acc reduced)."""
    l0 = l1 = l2 = l3 = h0 = h1 = h2 = h3 = _U0
    for j in range(np.uint64(m)):
        i0, i1, i2, i3, i4, i5, i6, i7 = _split_ext(
            a[0, j], a[1, j], a[2, j], a[3, j],
            _red(acc[0, j]), _red(acc[1, j]), _red(acc[2, j]), _red(acc[3, j]))
        l0 += i0
        h0 += i1
        l1 += i2
        h1 += i3
        l2 += i4
        h2 += i5
        l3 += i6
        h3 += i7
    return l0, h0, l1, h1, l2, h2, l3, h3


@_helper
def _bk_dot_eb(a, x, m):
    l0 = l1 = l2 = l3 = h0 = h1 = h2 = h3 = _U0
    for j in range(np.uint64(m)):
        i0, i1, i2, i3, i4, i5, i6, i7 = _split_base(a[0, j], a[1, j], a[2, j], a[3, j], x[j])
        l0 += i0
        h0 += i1
        l1 += i2
        h1 += i3
        l2 += i4
        h2 += i5
        l3 += i6
        h3 += i7
    return l0, h0, l1, h1, l2, h2, l3, h3


@_helper
def _bk_sum_e(a, m):
    # lazy values below 2^36 each: no overflow within a chunk of at most 2^20 rows
    s0 = s1 = s2 = s3 = _U0
    for j in range(np.uint64(m)):
        s0 += a[0, j]
        s1 += a[1, j]
        s2 += a[2, j]
        s3 += a[3, j]
    return s0, _U0, s1, _U0, s2, _U0, s3, _U0


@_helper
def _bk_sum_b(x, m):
    s = _U0
    for j in range(np.uint64(m)):
        s += x[j]
    return s, _U0, _U0, _U0, _U0, _U0, _U0, _U0


@_serial
def _s_terms_round(E, B, h, ue, esh, ub, bsh, prog, cst, j0, j1, out, c):
    """The form's round evaluations over rows j0..j1 into out[c] (npts, 4). E (k, 4, >= 2h)
    and B (k', >= 2h) hold the tables; extension line slot u is row ue[u] of E plus the
    constant esh[u], base line slot u row ub[u] of B plus bsh[u].

    The inner sum is built in slot `cur` (extension part) and `curb` (base part): a lone
    factor is used where it lies, a first product is written, later ones are added lazily
    (flags lazy, lazyb: not reduced)."""
    npts = prog[0]
    npe = prog[1]
    npb = prog[5]
    ng = prog[9]
    cst_nz = (cst[0] | cst[1] | cst[2] | cst[3]) != 0
    nue = ue.shape[0]
    nub = ub.shape[0]
    # slots: lines, then temporaries (prefix products, group products, inner sums, results)
    se = np.empty((nue + 6, 4, _TBLOCK), np.uint64)
    sb = np.empty((nub + 6, _TBLOCK), np.uint64)
    tp1, tp2, tg1, tg2, tie, tr = nue, nue + 1, nue + 2, nue + 3, nue + 4, nue + 5
    bp1, bp2, bg1, bg2, bib, br = nub, nub + 1, nub + 2, nub + 3, nub + 4, nub + 5
    acc = np.zeros((npts, 8), np.uint64)
    for b0 in range(j0, j1, _TBLOCK):
        m = min(_TBLOCK, j1 - b0)
        for k in range(npts):
            x = 0 if k == 0 else k + 1
            for u in range(nue):
                _bk_line_e(E[ue[u]], b0, h, m, x, esh[u], se[u])
            for u in range(nub):
                _bk_line_b(B[ub[u]], b0, h, m, x, bsh[u], sb[u])
            pe = -1
            if npe == 1:
                pe = prog[2]
            elif npe >= 2:
                _bk_mul_ee(se[prog[2]], se[prog[3]], se[tp1], m)
                pe = tp1
                if npe == 3:
                    _bk_mul_ee(se[tp1], se[prog[4]], se[tp2], m)
                    pe = tp2
            pb = -1
            if npb == 1:
                pb = prog[6]
            elif npb >= 2:
                _bk_mul_bb(sb[prog[6]], sb[prog[7]], sb[bp1], m)
                pb = bp1
                if npb == 3:
                    _bk_mul_bb(sb[bp1], sb[prog[8]], sb[bp2], m)
                    pb = bp2
            cur = -1
            lazy = False
            if cst_nz:
                _bk_fill_e(se[tie], cst, m)
                cur = tie
                lazy = True
            curb = -1
            lazyb = False
            for g in range(ng):
                o = _PROG_HEAD + _PROG_GROUP * g
                ne = prog[o]
                nb = prog[o + 4]
                bs = -1
                if nb == 1:
                    bs = prog[o + 5]
                elif nb >= 2:
                    _bk_mul_bb(sb[prog[o + 5]], sb[prog[o + 6]], sb[bg1], m)
                    bs = bg1
                    if nb == 3:
                        _bk_mul_bb(sb[bg1], sb[prog[o + 7]], sb[bg2], m)
                        bs = bg2
                if ne == 0:
                    if curb < 0:
                        if nb == 1:
                            curb = bs
                        else:
                            _bk_copy_b(sb[bib], sb[bs], m)
                            curb = bib
                    else:
                        if curb != bib:
                            _bk_copy_b(sb[bib], sb[curb], m)
                            curb = bib
                        _bk_add_b(sb[bib], sb[bs], m)
                        lazyb = True
                    continue
                ea = prog[o + 1]
                eb = -1
                if ne >= 2:
                    eb = prog[o + 2]
                    if ne == 3:
                        _bk_mul_ee(se[ea], se[eb], se[tg1], m)
                        ea = tg1
                        eb = prog[o + 3]
                    if bs >= 0:
                        _bk_mul_ee(se[ea], se[eb], se[tg2], m)
                        ea = tg2
                # the group is ea (* eb when ne >= 2 and bs < 0) (* bs when bs >= 0)
                if cur < 0:
                    if ne == 1 and bs < 0:
                        cur = ea
                    elif bs >= 0:
                        _bk_mul_eb(se[ea], sb[bs], se[tie], m)
                        cur = tie
                    else:
                        _bk_mul_ee(se[ea], se[eb], se[tie], m)
                        cur = tie
                elif cur != tie:
                    if ne == 1 and bs < 0:
                        _bk_add2_e(se[tie], se[cur], se[ea], m)
                    elif bs >= 0:
                        _bk_add2_eb(se[tie], se[cur], se[ea], sb[bs], m)
                    else:
                        _bk_add2_ee(se[tie], se[cur], se[ea], se[eb], m)
                    cur = tie
                    lazy = True
                else:
                    if ne == 1 and bs < 0:
                        _bk_add_e(se[tie], se[ea], m)
                    elif bs >= 0:
                        _bk_add_eb(se[tie], se[ea], sb[bs], m)
                    else:
                        _bk_add_ee(se[tie], se[ea], se[eb], m)
                    lazy = True
            if cur >= 0:
                ri = cur
                if curb >= 0 or (lazy and (pb >= 0 or pe < 0)):
                    _bk_red_e(se[cur], sb[max(curb, 0)], curb >= 0, se[tr], m)
                    ri = tr
                    lazy = False
                if pb >= 0:
                    _bk_mul_eb(se[ri], sb[pb], se[tg1], m)
                    ri = tg1
                if pe < 0:
                    s0, s1, s2, s3, s4, s5, s6, s7 = _bk_sum_e(se[ri], m)
                elif lazy:
                    s0, s1, s2, s3, s4, s5, s6, s7 = _bk_dot_ee_red(se[pe], se[ri], m)
                else:
                    s0, s1, s2, s3, s4, s5, s6, s7 = _bk_dot_ee(se[pe], se[ri], m)
            elif curb >= 0:
                rb = curb
                if lazyb:
                    _bk_red_b(sb[curb], sb[br], m)
                    rb = br
                if pb >= 0:
                    _bk_mul_bb(sb[rb], sb[pb], sb[bg1], m)
                    rb = bg1
                if pe >= 0:
                    s0, s1, s2, s3, s4, s5, s6, s7 = _bk_dot_eb(se[pe], sb[rb], m)
                else:
                    s0, s1, s2, s3, s4, s5, s6, s7 = _bk_sum_b(sb[rb], m)
            else:
                continue  # the sum is zero
            acc[k, 0] += s0
            acc[k, 1] += s1
            acc[k, 2] += s2
            acc[k, 3] += s3
            acc[k, 4] += s4
            acc[k, 5] += s5
            acc[k, 6] += s6
            acc[k, 7] += s7
    for k in range(npts):
        for i in range(4):
            out[c, k, i] = _fin(acc[k, 2 * i], acc[k, 2 * i + 1])


@_kernel
def _p_terms_round(E, B, h, ue, esh, ub, bsh, prog, cst, chunk, out):
    for c in prange(out.shape[0]):
        ci = np.int64(c)  # one signature for the body, whatever type prange gives c
        _s_terms_round(E, B, h, ue, esh, ub, bsh, prog, cst, ci * chunk,
                       min(ci * chunk + chunk, h), out, ci)


@_serial
def _s_terms_fold(E, B, h, fe, fb, rc, o, j0, j1):
    """Fold rows fe of E and fb of B (2h columns) with r into o[:len(fe)], o[len(fe):]
    (h columns); rc = (r0, r1, r2, r3, 11 r1, 11 r2, 11 r3) mod p."""
    hu = np.uint64(h)
    c0 = rc[0]
    c1 = rc[1]
    c2 = rc[2]
    c3 = rc[3]
    w1 = rc[4]
    w2 = rc[5]
    w3 = rc[6]
    ne = fe.shape[0]
    for k in range(ne):
        a = E[fe[k]]
        d = o[k]
        for j in range(np.uint64(j0), np.uint64(j1)):
            x0 = a[0, j]
            x1 = a[1, j]
            x2 = a[2, j]
            x3 = a[3, j]
            d0 = _subm(a[0, hu + j], x0)
            d1 = _subm(a[1, hu + j], x1)
            d2 = _subm(a[2, hu + j], x2)
            d3 = _subm(a[3, hu + j], x3)
            d[0, j] = _addm(x0, _red(d0 * c0 + d1 * w3 + d2 * w2 + d3 * w1))
            d[1, j] = _addm(x1, _red(d0 * c1 + d1 * c0 + d2 * w3 + d3 * w2))
            d[2, j] = _addm(x2, _red(d0 * c2 + d1 * c1 + d2 * c0 + d3 * w3))
            d[3, j] = _addm(x3, _red(d0 * c3 + d1 * c2 + d2 * c1 + d3 * c0))
    for k in range(fb.shape[0]):
        ab = B[fb[k]]
        db = o[ne + k]
        for j in range(np.uint64(j0), np.uint64(j1)):
            x = ab[j]
            y = _subm(ab[hu + j], x)
            db[0, j] = _addm(x, _red(c0 * y))
            db[1, j] = _red(c1 * y)
            db[2, j] = _red(c2 * y)
            db[3, j] = _red(c3 * y)


@_kernel
def _p_terms_fold(E, B, h, fe, fb, rc, o, nch):
    for c in prange(nch):
        _s_terms_fold(E, B, h, fe, fb, rc, o, c * h // nch, (c + 1) * h // nch)


@_serial
def _s_terms_build(E, B, dst, cst, ptr, ckind, csrc, ccoef, j0, j1):
    """Derived tables, columns j0..j1: form f is cst[f] + sum_q ccoef[q] T_q over
    q in ptr[f]..ptr[f+1], T_q = E[csrc[q]] (ckind 0) or B[csrc[q]] (ckind 1); it goes to
    E[dst[f]] when dst[f] >= 0, else to B[-1 - dst[f]] (then every part is base).
    ccoef rows are constant tables (c0, c1, c2, c3, 11 c1, 11 c2, 11 c3)."""
    for b0 in range(j0, j1, _TBLOCK):
        bu = np.uint64(b0)
        mu = np.uint64(min(_TBLOCK, j1 - b0))
        for f in range(dst.shape[0]):
            if dst[f] >= 0:
                d = E[dst[f]]
                for i in range(4):
                    ci = cst[f, i]
                    for j in range(mu):
                        d[i, bu + j] = ci
                for q in range(ptr[f], ptr[f + 1]):
                    c0 = ccoef[q, 0]
                    c1 = ccoef[q, 1]
                    c2 = ccoef[q, 2]
                    c3 = ccoef[q, 3]
                    if ckind[q] == 1:
                        x = B[csrc[q]]
                        for j in range(mu):
                            y = x[bu + j]
                            d[0, bu + j] = _addm(d[0, bu + j], _red(c0 * y))
                            d[1, bu + j] = _addm(d[1, bu + j], _red(c1 * y))
                            d[2, bu + j] = _addm(d[2, bu + j], _red(c2 * y))
                            d[3, bu + j] = _addm(d[3, bu + j], _red(c3 * y))
                    else:
                        w1 = ccoef[q, 4]
                        w2 = ccoef[q, 5]
                        w3 = ccoef[q, 6]
                        a = E[csrc[q]]
                        for j in range(mu):
                            a0 = a[0, bu + j]
                            a1 = a[1, bu + j]
                            a2 = a[2, bu + j]
                            a3 = a[3, bu + j]
                            d[0, bu + j] = _addm(d[0, bu + j],
                                                 _red(a0 * c0 + a1 * w3 + a2 * w2 + a3 * w1))
                            d[1, bu + j] = _addm(d[1, bu + j],
                                                 _red(a0 * c1 + a1 * c0 + a2 * w3 + a3 * w2))
                            d[2, bu + j] = _addm(d[2, bu + j],
                                                 _red(a0 * c2 + a1 * c1 + a2 * c0 + a3 * w3))
                            d[3, bu + j] = _addm(d[3, bu + j],
                                                 _red(a0 * c3 + a1 * c2 + a2 * c1 + a3 * c0))
            else:
                db = B[-1 - dst[f]]
                cb = cst[f, 0]
                for j in range(mu):
                    db[bu + j] = cb
                for q in range(ptr[f], ptr[f + 1]):
                    c0 = ccoef[q, 0]
                    xb = B[csrc[q]]
                    for j in range(mu):
                        db[bu + j] = _addm(db[bu + j], _red(c0 * xb[bu + j]))


@_kernel
def _p_terms_build(E, B, dst, cst, ptr, ckind, csrc, ccoef, nch):
    n = E.shape[2]
    for c in prange(nch):
        _s_terms_build(E, B, dst, cst, ptr, ckind, csrc, ccoef, c * n // nch,
                       (c + 1) * n // nch)


# ---- the factored form (plain Python, once per call)

_ZERO4 = (0, 0, 0, 0)
_ONE4 = (1, 0, 0, 0)


def _terms_poly(terms: list[Term]) -> dict[tuple[int, ...], tuple[int, ...]]:
    """Monomials (sorted table indices) -> coefficient (4 ints mod p); equal monomials
    merged, zero ones dropped."""
    poly: dict[tuple[int, ...], tuple[int, ...]] = {}
    for coeff, idx in terms:
        c = [int(x) for x in np.asarray(coeff, dtype=np.uint64).reshape(F.EXT_DEGREE)]
        key = tuple(sorted(int(j) for j in idx))
        old = poly.get(key, _ZERO4)
        poly[key] = tuple((a + b) % F.P for a, b in zip(old, c, strict=True))
    return {k: c for k, c in poly.items() if any(c)}


def _drop_one(key: tuple[int, ...], j: int) -> tuple[int, ...]:
    i = key.index(j)
    return key[:i] + key[i + 1 :]


def _linear_factor(cst: tuple[int, ...], lin: dict[int, tuple[int, ...]]):
    """A factor: table j itself (an int) when the form is 1 * T_j, else the derived form's
    key (cst, ((j, a_j), ...))."""
    if cst == _ZERO4 and len(lin) == 1:
        (j, a), = lin.items()
        if a == _ONE4:
            return j
    return (cst, tuple(sorted(lin.items())))


def _terms_form(terms: list[Term]):
    """(prefix, groups, cst): f = prod(prefix) * (cst + sum_g prod(g)), factors as in
    _linear_factor. Exact rewriting: shared tables are pulled out, then the constant and
    linear monomials make one linear form and the quadratic ones are grouped greedily by a
    shared table, T_j * (sum_k c_jk T_k); a cubic monomial (only when nothing is shared)
    keeps its own group."""
    poly = _terms_poly(terms)
    prefix: list[int] = []
    while poly and all(poly):
        common = set.intersection(*(set(k) for k in poly))
        if not common:
            break
        j = min(common)
        prefix.append(j)
        poly = {_drop_one(k, j): c for k, c in poly.items()}
    cst = poly.pop((), _ZERO4)
    lin = {k[0]: c for k, c in poly.items() if len(k) == 1}
    quad = {k: c for k, c in poly.items() if len(k) == 2}
    groups: list[list] = []
    if lin:
        groups.append([_linear_factor(cst, lin)])
        if not isinstance(groups[-1][0], int):
            cst = _ZERO4
    while quad:
        counts: dict[int, int] = {}
        for k in quad:
            for j in set(k):
                counts[j] = counts.get(j, 0) + 1
        j = max(sorted(counts), key=counts.__getitem__)
        partner = {}
        for k in [k for k in quad if j in k]:
            partner[_drop_one(k, j)[0]] = quad.pop(k)
        groups.append([j, _linear_factor(_ZERO4, partner)])
    for k, c in poly.items():
        if len(k) == 3:
            groups.append([k[0], k[1], _linear_factor(_ZERO4, {k[2]: c})])
    return prefix, groups, cst


def _const_table(c) -> np.ndarray:
    """(c0, c1, c2, c3, 11 c1, 11 c2, 11 c3) mod p for a constant multiplier c."""
    c = [int(x) for x in c]
    return np.array(c + [F.W * x % F.P for x in c[1:]], dtype=np.uint64)


def _terms_prog(npts: int, prefix, groups, cst, slot) -> np.ndarray:
    """The kernel's program (see above); slot(factor) = (is_base, line slot)."""

    def split(factors):
        e = [slot(f)[1] for f in factors if not slot(f)[0]]
        b = [slot(f)[1] for f in factors if slot(f)[0]]
        return [len(e), *e, *[0] * (3 - len(e)), len(b), *b, *[0] * (3 - len(b))]

    gs = [split(g) for g in groups]
    return np.array([npts, *split(prefix), len(gs), *[x for g in gs for x in g]],
                    dtype=np.int64)


def _terms_round(E, B, h, slots, prog, cst, npts) -> np.ndarray:
    if h < F.PARALLEL_MIN:
        part = np.empty((1, npts, F.EXT_DEGREE), np.uint64)
        _s_terms_round(E, B, h, *slots, prog, cst, 0, h, part, 0)
        return np.ascontiguousarray(part[0].T)
    chunk, nch = _round_chunking(h)
    part = np.empty((nch, npts, F.EXT_DEGREE), np.uint64)
    _p_terms_round(E, B, h, *slots, prog, cst, chunk, part)
    return np.ascontiguousarray((part.sum(axis=0, dtype=np.uint64) % _PU).T)


def _check_terms_tables(tables) -> tuple[list[np.ndarray], int, int]:
    tabs = [np.asarray(t, dtype=np.uint64) for t in tables]
    for t in tabs:
        if not (t.ndim == 1 or (t.ndim == 2 and t.shape[0] == F.EXT_DEGREE)):
            raise ValueError(f"a sumcheck table is 1-d (base) or (4, n) (extension), "
                             f"got {t.shape}")
    n = tabs[0].shape[-1]
    v = max(n.bit_length() - 1, 0)
    if n != 1 << v or any(t.shape[-1] != n for t in tabs):
        raise ValueError(f"sumcheck terms: tables must share a power-of-two length, got "
                         f"{[t.shape[-1] for t in tabs]}")
    return tabs, n, v


# Scratch buffers, reused across calls (per thread) up to _WORK_MAX elements each: fresh
# memory of a few MiB costs page faults that took longer than the folds themselves here
# (2-core VM: ~0.6 ms for a 1 MiB fold output, against 0.06 ms into touched memory).
_WORK = threading.local()
_WORK_MAX = 1 << 20


def _work(name: str, size: int) -> tuple[np.ndarray, bool]:
    """(a flat uint64 buffer of `size` elements, contents undefined; whether it is fresh
    memory). Small ones are this thread's cached buffers: nothing returned to a caller may
    view them. Large ones are fresh and not pre-faulted (see _touch)."""
    if size > _WORK_MAX:
        return np.empty(size, np.uint64), True
    cache = _WORK.__dict__.setdefault("bufs", {})
    buf = cache.get(name)
    if buf is None or buf.size < size:
        buf = cache[name] = np.empty(size, np.uint64)
        return buf[:size], True
    return buf[:size], False


def _touch(a: np.ndarray, fresh: bool) -> None:
    """Fault in a large fresh buffer on this thread before a parallel kernel first writes it
    (field.empty's reasoning); buffers numpy fills itself need no such step."""
    if fresh and a.nbytes >= F._PRETOUCH_BYTES:
        a.fill(0)


def _evaluate_rows(m: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Every row of a base matrix m (k, 2^v) evaluated at r (4, v): (4, k). mle.evaluate's
    split (columns take the low ceil(v/2) variables), shared by all rows."""
    k, n = m.shape
    v = r.shape[1]
    col_vars = (v + 1) // 2
    rows = n >> col_vars
    u = F.ext_matvec(m.reshape(k * rows, n // rows), mle.eq_table(r[:, v - col_vars :]))
    return F.ext_matvec(u.reshape(F.EXT_DEGREE, k, rows), mle.eq_table(r[:, : v - col_vars]))


def prove_terms(tables: list[np.ndarray], terms: list[Term], claim: np.ndarray,
                transcript: Transcript, *, round_hook: RoundHook | None = None,
                stop_before_last: bool = False
                ) -> tuple[SumcheckProof, np.ndarray, list[np.ndarray]]:
    """Prove sum_b sum_t coeff_t prod_{j in t} tables[j][b] = claim (the constraint layers'
    form, PROTOCOL.md "Constraint layers"). Same transcript protocol as ``prove``, so ``verify``
    checks it unchanged; the caller's final check is ``terms_final_value``. Returns (proof,
    point r, every table's evaluation at r). The tables are not modified.

    Under numba the sum is factored first (see the notes above _TBLOCK), then each round is
    one pass over the rows and one fold of the tables the factored form uses; without numba,
    vectorised numpy per term (_prove_terms_numpy). Both give the same proof.
    round_hook and stop_before_last as in ``prove``."""
    d = terms_degree(terms)
    if F.BACKEND != "numba" or not 1 <= d <= MAX_DEGREE:
        return _prove_terms_numpy(tables, terms, claim, transcript, round_hook=round_hook,
                                  stop_before_last=stop_before_last)
    tabs, n, v = _check_terms_tables(tables)
    num_rounds = _rounds_to_run(v, False, round_hook, stop_before_last)
    prefix, groups, cst = _terms_form(terms)
    _absorb_header(transcript, np.asarray(claim, np.uint64), v, d)
    rounds = np.empty((F.EXT_DEGREE, num_rounds, d), np.uint64)
    r_all = np.empty((F.EXT_DEGREE, num_rounds), np.uint64)
    if num_rounds == 0 and stop_before_last:
        return SumcheckProof(rounds), r_all, [_as_ext_table(t).copy() for t in tabs]
    if v == 0:
        return SumcheckProof(rounds), r_all, [
            np.ascontiguousarray(_as_ext_table(t)[:, 0]) for t in tabs]

    def is_base_form(f) -> bool:
        c0, lin = f
        return not any(c0[1:]) and all(tabs[j].ndim == 1 and not any(a[1:]) for j, a in lin)

    # Each factor is a line slot: a row (an original table j, or a derived form) plus a
    # constant; T_j + c needs no table of its own. Rows are folded each round.
    def slot_of(f):
        if isinstance(f, int):
            return f, _ZERO4
        c0, lin = f
        if len(lin) == 1 and lin[0][1] == _ONE4 and (tabs[lin[0][0]].ndim == 2
                                                       or not any(c0[1:])):
            return lin[0][0], c0
        return f, _ZERO4

    def row_base(key) -> bool:
        return tabs[key].ndim == 1 if isinstance(key, int) else is_base_form(key)

    factors = list(dict.fromkeys([*prefix, *(f for g in groups for f in g)]))
    slot = {f: slot_of(f) for f in factors}
    krows = list(dict.fromkeys(key for key, _ in slot.values()))
    derived = [key for key in krows if not isinstance(key, int)]
    sources = list(dict.fromkeys([key for key in krows if isinstance(key, int)]
                                 + [j for key in derived for j, _ in key[1]]))
    ext_rows = [j for j in sources if tabs[j].ndim == 2] + [
        key for key in derived if not row_base(key)]
    base_rows = [j for j in sources if tabs[j].ndim == 1] + [
        key for key in derived if row_base(key)]
    n_base_src = sum(tabs[j].ndim == 1 for j in sources)
    row = {key: i for i, key in enumerate(ext_rows)} | {key: i for i, key in
                                                        enumerate(base_rows)}
    order = [key for key in krows if not row_base(key)] + [key for key in krows if row_base(key)]
    kk = len(order)
    # Round 1 reads E (extension rows) and B (base rows); the folds then alternate between
    # fold_buf and E's memory, every kernel row an extension row from then on (in `order`).
    ne = max(len(ext_rows), -(-kk // 4))
    e_flat, e_fresh = _work("E", ne * F.EXT_DEGREE * n)
    E = e_flat.reshape(ne, F.EXT_DEGREE, n)
    b_flat, b_fresh = _work("B", len(base_rows) * n)
    B = b_flat.reshape(len(base_rows), n)
    fold_flat, fold_fresh = _work("fold", kk * F.EXT_DEGREE * (n // 2))
    fold_buf = fold_flat.reshape(kk, F.EXT_DEGREE, n // 2)
    _touch(fold_buf, fold_fresh)
    for i, key in enumerate(ext_rows):
        if isinstance(key, int):
            E[i] = tabs[key]
        else:
            _touch(E[i], e_fresh)
    for i, key in enumerate(base_rows):
        if isinstance(key, int):
            B[i] = tabs[key]
        else:
            _touch(B[i], b_fresh)
    if derived:
        dst, csts, ptr, ckind, csrc, ccoef = [], [], [0], [], [], []
        for key in derived:
            dst.append(-1 - row[key] if row_base(key) else row[key])
            csts.append(key[0])
            for j, a in key[1]:
                ckind.append(int(tabs[j].ndim == 1))
                csrc.append(row[j])
                ccoef.append(_const_table(a))
            ptr.append(len(csrc))
        F._launch(_s_terms_build, _p_terms_build, n, E, B, np.array(dst, np.int64),
                  np.array(csts, np.uint64).reshape(-1, 4), np.array(ptr, np.int64),
                  np.array(ckind, np.int64), np.array(csrc, np.int64),
                  np.array(ccoef, np.uint64).reshape(-1, 7))

    def slot_arrays(kinds):
        """(ue, esh, ub, bsh) and the factor -> (is_base, slot) map, for row positions and
        kinds given by kinds(key) = (is_base, row)."""
        ext, base, where = [], [], {}
        for f in factors:
            key, c0 = slot[f]
            is_b, r = kinds(key)
            (base if is_b else ext).append((r, c0))
            where[f] = (is_b, len(base if is_b else ext) - 1)
        arrays = (np.array([r for r, _ in ext], np.int64),
                  np.array([c0 for _, c0 in ext], np.uint64).reshape(-1, 4),
                  np.array([r for r, _ in base], np.int64),
                  np.array([c0[0] for _, c0 in base], np.uint64))
        return arrays, where

    slots, where = slot_arrays(lambda key: (row_base(key), row[key]))
    prog = _terms_prog(d, prefix, groups, cst, where.__getitem__)
    pos = {key: k for k, key in enumerate(order)}
    slots_after, where_after = slot_arrays(lambda key: (False, pos[key]))
    prog_after = _terms_prog(d, prefix, groups, cst, where_after.__getitem__)
    fe = np.array([row[key] for key in order if not row_base(key)], np.int64)
    fb = np.array([row[key] for key in order if row_base(key)], np.int64)
    all_rows = np.arange(kk, dtype=np.int64)
    no_base = np.empty((0, 1), np.uint64)
    cst_arr = np.array(cst, dtype=np.uint64)
    src, src_b = E, B
    for i in range(num_rounds):
        h = n >> (i + 1)
        msg = _terms_round(src, src_b, h, slots, prog, cst_arr, d)
        if round_hook is not None:
            msg = _hooked(round_hook, i, msg, r_all)
        rounds[:, i, :] = msg
        transcript.absorb_ext(_LABEL_ROUND, msg)
        r = transcript.challenge_ext(_LABEL_R)
        r_all[:, i] = r
        out = fold_buf if i % 2 == 0 else e_flat[: kk * F.EXT_DEGREE * h].reshape(
            kk, F.EXT_DEGREE, h)
        F._launch(_s_terms_fold, _p_terms_fold, h, src, src_b, h, fe, fb, _const_table(r), out)
        src, src_b, fe, fb = out, no_base, all_rows, all_rows[:0]
        slots, prog = slots_after, prog_after
    if stop_before_last:
        pairs: list[np.ndarray | None] = [None] * len(tabs)
        for k, key in enumerate(order):
            if isinstance(key, int):
                pairs[key] = src[k, :, :2].copy()
        rest = [j for j in range(len(tabs)) if pairs[j] is None]
        for j, pair in zip(rest, _last_variable_tables([tabs[j] for j in rest], r_all),
                           strict=True):
            pairs[j] = pair
        return SumcheckProof(rounds), r_all, pairs
    finals: list[np.ndarray | None] = [None] * len(tabs)
    for k, key in enumerate(order):
        if isinstance(key, int):
            finals[key] = src[k, :, 0].copy()
    base_src = [j for j in sources if tabs[j].ndim == 1]
    if any(finals[j] is None for j in base_src):
        at_r = _evaluate_rows(B[:n_base_src], r_all)
        for k, j in enumerate(base_src):
            if finals[j] is None:
                finals[j] = at_r[:, k].copy()
    for j, t in enumerate(tabs):
        if finals[j] is None:
            finals[j] = mle.evaluate(t, r_all)
    return SumcheckProof(rounds), r_all, finals


def _last_variable_tables(tabs: list[np.ndarray], r: np.ndarray) -> list[np.ndarray]:
    """Each table bound to r in all but its last variable: (4, 2) = (T~(r, 0), T~(r, 1)), the
    MLEs of its even and odd entries at r (the last variable is the index's low bit). Base
    tables share one evaluation (_evaluate_rows)."""
    out: list[np.ndarray | None] = [None] * len(tabs)
    base = [j for j, t in enumerate(tabs) if t.ndim == 1]
    if base:
        m = np.stack([tabs[j] for j in base])
        at_r = _evaluate_rows(np.concatenate([m[:, 0::2], m[:, 1::2]]), r)
        for k, j in enumerate(base):
            out[j] = np.ascontiguousarray(at_r[:, [k, len(base) + k]])
    for j, t in enumerate(tabs):
        if t.ndim == 2:
            halves = [np.ascontiguousarray(t[:, bit::2]) for bit in (0, 1)]
            out[j] = np.stack([mle.evaluate(half, r) for half in halves], axis=1)
    return out


def _as_ext_table(t: np.ndarray) -> np.ndarray:
    t = np.asarray(t, dtype=np.uint64)
    return F.ext_from_base(t) if t.ndim == 1 else np.ascontiguousarray(t)


def _prove_terms_numpy(tables: list[np.ndarray], terms: list[Term], claim: np.ndarray,
                       transcript: Transcript, *, round_hook: RoundHook | None = None,
                       stop_before_last: bool = False
                       ) -> tuple[SumcheckProof, np.ndarray, list[np.ndarray]]:
    """prove_terms in vectorised numpy, per term (every table as an extension table)."""
    tabs = [_as_ext_table(t) for t in tables]
    n = tabs[0].shape[1]
    v = n.bit_length() - 1
    if n != 1 << v or any(t.shape[1] != n for t in tabs):
        raise ValueError(f"sumcheck terms: tables must share a power-of-two length, got "
                         f"{[t.shape[1] for t in tabs]}")
    d = terms_degree(terms)
    num_rounds = _rounds_to_run(v, False, round_hook, stop_before_last)
    _absorb_header(transcript, np.asarray(claim, np.uint64), v, d)
    points = [0, *range(2, d + 1)]
    rounds = np.empty((F.EXT_DEGREE, num_rounds, d), np.uint64)
    r_all = np.empty((F.EXT_DEGREE, num_rounds), np.uint64)
    for i in range(num_rounds):
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
        if round_hook is not None:
            msg = _hooked(round_hook, i, msg, r_all)
        rounds[:, i, :] = msg
        transcript.absorb_ext(_LABEL_ROUND, msg)
        r = transcript.challenge_ext(_LABEL_R)
        r_all[:, i] = r
        tabs = [mle.fold(t, r) for t in tabs]
    if stop_before_last:
        return SumcheckProof(rounds), r_all, [t[:, :2].copy() for t in tabs]
    return SumcheckProof(rounds), r_all, [np.ascontiguousarray(t[:, 0]) for t in tabs]

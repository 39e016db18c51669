"""BabyBear F_p (p = 2^31 - 2^27 + 1) and its quartic extension K = F_p[x]/(x^4 - 11).

Protocol step: the arithmetic every other part of the GKR prover runs on (PROTOCOL.md,
"Objects"): tensor values live in F_p, every challenge and every folded value in K. Field
choice as in Plonky3's BabyBear; the extension polynomial x^4 - 11 is irreducible over F_p
(11 is a non-square and 4 | p - 1; tests/gkr/test_field.py checks it, and the known-answer
generator confirms it with galois), so |K| = p^4 ~ 2^124.

Representation (fixed; the rest of the prover depends on it):

* a base array is numpy uint64 with every entry canonical, in [0, p);
* an extension array is uint64 of shape (4, *shape), coefficient-major ("structure of
  arrays"): ``e[0] + e[1] x + e[2] x^2 + e[3] x^3``; one extension scalar has shape (4,);
* signed integers encode as v mod p and decode to (-p/2, p/2].

Every function is vectorised, accepts 0-d arrays, and returns arrays (never numpy scalars).
Inputs are assumed canonical; only the byte decoders check, because bytes come from outside.

Speed. Two reduced elements multiply to less than p^2 < 2^62, so up to four such products add
up in a uint64 before one reduction ("lazy reduction"); dot products add the 32-bit halves of
unreduced products and reduce once per chunk. Hot kernels (extension multiplication,
coefficient-wise add/sub/mul on large arrays, matrix-vector products; the folds, eq tables and
sumcheck rounds of mle.py and sumcheck.py) run under numba (``njit(cache=True)``, multi-threaded
above ``PARALLEL_MIN`` elements) when numba is importable and the environment does not set
``ZKBENCH_GKR_NUMBA=0``; otherwise the same values come from pure numpy. ``BACKEND`` says which
is in use. Inside numba the reduction is a float-reciprocal Barrett step (exact, see ``_red``),
4x faster than the integer ``%`` numba emits; numpy's own ``%`` by a scalar is already fast
(libdivide), so the numpy path keeps it. Measured on the 2-core AMD EPYC (Zen 4) VM,
``ext_mul`` of two 2^20-element arrays: numpy 50-60 ms; numba 8-11 ms including the output's
allocation, 2.6-4.4 ms into a preallocated output (5-7 ms on one thread).

Small-integer matrices (weights, int8-range activations) take a third path,
``ext_matvec_small`` / ``ext_small_matvec``: extension coefficients are split into 16-bit
limbs and multiplied by the integer matrix with float64 BLAS, exact while every partial sum
stays below 2^53 (Thaler 2013's matmul reduction needs exactly these products).
"""

from __future__ import annotations

import builtins
import math
import os
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

P: int = 2013265921
W: int = 11
EXT_DEGREE: int = 4

_PU = np.uint64(P)
_HALF = (P - 1) // 2  # decode maps (HALF, p) to negatives, so the range is (-p/2, p/2]

try:
    if os.environ.get("ZKBENCH_GKR_NUMBA", "1") == "0":
        raise ImportError("numba disabled by ZKBENCH_GKR_NUMBA=0")
    import numba as _numba
except ImportError:  # pragma: no cover - exercised only where numba is missing
    _numba = None

BACKEND: str = "numba" if _numba is not None else "numpy"

if _numba is not None:
    prange = _numba.prange

    def _kernel(fn):
        """A cached, multi-threaded numba kernel (parallel overhead measured at ~2 us)."""
        return _numba.njit(cache=True, parallel=True, error_model="numpy")(fn)

    def _serial(fn):
        """A cached single-threaded numba function: the body of a parallel kernel (numba's
        parallel passes compile large loop bodies slowly, so big bodies live here)."""
        return _numba.njit(cache=True, error_model="numpy")(fn)

    def _helper(fn):
        """A small numba function called from kernels. LLVM inlines it; numba's own
        inline="always" gives the same speed here but multiplies compile time by ~3."""
        return _numba.njit(error_model="numpy")(fn)

    def _inline(fn):
        """A helper numba inlines itself, for bodies too large for LLVM's inliner (a call
        left in a loop stops vectorisation: 4-5x slower)."""
        return _numba.njit(inline="always", error_model="numpy")(fn)
else:  # pragma: no cover
    prange = range

    def _kernel(fn):
        return fn

    _serial = _kernel
    _helper = _kernel
    _inline = _kernel

Shape = int | Sequence[int]


def _shape_tuple(shape: Shape) -> tuple[int, ...]:
    if isinstance(shape, int | np.integer):
        return (int(shape),)
    return tuple(int(s) for s in shape)


# --------------------------------------------------------------------------------------------
# numba kernels. Constants are typed uint64: numba turns uint64 (op) int64 into float64.
# --------------------------------------------------------------------------------------------

_U0 = np.uint64(0)
_U11 = np.uint64(W)
_M32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_R32 = np.uint64((1 << 32) % P)
_PI = np.int64(P)
_INV_P = 1.0 / P


@_helper
def _red(x):
    """x mod p for any uint64 x.

    q = trunc(fl(x) * fl(1/p)) is within 1 of floor(x / p): fl(x) has relative error 2^-53
    and x / p < 2^33.1, so the estimate is off by less than 2^-18. Hence x - q p lies in
    (-p, 2p) and one conditional correction makes it canonical.
    """
    q = np.uint64(np.float64(x) * _INV_P)
    r = np.int64(x - q * _PU)
    if r < 0:
        r += _PI
    elif r >= _PI:
        r -= _PI
    return np.uint64(r)


@_helper
def _acc_to_field(lo, hi):
    """(hi * 2^32 + lo) mod p, for the split accumulators of the dot-product kernels."""
    return _red(_red(hi) * _R32 + _red(lo))


@_serial
def _s_reduce(x, out):
    for i in range(x.shape[0]):
        out[i] = _red(x[i])


# Every kernel is a serial body over a range [j0, j1) (_s_*) plus a thin parallel wrapper
# that splits the range into chunks (_p_*). _launch calls the body directly for small inputs:
# there a parallel region costs more than the work, and on a loaded machine the barrier can
# wait milliseconds for a descheduled worker.
#
# Loops in the bodies run over unsigned indices: numba then emits no negative-index
# wraparound check, and LLVM vectorises the loop (5x faster than with int64 indices).
#
# Conditional subtraction is min(s, s - p) in uint64 (s - p wraps above s when s < p): a
# select, where a branch on uniformly random values would mispredict half the time.


@_serial
def _s_add(x, y, out, j0, j1):
    for i in range(np.uint64(j0), np.uint64(j1)):
        s = x[i] + y[i]
        out[i] = min(s, s - _PU)


@_kernel
def _p_add(x, y, out, nch):
    n = x.shape[0]
    for c in prange(nch):
        _s_add(x, y, out, c * n // nch, (c + 1) * n // nch)


@_serial
def _s_sub(x, y, out, j0, j1):
    for i in range(np.uint64(j0), np.uint64(j1)):
        s = x[i] + _PU - y[i]
        out[i] = min(s, s - _PU)


@_kernel
def _p_sub(x, y, out, nch):
    n = x.shape[0]
    for c in prange(nch):
        _s_sub(x, y, out, c * n // nch, (c + 1) * n // nch)


@_serial
def _s_mul(x, y, out, j0, j1):
    for i in range(np.uint64(j0), np.uint64(j1)):
        out[i] = _red(x[i] * y[i])


@_kernel
def _p_mul(x, y, out, nch):
    n = x.shape[0]
    for c in prange(nch):
        _s_mul(x, y, out, c * n // nch, (c + 1) * n // nch)


@_serial
def _s_ext_mul(a, b, out, j0, j1):
    for j in range(np.uint64(j0), np.uint64(j1)):
        a0 = a[0, j]
        a1 = a[1, j]
        a2 = a[2, j]
        a3 = a[3, j]
        b0 = b[0, j]
        b1 = b[1, j]
        b2 = b[2, j]
        b3 = b[3, j]
        t = _red(a1 * b3 + a2 * b2 + a3 * b1)
        out[0, j] = _red(a0 * b0 + t * _U11)
        t = _red(a2 * b3 + a3 * b2)
        out[1, j] = _red(a0 * b1 + a1 * b0 + t * _U11)
        t = _red(a3 * b3)
        out[2, j] = _red(a0 * b2 + a1 * b1 + a2 * b0 + t * _U11)
        out[3, j] = _red(a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0)


@_kernel
def _p_ext_mul(a, b, out, nch):
    n = a.shape[1]
    for c in prange(nch):
        _s_ext_mul(a, b, out, c * n // nch, (c + 1) * n // nch)


@_serial
def _s_ext_mul_const(a, c, out, j0, j1):
    # c = (c0, c1, c2, c3, 11 c1, 11 c2, 11 c3) mod p: premultiplying by W leaves four
    # products per output coefficient, which fit in a uint64 and need one reduction.
    c0 = c[0]
    c1 = c[1]
    c2 = c[2]
    c3 = c[3]
    w1 = c[4]
    w2 = c[5]
    w3 = c[6]
    for j in range(np.uint64(j0), np.uint64(j1)):
        a0 = a[0, j]
        a1 = a[1, j]
        a2 = a[2, j]
        a3 = a[3, j]
        out[0, j] = _red(a0 * c0 + a1 * w3 + a2 * w2 + a3 * w1)
        out[1, j] = _red(a0 * c1 + a1 * c0 + a2 * w3 + a3 * w2)
        out[2, j] = _red(a0 * c2 + a1 * c1 + a2 * c0 + a3 * w3)
        out[3, j] = _red(a0 * c3 + a1 * c2 + a2 * c1 + a3 * c0)


@_kernel
def _p_ext_mul_const(a, c, out, nch):
    n = a.shape[1]
    for k in prange(nch):
        _s_ext_mul_const(a, c, out, k * n // nch, (k + 1) * n // nch)


@_serial
def _s_ext_mul_base(e, a, out, j0, j1):
    for j in range(np.uint64(j0), np.uint64(j1)):
        x = a[j]
        out[0, j] = _red(e[0, j] * x)
        out[1, j] = _red(e[1, j] * x)
        out[2, j] = _red(e[2, j] * x)
        out[3, j] = _red(e[3, j] * x)


@_kernel
def _p_ext_mul_base(e, a, out, nch):
    n = a.shape[0]
    for c in prange(nch):
        _s_ext_mul_base(e, a, out, c * n // nch, (c + 1) * n // nch)


@_serial
def _s_ext_const_mul_base(c, a, out, j0, j1):
    c0 = c[0]
    c1 = c[1]
    c2 = c[2]
    c3 = c[3]
    for j in range(np.uint64(j0), np.uint64(j1)):
        x = a[j]
        out[0, j] = _red(c0 * x)
        out[1, j] = _red(c1 * x)
        out[2, j] = _red(c2 * x)
        out[3, j] = _red(c3 * x)


@_kernel
def _p_ext_const_mul_base(c, a, out, nch):
    n = a.shape[0]
    for k in prange(nch):
        _s_ext_const_mul_base(c, a, out, k * n // nch, (k + 1) * n // nch)


@_serial
def _s_matvec_base(m, e, chunk, out, t0, t1):
    # Task t is (row r, column chunk c): out[r, c, :] = sum over the chunk of
    # m[r, j] * e[:, j]. Products stay below 2^62; their low and high 32-bit halves are
    # summed separately, so no reduction runs per element.
    cols = m.shape[1]
    nch = out.shape[1]
    for t in range(t0, t1):
        r = np.uint64(t // nch)
        c = t - (t // nch) * nch
        j0 = c * chunk
        j1 = min(j0 + chunk, cols)
        l0 = _U0
        l1 = _U0
        l2 = _U0
        l3 = _U0
        h0 = _U0
        h1 = _U0
        h2 = _U0
        h3 = _U0
        for j in range(np.uint64(j0), np.uint64(j1)):
            x = m[r, j]
            p0 = e[0, j] * x
            p1 = e[1, j] * x
            p2 = e[2, j] * x
            p3 = e[3, j] * x
            l0 += p0 & _M32
            h0 += p0 >> _S32
            l1 += p1 & _M32
            h1 += p1 >> _S32
            l2 += p2 & _M32
            h2 += p2 >> _S32
            l3 += p3 & _M32
            h3 += p3 >> _S32
        out[r, c, 0] = _acc_to_field(l0, h0)
        out[r, c, 1] = _acc_to_field(l1, h1)
        out[r, c, 2] = _acc_to_field(l2, h2)
        out[r, c, 3] = _acc_to_field(l3, h3)


@_kernel
def _p_matvec_base(m, e, chunk, out, ntasks):
    for t in prange(ntasks):
        _s_matvec_base(m, e, chunk, out, t, t + 1)


@_serial
def _s_matvec_ext(m, e, chunk, out, t0, t1):
    # As _s_matvec_base with extension entries m[:, r, j]. For each output coefficient the
    # products split into a direct part and a part multiplied by W = 11 (from x^4 = 11); both
    # are below 4 p^2 < 2^64, and W times a 32-bit half adds less than 2^36 per element.
    cols = m.shape[2]
    nch = out.shape[1]
    for t in range(t0, t1):
        r = np.uint64(t // nch)
        c = t - (t // nch) * nch
        j0 = c * chunk
        j1 = min(j0 + chunk, cols)
        l0 = _U0
        l1 = _U0
        l2 = _U0
        l3 = _U0
        h0 = _U0
        h1 = _U0
        h2 = _U0
        h3 = _U0
        for j in range(np.uint64(j0), np.uint64(j1)):
            a0 = m[0, r, j]
            a1 = m[1, r, j]
            a2 = m[2, r, j]
            a3 = m[3, r, j]
            b0 = e[0, j]
            b1 = e[1, j]
            b2 = e[2, j]
            b3 = e[3, j]
            d0 = a0 * b0
            s0 = a1 * b3 + a2 * b2 + a3 * b1
            d1 = a0 * b1 + a1 * b0
            s1 = a2 * b3 + a3 * b2
            d2 = a0 * b2 + a1 * b1 + a2 * b0
            s2 = a3 * b3
            d3 = a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0
            l0 += (d0 & _M32) + (s0 & _M32) * _U11
            h0 += (d0 >> _S32) + (s0 >> _S32) * _U11
            l1 += (d1 & _M32) + (s1 & _M32) * _U11
            h1 += (d1 >> _S32) + (s1 >> _S32) * _U11
            l2 += (d2 & _M32) + (s2 & _M32) * _U11
            h2 += (d2 >> _S32) + (s2 >> _S32) * _U11
            l3 += d3 & _M32
            h3 += d3 >> _S32
        out[r, c, 0] = _acc_to_field(l0, h0)
        out[r, c, 1] = _acc_to_field(l1, h1)
        out[r, c, 2] = _acc_to_field(l2, h2)
        out[r, c, 3] = _acc_to_field(l3, h3)


@_kernel
def _p_matvec_ext(m, e, chunk, out, ntasks):
    for t in prange(ntasks):
        _s_matvec_ext(m, e, chunk, out, t, t + 1)


# Inputs smaller than this run single-threaded (see _launch).
PARALLEL_MIN = 1 << 14


def _launch(serial, parallel, n: int, *args) -> None:
    """Run a kernel over n items: the serial body for small n, else chunks on all threads."""
    if n < PARALLEL_MIN:
        serial(*args, 0, n)
    else:
        nch = min(n >> 12, 8 * _numba.get_num_threads())
        parallel(*args, nch)


# Outputs of at least this many bytes are touched once by the calling thread before a parallel
# kernel writes them. Measured here (2-core VM, transparent huge pages): two threads
# first-touching a fresh 32 MiB array took 6-30 ms (median 30), against a steady 9 ms with the
# pages faulted in first by one thread.
_PRETOUCH_BYTES = 4 << 20


def empty(shape: Shape) -> np.ndarray:
    """An uninitialised uint64 array for a kernel's output (large ones pre-faulted, see above)."""
    out = np.empty(shape, np.uint64)
    if out.nbytes >= _PRETOUCH_BYTES:
        out.fill(0)
    return out


# Below this many elements numpy's per-call cost is as small as numba's for add/sub/mul.
_NB_MIN_BASE = 1 << 12
# Sum at most this many terms per accumulator in the matvec kernels (bounds in the kernels).
_DOT_CHUNK_MAX = 1 << 20


# --------------------------------------------------------------------------------------------
# base field
# --------------------------------------------------------------------------------------------


def _as_base(a) -> np.ndarray:
    return np.asarray(a, dtype=np.uint64)


def _flat(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).reshape(-1)


def _use_numba_binary(a: np.ndarray, b: np.ndarray) -> bool:
    return _numba is not None and a.shape == b.shape and a.size >= _NB_MIN_BASE


def add(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """a + b mod p, broadcast."""
    a = _as_base(a)
    b = _as_base(b)
    if _use_numba_binary(a, b):
        out = empty(a.shape)
        _launch(_s_add, _p_add, a.size, _flat(a), _flat(b), out.reshape(-1))
        return out
    shape = np.broadcast_shapes(a.shape, b.shape)
    # 1-d views keep numpy in array arithmetic, which wraps silently (scalars would warn).
    s = np.atleast_1d(a) + np.atleast_1d(b)
    return np.minimum(s, s - _PU).reshape(shape)


def sub(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """a - b mod p, broadcast."""
    a = _as_base(a)
    b = _as_base(b)
    if _use_numba_binary(a, b):
        out = empty(a.shape)
        _launch(_s_sub, _p_sub, a.size, _flat(a), _flat(b), out.reshape(-1))
        return out
    shape = np.broadcast_shapes(a.shape, b.shape)
    s = (np.atleast_1d(a) + _PU) - np.atleast_1d(b)
    return np.minimum(s, s - _PU).reshape(shape)


def neg(a: ArrayLike) -> np.ndarray:
    """-a mod p."""
    a = _as_base(a)
    s = _PU - np.atleast_1d(a)
    return np.minimum(s, s - _PU).reshape(a.shape)


def mul(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """a * b mod p, broadcast."""
    a = _as_base(a)
    b = _as_base(b)
    if _use_numba_binary(a, b):
        out = empty(a.shape)
        _launch(_s_mul, _p_mul, a.size, _flat(a), _flat(b), out.reshape(-1))
        return out
    shape = np.broadcast_shapes(a.shape, b.shape)
    return ((np.atleast_1d(a) * np.atleast_1d(b)) % _PU).reshape(shape)


def square(a: ArrayLike) -> np.ndarray:
    """a^2 mod p."""
    return mul(a, a)


def pow(a: ArrayLike, e: int) -> np.ndarray:
    """a^e elementwise for a Python integer e (negative e inverts first; 0^0 = 1)."""
    a = _as_base(a)
    e = int(e)
    if e < 0:
        a = inv(a)
        e = -e
    result = np.ones(a.shape, np.uint64)
    base = a
    while e:
        if e & 1:
            result = mul(result, base)
        e >>= 1
        if e:
            base = mul(base, base)
    return result


def _int_inv(x: int) -> int:
    return builtins.pow(x, P - 2, P)


def _check_nonzero(a: np.ndarray) -> None:
    if np.any(a == 0):
        raise ZeroDivisionError("inverse of zero in F_p")


def inv(a: ArrayLike) -> np.ndarray:
    """a^(-1) elementwise; raises ZeroDivisionError if any entry is 0."""
    a = _as_base(a)
    _check_nonzero(a)
    if a.size > 8:
        return batch_inv(a)
    return np.array([_int_inv(int(x)) for x in a.reshape(-1)], np.uint64).reshape(a.shape)


def batch_inv(a: ArrayLike) -> np.ndarray:
    """Elementwise inverse by Montgomery's trick, vectorised as a product tree.

    Each level multiplies the first half by the second half, the root is inverted once, and
    the way down recovers every inverse: about 3n multiplications in log n numpy calls.
    Raises ZeroDivisionError if any entry is 0.
    """
    a = _as_base(a)
    _check_nonzero(a)
    flat = _flat(a)
    n = flat.size
    if n == 0:
        return a.copy()
    levels = []
    cur = flat
    while cur.size > 1:
        if cur.size & 1:
            cur = np.append(cur, np.uint64(1))
        levels.append(cur)
        h = cur.size // 2
        cur = mul(cur[:h], cur[h:])
    inv_cur = np.array([_int_inv(int(cur[0]))], np.uint64)
    for level in reversed(levels):
        h = level.size // 2
        inv_cur = inv_cur[:h]  # drop the inverse of an odd level's padding 1
        nxt = np.empty_like(level)
        nxt[:h] = mul(inv_cur, level[h:])
        nxt[h:] = mul(inv_cur, level[:h])
        inv_cur = nxt
    return inv_cur[:n].reshape(a.shape)


def encode(v: ArrayLike) -> np.ndarray:
    """Signed integers (|v| < 2^63) to field elements: v mod p."""
    v = np.asarray(v, dtype=np.int64)
    return np.mod(v, np.int64(P)).astype(np.uint64)


def decode(a: ArrayLike) -> np.ndarray:
    """Field elements to signed int64 in (-p/2, p/2]."""
    a = np.asarray(a, dtype=np.uint64).astype(np.int64)
    return np.where(a > _HALF, a - np.int64(P), a)


def random(rng: np.random.Generator, shape: Shape = ()) -> np.ndarray:
    """Uniform base elements of the given shape."""
    return rng.integers(0, P, size=_shape_tuple(shape), dtype=np.uint64)


def secure_random(count: int) -> np.ndarray:
    """``count`` uniform base elements from the operating system's randomness (os.urandom),
    for a prover's secret masks: 32-bit words below 2p (each residue twice) reduced mod p."""
    parts, have = [], 0
    while have < count:
        want = count - have
        raw = np.frombuffer(os.urandom(4 * (want + want // 8 + 16)), dtype="<u4")
        kept = raw[raw < 2 * P][:want]
        parts.append(kept)
        have += kept.size
    words = np.concatenate(parts) if parts else np.zeros(0, np.uint32)
    return words.astype(np.uint64) % np.uint64(P)


def sum_all(a: ArrayLike) -> np.ndarray:
    """Sum of all entries mod p, as a 0-d array."""
    flat = _flat(_as_base(a))
    total = 0
    # Partial sums of canonical values stay below 2^64 for up to 2^33 terms.
    step = 1 << 32
    for i in range(0, flat.size, step):
        total += int(flat[i : i + step].sum(dtype=np.uint64)) % P
    return np.asarray(total % P, dtype=np.uint64)


def _check_canonical(a: np.ndarray, what: str) -> None:
    if a.size and int(a.max()) >= P:
        raise ValueError(f"{what}: entry >= p is not a canonical field element")


def to_bytes(a: ArrayLike) -> bytes:
    """Canonical encoding: 4 little-endian bytes per element, row-major."""
    a = _as_base(a)
    _check_canonical(a, "to_bytes")
    return np.ascontiguousarray(a, dtype="<u4").tobytes()


def from_bytes(data: bytes, shape: Shape | None = None) -> np.ndarray:
    """Inverse of to_bytes; shape None means 1-d. Raises ValueError on any entry >= p."""
    if len(data) % 4:
        raise ValueError(f"from_bytes: {len(data)} bytes is not a multiple of 4")
    a = np.frombuffer(data, dtype="<u4").astype(np.uint64)
    _check_canonical(a, "from_bytes")
    if shape is None:
        return a
    shape = _shape_tuple(shape)
    if int(np.prod(shape, dtype=np.int64)) != a.size:
        raise ValueError(f"from_bytes: {a.size} elements do not fill shape {shape}")
    return a.reshape(shape)


# --------------------------------------------------------------------------------------------
# extension field K = F_p[x]/(x^4 - 11)
# --------------------------------------------------------------------------------------------


def _as_ext(e) -> np.ndarray:
    e = np.asarray(e, dtype=np.uint64)
    if e.ndim == 0 or e.shape[0] != EXT_DEGREE:
        raise ValueError(f"extension arrays have shape (4, ...), got {e.shape}")
    return e


def _ext_align(e: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """View e (4, *s) as (4, 1.., *s) so that numpy broadcasting matches element shapes."""
    pad = len(shape) - (e.ndim - 1)
    return e.reshape((EXT_DEGREE,) + (1,) * pad + e.shape[1:])


def _ext_flat(e: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """e broadcast to element shape `shape`, as a contiguous (4, n) array."""
    if e.shape[1:] != shape:
        e = np.broadcast_to(_ext_align(e, shape), (EXT_DEGREE,) + shape)
    return np.ascontiguousarray(e).reshape(EXT_DEGREE, math.prod(shape))


def ext_zero(shape: Shape = ()) -> np.ndarray:
    """The zero of K, broadcast to `shape`."""
    return np.zeros((EXT_DEGREE,) + _shape_tuple(shape), np.uint64)


def ext_one(shape: Shape = ()) -> np.ndarray:
    """The one of K, broadcast to `shape`."""
    out = ext_zero(shape)
    out[0] = 1
    return out


def ext_from_base(a: ArrayLike) -> np.ndarray:
    """Embed base elements into K."""
    a = _as_base(a)
    out = np.zeros((EXT_DEGREE,) + a.shape, np.uint64)
    out[0] = a
    return out


def _ext_coefwise(base_op, a, b) -> np.ndarray:
    a = _as_ext(a)
    b = _as_ext(b)
    shape = np.broadcast_shapes(a.shape[1:], b.shape[1:])
    if a.shape == b.shape:
        return base_op(a, b)
    return base_op(_ext_align(a, shape), _ext_align(b, shape))


def ext_add(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """a + b in K, broadcast over element shapes."""
    return _ext_coefwise(add, a, b)


def ext_sub(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """a - b in K, broadcast over element shapes."""
    return _ext_coefwise(sub, a, b)


def ext_neg(a: ArrayLike) -> np.ndarray:
    """-a in K."""
    return neg(_as_ext(a))


def _np_ext_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pure-numpy product of two (4, n) arrays, reducing after at most four products."""
    a0, a1, a2, a3 = a
    b0, b1, b2, b3 = b
    out = np.empty(np.broadcast_shapes(a.shape, b.shape), np.uint64)
    t = (a1 * b3 + a2 * b2 + a3 * b1) % _PU
    out[0] = (a0 * b0 + t * _U11) % _PU
    t = (a2 * b3 + a3 * b2) % _PU
    out[1] = (a0 * b1 + a1 * b0 + t * _U11) % _PU
    t = (a3 * b3) % _PU
    out[2] = (a0 * b2 + a1 * b1 + a2 * b0 + t * _U11) % _PU
    out[3] = (a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0) % _PU
    return out


def _const_table(c: np.ndarray) -> np.ndarray:
    """(c0, c1, c2, c3, 11 c1, 11 c2, 11 c3) mod p for _s_ext_mul_const."""
    c = c.reshape(EXT_DEGREE)
    return np.concatenate([c, (c[1:] * _U11) % _PU])


def ext_mul(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """a * b in K, broadcast over element shapes."""
    a = _as_ext(a)
    b = _as_ext(b)
    if _numba is not None and a.shape == b.shape:
        # Fast path (scalars in the verifier, equal-shape vectors in the prover).
        n = a.size // EXT_DEGREE
        out = empty(a.shape)
        a2 = np.ascontiguousarray(a).reshape(EXT_DEGREE, n)
        b2 = np.ascontiguousarray(b).reshape(EXT_DEGREE, n)
        _launch(_s_ext_mul, _p_ext_mul, n, a2, b2, out.reshape(EXT_DEGREE, n))
        return out
    shape = np.broadcast_shapes(a.shape[1:], b.shape[1:])
    n = math.prod(shape)
    if _numba is None:
        out = _np_ext_mul(_ext_flat(a, shape), _ext_flat(b, shape))
        return out.reshape((EXT_DEGREE,) + shape)
    out = empty((EXT_DEGREE, n))
    if b.size == EXT_DEGREE and n > 1:
        _launch(_s_ext_mul_const, _p_ext_mul_const, n, _ext_flat(a, shape), _const_table(b), out)
    elif a.size == EXT_DEGREE and n > 1:
        _launch(_s_ext_mul_const, _p_ext_mul_const, n, _ext_flat(b, shape), _const_table(a), out)
    else:
        _launch(_s_ext_mul, _p_ext_mul, n, _ext_flat(a, shape), _ext_flat(b, shape), out)
    return out.reshape((EXT_DEGREE,) + shape)


def ext_mul_base(e: ArrayLike, a: ArrayLike) -> np.ndarray:
    """e * a for e in K and a in F_p, broadcast over element shapes."""
    e = _as_ext(e)
    a = _as_base(a)
    shape = np.broadcast_shapes(e.shape[1:], a.shape)
    n = math.prod(shape)
    full = (EXT_DEGREE,) + shape
    if _numba is not None and n >= 1:
        if e.size == EXT_DEGREE and a.size > 1:
            out = empty((EXT_DEGREE, n))
            a_flat = _flat(np.broadcast_to(a, shape))
            c = np.ascontiguousarray(e.reshape(EXT_DEGREE))
            _launch(_s_ext_const_mul_base, _p_ext_const_mul_base, n, c, a_flat, out)
            return out.reshape(full)
        if a.shape == shape:
            out = empty((EXT_DEGREE, n))
            _launch(_s_ext_mul_base, _p_ext_mul_base, n, _ext_flat(e, shape), _flat(a), out)
            return out.reshape(full)
    return mul(_ext_align(e, shape), a)


def ext_square(a: ArrayLike) -> np.ndarray:
    """a^2 in K."""
    return ext_mul(a, a)


def _int_ext_inv(a0: int, a1: int, a2: int, a3: int) -> tuple[int, int, int, int]:
    """ext_inv's formula on Python integers (one element; cheaper than ~25 numpy calls)."""
    b0 = (a0 * a0 + W * a2 * a2 - 2 * W * a1 * a3) % P
    b2 = (2 * a0 * a2 - a1 * a1 - W * a3 * a3) % P
    norm = (b0 * b0 - W * b2 * b2) % P
    if norm == 0:
        raise ZeroDivisionError("inverse of zero in K")
    n_inv = _int_inv(norm)
    c0 = b0 * n_inv % P
    c2 = -b2 * n_inv % P
    return (
        (a0 * c0 + W * a2 * c2) % P,
        -(a1 * c0 + W * a3 * c2) % P,
        (a0 * c2 + a2 * c0) % P,
        -(a1 * c2 + a3 * c0) % P,
    )


def ext_inv(a: ArrayLike) -> np.ndarray:
    """a^(-1) in K elementwise (vectorised); raises ZeroDivisionError if any a is 0.

    Norm map down the tower x -> x^2: b = a(x) a(-x) = b0 + b2 x^2 lies in F_p[x^2], and
    N = b0^2 - 11 b2^2 = b(y) b(-y) lies in F_p (y = x^2, y^2 = 11). So
    a^(-1) = a(-x) (b0 - b2 x^2) / N, with one batched base inversion for all elements.
    """
    a = _as_ext(a)
    if a.size <= 4 * EXT_DEGREE:
        flat = a.reshape(EXT_DEGREE, -1)
        cols = [_int_ext_inv(*(int(c) for c in flat[:, j])) for j in range(flat.shape[1])]
        return np.array(cols, np.uint64).T.reshape(a.shape).copy()
    a0, a1, a2, a3 = a
    b0 = sub(add(mul(a0, a0), mul(mul(a2, a2), W)), mul(mul(a1, a3), 2 * W))
    b2 = sub(sub(mul(mul(a0, a2), 2), mul(a1, a1)), mul(mul(a3, a3), W))
    norm = sub(mul(b0, b0), mul(mul(b2, b2), W))
    try:
        n_inv = batch_inv(norm)
    except ZeroDivisionError:
        raise ZeroDivisionError("inverse of zero in K") from None
    c0 = mul(b0, n_inv)
    c2 = neg(mul(b2, n_inv))
    out = np.empty(a.shape, np.uint64)
    out[0] = add(mul(a0, c0), mul(mul(a2, c2), W))
    out[1] = neg(add(mul(a1, c0), mul(mul(a3, c2), W)))
    out[2] = add(mul(a0, c2), mul(a2, c0))
    out[3] = neg(add(mul(a1, c2), mul(a3, c0)))
    return out


def ext_batch_inv(a: ArrayLike) -> np.ndarray:
    """Elementwise inverse of many elements of K (one batched base inversion inside)."""
    return ext_inv(a)


def ext_pow(a: ArrayLike, e: int) -> np.ndarray:
    """a^e in K elementwise for a Python integer e (negative e inverts first)."""
    a = _as_ext(a)
    e = int(e)
    if e < 0:
        a = ext_inv(a)
        e = -e
    result = ext_one(a.shape[1:])
    base = a
    while e:
        if e & 1:
            result = ext_mul(result, base)
        e >>= 1
        if e:
            base = ext_mul(base, base)
    return result


def ext_random(rng: np.random.Generator, shape: Shape = ()) -> np.ndarray:
    """Uniform elements of K with element shape `shape`."""
    return rng.integers(0, P, size=(EXT_DEGREE,) + _shape_tuple(shape), dtype=np.uint64)


def ext_eq(a: ArrayLike, b: ArrayLike) -> bool:
    """True iff a and b have the same shape and all elements are equal."""
    a = np.asarray(a)
    b = np.asarray(b)
    return a.shape == b.shape and bool(np.array_equal(a, b))


def ext_sum_all(e: ArrayLike) -> np.ndarray:
    """Sum of all elements of an extension array, as an extension scalar (4,)."""
    e = _as_ext(e)
    flat = e.reshape(EXT_DEGREE, -1)
    return np.array([sum_all(flat[k]) for k in range(EXT_DEGREE)], dtype=np.uint64)


def ext_prod_all(e: ArrayLike) -> np.ndarray:
    """Product of all elements of an extension array (pairwise tree), as a scalar (4,)."""
    cur = _as_ext(e).reshape(EXT_DEGREE, -1)
    if cur.shape[1] == 0:
        return ext_one()
    while cur.shape[1] > 1:
        if cur.shape[1] & 1:
            cur = np.concatenate([cur, ext_one((1,))], axis=1)
        h = cur.shape[1] // 2
        cur = ext_mul(cur[:, :h], cur[:, h:])
    return cur[:, 0].copy()


def ext_to_bytes(e: ArrayLike) -> bytes:
    """Canonical encoding: element by element (row-major), each as 4 little-endian u32
    coefficients c0..c3 (16 bytes per element), independent of memory layout."""
    e = _as_ext(e)
    _check_canonical(e, "ext_to_bytes")
    return np.ascontiguousarray(np.moveaxis(e, 0, -1), dtype="<u4").tobytes()


def ext_from_bytes(data: bytes, shape: Shape | None = None) -> np.ndarray:
    """Inverse of ext_to_bytes; shape is the element shape (None: 1-d, (): a scalar).
    Raises ValueError on a bad length or any coefficient >= p."""
    if len(data) % (4 * EXT_DEGREE):
        raise ValueError(f"ext_from_bytes: {len(data)} bytes is not a multiple of 16")
    a = np.frombuffer(data, dtype="<u4").astype(np.uint64)
    _check_canonical(a, "ext_from_bytes")
    n = a.size // EXT_DEGREE
    shape = (n,) if shape is None else _shape_tuple(shape)
    if int(np.prod(shape, dtype=np.int64)) != n:
        raise ValueError(f"ext_from_bytes: {n} elements do not fill shape {shape}")
    return np.ascontiguousarray(np.moveaxis(a.reshape(shape + (EXT_DEGREE,)), -1, 0))


# --------------------------------------------------------------------------------------------
# dot and matrix-vector products
# --------------------------------------------------------------------------------------------


def _dot_chunking(rows: int, cols: int) -> tuple[int, int]:
    """Column chunk size and count: enough tasks to feed every thread, bounded sums."""
    tasks_wanted = 8
    nch = max(1, min(-(-tasks_wanted // max(rows, 1)), -(-cols // 4096)))
    chunk = max(1, -(-cols // nch))
    if chunk > _DOT_CHUNK_MAX:
        chunk = _DOT_CHUNK_MAX
    nch = max(1, -(-cols // chunk))
    return chunk, nch


def _np_matvec(m: np.ndarray, e: np.ndarray) -> np.ndarray:
    """numpy fallback of ext_matvec; m is base (R, C) or extension (4, R, C)."""
    rows = m.shape[-2]
    out = np.empty((EXT_DEGREE, rows), np.uint64)
    for r in range(rows):
        if m.ndim == 2:
            prods = ext_mul_base(e, m[r])
        else:
            prods = ext_mul(m[:, r], e)
        out[:, r] = ext_sum_all(prods)
    return out


def ext_matvec(m: ArrayLike, e: ArrayLike) -> np.ndarray:
    """out[:, r] = sum_j m[r, j] * e[:, j] for a field matrix m, base (R, C) or extension
    (4, R, C), and an extension vector e (4, C); returns (4, R).

    General field entries (for small integers ext_small_matvec is faster). Linear time with
    no per-element reduction (split 32-bit accumulators, see the kernels).
    """
    m = np.asarray(m, dtype=np.uint64)
    e = _as_ext(e)
    if e.ndim != 2 or m.ndim not in (2, 3) or m.shape[-1] != e.shape[1]:
        raise ValueError(f"ext_matvec: shapes {m.shape} and {e.shape} do not match")
    if m.ndim == 3 and m.shape[0] != EXT_DEGREE:
        raise ValueError(f"ext_matvec: extension matrix must be (4, R, C), got {m.shape}")
    rows, cols = m.shape[-2], m.shape[-1]
    if _numba is None or rows == 0:
        return _np_matvec(m, e)
    chunk, nch = _dot_chunking(rows, cols)
    part = np.empty((rows, nch, EXT_DEGREE), np.uint64)
    args = (np.ascontiguousarray(m), np.ascontiguousarray(e), chunk, part)
    if m.ndim == 2:
        serial, parallel = _s_matvec_base, _p_matvec_base
    else:
        serial, parallel = _s_matvec_ext, _p_matvec_ext
    ntasks = rows * nch
    if rows * cols < PARALLEL_MIN:
        serial(*args, 0, ntasks)
    else:
        parallel(*args, ntasks)
    if nch == 1:
        return np.ascontiguousarray(part[:, 0, :].T)
    return np.ascontiguousarray((part.sum(axis=1, dtype=np.uint64) % _PU).T)


def ext_dot(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """sum_j a[:, j] * b[j] for extension vectors a (4, n) and b, base (n,) or
    extension (4, n); returns an extension scalar (4,)."""
    a = _as_ext(a)
    b = np.asarray(b, dtype=np.uint64)
    m = b[None, :] if b.ndim == 1 else b[:, None, :]
    return ext_matvec(m, a)[:, 0]


def _limbs16(e: np.ndarray) -> np.ndarray:
    """(4, m) canonical extension vector -> (8, m) float64 [low 16-bit limbs; high limbs]."""
    lo = (e & np.uint64(0xFFFF)).astype(np.float64)
    hi = (e >> np.uint64(16)).astype(np.float64)
    return np.concatenate([lo, hi], axis=0)


def _limbs_to_field(acc: np.ndarray) -> np.ndarray:
    """(8, n) exact integer float sums of limb products -> (4, n) canonical elements."""
    r = np.mod(acc.astype(np.int64), np.int64(P)).astype(np.uint64)
    return (r[:EXT_DEGREE] + (r[EXT_DEGREE:] << np.uint64(16))) % _PU


# |M| < 2^15 and limbs < 2^16, so each product is below 2^31 and a sum of 2^21 of them is
# below 2^52: exact in float64 with a bit to spare.
_SMALL_BOUND = 1 << 15
_SMALL_CHUNK = 1 << 21


def _as_small_matrix(m, check: bool) -> np.ndarray:
    m = np.asarray(m)
    if m.ndim != 2:
        raise ValueError(f"small-integer matrix must be 2-d, got shape {m.shape}")
    mf = m if m.dtype == np.float64 else m.astype(np.float64)
    if check and mf.size and float(np.abs(mf).max()) >= _SMALL_BOUND:
        raise ValueError("small-integer matrix entries must satisfy |M| < 2^15")
    return mf


def ext_matvec_small(m: ArrayLike, e_vec: ArrayLike, *, check: bool = True) -> np.ndarray:
    """sum_i e_vec[:, i] * M[i, :]: an extension row vector (4, m) times a small-integer
    matrix M (m, n) with |M| < 2^15 (int64 or float64 entries); returns (4, n).

    Exact float64 BLAS on 16-bit limbs of the extension coefficients, chunked over m so that
    no partial sum reaches 2^53, then one reduction mod p per output limb. Pass M as float64
    to avoid a conversion per call; check=False skips the O(mn) bound check.
    """
    mf = _as_small_matrix(m, check)
    e = _as_ext(e_vec)
    if e.ndim != 2 or e.shape[1] != mf.shape[0]:
        raise ValueError(f"ext_matvec_small: shapes {e.shape} and {mf.shape} do not match")
    limbs = _limbs16(e)
    out = np.zeros((EXT_DEGREE, mf.shape[1]), np.uint64)
    for i in range(0, max(mf.shape[0], 1), _SMALL_CHUNK):
        part = _limbs_to_field(limbs[:, i : i + _SMALL_CHUNK] @ mf[i : i + _SMALL_CHUNK])
        out = add(out, part)
    return out


def ext_small_matvec(m: ArrayLike, e_vec: ArrayLike, *, check: bool = True) -> np.ndarray:
    """sum_j M[:, j] * e_vec[:, j]: a small-integer matrix M (n, m) with |M| < 2^15 times an
    extension column vector (4, m); returns (4, n). Same exact limb method as
    ext_matvec_small."""
    mf = _as_small_matrix(m, check)
    e = _as_ext(e_vec)
    if e.ndim != 2 or e.shape[1] != mf.shape[1]:
        raise ValueError(f"ext_small_matvec: shapes {mf.shape} and {e.shape} do not match")
    limbs = _limbs16(e)
    out = np.zeros((EXT_DEGREE, mf.shape[0]), np.uint64)
    for j in range(0, max(mf.shape[1], 1), _SMALL_CHUNK):
        acc = mf[:, j : j + _SMALL_CHUNK] @ limbs[:, j : j + _SMALL_CHUNK].T
        out = add(out, _limbs_to_field(acc.T))
    return out


def warmup() -> None:
    """Compile (or load from numba's cache) every kernel of this module, on both the
    single-threaded and the parallel path, so that a timed stage does not pay for it."""
    rng = np.random.default_rng(0)
    for n in (4, PARALLEL_MIN):
        x = random(rng, (n,))
        e = ext_random(rng, (n,))
        add(x, x)
        sub(x, x)
        mul(x, x)
        ext_mul(e, e)
        ext_mul(e, e[:, 0])
        ext_mul_base(e, x)
        ext_mul_base(e[:, 0], x)
        ext_matvec(x.reshape(4, -1), e[:, : n // 4])
        ext_matvec(e.reshape(4, 4, -1), e[:, : n // 4])
    if _numba is not None:
        _s_reduce(x[:4], np.empty(4, np.uint64))

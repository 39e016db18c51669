"""Radix-2 number-theoretic transform over BabyBear, for Reed-Solomon encoding many rows at once.

``ntt(rows)`` evaluates, for every row a of length n = 2^k, the polynomial
sum_j a[j] X^j at the points omega^i, i = 0..n-1, omega = g^((p-1)/n) with g = 31 a generator
of BabyBear's multiplicative group (p - 1 = 2^27 * 15, so n may be up to 2^27). Iterative
decimation in time: bit-reversal permutation, then log2(n) butterfly stages with the twiddle
table omega^j, j < n/2.

Two paths give the same values: numpy, vectorised over all rows and all butterflies of a
stage at once (a row-major (rows, n) array viewed as (rows, blocks, 2, half)), and a numba
kernel, parallel over rows, used for large inputs (the prover's encoding of a committed
matrix): one row's stages run in cache, where numpy would stream the whole matrix through
memory once per stage.
"""

from __future__ import annotations

import functools

import numpy as np

from provers.gkr import field as F
from provers.gkr.field import _helper, _kernel, prange

GENERATOR = 31
"""A generator of BabyBear's multiplicative group (as in Plonky3)."""
TWO_ADICITY = 27

_PU = np.uint64(F.P)
_PI = np.int64(F.P)
_INV_P = 1.0 / F.P
_NUMBA_MIN = 1 << 12


def root_of_unity(n: int) -> int:
    """A primitive n-th root of unity for n = 2^k, k <= 27."""
    k = n.bit_length() - 1
    if n <= 0 or n != 1 << k or k > TWO_ADICITY:
        raise ValueError(f"ntt: length {n} is not a power of two up to 2^{TWO_ADICITY}")
    return pow(GENERATOR, (F.P - 1) >> k, F.P)


@functools.lru_cache(maxsize=32)
def twiddles(n: int) -> np.ndarray:
    """omega_n^j for j < n/2 (read-only uint64), by repeated doubling of the filled prefix."""
    half = max(n // 2, 1)
    w = root_of_unity(n)
    out = np.empty(half, np.uint64)
    out[0] = 1
    filled = 1
    while filled < half:
        step = np.uint64(pow(w, filled, F.P))
        out[filled:2 * filled] = out[:filled] * step % _PU
        filled *= 2
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=32)
def bit_reversal(n: int) -> np.ndarray:
    """The bit-reversal permutation of range(n), n = 2^k."""
    k = n.bit_length() - 1
    idx = np.arange(n, dtype=np.int64)
    rev = np.zeros(n, dtype=np.int64)
    for b in range(k):
        rev |= ((idx >> b) & 1) << (k - 1 - b)
    rev.setflags(write=False)
    return rev


def _ntt_numpy(a: np.ndarray) -> np.ndarray:
    rows, n = a.shape
    tw = twiddles(n)
    out = np.ascontiguousarray(a[:, bit_reversal(n)])
    half = 1
    while half < n:
        view = out.reshape(rows, n // (2 * half), 2, half)
        t = tw[:: n // (2 * half)][:half]
        u = view[:, :, 0, :].copy()
        v = view[:, :, 1, :] * t % _PU
        view[:, :, 0, :] = (u + v) % _PU
        view[:, :, 1, :] = (u + _PU - v) % _PU
        half *= 2
    return out


@_helper
def _red(x):
    # numba caches compiled code per source file, so this module keeps its own copy of the
    # float-reciprocal reduction of field._red (exact for any uint64 x; see there).
    q = np.uint64(np.float64(x) * _INV_P)
    r = np.int64(x - q * _PU)
    if r < 0:
        r += _PI
    elif r >= _PI:
        r -= _PI
    return np.uint64(r)


@_kernel
def _ntt_rows(a, out, tw, rev):
    rows, n = a.shape
    for r in prange(rows):
        row = out[r]
        for i in range(n):
            row[i] = a[r, rev[i]]
        half = 1
        while half < n:
            stride = n // (2 * half)
            for start in range(0, n, 2 * half):
                for j in range(half):
                    u = row[start + j]
                    v = _red(row[start + j + half] * tw[j * stride])
                    s = u + v
                    row[start + j] = s - _PU if s >= _PU else s
                    d = u + _PU - v
                    row[start + j + half] = d - _PU if d >= _PU else d
            half *= 2


def ntt(rows: np.ndarray) -> np.ndarray:
    """Evaluations of each row's polynomial at omega^0..omega^(n-1); rows is (m, n) or (n,)
    of canonical uint64 elements. Returns a new array of the same shape."""
    a = np.asarray(rows, dtype=np.uint64)
    flat = a.reshape(1, -1) if a.ndim == 1 else a
    if flat.ndim != 2:
        raise ValueError(f"ntt: expected a vector or a matrix of rows, got shape {a.shape}")
    n = flat.shape[1]
    root_of_unity(n)  # validates n
    if n == 1:
        return flat.copy().reshape(a.shape)
    if F.BACKEND == "numba" and flat.size >= _NUMBA_MIN:
        out = np.empty_like(flat)
        _ntt_rows(np.ascontiguousarray(flat), out, twiddles(n), bit_reversal(n))
    else:
        out = _ntt_numpy(flat)
    return out.reshape(a.shape)


def rs_encode(rows: np.ndarray, blowup: int) -> np.ndarray:
    """Reed-Solomon encoding at rate 1/blowup: each row of k coefficients, zero-padded to
    k * blowup, evaluated on the subgroup of that order. (m, k) -> (m, k * blowup)."""
    a = np.asarray(rows, dtype=np.uint64)
    if a.ndim != 2:
        raise ValueError(f"rs_encode: expected (rows, k), got shape {a.shape}")
    padded = np.zeros((a.shape[0], a.shape[1] * blowup), np.uint64)
    padded[:, : a.shape[1]] = a
    return ntt(padded)


def rs_encode_ext(values: np.ndarray, blowup: int) -> np.ndarray:
    """The encoding of an extension vector (4, k): coefficient-wise, since encoding is
    linear over F_p. Returns (4, k * blowup)."""
    return rs_encode(F._as_ext(values), blowup)


@functools.lru_cache(maxsize=32)
def stage_twiddles(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-stage twiddles laid out contiguously, and their Shoup companions: entry h + j
    (h a power of two below n, j < h) is omega_(2h)^j = omega_n^(j n / (2h)), and its
    companion is floor(omega_(2h)^j * 2^32 / p), so that x * w mod p for x < 2^32 costs
    three 32x32-bit multiplications (Shoup's method; the kernel below vectorises them)."""
    tw = twiddles(n)
    out = np.zeros(max(n, 2), np.uint64)
    half = 1
    while half < n:
        out[half:2 * half] = tw[:: n // (2 * half)][:half]
        half *= 2
    shoup = (out << np.uint64(32)) // _PU
    out.setflags(write=False)
    shoup.setflags(write=False)
    return out, shoup


_GROUP = 16
"""Rows per task of the column encoder: each task writes 16 consecutive uint32 (one 64-byte
cache line) per encoded column."""


@_kernel
def _encode_columns(values, out, tw, shoup, rev_k, blowup):
    rows, k = values.shape
    n = out.shape[0]
    tasks = (rows + _GROUP - 1) // _GROUP
    for g in prange(tasks):
        r0 = g * _GROUP
        r1 = min(r0 + _GROUP, rows)
        buf = np.empty((_GROUP, n), np.uint32)
        for r in range(r0, r1):
            row = buf[r - r0]
            # Bit reversal of the zero-padded row puts a[rev_k(m)] at m * blowup and zeros
            # between; the first log2(blowup) stages turn each such block into copies of it.
            for m in range(k):
                x = values[r, rev_k[m]]
                e = np.uint32(x + _PI) if x < 0 else np.uint32(x)
                for j in range(blowup):
                    row[m * blowup + j] = e
            half = blowup
            while half < n:
                w = tw[half:2 * half]
                ws = shoup[half:2 * half]
                for start in range(0, n, 2 * half):
                    # Slices (not row[start + j]) let LLVM see two disjoint runs and
                    # vectorise the butterflies: about 8x faster.
                    lo = row[start:start + half]
                    hi = row[start + half:start + 2 * half]
                    for j in range(half):
                        u = np.uint64(lo[j])
                        x = np.uint64(hi[j])
                        q = (x * ws[j]) >> np.uint64(32)
                        v = x * w[j] - q * _PU
                        v = v - _PU if v >= _PU else v
                        s = u + v
                        d = u + _PU - v
                        lo[j] = np.uint32(s - _PU if s >= _PU else s)
                        hi[j] = np.uint32(d - _PU if d >= _PU else d)
                half *= 2
        for i in range(n):
            for r in range(r0, r1):
                out[i, r] = buf[r - r0, i]


def rs_encode_columns(matrix: np.ndarray, blowup: int) -> np.ndarray:
    """The Reed-Solomon encoding of every row of a signed integer matrix (R, k) (entries
    below p/2 in magnitude), returned transposed as (k * blowup, R) uint32: row j of the
    result is encoded column j, the Merkle leaf. Equal to ``rs_encode(encode(matrix)).T``;
    under numba one pass that converts, encodes and transposes without temporaries."""
    m = np.asarray(matrix)
    if m.ndim != 2:
        raise ValueError(f"rs_encode_columns: expected (rows, k), got shape {m.shape}")
    rows, k = m.shape
    n = k * blowup
    root_of_unity(n)
    if blowup < 1 or blowup & (blowup - 1):
        raise ValueError(f"rs_encode_columns: blowup {blowup} is not a power of two")
    out = np.empty((n, rows), np.uint32)
    if F.BACKEND == "numba" and rows and n >= 2:
        tw, shoup = stage_twiddles(n)
        ints = m if m.dtype in (np.int32, np.int64) else m.astype(np.int64)
        _encode_columns(np.ascontiguousarray(ints), out, tw, shoup, bit_reversal(k), blowup)
        return out
    for r0 in range(0, rows, 64):
        block = rs_encode(F.encode(m[r0:r0 + 64]), blowup)
        out[:, r0:r0 + block.shape[0]] = block.T
    return out


def warmup() -> None:
    """Compile (or load from numba's cache) the NTT kernels outside timed stages."""
    ntt(np.zeros((2, _NUMBA_MIN), np.uint64))
    for dtype in (np.int32, np.int64):
        rs_encode_columns(np.zeros((2, 4), dtype), 4)

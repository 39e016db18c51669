"""Integer tensors as the circuit sees them: zero-padded to powers of two, encoded in BabyBear.

A tensor of shape (s_0, ..., s_k) is padded with zeros to (2^a_0, ..., 2^a_k) and read
row-major, so its multilinear extension has a_0 + ... + a_k variables, the first dimension's
bits most significant (PROTOCOL.md, "Objects"). Signed values map to p - |v|.
"""

from __future__ import annotations

import numpy as np

from provers.gkr import field as F
from provers.gkr import mle

SMALL = 2**15
"""Entries below this in magnitude take the exact float64 limb path (field.ext_matvec_small)."""


def padded_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(mle.next_pow2(max(int(s), 1)) for s in shape)


def num_vars(shape: tuple[int, ...]) -> int:
    return sum(mle.log2_exact(s) for s in padded_shape(shape))


def pad(values: np.ndarray, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Zero-pad an integer array to ``shape`` (default: each dimension to a power of two)."""
    values = np.asarray(values, dtype=np.int64)
    target = padded_shape(values.shape) if shape is None else shape
    if values.shape == tuple(target):
        return values
    out = np.zeros(target, dtype=np.int64)
    out[tuple(slice(0, s) for s in values.shape)] = values
    return out


def encode(values: np.ndarray) -> np.ndarray:
    """Signed int64 -> field elements (uint64), flattened row-major."""
    return F.encode(np.asarray(values, dtype=np.int64).reshape(-1))


def evaluate(values: np.ndarray, point: np.ndarray) -> np.ndarray:
    """The MLE of a padded integer tensor at ``point`` (4, v): an extension scalar.

    Small entries use exact float64 BLAS on limbs (eq rows x matrix x eq columns); anything
    else goes through the field.
    """
    values = np.asarray(values, dtype=np.int64)
    point = np.asarray(point, dtype=np.uint64).reshape(F.EXT_DEGREE, -1)
    v = point.shape[1]
    if values.size != 1 << v:
        raise ValueError(f"tensor of {values.size} entries evaluated at a {v}-variable point")
    flat = values.reshape(-1)
    if v < 2 or not flat.size:
        return mle.evaluate(encode(flat), point)
    magnitude = int(np.abs(flat).max())
    if magnitude >= SMALL * SMALL:
        return mle.evaluate(encode(flat), point)
    col_vars = (v + 1) // 2
    eq_rows = mle.eq_table(point[:, : v - col_vars])
    eq_cols = mle.eq_table(point[:, v - col_vars:])
    m = flat.reshape(1 << (v - col_vars), 1 << col_vars)
    if magnitude < SMALL:
        row = F.ext_matvec_small(m.astype(np.float64), eq_rows, check=False)
    else:  # two 15-bit limbs: m = hi * 2^15 + lo with |hi|, |lo| < 2^15
        hi, lo = np.divmod(m, SMALL)
        row_hi = F.ext_matvec_small(hi.astype(np.float64), eq_rows, check=False)
        row_lo = F.ext_matvec_small(lo.astype(np.float64), eq_rows, check=False)
        row = F.ext_add(F.ext_mul_base(row_hi, np.uint64(SMALL)), row_lo)
    return F.ext_dot(row, eq_cols)


def mask_eval(true_shape: tuple[int, ...], point: np.ndarray) -> np.ndarray:
    """M~(point) for the 0/1 mask of a tensor's true (non-padding) entries: a product of
    per-dimension prefix sums of eq, O(sum of dimensions)."""
    out, pos = F.ext_one(), 0
    for size in true_shape:
        nv = mle.log2_exact(mle.next_pow2(max(size, 1)))
        eq = mle.eq_table(point[:, pos:pos + nv])
        out = F.ext_mul(out, F.ext_sum_all(eq[:, :size]))
        pos += nv
    return out

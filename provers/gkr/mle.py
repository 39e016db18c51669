"""Multilinear extensions: eq tables, evaluation, folding.

Protocol step: PROTOCOL.md, "Objects" and "Sumcheck". A table T of length 2^v has the
multilinear extension T~(z) = sum_b eq(z, b) T[b], eq(z, b) = prod_i (z_i b_i + (1-z_i)(1-b_i))
(Thaler 2013, sections 3-4). Variable order is MSB first: z_0 is bound to the most
significant bit of the index, so a row-major (2^a, 2^b) matrix has the point
(z_row..., z_col...). Folding with a challenge r binds the first (most significant) variable:
T[:h] + r (T[h:] - T[:h]), h = 2^(v-1), which is one sumcheck round's table update.

Tables: a base table is a 1-d uint64 array; an extension table has shape (4, n). A table
shorter than 2^v is implicitly zero-padded (PROTOCOL.md: padding is zero everywhere).
Points are extension arrays of shape (4, v).

Evaluation is O(2^v) without building the full eq table: the index splits into high bits
(rows) and low bits (columns), two eq tables of size ~2^(v/2) are built, and the table is
contracted with them by field.ext_matvec (no reduction per element).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from provers.gkr import field as F
from provers.gkr.field import _helper, _kernel, _launch, _serial, prange

_PU = np.uint64(F.P)
_PI = np.int64(F.P)
_INV_P = 1.0 / F.P
_U11 = np.uint64(F.W)


# numba caches compiled code per source file and does not notice edits to helpers imported
# from another file, so this module keeps its own copy of the reduction (see field._red).
@_helper
def _red(x):
    q = np.uint64(np.float64(x) * _INV_P)
    r = np.int64(x - q * _PU)
    if r < 0:
        r += _PI
    elif r >= _PI:
        r -= _PI
    return np.uint64(r)


@_helper
def _addm(x, y):
    s = x + y
    return min(s, s - _PU)  # branch-free conditional subtraction (see field._s_add)


@_helper
def _subm(x, y):
    s = x + _PU - y
    return min(s, s - _PU)


@_serial
def _s_eq_level(out, s, zc, i, j0, j1):
    # One doubling step for variable i (zc[i] = z_i's coefficients, then 11 z_i[1:] mod p):
    # out[s + j] = out[j] z_i and out[j] = out[j] (1 - z_i) = out[j] - out[s + j].
    c0 = zc[i, 0]
    c1 = zc[i, 1]
    c2 = zc[i, 2]
    c3 = zc[i, 3]
    w1 = zc[i, 4]
    w2 = zc[i, 5]
    w3 = zc[i, 6]
    su = np.uint64(s)
    for j in range(np.uint64(j0), np.uint64(j1)):
        a0 = out[0, j]
        a1 = out[1, j]
        a2 = out[2, j]
        a3 = out[3, j]
        h0 = _red(a0 * c0 + a1 * w3 + a2 * w2 + a3 * w1)
        h1 = _red(a0 * c1 + a1 * c0 + a2 * w3 + a3 * w2)
        h2 = _red(a0 * c2 + a1 * c1 + a2 * c0 + a3 * w3)
        h3 = _red(a0 * c3 + a1 * c2 + a2 * c1 + a3 * c0)
        out[0, su + j] = h0
        out[1, su + j] = h1
        out[2, su + j] = h2
        out[3, su + j] = h3
        out[0, j] = _subm(a0, h0)
        out[1, j] = _subm(a1, h1)
        out[2, j] = _subm(a2, h2)
        out[3, j] = _subm(a3, h3)


@_kernel
def _p_eq_level(out, s, zc, i, nch):
    for c in prange(nch):
        _s_eq_level(out, s, zc, i, c * s // nch, (c + 1) * s // nch)


@_serial
def _s_fold_base(a, h, r, out, j0, j1):
    hu = np.uint64(h)
    r0 = r[0]
    r1 = r[1]
    r2 = r[2]
    r3 = r[3]
    for j in range(np.uint64(j0), np.uint64(j1)):
        x = a[j]
        d = _subm(a[hu + j], x)
        out[0, j] = _addm(x, _red(r0 * d))
        out[1, j] = _red(r1 * d)
        out[2, j] = _red(r2 * d)
        out[3, j] = _red(r3 * d)


@_kernel
def _p_fold_base(a, h, r, out, nch):
    for c in prange(nch):
        _s_fold_base(a, h, r, out, c * h // nch, (c + 1) * h // nch)


@_serial
def _s_fold_ext(a, h, rc, out, j0, j1):
    hu = np.uint64(h)
    # out may be a itself: iteration j reads a[:, j] and a[:, h + j] and writes only
    # out[:, j], so folding in place is safe. rc is r's constant-multiplier table.
    c0 = rc[0]
    c1 = rc[1]
    c2 = rc[2]
    c3 = rc[3]
    w1 = rc[4]
    w2 = rc[5]
    w3 = rc[6]
    for j in range(np.uint64(j0), np.uint64(j1)):
        x0 = a[0, j]
        x1 = a[1, j]
        x2 = a[2, j]
        x3 = a[3, j]
        d0 = _subm(a[0, hu + j], x0)
        d1 = _subm(a[1, hu + j], x1)
        d2 = _subm(a[2, hu + j], x2)
        d3 = _subm(a[3, hu + j], x3)
        out[0, j] = _addm(x0, _red(d0 * c0 + d1 * w3 + d2 * w2 + d3 * w1))
        out[1, j] = _addm(x1, _red(d0 * c1 + d1 * c0 + d2 * w3 + d3 * w2))
        out[2, j] = _addm(x2, _red(d0 * c2 + d1 * c1 + d2 * c0 + d3 * w3))
        out[3, j] = _addm(x3, _red(d0 * c3 + d1 * c2 + d2 * c1 + d3 * c0))


@_kernel
def _p_fold_ext(a, h, rc, out, nch):
    for c in prange(nch):
        _s_fold_ext(a, h, rc, out, c * h // nch, (c + 1) * h // nch)


# --------------------------------------------------------------------------------------------
# sizes and padding
# --------------------------------------------------------------------------------------------


def next_pow2(n: int) -> int:
    """The smallest power of two >= n (1 for n <= 1)."""
    return 1 << max(0, int(n) - 1).bit_length()


def num_vars(n: int) -> int:
    """Number of variables of a table of length n after zero padding: ceil(log2 n)."""
    return max(0, int(n) - 1).bit_length()


def log2_exact(n: int) -> int:
    """log2 n for a power of two n; ValueError otherwise."""
    n = int(n)
    if n <= 0 or n & (n - 1):
        raise ValueError(f"{n} is not a power of two")
    return n.bit_length() - 1


def pad_to_pow2(a: ArrayLike) -> np.ndarray:
    """Zero-pad every axis of a base array to a power of two (returns a copy if padded)."""
    a = np.asarray(a, dtype=np.uint64)
    widths = [(0, next_pow2(s) - s) for s in a.shape]
    if not any(w for _, w in widths):
        return a
    return np.pad(a, widths)


def ext_pad_to_pow2(e: ArrayLike) -> np.ndarray:
    """Zero-pad every element axis of an extension array (4, *shape) to a power of two."""
    e = F._as_ext(e)
    widths = [(0, 0)] + [(0, next_pow2(s) - s) for s in e.shape[1:]]
    if not any(w for _, w in widths):
        return e
    return np.pad(e, widths)


# --------------------------------------------------------------------------------------------
# eq
# --------------------------------------------------------------------------------------------


def _as_point(z) -> np.ndarray:
    z = np.asarray(z, dtype=np.uint64)
    if z.ndim != 2 or z.shape[0] != F.EXT_DEGREE:
        raise ValueError(f"a point is an extension array of shape (4, v), got {z.shape}")
    return z


def _const_tables(z: np.ndarray) -> np.ndarray:
    """Row i: (z_i coefficients, 11 * z_i[1:] mod p) for the constant-multiplier kernels."""
    return np.ascontiguousarray(
        np.concatenate([z.T, (z[1:].T * _U11) % _PU], axis=1), dtype=np.uint64
    )


def eq_table(z: ArrayLike) -> np.ndarray:
    """eq(z, b) for every b in {0,1}^v, MSB first: shape (4, 2^v). O(2^v) by doubling."""
    z = _as_point(z)
    v = z.shape[1]
    out = F.empty((F.EXT_DEGREE, 1 << v))
    if F.BACKEND == "numba":
        zc = _const_tables(z)
        out[:, 0] = (1, 0, 0, 0)
        # The last variable is expanded first; each more significant one doubles the table.
        for step in range(v):
            s = 1 << step
            _launch(_s_eq_level, _p_eq_level, s, out, s, zc, v - 1 - step)
        return out
    out[:, :1] = F.ext_one((1,))
    for step in range(v):
        i = v - 1 - step
        s = 1 << step
        out[:, s : 2 * s] = F.ext_mul(out[:, :s], z[:, i])
        out[:, :s] = F.ext_sub(out[:, :s], out[:, s : 2 * s])
    return out


def eq_eval(z: ArrayLike, r: ArrayLike) -> np.ndarray:
    """eq(z, r) = prod_i (z_i r_i + (1 - z_i)(1 - r_i)) for two points of equal length, in
    O(v); an extension scalar (4,)."""
    z = _as_point(z)
    r = _as_point(r)
    if z.shape != r.shape:
        raise ValueError(f"eq_eval: points of different lengths {z.shape[1]}, {r.shape[1]}")
    zr = F.ext_mul(z, r)
    # 1 - z - r + 2 z r
    terms = F.ext_add(F.ext_sub(F.ext_sub(F.ext_one(z.shape[1:]), z), r), F.ext_add(zr, zr))
    return F.ext_prod_all(terms)


# --------------------------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------------------------


def _table_kind(t: np.ndarray) -> bool:
    """True for a base table (1-d), False for an extension table (4, n)."""
    if t.ndim == 1:
        return True
    if t.ndim == 2 and t.shape[0] == F.EXT_DEGREE:
        return False
    raise ValueError(
        f"a table is 1-d (base) or (4, n) (extension), got shape {t.shape}; "
        "flatten base matrices row-major or use evaluate_matrix"
    )


def evaluate(table: ArrayLike, z: ArrayLike) -> np.ndarray:
    """T~(z) for a base table (1-d) or an extension table (4, n), n <= 2^v, zero-padded;
    returns an extension scalar (4,). Linear time, O(2^(v/2)) extra memory."""
    t = np.asarray(table, dtype=np.uint64)
    is_base = _table_kind(t)
    z = _as_point(z)
    v = z.shape[1]
    n = t.shape[-1]
    if n > 1 << v:
        raise ValueError(f"evaluate: table of length {n} has more than 2^{v} entries")
    if n == 0:
        return F.ext_zero()
    # Columns take the low ceil(v/2) variables, rows the rest (MSB-first row-major).
    col_vars = (v + 1) // 2
    cols = 1 << col_vars
    rows = -(-n // cols)
    if rows * cols != n:
        widths = [(0, rows * cols - n)] if is_base else [(0, 0), (0, rows * cols - n)]
        t = np.pad(t, widths)
    m = t.reshape(rows, cols) if is_base else t.reshape(F.EXT_DEGREE, rows, cols)
    u = F.ext_matvec(m, eq_table(z[:, v - col_vars :]))
    eq_rows = eq_table(z[:, : v - col_vars])[:, :rows]
    return F.ext_dot(eq_rows, u)


def evaluate_matrix(m: ArrayLike, z_row: ArrayLike, z_col: ArrayLike) -> np.ndarray:
    """M~(z_row, z_col) for a base matrix (R, C) or an extension matrix (4, R, C), with
    R <= 2^len(z_row), C <= 2^len(z_col) (zero padding in each dimension). Equals
    evaluate of the padded matrix flattened row-major at the concatenated point."""
    m = np.asarray(m, dtype=np.uint64)
    if m.ndim not in (2, 3) or (m.ndim == 3 and m.shape[0] != F.EXT_DEGREE):
        raise ValueError(f"evaluate_matrix: expected (R, C) or (4, R, C), got {m.shape}")
    z_row = _as_point(z_row)
    z_col = _as_point(z_col)
    rows, cols = m.shape[-2], m.shape[-1]
    if rows > 1 << z_row.shape[1] or cols > 1 << z_col.shape[1]:
        raise ValueError(f"evaluate_matrix: shape {m.shape} exceeds the point's dimensions")
    if rows == 0 or cols == 0:
        return F.ext_zero()
    if cols == 1 << z_col.shape[1]:
        # Full rows: the row-major flattening is the padded table, so use the balanced split.
        flat = m.reshape(-1) if m.ndim == 2 else m.reshape(F.EXT_DEGREE, -1)
        return evaluate(flat, np.concatenate([z_row, z_col], axis=1))
    u = F.ext_matvec(m, eq_table(z_col)[:, :cols])
    return F.ext_dot(eq_table(z_row)[:, :rows], u)


# --------------------------------------------------------------------------------------------
# folding
# --------------------------------------------------------------------------------------------


def fold_buffer(src: np.ndarray, h: int, r: ArrayLike, out: np.ndarray) -> None:
    """Fold the table src[..., :2h] with challenge r into out[:, :h] (extension).

    src is a C-contiguous base (N,) or extension (4, N) buffer with N >= 2h; out is a
    C-contiguous (4, >= h) uint64 buffer. out may be src itself (in-place folding is
    correct), but a distinct buffer is about 3x faster: aliasing stops vectorisation.
    """
    r = F._as_ext(r).reshape(F.EXT_DEGREE)
    if F.BACKEND == "numba":
        if src.ndim == 1:
            _launch(_s_fold_base, _p_fold_base, h, src, h, np.ascontiguousarray(r), out)
        else:
            rc = _const_tables(r.reshape(F.EXT_DEGREE, 1))[0]
            _launch(_s_fold_ext, _p_fold_ext, h, src, h, rc, out)
        return
    if src.ndim == 1:
        d = F.sub(src[h : 2 * h], src[:h])
        folded = F.ext_mul_base(r, d)
        folded[0] = F.add(folded[0], src[:h])
    else:
        folded = F.ext_add(src[:, :h], F.ext_mul(F.ext_sub(src[:, h : 2 * h], src[:, :h]), r))
    out[:, :h] = folded


def fold(table: ArrayLike, r: ArrayLike) -> np.ndarray:
    """Bind the first (most significant) variable of a table to r:
    T[:h] + r (T[h:] - T[:h]). Base or extension table in, extension table (4, h) out."""
    t = np.asarray(table, dtype=np.uint64)
    _table_kind(t)
    n = t.shape[-1]
    if n < 2 or n & 1:
        raise ValueError(f"fold: table length {n} is not even and >= 2")
    h = n // 2
    out = F.empty((F.EXT_DEGREE, h))
    fold_buffer(np.ascontiguousarray(t), h, r, out)
    return out


def warmup() -> None:
    """Compile (or load from cache) this module's kernels and the field kernels they use,
    on both the single-threaded and the parallel path."""
    F.warmup()
    rng = np.random.default_rng(0)
    v = log2_exact(F.PARALLEL_MIN) + 1
    z = F.ext_random(rng, (v,))
    eq_table(z)
    evaluate(F.random(rng, (1 << v,)), z)
    evaluate(F.ext_random(rng, (1 << v,)), z)
    for n in (4, 1 << v):
        fold(F.random(rng, (n,)), z[:, 0])
        fold(F.ext_random(rng, (n,)), z[:, 0])

"""BabyBear and its quartic extension on PyTorch tensors: the field arithmetic of the torch
backend, the same code on a CUDA device and on the CPU.

Representation (as in provers/gkr/field.py, with torch's int64 in place of numpy's uint64,
because CUDA has no general uint64 arithmetic): a base array is an int64 tensor with every
entry canonical, in [0, p); an extension array has shape (4, *shape), coefficient-major.

Exactness. Two canonical values multiply to less than p^2 < 2^61.9, which int64 holds; every
product is reduced mod p (``torch.remainder``) before products are added, and a sum of at most
2^32 canonical values stays below 2^63. Products of extension elements multiply ``a`` by the
multiplication matrix of ``b`` (its coefficients and 11 times them, from x^4 = 11), so one
product costs four broadcast multiplies and reductions and a sum of the four terms. CUDA has no
int64 matrix multiply, so contractions of field vectors with integer matrices (the matmul
layer's tables, MLE evaluations, the requant layer's bit matrices) run on float64 limbs:
16-bit limbs of the extension coefficients times integer entries below 2^16 in magnitude,
summed over at most 2^20 terms, stay below 2^52 and are exact in float64 on any device.

Large intermediates are bounded: elementwise extension products work on column chunks of
``CHUNK`` elements, so an operation's transient memory is a few hundred MiB at most.
"""

from __future__ import annotations

import numpy as np
import torch

from provers.gkr import field as F

P: int = F.P
W: int = F.W
EXT_DEGREE: int = F.EXT_DEGREE
CHUNK = 1 << 21
"""Columns per elementwise step of the chunked operations (16 x 8 bytes transient each)."""
LIMB_ROWS = 1 << 20
"""Terms per float64 limb contraction: 2^20 products below 2^32 sum below 2^52."""
_LIMB = 1 << 16

# (a * b)_k = sum_i a_i M[k, i] with M[k, i] = b_(k-i) for i <= k, else 11 b_(k-i+4):
# row indices into the stacked (b, 11 b) array of 8 rows.
_MATRIX_INDEX = [[k - i if i <= k else k - i + 8 for i in range(EXT_DEGREE)]
                 for k in range(EXT_DEGREE)]


def to_device(a: np.ndarray, device: torch.device | str) -> torch.Tensor:
    """Canonical field elements (numpy uint64) to an int64 tensor on ``device``."""
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.uint64).astype(np.int64)).to(device)


def to_host(t: torch.Tensor) -> np.ndarray:
    """An int64 tensor of canonical elements to numpy uint64 (the prover's host type)."""
    return t.detach().cpu().numpy().astype(np.uint64)


def encode(values: torch.Tensor) -> torch.Tensor:
    """Signed integers to field elements: v mod p (int64 out)."""
    return torch.remainder(values.to(torch.int64), P)


# ---------------------------------------------------------------------------- base field


def add(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.remainder(a + b, P)


def sub(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.remainder(a - b, P)  # remainder's result takes the divisor's sign


def mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.remainder(a * b, P)


def total(a: torch.Tensor) -> torch.Tensor:
    """Sum of all entries mod p, a 0-d tensor (at most 2^32 canonical terms)."""
    return torch.remainder(a.sum(), P)


# ---------------------------------------------------------------------------- extension


def ext_from_base(a: torch.Tensor) -> torch.Tensor:
    out = torch.zeros((EXT_DEGREE, *a.shape), dtype=torch.int64, device=a.device)
    out[0] = a
    return out


def ext_const(c: np.ndarray, device: torch.device | str, ndim: int = 0) -> torch.Tensor:
    """An extension scalar (4,) from the host as a (4, 1, ...) tensor broadcasting against
    extension arrays with ``ndim`` element dimensions."""
    t = to_device(np.asarray(c, dtype=np.uint64).reshape(EXT_DEGREE), device)
    return t.reshape((EXT_DEGREE,) + (1,) * ndim)


_INDEX_CACHE: dict[str, torch.Tensor] = {}


def _matrix_index(device: torch.device) -> torch.Tensor:
    key = str(device)
    if key not in _INDEX_CACHE:
        _INDEX_CACHE[key] = torch.tensor(_MATRIX_INDEX, device=device).reshape(-1)
    return _INDEX_CACHE[key]


def mul_matrix(b: torch.Tensor) -> torch.Tensor:
    """The (4, 4, *shape) matrix M of multiplication by b: (a b)_k = sum_i a_i M[k, i]."""
    stacked = torch.cat([b, torch.remainder(b * W, P)], dim=0)
    index = _matrix_index(b.device)
    return stacked.index_select(0, index).reshape((EXT_DEGREE, EXT_DEGREE, *b.shape[1:]))


def _ext_mul_once(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    if a.numel() > b.numel():
        a, b = b, a
    # a is the smaller factor (a constant, or an array as large as b): (a b)_k is
    # sum_i M_a[k, i] b_i, each product reduced before the four are added
    m = mul_matrix(a)
    out = torch.remainder(m[:, 0] * b[0], P)
    for i in range(1, EXT_DEGREE):
        out += torch.remainder(m[:, i] * b[i], P)
    return torch.remainder(out, P)


def ext_mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a * b in K, broadcast over element shapes, in column chunks of the last dimension."""
    n = max(a.shape[-1], b.shape[-1]) if min(a.ndim, b.ndim) > 1 else 1
    if n <= CHUNK:
        return _ext_mul_once(a, b)
    out = torch.empty(torch.broadcast_shapes(a.shape, b.shape), dtype=torch.int64,
                      device=a.device)
    for j in range(0, n, CHUNK):
        part_a = a[..., j:j + CHUNK] if a.shape[-1] == n else a
        part_b = b[..., j:j + CHUNK] if b.shape[-1] == n else b
        out[..., j:j + CHUNK] = _ext_mul_once(part_a, part_b)
    return out


def ext_mul_base(e: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """e * a for e in K (4, *s) and a in F_p (*s), broadcast."""
    return torch.remainder(e * a.unsqueeze(0), P)


def ext_total(e: torch.Tensor) -> torch.Tensor:
    """Sum of every element of an extension array: (4,)."""
    return torch.remainder(e.reshape(EXT_DEGREE, -1).sum(dim=1), P)


def ext_dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """sum_j a[:, j] b[:, j] for two extension vectors (4, n): (4,)."""
    n = a.shape[-1]
    acc = torch.zeros(EXT_DEGREE, dtype=torch.int64, device=a.device)
    for j in range(0, max(n, 1), CHUNK):
        acc += ext_total(_ext_mul_once(a[:, j:j + CHUNK], b[:, j:j + CHUNK]))
    return torch.remainder(acc, P)


# ---------------------------------------------------------------------------- MLE


def eq_table(z: np.ndarray, device: torch.device | str) -> torch.Tensor:
    """eq(z, b) for every b in {0,1}^v, MSB first (mle.eq_table): (4, 2^v), by doubling from
    the last variable."""
    z = np.asarray(z, dtype=np.uint64)
    v = z.shape[1]
    out = torch.zeros((EXT_DEGREE, 1 << v), dtype=torch.int64, device=device)
    out[0, 0] = 1
    zs = to_device(z, device)
    for step in range(v):
        s = 1 << step
        zi = zs[:, v - 1 - step].reshape(EXT_DEGREE, 1)
        high = ext_mul(out[:, :s], zi)
        out[:, s:2 * s] = high
        out[:, :s] = sub(out[:, :s], high)
    return out


def fold(t: torch.Tensor, h: int, r: torch.Tensor) -> torch.Tensor:
    """T[:h] + r (T[h:2h] - T[:h]) for a base (N,) or extension (4, N) table and r (4, 1):
    the extension table (4, h) of one sumcheck round."""
    lo, hi = t[..., :h], t[..., h:2 * h]
    d = sub(hi, lo)
    if t.ndim == 1:
        out = ext_mul_base(r, d)
        out[0] = add(out[0], lo)
        return out
    return add(lo, ext_mul(d, r))


def evaluate(t: torch.Tensor, z: np.ndarray) -> torch.Tensor:
    """T~(z) for a base or extension table of length 2^v: (4,)."""
    eq = eq_table(z, t.device)
    if t.ndim == 1:
        return limb_matvec(t.reshape(1, -1), eq, canonical=True)[:, 0]
    return ext_dot(t, eq)


# ---------------------------------------------------------------------------- float64 limbs


def _limbs(e: torch.Tensor) -> torch.Tensor:
    """(4, n) canonical extension vector -> (8, n) float64: low 16-bit limbs, then high."""
    return torch.cat([e & (_LIMB - 1), e >> 16], dim=0).to(torch.float64)


def _small_parts(m: torch.Tensor, canonical: bool) -> list[tuple[torch.Tensor, int]]:
    """An integer matrix as float64 parts with |entry| < 2^16 and their weights: itself when
    its entries are that small, else its canonical residues' 16-bit limbs."""
    if not canonical and m.numel() and int(m.abs().max()) < _LIMB:
        return [(m.to(torch.float64), 1)]
    c = m if canonical else encode(m)
    return [((c & (_LIMB - 1)).to(torch.float64), 1), ((c >> 16).to(torch.float64), _LIMB)]


def _limb_contract(m: torch.Tensor, e: torch.Tensor, canonical: bool, m_rows_first: bool
                   ) -> torch.Tensor:
    limbs = _limbs(e)
    n = limbs.shape[1]
    k = m.shape[1] if m_rows_first else m.shape[0]
    if not m_rows_first:
        limbs = limbs.T.contiguous()  # (n, 8): both operands contiguous for the BLAS call
    out = torch.zeros((EXT_DEGREE, k), dtype=torch.int64, device=e.device)
    for part, weight in _small_parts(m, canonical):
        part = part.contiguous()
        acc = torch.zeros((2 * EXT_DEGREE, k), dtype=torch.int64, device=e.device)
        for j in range(0, max(n, 1), LIMB_ROWS):
            if m_rows_first:
                block = limbs[:, j:j + LIMB_ROWS] @ part[j:j + LIMB_ROWS]
            else:
                block = (part[:, j:j + LIMB_ROWS] @ limbs[j:j + LIMB_ROWS]).T
            acc = torch.remainder(acc + torch.remainder(block.to(torch.int64), P), P)
        value = torch.remainder(acc[:EXT_DEGREE] + torch.remainder(acc[EXT_DEGREE:] * _LIMB, P),
                                P)
        out = add(out, torch.remainder(value * weight, P))
    return out


def limb_matvec(m: torch.Tensor, e: torch.Tensor, canonical: bool = False) -> torch.Tensor:
    """sum_j M[:, j] e[:, j] for an integer matrix M (k, n) (signed int64, or canonical field
    elements when ``canonical``) and an extension vector e (4, n): (4, k). Exact float64
    products of limbs, summed over at most LIMB_ROWS terms before each reduction."""
    return _limb_contract(m, e, canonical, m_rows_first=False)


def limb_vecmat(e: torch.Tensor, m: torch.Tensor, canonical: bool = False) -> torch.Tensor:
    """sum_i e[:, i] M[i, :] for an extension vector e (4, n) and an integer matrix M (n, k):
    (4, k), as limb_matvec."""
    return _limb_contract(m, e, canonical, m_rows_first=True)

"""Ligero commitment, the prover's side: commit to a matrix, open row combinations.

PROTOCOL.md, "Committed tensors (Ligero)"; parameters and the soundness argument in
``params``. A committed vector of N field elements is laid out row-major as R x k (k a power
of two, R = ceil(N / k)); each row is Reed-Solomon encoded at rate 1 / blowup (``ntt``) and
the encoded columns are the leaves of a SHA-256 Merkle tree (``merkle``) whose root is the
commitment.

An opening of several committed matrices with the same k (their rows stacked) proves row
combinations w^T U for weight vectors w the verifier can compute itself, all with one set of
column queries. Messages, each absorbed as it is written (channel.py):

    "pcs/root"            every matrix's root (32 bytes each)
    (challenge)           gamma in K^(rows), "pcs/proximity"
    "pcs/proximity-row"   v = gamma^T U (k extension elements)
    "pcs/row/j"           u_j = w_j^T U for every requested combination j
    (challenge)           t column indices, "pcs/queries"
    "pcs/columns"         per matrix, the distinct opened encoded columns (R base elements)
    "pcs/merkle"          per matrix, the Merkle multiproof of those columns

An evaluation of the committed MLE at (r_rows, r_cols) is the combination w = eq(r_rows)
(the first R entries) followed by the inner product <u, eq(r_cols)>: ``open_evaluations``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from provers.gkr import field as F
from provers.gkr.field import _serial
from provers.gkr.pcs import ntt
from provers.gkr.pcs.merkle import MerkleTree, hash_columns
from provers.gkr.pcs.params import DEFAULT, Commitment, LigeroParams, query_indices

_LIMB = 1 << 15


@dataclass(frozen=True, eq=False)
class CommittedMatrix:
    """The prover's side of a commitment: the matrix (as signed integers, |entry| < p/2),
    its encoded columns and its Merkle tree."""

    commitment: Commitment
    values: np.ndarray
    """(R, k) int32 (every entry is below p/2 < 2^31 in magnitude)."""
    columns: np.ndarray
    """(n, R) uint32: encoded column j is row j (contiguous: it is a Merkle leaf)."""
    tree: MerkleTree

    def combine(self, weights: np.ndarray, row0: int = 0) -> np.ndarray:
        """w^T U for an extension vector w (4, R): (4, k); with ``row0``, w covers only the
        rows row0, row0 + 1, ... (the others weigh zero)."""
        return self.combine_many([weights], row0)[0]

    def combine_many(self, weights: list[np.ndarray], row0: int = 0) -> list[np.ndarray]:
        """w_j^T U for several extension vectors w_j (4, count) over the same rows row0..
        row0 + count - 1, in one BLAS product per block of rows for all of them (exact: see
        _limb_rows) and one reduction at the end; blocks bound the temporary float copy."""
        ws = [F._as_ext(w) for w in weights]
        count = ws[0].shape[1] if ws else 0
        if (any(w.ndim != 2 or w.shape[1] != count for w in ws) or row0 < 0
                or row0 + count > self.commitment.rows):
            raise ValueError(f"ligero: row weights {[w.shape for w in ws]} from row {row0} "
                             f"for {self.commitment.rows} rows")
        if not ws:
            return []
        if count >= _MAX_ROWS:
            raise ValueError(f"ligero: {count} rows in one combination; sums over at most "
                             f"{_MAX_ROWS} rows are exact in float64")
        k = self.commitment.cols
        acc: list[np.ndarray | None] = [None, None]
        step = max(1, _BLOCK // k)
        for start in range(0, count, step):
            block = self.values[row0 + start:row0 + min(start + step, count)]
            limbs = np.concatenate([_limb_rows(w[:, start:start + block.shape[0]])
                                    for w in ws])
            for part, m in enumerate(_value_limbs(block)):
                if m is not None:
                    product = limbs @ m
                    acc[part] = product if acc[part] is None else acc[part] + product
        return _reduce_limb_sums(acc, len(ws), k)

    def apply(self, col_weights: np.ndarray) -> np.ndarray:
        """U e for an extension vector e (4, k): (4, R), one entry per row."""
        e = F._as_ext(col_weights)
        if e.shape != (F.EXT_DEGREE, self.commitment.cols):
            raise ValueError(f"ligero: column weights {e.shape} for {self.commitment.cols} "
                             "columns")
        parts = []
        step = max(1, _BLOCK // self.commitment.cols)
        for start in range(0, self.commitment.rows, step):
            block = self.values[start:start + step]
            parts.append(_small_product(block, lambda m: F.ext_small_matvec(m, e,
                                                                            check=False)))
        return np.concatenate(parts, axis=1)


_BLOCK = 1 << 21
"""Matrix entries converted to float64 at a time (16 MiB)."""
_MAX_ROWS = 1 << 21
"""Products of 16-bit limbs and 15-bit values summed over fewer rows stay below 2^53."""


def _limb_rows(w: np.ndarray) -> np.ndarray:
    """(4, r) canonical extension weights -> (8, r) float64: low then high 16-bit limbs of
    each coefficient. Times integers below 2^15 in magnitude, a sum over r < 2^22 rows of
    such products stays below 2^53 in magnitude: exact in float64."""
    return np.concatenate([(w & np.uint64(0xFFFF)).astype(np.float64),
                           (w >> np.uint64(16)).astype(np.float64)])


def _value_limbs(block: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """An integer block (entries below p/2 < 2^30 in magnitude) as float64 limbs below 2^15:
    (lo, hi) with block = lo + 2^15 hi, hi None when every entry is already small."""
    if not block.size or int(np.abs(block).max()) < _LIMB:
        return block.astype(np.float64), None
    hi, lo = np.divmod(block.astype(np.int64), _LIMB)
    return lo.astype(np.float64), hi.astype(np.float64)


@_serial
def _reduce_sums(lo, hi, out):
    """out[4 j + l] = (lo-part + 2^15 hi-part) mod p for combination j, coefficient l, where
    a part's value is its low-limb sum (row 8 j + l) + 2^16 its high-limb sum (8 j + 4 + l).
    Sums are exact integers below 2^53 in float64; hi has no rows when absent."""
    count = out.shape[0] // 4
    k = out.shape[1]
    p = np.int64(F.P)
    for j in range(count):
        for c in range(4):
            for col in range(k):
                a = np.int64(lo[8 * j + c, col]) % p
                b = np.int64(lo[8 * j + 4 + c, col]) % p
                v = (a + b * 65536) % p
                if hi.shape[0]:
                    a = np.int64(hi[8 * j + c, col]) % p
                    b = np.int64(hi[8 * j + 4 + c, col]) % p
                    v = (v + ((a + b * 65536) % p) * 32768) % p
                out[4 * j + c, col] = np.uint64(v)


def _reduce_limb_sums(acc: list[np.ndarray | None], count: int, k: int) -> list[np.ndarray]:
    """acc = [lo-part sums, hi-part sums or None], each (8 count, k): -> count canonical
    (4, k) vectors (_reduce_sums)."""
    lo = acc[0] if acc[0] is not None else np.zeros((8 * count, k))
    hi = acc[1] if acc[1] is not None else np.zeros((0, k))
    out = np.empty((F.EXT_DEGREE * count, k), np.uint64)
    if F.BACKEND == "numba":
        _reduce_sums(np.ascontiguousarray(lo), np.ascontiguousarray(hi), out)
    else:  # the same arithmetic, vectorised
        p = np.int64(F.P)
        total = np.zeros((count, F.EXT_DEGREE, k), np.int64)
        for part, sums in enumerate((lo, hi)):
            if sums.shape[0]:
                r = np.mod(sums.astype(np.int64), p).reshape(count, 2, F.EXT_DEGREE, k)
                coef = (r[:, 0] + r[:, 1] * 65536) % p
                total = (total + coef * (1 << (15 * part))) % p
        out[:] = total.reshape(F.EXT_DEGREE * count, k)
    return [out[F.EXT_DEGREE * j:F.EXT_DEGREE * (j + 1)] for j in range(count)]


def _small_product(block: np.ndarray, product) -> np.ndarray:
    """``product`` (a linear map of a small-integer float64 matrix to an extension vector)
    applied to an integer block whose entries may exceed 2^15: split into 15-bit limbs."""
    lo, hi = _value_limbs(block)
    if hi is None:
        return product(lo)
    return F.ext_add(F.ext_mul_base(product(hi), np.uint64(_LIMB)), product(lo))


def commit(values: np.ndarray, cols: int, params: LigeroParams = DEFAULT) -> CommittedMatrix:
    """Commit to the signed integer vector ``values`` (zero-padded to a multiple of ``cols``)
    as a matrix with ``cols`` columns."""
    flat = np.asarray(values, dtype=np.int64).reshape(-1)
    if cols <= 0 or cols & (cols - 1):
        raise ValueError(f"ligero: {cols} columns is not a power of two")
    if flat.size and int(np.abs(flat).max()) >= F.P // 2:
        raise ValueError("ligero: entries outside the field's signed range")
    rows = max(-(-flat.size // cols), 1)
    matrix = np.zeros(rows * cols, np.int32)
    matrix[: flat.size] = flat
    matrix = matrix.reshape(rows, cols)
    columns = ntt.rs_encode_columns(matrix, params.blowup)
    tree = MerkleTree(hash_columns(columns))
    return CommittedMatrix(Commitment(tree.root, rows, cols, params), matrix, columns, tree)


def _check_same_shape(matrices: list[CommittedMatrix]) -> tuple[int, LigeroParams]:
    first = matrices[0].commitment
    for m in matrices[1:]:
        if m.commitment.cols != first.cols or m.commitment.params != first.params:
            raise ValueError("ligero: matrices opened together need the same columns and "
                             "parameters")
    return first.cols, first.params


def open_combinations(matrices: list[CommittedMatrix], combinations: list[list[np.ndarray]],
                      channel) -> list[np.ndarray]:
    """Prove u_j = sum_m w_{j,m}^T U_m for every combination j (one (4, R_m) weight vector
    per matrix) with one set of column queries. Returns the u_j (4, k) it sent."""
    cols, params = _check_same_shape(matrices)
    for m in matrices:
        channel.send_bytes("pcs/root", m.commitment.root)
    total_rows = sum(m.commitment.rows for m in matrices)
    gamma = channel.challenges("pcs/proximity", total_rows)
    for j, weights in enumerate(combinations):
        if len(weights) != len(matrices):
            raise ValueError(f"ligero: combination {j} has {len(weights)} weight vectors for "
                             f"{len(matrices)} matrices")
    # One pass over each matrix gives its share of the proximity row and of every
    # combination.
    proximity = F.ext_zero((cols,))
    rows_sent = [F.ext_zero((cols,)) for _ in combinations]
    pos = 0
    for i, m in enumerate(matrices):
        ws = [w[i] for w in combinations]
        for j, w in enumerate(ws):
            if np.shape(w) != (F.EXT_DEGREE, m.commitment.rows):
                raise ValueError(f"ligero: combination {j} has weights of shape "
                                 f"{np.shape(w)} for {m.commitment.rows} rows")
        parts = m.combine_many([gamma[:, pos:pos + m.commitment.rows], *ws])
        pos += m.commitment.rows
        proximity = F.ext_add(proximity, parts[0])
        rows_sent = [F.ext_add(u, part) for u, part in zip(rows_sent, parts[1:], strict=True)]
    channel.send_ext("pcs/proximity-row", proximity)
    for j, u in enumerate(rows_sent):
        channel.send_ext(f"pcs/row/{j}", u)
    n = cols * params.blowup
    opened = sorted(set(query_indices(channel, params.queries, n)))
    for m in matrices:
        channel.send_base("pcs/columns", m.columns[opened].reshape(-1))
        channel.send_bytes("pcs/merkle", b"".join(m.tree.open(opened)))
    return rows_sent


def open_evaluations(matrix: CommittedMatrix, points: list[np.ndarray], channel
                     ) -> list[np.ndarray]:
    """Prove the committed MLE's values at ``points`` (each (4, row_vars + col_vars)), all
    with one set of column queries; returns the values (the caller's claims)."""
    c = matrix.commitment
    combos = [[c.row_weights(p)] for p in points]
    rows = open_combinations([matrix], combos, channel)
    return [F.ext_dot(c.col_weights(p), u)
            for p, u in zip(points, rows, strict=True)]


def warmup() -> None:
    """Compile (or load from numba's cache) the encoder and the reduction outside timed
    stages."""
    ntt.warmup()
    _reduce_limb_sums([np.zeros((8, 4)), np.zeros((8, 4))], 1, 4)

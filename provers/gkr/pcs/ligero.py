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
from provers.gkr.pcs import ntt
from provers.gkr.pcs.merkle import MerkleTree, hash_columns
from provers.gkr.pcs.params import DEFAULT, Commitment, LigeroParams, query_indices

_LIMB = 1 << 15
_ENCODE_ROWS = 64
"""Rows encoded per NTT call: bounds the temporary uint64 copy of the encoded rows."""


@dataclass(frozen=True, eq=False)
class CommittedMatrix:
    """The prover's side of a commitment: the matrix (as signed integers, |entry| < p/2),
    its encoded columns and its Merkle tree."""

    commitment: Commitment
    values: np.ndarray
    """(R, k) int64."""
    columns: np.ndarray
    """(n, R) uint32: encoded column j is row j (contiguous: it is a Merkle leaf)."""
    tree: MerkleTree

    def combine(self, weights: np.ndarray, row0: int = 0) -> np.ndarray:
        """w^T U for an extension vector w (4, R): (4, k); with ``row0``, w covers only the
        rows row0, row0 + 1, ... (the others weigh zero). Exact float64 BLAS on 15-bit limbs
        (field.ext_matvec_small), since every entry is below p/2 < 2^30 in magnitude."""
        weights = F._as_ext(weights)
        if weights.ndim != 2 or row0 < 0 or row0 + weights.shape[1] > self.commitment.rows:
            raise ValueError(f"ligero: {weights.shape[1]} row weights from row {row0} for "
                             f"{self.commitment.rows} rows")
        m = self.values[row0:row0 + weights.shape[1]]
        if not m.size or int(np.abs(m).max()) < _LIMB:
            return F.ext_matvec_small(m.astype(np.float64), weights, check=False)
        hi, lo = np.divmod(m, _LIMB)
        out_hi = F.ext_matvec_small(hi.astype(np.float64), weights, check=False)
        out_lo = F.ext_matvec_small(lo.astype(np.float64), weights, check=False)
        return F.ext_add(F.ext_mul_base(out_hi, np.uint64(_LIMB)), out_lo)


def commit(values: np.ndarray, cols: int, params: LigeroParams = DEFAULT) -> CommittedMatrix:
    """Commit to the signed integer vector ``values`` (zero-padded to a multiple of ``cols``)
    as a matrix with ``cols`` columns."""
    flat = np.asarray(values, dtype=np.int64).reshape(-1)
    if cols <= 0 or cols & (cols - 1):
        raise ValueError(f"ligero: {cols} columns is not a power of two")
    if flat.size and int(np.abs(flat).max()) >= F.P // 2:
        raise ValueError("ligero: entries outside the field's signed range")
    rows = max(-(-flat.size // cols), 1)
    matrix = np.zeros(rows * cols, np.int64)
    matrix[: flat.size] = flat
    matrix = matrix.reshape(rows, cols)
    n = cols * params.blowup
    columns = np.empty((n, rows), np.uint32)
    for r0 in range(0, rows, _ENCODE_ROWS):
        block = ntt.rs_encode(F.encode(matrix[r0:r0 + _ENCODE_ROWS]), params.blowup)
        columns[:, r0:r0 + block.shape[0]] = block.T
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
    channel.send_ext("pcs/proximity-row", _stacked_combination(matrices, gamma))
    rows_sent = []
    for j, weights in enumerate(combinations):
        if len(weights) != len(matrices):
            raise ValueError(f"ligero: combination {j} has {len(weights)} weight vectors for "
                             f"{len(matrices)} matrices")
        u = F.ext_zero((cols,))
        for m, w in zip(matrices, weights, strict=True):
            if np.shape(w) != (F.EXT_DEGREE, m.commitment.rows):
                raise ValueError(f"ligero: combination {j} has weights of shape "
                                 f"{np.shape(w)} for {m.commitment.rows} rows")
            u = F.ext_add(u, m.combine(w))
        channel.send_ext(f"pcs/row/{j}", u)
        rows_sent.append(u)
    n = cols * params.blowup
    opened = sorted(set(query_indices(channel, params.queries, n)))
    for m in matrices:
        channel.send_base("pcs/columns", m.columns[opened].reshape(-1))
        channel.send_bytes("pcs/merkle", b"".join(m.tree.open(opened)))
    return rows_sent


def _stacked_combination(matrices: list[CommittedMatrix], gamma: np.ndarray) -> np.ndarray:
    out, pos = None, 0
    for m in matrices:
        part = m.combine(gamma[:, pos:pos + m.commitment.rows])
        out = part if out is None else F.ext_add(out, part)
        pos += m.commitment.rows
    return out


def open_evaluations(matrix: CommittedMatrix, points: list[np.ndarray], channel
                     ) -> list[np.ndarray]:
    """Prove the committed MLE's values at ``points`` (each (4, row_vars + col_vars)), all
    with one set of column queries; returns the values (the caller's claims)."""
    c = matrix.commitment
    combos = [[c.row_weights(p)] for p in points]
    rows = open_combinations([matrix], combos, channel)
    return [F.ext_dot(c.col_weights(p), u)
            for p, u in zip(points, rows, strict=True)]

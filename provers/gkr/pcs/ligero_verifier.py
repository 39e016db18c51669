"""Ligero commitment, the verifier's side. Imports nothing from ``ligero`` (a test checks).

Replays the messages of ``ligero.open_combinations`` in order (the module docstring there)
and checks, each with its own rejection (pcs/errors.py): the roots are the commitments held
(CommitmentMismatch); the opened columns hash to them (MerklePathInvalid); at every opened
column the encoded proximity row equals gamma^T column (ProximityFailed) and each encoded row
combination equals w^T column (ColumnMismatch). ``verify_evaluations`` then checks every
claimed value against <u, eq(r_cols)> (OpeningMismatch).

Cost: encoding the k-entry rows (4 base NTTs of length n each), t * R multiplications per
row combination and matrix, and the Merkle multiproof.
"""

from __future__ import annotations

import numpy as np

from provers.gkr import field as F
from provers.gkr.pcs import merkle, ntt
from provers.gkr.pcs.errors import (
    ColumnMismatch,
    CommitmentMismatch,
    MerklePathInvalid,
    OpeningMismatch,
    ProximityFailed,
)
from provers.gkr.pcs.params import Commitment, query_indices


def _check_consistent(encoded: np.ndarray, columns: list[np.ndarray],
                      weights: list[np.ndarray]) -> np.ndarray:
    """Opened positions where the encoded row differs from sum_m w_m^T column_m; encoded is
    (4, q) at the distinct opened indices, columns[m] is (q, R_m)."""
    total = F.ext_zero((encoded.shape[1],))
    for cols, w in zip(columns, weights, strict=True):
        total = F.ext_add(total, F.ext_matvec(cols, w))
    return np.nonzero((total != encoded).any(axis=0))[0]


def verify_combinations(commitments: list[Commitment], combinations: list[list[np.ndarray]],
                        channel) -> list[np.ndarray]:
    """Check an opening of row combinations (one (4, R_m) weight vector per commitment in
    each combination); returns the proven u_j (4, k). Raises a pcs error or MalformedProof."""
    first = commitments[0]
    cols, params = first.cols, first.params
    if any(c.cols != cols or c.params != params for c in commitments):
        raise ValueError("ligero: commitments opened together need the same columns and "
                         "parameters")
    for i, c in enumerate(commitments):
        root = channel.recv_bytes("pcs/root", merkle.DIGEST_BYTES)
        if root != c.root:
            raise CommitmentMismatch(f"ligero opening {i} is for commitment {root.hex()[:16]}"
                                     f"..., the verifier holds {c.root.hex()[:16]}...")
    gamma = channel.challenges("pcs/proximity", sum(c.rows for c in commitments))
    v = channel.recv_ext("pcs/proximity-row", cols)
    rows = [channel.recv_ext(f"pcs/row/{j}", cols) for j in range(len(combinations))]
    n = cols * params.blowup
    opened = sorted(set(query_indices(channel, params.queries, n)))
    columns = []
    for i, c in enumerate(commitments):
        data = channel.recv_base("pcs/columns", len(opened) * c.rows).reshape(len(opened),
                                                                              c.rows)
        count = merkle.multiproof_size(opened, (n - 1).bit_length())
        raw = channel.recv_bytes("pcs/merkle", count * merkle.DIGEST_BYTES)
        nodes = [raw[k:k + merkle.DIGEST_BYTES] for k in range(0, len(raw),
                                                                merkle.DIGEST_BYTES)]
        root = merkle.root_from_multiproof(opened, merkle.hash_columns(data), nodes,
                                           (n - 1).bit_length())
        if root != c.root:
            raise MerklePathInvalid(f"ligero: opened columns of commitment {i} do not hash to "
                                    "its Merkle root")
        columns.append(data)
    idx = np.asarray(opened, dtype=np.int64)
    pos, gammas = 0, []
    for c in commitments:
        gammas.append(gamma[:, pos:pos + c.rows])
        pos += c.rows
    bad = _check_consistent(ntt.rs_encode_ext(v, params.blowup)[:, idx], columns, gammas)
    if bad.size:
        raise ProximityFailed(f"ligero proximity test fails at {bad.size} of {idx.size} "
                              f"opened columns (first: column {opened[bad[0]]})")
    for j, (u, weights) in enumerate(zip(rows, combinations, strict=True)):
        for c, w in zip(commitments, weights, strict=True):
            if F._as_ext(w).shape != (F.EXT_DEGREE, c.rows):
                raise ValueError(f"ligero: combination {j} has weights of shape "
                                 f"{np.shape(w)} for {c.rows} rows")
        bad = _check_consistent(ntt.rs_encode_ext(u, params.blowup)[:, idx], columns,
                                list(weights))
        if bad.size:
            raise ColumnMismatch(f"ligero row combination {j} is inconsistent with {bad.size} "
                                 f"of {idx.size} opened columns (first: column "
                                 f"{opened[bad[0]]})")
    return rows


def verify_evaluations(commitment: Commitment, points: list[np.ndarray],
                       values: list[np.ndarray], channel) -> None:
    """Check that the committed MLE takes ``values`` at ``points``; raises on failure."""
    combos = [[commitment.row_weights(p)] for p in points]
    rows = verify_combinations([commitment], combos, channel)
    for j, (p, u, value) in enumerate(zip(points, rows, values, strict=True)):
        if not F.ext_eq(F.ext_dot(commitment.col_weights(p), u), value):
            raise OpeningMismatch(f"ligero evaluation {j}: the opened row does not give the "
                                  "claimed value")

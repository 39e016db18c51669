"""Ligero commitment, the verifier's side. Imports nothing from ``ligero`` (a test checks).

Replays the messages of ``ligero.open_combinations`` in order (the module docstring there)
and checks, each with its own rejection (pcs/errors.py): the roots are the commitments held
(CommitmentMismatch); the opened columns hash to them (MerklePathInvalid); at every opened
column the encoded proximity row equals gamma^T column (ProximityFailed) and each encoded row
combination equals w^T column (ColumnMismatch). ``verify_evaluations`` then checks every
claimed value against <u, eq(r_cols)> (OpeningMismatch).

``verify_products`` replays ``ligero.open_products`` (hiding or not) and returns the proven
products y_j; ``verify_product_claims`` compares them with the caller's claims, which must be
fixed (absorbed) before the opening starts: a hiding opening's zeta_j binds them only then.

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
from provers.gkr.pcs.params import Commitment, proximity_weights, query_indices


def _check_consistent(encoded: np.ndarray, columns: list[np.ndarray],
                      weights: list[np.ndarray]) -> np.ndarray:
    """Opened positions where the encoded row differs from sum_m w_m^T column_m; encoded is
    (4, q) at the distinct opened indices, columns[m] is (q, R_m)."""
    total = F.ext_zero((encoded.shape[1],))
    for cols, w in zip(columns, weights, strict=True):
        total = F.ext_add(total, F.ext_matvec(cols, w))
    return np.nonzero((total != encoded).any(axis=0))[0]


def _check_same_shape(commitments: list[Commitment]) -> None:
    first = commitments[0]
    if any(c.cols != first.cols or c.params != first.params for c in commitments):
        raise ValueError("ligero: commitments opened together need the same columns and "
                         "parameters")
    if any(c.hiding != first.hiding for c in commitments):
        raise ValueError("ligero: commitments opened together are all hiding or none")


def _check_roots(commitments: list[Commitment], channel) -> None:
    for i, c in enumerate(commitments):
        root = channel.recv_bytes("pcs/root", merkle.DIGEST_BYTES)
        if root != c.root:
            raise CommitmentMismatch(f"ligero opening {i} is for commitment {root.hex()[:16]}"
                                     f"..., the verifier holds {c.root.hex()[:16]}...")


def _read_columns(commitments: list[Commitment], opened: list[int], channel
                  ) -> list[np.ndarray]:
    """Every commitment's opened columns (q, committed rows), its salts when hiding, and its
    multiproof, checked against its root (MerklePathInvalid)."""
    columns = []
    for i, c in enumerate(commitments):
        n = c.encoded_len
        rows = c.committed_rows
        data = channel.recv_base("pcs/columns", len(opened) * rows).reshape(len(opened), rows)
        salts = None
        if c.hiding:
            raw = channel.recv_bytes("pcs/salts", len(opened) * merkle.SALT_BYTES)
            salts = np.frombuffer(raw, np.uint8).reshape(len(opened), merkle.SALT_BYTES)
        count = merkle.multiproof_size(opened, (n - 1).bit_length())
        raw = channel.recv_bytes("pcs/merkle", count * merkle.DIGEST_BYTES)
        nodes = [raw[k:k + merkle.DIGEST_BYTES] for k in range(0, len(raw),
                                                                merkle.DIGEST_BYTES)]
        root = merkle.root_from_multiproof(opened, merkle.hash_columns(data, salts), nodes,
                                           (n - 1).bit_length())
        if root != c.root:
            raise MerklePathInvalid(f"ligero: opened columns of commitment {i} do not hash to "
                                    "its Merkle root")
        columns.append(data)
    return columns


def verify_combinations(commitments: list[Commitment], combinations: list[list[np.ndarray]],
                        channel) -> list[np.ndarray]:
    """Check an opening of row combinations (one (4, R_m) weight vector per commitment in
    each combination); returns the proven u_j (4, k). Raises a pcs error or MalformedProof."""
    _check_same_shape(commitments)
    first = commitments[0]
    cols, params = first.cols, first.params
    if first.hiding:
        raise ValueError("ligero: hiding commitments are opened with products "
                         "(verify_products)")
    _check_roots(commitments, channel)
    gamma = channel.challenges("pcs/proximity", sum(c.rows for c in commitments))
    v = channel.recv_ext("pcs/proximity-row", cols)
    rows = [channel.recv_ext(f"pcs/row/{j}", cols) for j in range(len(combinations))]
    n = cols * params.blowup
    opened = sorted(set(query_indices(channel, params.queries, n)))
    columns = _read_columns(commitments, opened, channel)
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


def _check_products(commitments: list[Commitment], products: list[tuple]) -> None:
    first = commitments[0]
    for j, (weights, e) in enumerate(products):
        if len(weights) != len(commitments):
            raise ValueError(f"ligero: product {j} has {len(weights)} weight vectors for "
                             f"{len(commitments)} commitments")
        for c, w in zip(commitments, weights, strict=True):
            if F._as_ext(w).shape != (F.EXT_DEGREE, c.rows):
                raise ValueError(f"ligero: product {j} has row weights of shape "
                                 f"{np.shape(w)} for {c.rows} rows")
        lengths = (first.cols, first.message_len) if first.hiding else (first.cols,)
        shape = F._as_ext(e).shape
        if len(shape) != 2 or shape[1] not in lengths:
            raise ValueError(f"ligero: product {j} has column weights of shape {np.shape(e)} "
                             f"for {first.cols} columns")
    if first.hiding and len(products) > first.mask_rows - 1:
        raise ValueError(f"ligero: {len(products)} products need {len(products) + 1} mask "
                         f"rows (one for the proximity row); the first commitment has "
                         f"{first.mask_rows}")


def _product_weights(commitments: list[Commitment], weights: list[np.ndarray], mask: int,
                     zeta: np.ndarray) -> list[np.ndarray]:
    """A masked product row's weights on every committed row: w_M on the data rows, and
    zeta x^l on base row l of the first commitment's mask row ``mask`` (zeta times the
    extension row), zero elsewhere."""
    out = []
    for c, w in zip(commitments, weights, strict=True):
        full = F.ext_zero((c.committed_rows,))
        full[:, :c.rows] = w
        out.append(full)
    basis = np.eye(F.EXT_DEGREE, dtype=np.uint64)
    out[0][:, commitments[0].mask_slice(mask)] = F.ext_mul(zeta, basis)
    return out


def _verify_hiding(commitments: list[Commitment], products: list[tuple], channel
                   ) -> list[np.ndarray]:
    first = commitments[0]
    params = first.params
    length = first.message_len
    _check_roots(commitments, channel)
    gamma = channel.challenges("pcs/proximity", sum(c.committed_rows for c in commitments))
    v = channel.recv_ext("pcs/proximity-row", length)
    mus, zetas, rows = [], [], []
    for j in range(len(products)):
        mus.append(channel.recv_ext(f"pcs/mask-value/{j}"))
        zetas.append(channel.challenge(f"pcs/mask-weight/{j}"))
        rows.append(channel.recv_ext(f"pcs/row/{j}", length))
    opened = sorted(set(query_indices(channel, params.queries, first.encoded_len)))
    columns = _read_columns(commitments, opened, channel)
    idx = np.asarray(opened, dtype=np.int64)
    bad = _check_consistent(ntt.rs_encode_ext(v, params.blowup)[:, idx], columns,
                            proximity_weights(commitments, gamma))
    if bad.size:
        raise ProximityFailed(f"ligero proximity test fails at {bad.size} of {idx.size} "
                              f"opened columns (first: column {opened[bad[0]]})")
    values = []
    for j, ((weights, e), mu, zeta, u) in enumerate(zip(products, mus, zetas, rows,
                                                         strict=True)):
        full = _product_weights(commitments, [F._as_ext(w) for w in weights], j + 1, zeta)
        bad = _check_consistent(ntt.rs_encode_ext(u, params.blowup)[:, idx], columns, full)
        if bad.size:
            raise ColumnMismatch(f"ligero product {j}'s masked row is inconsistent with "
                                 f"{bad.size} of {idx.size} opened columns (first: column "
                                 f"{opened[bad[0]]})")
        values.append(F.ext_sub(F.ext_dot(e, u[:, :e.shape[1]]), F.ext_mul(zeta, mu)))
    return values


def verify_products(commitments: list[Commitment], products: list[tuple], channel
                    ) -> list[np.ndarray]:
    """Check an opening of products y_j = sum_M w_{j,M}^T U_M e_j (each product: one (4, R_M)
    row weight vector per commitment, and column weights e_j (4, k)); returns the proven
    y_j (4,). Hiding commitments (all or none) are checked as a zero-knowledge opening, the
    others as row combinations. Raises a pcs error or MalformedProof."""
    _check_same_shape(commitments)
    _check_products(commitments, products)
    if commitments[0].hiding:
        return _verify_hiding(commitments, products, channel)
    rows = verify_combinations(commitments, [weights for weights, _ in products], channel)
    return [F.ext_dot(e, u) for (_, e), u in zip(products, rows, strict=True)]


def verify_product_claims(commitments: list[Commitment], products: list[tuple],
                          claims: list[np.ndarray], channel) -> None:
    """``verify_products``, then every proven y_j against the claimed one (OpeningMismatch)."""
    values = verify_products(commitments, products, channel)
    if len(claims) != len(values):
        raise ValueError(f"ligero: {len(claims)} claims for {len(values)} products")
    for j, (y, claim) in enumerate(zip(values, claims, strict=True)):
        if not F.ext_eq(y, claim):
            raise OpeningMismatch(f"ligero product {j}: the opening does not give the "
                                  "claimed value")


def verify_evaluations(commitment: Commitment, points: list[np.ndarray],
                       values: list[np.ndarray], channel) -> None:
    """Check that the committed MLE takes ``values`` at ``points``; raises on failure."""
    if commitment.hiding:
        products = [([commitment.row_weights(p)], commitment.col_weights(p)) for p in points]
        proven = verify_products([commitment], products, channel)
    else:
        combos = [[commitment.row_weights(p)] for p in points]
        rows = verify_combinations([commitment], combos, channel)
        proven = [F.ext_dot(commitment.col_weights(p), u) for p, u in zip(points, rows,
                                                                           strict=True)]
    for j, (y, value) in enumerate(zip(proven, values, strict=True)):
        if not F.ext_eq(y, value):
            raise OpeningMismatch(f"ligero evaluation {j}: the opened row does not give the "
                                  "claimed value")

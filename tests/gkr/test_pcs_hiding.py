"""The hiding mode of the Ligero commitment (provers/gkr/pcs; PROTOCOL.md, "Hiding mode"):
honest product openings, one test per rejection, and an exact check of zero knowledge: under
fixed challenges the prover's view is an affine function of its randomness, and two witnesses
with the same products give the same view for suitable randomness (tests/gkr/modp.py)."""

from __future__ import annotations

import numpy as np
import pytest

from provers.gkr import field as F
from provers.gkr.channel import ProverChannel, VerifierChannel, new_transcript
from provers.gkr.pcs import ligero, ligero_verifier, merkle
from provers.gkr.pcs.errors import (
    ColumnMismatch,
    CommitmentMismatch,
    MerklePathInvalid,
    OpeningMismatch,
    ProximityFailed,
)
from provers.gkr.pcs.params import LigeroParams
from tests.gkr import modp

PARAMS = LigeroParams(queries=24)
COLS = 32


def _matrix(rows: int, seed: int, hiding: bool = True, mask_rows: int = 3,
            cols: int = COLS) -> ligero.CommittedMatrix:
    rng = np.random.default_rng(seed)
    values = rng.integers(-1000, 1000, rows * cols - 3)
    return ligero.commit(values, cols, PARAMS, hiding=hiding, mask_rows=mask_rows,
                         rng=np.random.default_rng(seed + 100) if hiding else None)


def _products(matrices, count: int, seed: int = 7) -> list[ligero.Product]:
    rng = np.random.default_rng(seed)
    cols = matrices[0].commitment.cols
    return [([F.ext_random(rng, (m.commitment.rows,)) for m in matrices],
             F.ext_random(rng, (cols,))) for _ in range(count)]


def _true_values(matrices, products) -> list[np.ndarray]:
    """sum_M w_M^T U_M e from the data alone, in field arithmetic."""
    out = []
    for weights, e in products:
        y = F.ext_zero()
        for m, w in zip(matrices, weights, strict=True):
            data = F.encode(m.values)
            y = F.ext_add(y, F.ext_dot(e, F.ext_matvec(np.ascontiguousarray(data.T), w)))
        out.append(y)
    return out


def _prove(matrices, products) -> tuple[list[np.ndarray], ProverChannel]:
    channel = ProverChannel(new_transcript())
    values = ligero.open_products(matrices, products, channel)
    return values, channel


def _verify(commitments, products, claims, proof: bytes) -> None:
    channel = VerifierChannel(new_transcript(), proof)
    ligero_verifier.verify_product_claims(commitments, products, claims, channel)
    channel.finish()


def _section(channel: ProverChannel, label: str) -> tuple[int, int]:
    return next((s, e) for name, s, e in channel.layout if name == label)


def test_hiding_products_round_trip_on_several_matrices():
    a, b = _matrix(5, 1, mask_rows=4), _matrix(3, 2, mask_rows=0)
    products = _products([a, b], 3)
    values, channel = _prove([a, b], products)
    truth = _true_values([a, b], products)
    assert all(F.ext_eq(y, t) for y, t in zip(values, truth, strict=True))
    vc = VerifierChannel(new_transcript(), channel.proof_bytes())
    proven = ligero_verifier.verify_products([a.commitment, b.commitment], products, vc)
    vc.finish()
    assert all(F.ext_eq(y, t) for y, t in zip(proven, truth, strict=True))
    labels = [name for name, _, _ in channel.layout]
    assert labels.count("pcs/salts") == 2 and "pcs/mask-value/2" in labels


def test_hiding_evaluations_round_trip():
    """open_evaluations on a hiding matrix goes through the products opening."""
    m = _matrix(6, 3)
    c = m.commitment
    rng = np.random.default_rng(4)
    points = [F.ext_random(rng, (c.row_vars + c.col_vars,)) for _ in range(2)]
    channel = ProverChannel(new_transcript())
    claimed = ligero.open_evaluations(m, points, channel)
    assert F.ext_eq(claimed[0], _true_values([m], [([c.row_weights(points[0])],
                                                     c.col_weights(points[0]))])[0])
    vc = VerifierChannel(new_transcript(), channel.proof_bytes())
    ligero_verifier.verify_evaluations(c, points, claimed, vc)
    vc.finish()


def test_non_hiding_products_round_trip():
    """Without hiding, a products opening is the row-combination opening, byte for byte."""
    a, b = _matrix(4, 5, hiding=False), _matrix(2, 6, hiding=False)
    products = _products([a, b], 2)
    values, channel = _prove([a, b], products)
    truth = _true_values([a, b], products)
    assert all(F.ext_eq(y, t) for y, t in zip(values, truth, strict=True))
    _verify([a.commitment, b.commitment], products, truth, channel.proof_bytes())
    plain = ProverChannel(new_transcript())
    ligero.open_combinations([a, b], [w for w, _ in products], plain)
    assert plain.proof_bytes() == channel.proof_bytes()


def test_hiding_commitment_shape_and_randomness():
    m = _matrix(3, 8, mask_rows=2)
    c = m.commitment
    assert (c.hiding, c.mask_rows, c.committed_rows, c.encoded_len) == (True, 2, 11,
                                                                       2 * COLS * 4)
    assert m.columns.shape == (c.encoded_len, 11) and m.salts.shape == (c.encoded_len, 32)
    plain = _matrix(3, 8, hiding=False).commitment
    assert c.to_bytes()[32:] == plain.to_bytes()[32:] + (1).to_bytes(8, "little") + (
        2).to_bytes(8, "little")
    assert len(plain.to_bytes()) == 32 + 5 * 8
    # A seeded generator reproduces the commitment; the default draws fresh randomness.
    assert _matrix(3, 8, mask_rows=2).commitment.root == c.root
    values = m.values.reshape(-1)
    fresh = [ligero.commit(values, COLS, PARAMS, hiding=True).commitment.root
             for _ in range(2)]
    assert fresh[0] != fresh[1] != c.root


def test_os_randomness_covers_the_field_uniformly():
    """The default randomness (os.urandom, rejection below 2p) gives signed field elements in
    [-(p-1)/2, (p-1)/2], spread evenly over the field (16 equal ranges, loose bounds)."""
    x = ligero._uniform_signed((1 << 16,), None).astype(np.int64)
    assert x.dtype == np.int64 and np.abs(x).max() <= F.P // 2
    counts = np.bincount(F.encode(x).astype(np.int64) * 16 // F.P, minlength=16)
    assert counts.min() > (1 << 12) * 0.85 and counts.max() < (1 << 12) * 1.15


def test_hiding_error_adds_one_term_per_product():
    n, default = 2 * 1024 * 4, LigeroParams()
    assert default.hiding_error(n, 0) == default.error(n)
    assert default.hiding_error(n, 3) > default.error(n)
    assert -np.log2(default.hiding_error(1 << 21, 64)) >= 100


def test_hiding_parameters_are_checked():
    with pytest.raises(ValueError, match=r"cols=16, queries=24"):
        ligero.commit(np.arange(40), 16, PARAMS, hiding=True)
    m = _matrix(2, 9, mask_rows=2)
    with pytest.raises(ValueError, match="2 products need 3 mask rows"):
        _prove([m], _products([m], 2))
    with pytest.raises(ValueError, match="open_products"):
        ligero.open_combinations([m], [[F.ext_one((2,))]], ProverChannel(new_transcript()))
    with pytest.raises(ValueError, match="all hiding or none"):
        _prove([m, _matrix(2, 10, hiding=False)], [])


def _honest(count: int = 2):
    m = _matrix(6, 11)
    products = _products([m], count)
    values, channel = _prove([m], products)
    return m, products, values, channel


def test_wrong_claimed_value_rejected():
    m, products, values, channel = _honest()
    wrong = [values[0], F.ext_add(values[1], F.ext_one())]
    _verify([m.commitment], products, values, channel.proof_bytes())
    with pytest.raises(OpeningMismatch, match="product 1"):
        _verify([m.commitment], products, wrong, channel.proof_bytes())


@pytest.mark.parametrize("label", ["pcs/merkle", "pcs/salts", "pcs/columns"])
def test_tampered_opened_leaf_rejected(label: str):
    """A wrong Merkle node, a wrong salt or a wrong column entry: the leaves no longer hash
    to the root (these messages come after the last challenge, so the queries stay)."""
    m, products, values, channel = _honest()
    proof = bytearray(channel.proof_bytes())
    start, _ = _section(channel, label)
    proof[start] ^= 1
    with pytest.raises(MerklePathInvalid, match="do not hash"):
        _verify([m.commitment], products, values, bytes(proof))


def test_swapped_commitment_rejected():
    m, products, values, channel = _honest()
    other = _matrix(6, 12).commitment
    with pytest.raises(CommitmentMismatch, match="the verifier holds"):
        _verify([other], products, values, channel.proof_bytes())


def test_inconsistent_column_rejected(monkeypatch):
    """A prover whose masked row differs from sum w^T U + zeta m in one entry is caught at
    the opened columns (the claimed values recomputed from what it sent still match)."""
    honest = ligero._masked_row

    def lying(partial, zeta, mask):
        u = honest(partial, zeta, mask).copy()
        u[:, 2 * COLS - 1] = F.ext_add(u[:, 2 * COLS - 1], F.ext_one())
        return u

    m = _matrix(6, 11)
    products = _products([m], 2)
    monkeypatch.setattr(ligero, "_masked_row", lying)
    values, channel = _prove([m], products)
    with pytest.raises(ColumnMismatch, match="product 0's masked row is inconsistent"):
        _verify([m.commitment], products, values, channel.proof_bytes())


def test_tampered_mask_value_rejected(monkeypatch):
    """A prover that sends mu_j + 1 (before zeta_j is drawn) shifts the proven value by
    zeta_j: the claim no longer matches."""
    honest = ligero._mask_value
    monkeypatch.setattr(ligero, "_mask_value",
                        lambda mask, e: F.ext_add(honest(mask, e), F.ext_one()))
    m = _matrix(6, 11)
    products = _products([m], 2)
    values, channel = _prove([m], products)
    assert all(F.ext_eq(y, t) for y, t in zip(values, _true_values([m], products),
                                             strict=True))
    with pytest.raises(OpeningMismatch, match="product 0"):
        _verify([m.commitment], products, values, channel.proof_bytes())


@pytest.mark.parametrize("row", [2, 6])
def test_rows_that_are_not_codewords_fail_the_proximity_test(row: int):
    """A committed data row (2) or the proximity mask row's first base row (6) corrupted in
    half of the encoded columns, under a root the honest commit would not produce."""
    m = _matrix(6, 11)
    rng = np.random.default_rng(4)
    columns = m.columns.copy()
    hit = rng.choice(columns.shape[0], columns.shape[0] // 2, replace=False)
    columns[hit, row] = (columns[hit, row].astype(np.uint64) + 1) % F.P
    tree = merkle.MerkleTree(merkle.hash_columns(columns, m.salts))
    c = m.commitment
    bad = ligero.CommittedMatrix(ligero.Commitment(tree.root, c.rows, c.cols, PARAMS,
                                                   hiding=True, mask_rows=c.mask_rows),
                                 m.values, columns, tree, message=m.message, salts=m.salts)
    products = _products([bad], 1)
    values, channel = _prove([bad], products)
    with pytest.raises(ProximityFailed, match="proximity test fails"):
        _verify([bad.commitment], products, values, channel.proof_bytes())


# --- exact zero knowledge -----------------------------------------------------------------

ZK_PARAMS = LigeroParams(queries=4)
ZK_COLS = 8
ZK_ROWS = (3, 2)
ZK_MASKS = (3, 0)
"""Two matrices opened together: the first holds the masks (2 products), the second none."""


def _randomness_split(x: np.ndarray) -> list[ligero.HidingRandomness]:
    """The randomness vector (canonical field elements) as each matrix's pads and masks, in
    that order per matrix; salts fixed (they are not part of the view)."""
    out, pos = [], 0
    leaves = 2 * ZK_COLS * ZK_PARAMS.blowup
    for rows, masks in zip(ZK_ROWS, ZK_MASKS, strict=True):
        pads = F.decode(x[pos:pos + rows * ZK_COLS]).reshape(rows, ZK_COLS)
        pos += rows * ZK_COLS
        size = 4 * masks * 2 * ZK_COLS
        mask = F.decode(x[pos:pos + size]).reshape(4 * masks, 2 * ZK_COLS)
        pos += size
        out.append(ligero.HidingRandomness(pads, mask, np.zeros((leaves, 32), np.uint8)))
    return out


RANDOMNESS_DIM = sum(r * ZK_COLS + 4 * m * 2 * ZK_COLS for r, m in zip(ZK_ROWS, ZK_MASKS,
                                                                         strict=True))
PAD_COORDS = np.r_[0:3 * ZK_COLS, 3 * ZK_COLS + 4 * 3 * 2 * ZK_COLS:RANDOMNESS_DIM]
"""Positions of the data rows' random halves in the randomness vector."""


def _challenges():
    rng = np.random.default_rng(21)
    committed = sum(ZK_ROWS) + 4 * sum(ZK_MASKS)
    gamma = F.ext_random(rng, (committed,))
    zetas = [F.ext_random(rng, ()) for _ in range(2)]
    return gamma, zetas, [3, 17, 40, 41]


def _zk_products() -> list[ligero.Product]:
    rng = np.random.default_rng(22)
    return [([F.ext_random(rng, (r,)) for r in ZK_ROWS], F.ext_random(rng, (ZK_COLS,)))
            for _ in range(2)]


def _view(data: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    """Everything the verifier sees besides roots, salts and Merkle nodes (opened columns of
    every committed row, v, mu_j, u_j), under the fixed challenges, as base elements."""
    matrices = [ligero.commit_hiding(d, ZK_COLS, ZK_PARAMS, r)
                for d, r in zip(data, _randomness_split(x), strict=True)]
    gamma, zetas, opened = _challenges()
    msg = ligero.product_messages(matrices, _zk_products(), gamma, zetas, opened)
    parts = [c.reshape(-1).astype(np.int64) for c in msg.columns]
    parts += [a.reshape(-1).astype(np.int64) for a in [msg.proximity, *msg.mask_values,
                                                        *msg.rows]]
    return np.concatenate(parts)


def _products_of(data: list[np.ndarray]) -> np.ndarray:
    """The y_j of the data (flat base coordinates): linear in the data."""
    out = []
    for weights, e in _zk_products():
        y = F.ext_zero()
        for d, w in zip(data, weights, strict=True):
            m = F.encode(d.reshape(-1, ZK_COLS))
            y = F.ext_add(y, F.ext_dot(e, F.ext_matvec(np.ascontiguousarray(m.T), w)))
        out.append(y)
    return np.concatenate(out).astype(np.int64)


def _split_data(flat: np.ndarray) -> list[np.ndarray]:
    cut = ZK_ROWS[0] * ZK_COLS
    return [F.decode(flat[:cut] % F.P), F.decode(flat[cut:] % F.P)]


def test_view_is_simulatable_from_the_products_alone():
    rng = np.random.default_rng(23)
    dim = sum(ZK_ROWS) * ZK_COLS
    data = rng.integers(-50, 50, dim)
    # A different witness with the same products: data + a kernel vector of the products map.
    _, to_products = modp.affine_map(lambda d: _products_of(_split_data(d)), dim)
    same = (data + modp.kernel_vector(to_products, rng)) % F.P
    assert np.array_equal(_products_of(_split_data(same)), _products_of(_split_data(data)))
    assert not np.array_equal(same, data % F.P)
    changed = data.copy()
    changed[4] += 1
    assert not np.array_equal(_products_of(_split_data(changed)),
                              _products_of(_split_data(data)))

    def view_of(d):
        return lambda x: _view(_split_data(d), x)

    offset, rand_map = modp.affine_map(view_of(data), RANDOMNESS_DIM)
    assert modp.is_affine(view_of(data), offset, rand_map, rng)
    assert modp.rank(rand_map) < rand_map.shape[0]  # the view is not uniform: it gives y_j
    zero = np.zeros(RANDOMNESS_DIM, np.int64)
    base = _view(_split_data(data), zero)
    # Same products: some randomness makes the other witness's view exactly this one.
    assert modp.in_column_space(rand_map, base - _view(_split_data(same), zero))
    # Different products: no randomness does (the view determines the y_j).
    assert not modp.in_column_space(rand_map, base - _view(_split_data(changed), zero))
    # Without the random halves of the data rows (only the mask rows random), the opened
    # columns give the witness away.
    masks_only = np.delete(rand_map, PAD_COORDS, axis=1)
    assert not modp.in_column_space(masks_only, base - _view(_split_data(same), zero))


def test_products_over_the_whole_message_include_the_random_half():
    """Column weights over all 2k message entries: the value is w^T U e over the data and
    the random half, so a weight on the random half changes it (it masks the value)."""
    a, b = _matrix(4, 11, mask_rows=3), _matrix(2, 12, mask_rows=0)
    rng = np.random.default_rng(13)
    length = a.commitment.message_len
    assert length == 2 * COLS
    products = [([F.ext_random(rng, (m.commitment.rows,)) for m in (a, b)],
                 F.ext_random(rng, (length,))) for _ in range(2)]
    truth = []
    for weights, e in products:
        y = F.ext_zero()
        for m, w in zip((a, b), weights, strict=True):
            rows = F.encode(m.message[:m.commitment.rows])
            y = F.ext_add(y, F.ext_dot(e, F.ext_matvec(np.ascontiguousarray(rows.T), w)))
        truth.append(y)
    data_only = _true_values([a, b], [(w, e[:, :COLS]) for w, e in products])
    assert not F.ext_eq(truth[0], data_only[0])
    values, channel = _prove([a, b], products)
    assert all(F.ext_eq(y, t) for y, t in zip(values, truth, strict=True))
    _verify([a.commitment, b.commitment], products, truth, channel.proof_bytes())
    with pytest.raises(OpeningMismatch):
        _verify([a.commitment, b.commitment], products, data_only, channel.proof_bytes())
    with pytest.raises(ValueError, match="column weights of shape"):
        _prove([a, b], [(products[0][0], F.ext_random(rng, (3 * COLS,)))])

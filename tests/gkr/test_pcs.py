"""The Ligero commitment (provers/gkr/pcs): NTT against a naive DFT, Merkle multiproofs,
honest openings, and one test per rejection (PROTOCOL.md, "Committed tensors (Ligero)")."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from provers.base import MalformedProof
from provers.gkr import field as F
from provers.gkr import mle
from provers.gkr.channel import ProverChannel, VerifierChannel, new_transcript
from provers.gkr.pcs import ligero, ligero_verifier, merkle, ntt
from provers.gkr.pcs.errors import (
    ColumnMismatch,
    CommitmentMismatch,
    MerklePathInvalid,
    OpeningMismatch,
    ProximityFailed,
)
from provers.gkr.pcs.params import DEFAULT, LigeroParams, choose_cols

SMALL = LigeroParams(blowup=4, queries=148)


def _dft(a: np.ndarray) -> np.ndarray:
    n = a.shape[-1]
    w = ntt.root_of_unity(n)
    return np.array([[sum(int(row[j]) * pow(w, i * j, F.P) for j in range(n)) % F.P
                      for i in range(n)] for row in a.reshape(-1, n)], np.uint64).reshape(a.shape)


@pytest.mark.parametrize("n", [1, 2, 4, 8, 32, 128])
def test_ntt_matches_naive_dft(n: int):
    a = F.random(np.random.default_rng(n), (3, n))
    assert np.array_equal(ntt.ntt(a), _dft(a))
    assert np.array_equal(ntt._ntt_numpy(a), _dft(a))


def test_ntt_numba_and_numpy_agree_on_many_rows():
    a = F.random(np.random.default_rng(7), (16, 1024))
    assert np.array_equal(ntt.ntt(a), ntt._ntt_numpy(a))
    assert np.array_equal(ntt.ntt(a[0]), ntt._ntt_numpy(a[:1])[0])


@pytest.mark.parametrize("rows,k,blowup", [(3, 8, 4), (17, 64, 4), (40, 256, 2), (5, 1, 4),
                                            (33, 1024, 8)])
def test_column_encoder_matches_row_encoding(rows: int, k: int, blowup: int):
    """The fused encoder (signed entries in, encoded columns out) against the row NTT."""
    m = np.random.default_rng(rows).integers(-(F.P // 2) + 1, F.P // 2, (rows, k))
    expected = ntt.rs_encode(F.encode(m), blowup).T
    assert np.array_equal(ntt.rs_encode_columns(m, blowup), expected)


def test_combinations_of_large_and_small_entries_are_exact():
    """combine_many's float limb sums against field arithmetic, with entries on both sides
    of the 15-bit limb and negative ones."""
    rng = np.random.default_rng(9)
    values = rng.integers(-(F.P // 2) + 1, F.P // 2, 64 * 32)
    values[::3] = rng.integers(-3, 4, values[::3].size)
    m = ligero.commit(values, 32, SMALL)
    ws = [F.ext_random(rng, (64,)) for _ in range(3)]
    encoded = F.encode(values.reshape(64, 32))
    for w, u in zip(ws, m.combine_many(ws), strict=True):
        assert np.array_equal(u, F.ext_matvec(encoded.T.copy(), w))


def test_roots_of_unity_are_primitive():
    for k in (1, 5, 17, 27):
        w = ntt.root_of_unity(1 << k)
        assert pow(w, 1 << k, F.P) == 1 and pow(w, 1 << (k - 1), F.P) == F.P - 1
    with pytest.raises(ValueError, match="power of two"):
        ntt.root_of_unity(1 << 28)


def test_rs_encoding_is_a_low_degree_evaluation():
    """Encoding k coefficients at rate 1/4 gives values of a degree < k polynomial: the
    inverse transform of the codeword has zeros beyond k."""
    rows = F.random(np.random.default_rng(3), (2, 16))
    code = ntt.rs_encode(rows, 4)
    n = 64
    inv_n = pow(n, F.P - 2, F.P)
    w_inv = pow(ntt.root_of_unity(n), F.P - 2, F.P)
    coeffs = [[sum(int(c[i]) * pow(w_inv, i * j, F.P) for i in range(n)) * inv_n % F.P
               for j in range(n)] for c in code]
    assert np.array_equal(np.array(coeffs, np.uint64)[:, :16], rows)
    assert not np.array(coeffs)[:, 16:].any()


@pytest.mark.parametrize("indices", [[0], [3], [0, 1], [2, 5, 6, 7], list(range(16))])
def test_merkle_multiproof_roundtrip(indices):
    data = F.random(np.random.default_rng(1), (16, 5))
    tree = merkle.MerkleTree(merkle.hash_columns(data))
    proof = tree.open(indices)
    assert len(proof) == merkle.multiproof_size(indices, tree.depth)
    leaves = merkle.hash_columns(data[indices])
    assert merkle.root_from_multiproof(indices, leaves, proof, tree.depth) == tree.root
    if proof:
        bad = [proof[0][:-1] + bytes([proof[0][-1] ^ 1])] + proof[1:]
        assert merkle.root_from_multiproof(indices, leaves, bad, tree.depth) != tree.root
        assert merkle.root_from_multiproof(indices, leaves, proof[1:], tree.depth) is None


def test_params_reach_100_bits():
    assert DEFAULT.query_error_bits() >= 100
    assert DEFAULT.security_bits(1 << 21) >= 100
    assert DEFAULT.security_bits(1 << 24) < 100  # the n / |K| term counts
    assert LigeroParams.for_bits(100, blowup=2).queries == 241
    assert LigeroParams.conservative().queries == 241
    assert LigeroParams.for_bits(100, blowup=4, radius_divisor=2).queries == 148
    assert choose_cols(1 << 20) in (1 << 10, 1 << 11, 1 << 12)


def _setup(rows=6, cols=32, seed=0, params=SMALL, magnitude=100):
    rng = np.random.default_rng(seed)
    values = rng.integers(-magnitude, magnitude, size=rows * cols - 5)
    return values, ligero.commit(values, cols, params)


def _points(c, count, seed=1):
    rng = np.random.default_rng(seed)
    return [F.ext_random(rng, (c.row_vars + c.col_vars,)) for _ in range(count)]


def _prove(matrix, points):
    channel = ProverChannel(new_transcript())
    values = ligero.open_evaluations(matrix, points, channel)
    return values, channel.proof_bytes()


def _verify(commitment, points, values, proof):
    channel = VerifierChannel(new_transcript(), proof)
    ligero_verifier.verify_evaluations(commitment, points, values, channel)
    channel.finish()


@pytest.mark.parametrize("magnitude", [100, 2**29])
def test_honest_openings_verify(magnitude):
    values, m = _setup(magnitude=magnitude)
    points = _points(m.commitment, 3)
    claimed, proof = _prove(m, points)
    padded = np.zeros(8 * 32, np.int64)
    padded[: values.size] = values
    for p, v in zip(points, claimed, strict=True):
        assert F.ext_eq(v, mle.evaluate(F.encode(padded), p))
    _verify(m.commitment, points, claimed, proof)


def test_one_row_and_large_matrix_open():
    for rows, cols in ((1, 64), (37, 256)):
        _, m = _setup(rows=rows, cols=cols)
        points = _points(m.commitment, 1)
        claimed, proof = _prove(m, points)
        _verify(m.commitment, points, claimed, proof)


def test_stacked_matrices_share_queries():
    _, a = _setup(rows=3, seed=1)
    _, b = _setup(rows=5, seed=2)
    rng = np.random.default_rng(5)
    combos = [[F.ext_random(rng, (3,)), F.ext_random(rng, (5,))]]
    pc = ProverChannel(new_transcript())
    sent = ligero.open_combinations([a, b], combos, pc)
    vc = VerifierChannel(new_transcript(), pc.proof_bytes())
    got = ligero_verifier.verify_combinations([a.commitment, b.commitment], combos, vc)
    vc.finish()
    assert F.ext_eq(got[0], sent[0])
    assert F.ext_eq(sent[0], F.ext_add(a.combine(combos[0][0]), b.combine(combos[0][1])))


def test_wrong_opening_value_rejected():
    _, m = _setup()
    points = _points(m.commitment, 2)
    claimed, proof = _prove(m, points)
    wrong = [claimed[0], F.ext_add(claimed[1], F.ext_one())]
    with pytest.raises(OpeningMismatch, match="evaluation 1"):
        _verify(m.commitment, points, wrong, proof)


def _section(proof: bytes, channel: ProverChannel, label: str) -> tuple[int, int]:
    return next((s, e) for name, s, e in channel.layout if name == label)


def test_wrong_merkle_path_rejected():
    _, m = _setup()
    points = _points(m.commitment, 1)
    channel = ProverChannel(new_transcript())
    claimed = ligero.open_evaluations(m, points, channel)
    proof = bytearray(channel.proof_bytes())
    start, _ = _section(proof, channel, "pcs/merkle")
    proof[start] ^= 1
    with pytest.raises(MerklePathInvalid, match="do not hash"):
        _verify(m.commitment, points, claimed, bytes(proof))


def test_swapped_commitment_rejected():
    _, m = _setup(seed=0)
    _, other = _setup(seed=9)
    points = _points(m.commitment, 1)
    claimed, proof = _prove(m, points)
    with pytest.raises(CommitmentMismatch, match="the verifier holds"):
        _verify(other.commitment, points, claimed, proof)


def test_inconsistent_column_rejected():
    """A prover that sends a row combination other than w^T U (here: one entry changed, with
    the claimed value recomputed from it) is caught at the opened columns."""
    _, m = _setup()
    c = m.commitment
    point = _points(c, 1)[0]
    honest = m.combine_many

    def lying_combine_many(ws, row0=0):
        out = [u.copy() for u in honest(ws, row0)]
        for w, u in zip(ws, out, strict=True):
            if np.array_equal(w, c.row_weights(point)):
                u[:, 3] = F.ext_add(u[:, 3], F.ext_one())
        return out

    object.__setattr__(m, "combine_many", lying_combine_many)
    channel = ProverChannel(new_transcript())
    claimed = ligero.open_evaluations(m, [point], channel)
    with pytest.raises(ColumnMismatch, match="inconsistent"):
        _verify(c, [point], claimed, channel.proof_bytes())


def test_rows_that_are_not_codewords_fail_the_proximity_test():
    """Commit to a matrix whose encoded rows are corrupted in half of the columns (a root
    the honest commit would not produce); the proximity row, computed from the messages, then
    disagrees with the opened columns."""
    values, m = _setup()
    rng = np.random.default_rng(4)
    columns = m.columns.copy()
    hit = rng.choice(columns.shape[0], columns.shape[0] // 2, replace=False)
    columns[hit, 2] = (columns[hit, 2].astype(np.uint64) + 1) % F.P
    tree = merkle.MerkleTree(merkle.hash_columns(columns))
    bad = ligero.CommittedMatrix(ligero.Commitment(tree.root, m.commitment.rows,
                                                   m.commitment.cols, SMALL),
                                 m.values, columns, tree)
    points = _points(bad.commitment, 1)
    claimed, proof = _prove(bad, points)
    with pytest.raises(ProximityFailed, match="proximity test fails"):
        _verify(bad.commitment, points, claimed, proof)


def test_truncated_opening_is_malformed():
    _, m = _setup()
    points = _points(m.commitment, 1)
    claimed, proof = _prove(m, points)
    with pytest.raises(MalformedProof):
        _verify(m.commitment, points, claimed, proof[:-1])


def test_ligero_verifier_never_imports_the_prover_side():
    code = ("import sys, provers.gkr.pcs.ligero_verifier; "
            "sys.exit(1 if 'provers.gkr.pcs.ligero' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0

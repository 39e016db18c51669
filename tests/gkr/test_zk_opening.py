"""The zero-knowledge opening of claims on committed vectors (provers/gkr/zk_opening.py,
zk_opening_prover.py; PROTOCOL.md, "The zero-knowledge opening of committed claims"):
completeness on several hiding matrices, one test per rejection, and an exact check of zero
knowledge for the column sumcheck's messages with the opened columns of the data rows
(tests/gkr/modp.py); the products opening's messages are ligero.product_messages, whose
hiding test_pcs_hiding.py checks exactly."""

from __future__ import annotations

import ast
import inspect

import numpy as np
import pytest

from provers.gkr import field as F
from provers.gkr import mle, zk_opening, zk_sumcheck
from provers.gkr import zk_opening_prover as P
from provers.gkr.channel import ProverChannel, VerifierChannel, new_transcript
from provers.gkr.errors import SumcheckFailed
from provers.gkr.pcs import ligero, ntt
from provers.gkr.pcs.errors import CommitmentMismatch, OpeningMismatch
from provers.gkr.pcs.params import LigeroParams
from provers.gkr.zk_opening import Claim, Component, EqColumns
from tests.gkr import modp

PARAMS = LigeroParams(queries=16)
COLS = 256
C = 8
G_ROW = (0, 20)
"""g_col's place in the mask matrix: row 0, from column 20 (108 entries)."""


def _data(rows: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(-(1 << 20), 1 << 20, (rows, COLS))


def _commit(values: np.ndarray, seed: int, mask_rows: int = 0) -> ligero.CommittedMatrix:
    return ligero.commit(values, COLS, PARAMS, hiding=True, mask_rows=mask_rows,
                         rng=np.random.default_rng(seed))


def _mask_matrix(g_col: zk_sumcheck.SumcheckMask, seed: int = 5) -> ligero.CommittedMatrix:
    """Two data rows (row 0 holds g_col at column 20, the rest is other data) and three mask
    rows."""
    values = zk_opening.write_mask(_data(2, seed).reshape(-1), G_ROW[0] * COLS + G_ROW[1],
                                   g_col)
    return _commit(values, seed + 100, mask_rows=3)


def _value(data: list[np.ndarray], comp: Component) -> np.ndarray:
    """a^T U e from the data alone, in field arithmetic."""
    d = data[comp.matrix]
    count = comp.rows.shape[1]
    block = F.encode(d[comp.row0:comp.row0 + count])
    u = F.ext_matvec(np.ascontiguousarray(block.T), comp.rows)
    return F.ext_dot(zk_opening.column_table(comp.columns, d.shape[1]), u)


def _claim(data: list[np.ndarray], *components: Component) -> Claim:
    value = F.ext_zero()
    for comp in components:
        value = F.ext_add(value, _value(data, comp))
    return Claim(value, tuple(components))


def _claims(data: list[np.ndarray], rng) -> list[Claim]:
    """Matrix 0 is the mask matrix (2 rows), 1 has 8 rows, 2 has 4. Eq-structured and
    explicit column weights, a small tensor inside one row, components sharing row weights
    (claims 0, 3 and 4 on matrix 1's first four rows), a claim spanning two matrices."""
    high = mle.eq_table(F.ext_random(rng, (2,)))  # rows 0..3 of matrix 1
    one_row = F.ext_one((1,))
    explicit = F.ext_random(rng, (COLS,))
    return [
        _claim(data, Component(1, high, EqColumns(F.ext_random(rng, (C,))))),
        _claim(data, Component(1, one_row, EqColumns(F.ext_random(rng, (4,)), 32), row0=5)),
        _claim(data, Component(2, F.ext_random(rng, (4,)), explicit)),
        _claim(data, Component(1, high, EqColumns(F.ext_random(rng, (6,)), 64)),
               Component(2, F.ext_random(rng, (2,)), explicit, row0=1)),
        _claim(data, Component(1, high, explicit)),
        _claim(data, Component(0, one_row, EqColumns(F.ext_random(rng, (3,)), 200), row0=1)),
    ]


def _setup(seed: int = 1):
    rng = np.random.default_rng(seed)
    g_col = zk_sumcheck.SumcheckMask.random(zk_opening.mask_degrees(COLS), rng)
    matrices = [_mask_matrix(g_col), _commit(_data(8, 2), 3), _commit(_data(4, 4), 5)]
    data = [m.values.astype(np.int64) for m in matrices]
    return matrices, _claims(data, rng), g_col


def _prove(matrices, claims, g_col) -> ProverChannel:
    channel = ProverChannel(new_transcript())
    P.prove(matrices, claims, g_col, G_ROW, channel)
    return channel


def _verify(commitments, claims, proof: bytes) -> None:
    channel = VerifierChannel(new_transcript(), proof)
    zk_opening.verify(commitments, claims, G_ROW, channel)
    channel.finish()


@pytest.fixture(scope="module")
def honest():
    matrices, claims, g_col = _setup()
    return matrices, claims, g_col, _prove(matrices, claims, g_col)


def _section(channel: ProverChannel, label: str) -> tuple[int, int]:
    return next((s, e) for name, s, e in channel.layout if name == label)


def _bump(proof: bytes, start: int) -> bytes:
    """The proof with the extension element at byte ``start`` plus one (still canonical)."""
    value = F.ext_from_bytes(proof[start:start + 16], ())
    return proof[:start] + F.ext_to_bytes(F.ext_add(value, F.ext_one())) + proof[start + 16:]


def test_completeness_on_three_matrices(honest):
    matrices, claims, _, channel = honest
    _verify([m.commitment for m in matrices], claims, channel.proof_bytes())
    combinations = zk_opening.row_combinations(claims, [m.commitment.rows for m in matrices],
                                               COLS)
    assert len(combinations) == 5  # claims 0, 3 and 4 share matrix 1's rows 0..3
    start, end = _section(channel, "zk-opening/evals")
    assert end - start == 16 * len(combinations)
    labels = [name for name, _, _ in channel.layout]
    assert labels[:3] == ["zk-opening/roots"] * 3 and "pcs/mask-value/1" in labels
    assert "pcs/mask-value/2" not in labels


def test_one_claim_one_matrix_pair():
    """A single eq-structured claim (one combination: the evals message is one element)."""
    rng = np.random.default_rng(7)
    g_col = zk_sumcheck.SumcheckMask.random(zk_opening.mask_degrees(COLS), rng)
    matrices = [_mask_matrix(g_col, 9), _commit(_data(2, 10), 11)]
    data = [m.values.astype(np.int64) for m in matrices]
    claims = [_claim(data, Component(1, mle.eq_table(F.ext_random(rng, (1,))),
                                     EqColumns(F.ext_random(rng, (C,)))))]
    channel = _prove(matrices, claims, g_col)
    _verify([m.commitment for m in matrices], claims, channel.proof_bytes())


def test_wrong_claim_value_rejected(honest):
    matrices, claims, g_col, _ = honest
    wrong = list(claims)
    wrong[2] = Claim(F.ext_add(claims[2].value, F.ext_one()), claims[2].components)
    channel = _prove(matrices, wrong, g_col)  # the prover asserts the false value
    with pytest.raises(SumcheckFailed, match="zero-knowledge opening's column sumcheck"):
        _verify([m.commitment for m in matrices], wrong, channel.proof_bytes())


def test_tampered_evaluation_rejected(honest):
    matrices, claims, _, channel = honest
    start, _ = _section(channel, "zk-opening/evals")
    proof = _bump(channel.proof_bytes(), start + 16)
    with pytest.raises(SumcheckFailed):
        _verify([m.commitment for m in matrices], claims, proof)


@pytest.mark.parametrize("element", [1, 5, 17])
def test_tampered_sumcheck_round_rejected(honest, element: int):
    """Elements 1.. of the masked sumcheck follow G: rounds 1..c (two each), round c + 1."""
    matrices, claims, _, channel = honest
    start, _ = _section(channel, "zk-opening/sumcheck")
    proof = _bump(channel.proof_bytes(), start + 16 * element)
    with pytest.raises(SumcheckFailed):
        _verify([m.commitment for m in matrices], claims, proof)


def test_mask_matrix_with_other_coefficients_rejected(honest):
    """The mask matrix commits to other coefficients than the g_col the sumcheck used: the
    second product's value is not g_col(r)."""
    matrices, claims, g_col, _ = honest
    other = zk_sumcheck.SumcheckMask.random(g_col.degrees, np.random.default_rng(99))
    swapped = [_mask_matrix(other), *matrices[1:]]
    channel = _prove(swapped, claims, g_col)
    with pytest.raises(OpeningMismatch, match="g_col"):
        _verify([m.commitment for m in swapped], claims, channel.proof_bytes())


def test_claims_of_uncommitted_data_rejected(honest, monkeypatch):
    """A prover runs the column sumcheck on other data (the claims true of that data), then
    opens the committed matrices: the row combinations' values disagree with u_j~(r)."""
    matrices, _, g_col, _ = honest
    other = [m.values.astype(np.int64) for m in matrices]
    other[1] = other[1] + 1
    claims = _claims(other, np.random.default_rng(1 + 1000))
    fake = [np.concatenate([d, m.message[:m.commitment.rows, COLS:]], axis=1).astype(np.int32)
            for d, m in zip(other, matrices, strict=True)]
    honest_sumcheck = P.column_sumcheck
    monkeypatch.setattr(P, "column_sumcheck",
                        lambda messages, *rest: honest_sumcheck(fake, *rest))
    channel = _prove(matrices, claims, g_col)
    with pytest.raises(OpeningMismatch, match="row combinations"):
        _verify([m.commitment for m in matrices], claims, channel.proof_bytes())


def test_swapped_commitment_rejected(honest):
    matrices, claims, _, channel = honest
    other = _commit(_data(8, 2), 77).commitment  # same data, other randomness
    with pytest.raises(CommitmentMismatch, match="matrix 1"):
        _verify([matrices[0].commitment, other, matrices[2].commitment], claims,
                channel.proof_bytes())


def test_malformed_input_raises():
    matrices, claims, g_col = _setup()
    commitments = [m.commitment for m in matrices]
    rows = [c.rows for c in commitments]
    bad = Claim(claims[0].value, (Component(1, F.ext_one((3,)), F.ext_one((COLS,)), row0=6),))
    with pytest.raises(ValueError, match="claim 0, component 0: row weights"):
        zk_opening.row_combinations([bad], rows, COLS)
    bad = Claim(claims[0].value, (Component(1, F.ext_one((1,)),
                                            EqColumns(F.ext_one((4,)), 8)),))
    with pytest.raises(ValueError, match="do not fit 256 columns aligned"):
        zk_opening.row_combinations([bad], rows, COLS)
    with pytest.raises(ValueError, match="names matrix 3"):
        zk_opening.row_combinations([Claim(claims[0].value, (Component(
            3, F.ext_one((1,)), F.ext_one((COLS,))),))], rows, COLS)
    with pytest.raises(ValueError, match="needs 3"):
        zk_opening.check_commitments([commitments[1], commitments[0]])
    with pytest.raises(ValueError, match="do not fit the mask matrix"):
        P.prove(matrices, claims, g_col, (0, 200), ProverChannel(new_transcript()))
    short = zk_sumcheck.SumcheckMask.random([2] * C, np.random.default_rng(0))
    with pytest.raises(ValueError, match="round degrees"):
        P.prove(matrices, claims, short, G_ROW, ProverChannel(new_transcript()))
    narrow = LigeroParams(queries=COLS - 2)
    thin = [ligero.commit(m.values, COLS, narrow, hiding=True, mask_rows=3,
                          rng=np.random.default_rng(0)) for m in matrices]
    with pytest.raises(ValueError, match="queries \\+ 4"):
        P.prove(thin, claims, g_col, G_ROW, ProverChannel(new_transcript()))


def test_mask_functional_evaluates_the_mask():
    rng = np.random.default_rng(3)
    degrees = (2, 2, 3)
    mask = zk_sumcheck.SumcheckMask.random(degrees, rng)
    r = F.ext_random(rng, (3,))
    entries = zk_opening.mask_entries(mask)
    assert entries.size == zk_opening.mask_count(degrees) == 4 * 10
    assert np.abs(entries).max() < F.P // 2
    functional = zk_opening.mask_functional(degrees, r)
    assert F.ext_eq(F.ext_dot(functional, F.ext_from_base(F.encode(entries))),
                    mask.evaluate(r))
    placed = zk_opening.write_mask(np.zeros(64, np.int64), 7, mask)
    assert np.array_equal(placed[7:47], entries) and not placed[:7].any()


def test_error_terms_and_security():
    assert zk_opening.error_terms(COLS, 50, 20) == 49 + 1 + 2 * (C + 1) + 19
    assert zk_opening.security_bits(1024, 50, 20) >= 100
    assert (zk_opening.security_error(1024, 50, 20)
            > LigeroParams().hiding_error(2 * 1024 * 4, 2))


def test_verifier_imports_no_prover_code():
    tree = ast.parse(inspect.getsource(zk_opening))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                for a in n.names}
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not {"zk_opening_prover", "ligero", "committed_prover"} & imported
    assert "provers.gkr.zk_opening_prover" not in modules


# --- the products opening reveals two values the column sumcheck already gives ------------


class FixedChallenges:
    """A transcript double whose challenges come from a seeded generator, whatever is
    absorbed (it absorbs nothing): the prover's view is then a function of its inputs alone,
    the same challenges for every witness. Labels of the challenges drawn are recorded."""

    def __init__(self, seed: int) -> None:
        self._rng = np.random.default_rng(seed)
        self.drawn: list[tuple[str, np.ndarray]] = []

    def absorb_bytes(self, label, data) -> None:
        pass

    def absorb_ext(self, label, array) -> None:
        pass

    def absorb_base(self, label, array) -> None:
        pass

    def challenge_ext(self, label) -> np.ndarray:
        value = F.ext_random(self._rng)
        self.drawn.append((bytes(label).decode(), value))
        return value

    def challenge_ext_vector(self, label, n: int) -> np.ndarray:
        value = F.ext_random(self._rng, (n,))
        self.drawn.append((bytes(label).decode(), value))
        return value


def _messages(channel: ProverChannel, label: str) -> list[np.ndarray]:
    proof = channel.proof_bytes()
    return [np.frombuffer(proof[s:e], "<u4").astype(np.uint64)
            for name, s, e in channel.layout if name == label]


def test_products_opening_is_a_product_messages_view(honest):
    """Under fixed challenges, everything after the evaluations is exactly
    ligero.product_messages of two products whose values are sum_j beta^j u_j~(r) and
    g_col(r), both already in the column sumcheck's messages: the products opening adds
    nothing that test_pcs_hiding's simulator needs beyond them."""
    matrices, claims, g_col, _ = honest
    fixed = FixedChallenges(4)
    channel = ProverChannel(fixed)
    P.prove(matrices, claims, g_col, G_ROW, channel)
    drawn = dict(fixed.drawn)
    rows = [m.commitment.rows for m in matrices]
    combinations = zk_opening.row_combinations(claims, rows, COLS)
    r = np.stack([v for name, v in fixed.drawn if name == "sumcheck/r"], axis=1)
    betas = zk_opening.powers(drawn["zk-opening/beta"], len(combinations))
    products = [zk_opening.data_product(combinations, betas, rows, r),
                zk_opening.mask_product(rows, COLS, G_ROW, r)]
    coeffs = drawn["pcs/queries"]
    opened = sorted({int(x) & (matrices[0].commitment.encoded_len - 1)
                     for x in coeffs.T.reshape(-1)[:PARAMS.queries]})
    zetas = [drawn[f"pcs/mask-weight/{j}"] for j in range(2)]
    msg = ligero.product_messages(matrices, products, drawn["pcs/proximity"], zetas, opened)
    sent = {label: _messages(channel, label) for label in
            ("pcs/proximity-row", "pcs/mask-value/0", "pcs/mask-value/1", "pcs/row/0",
             "pcs/row/1", "pcs/columns")}
    for label, values in (("pcs/proximity-row", [msg.proximity]),
                          ("pcs/mask-value/0", [msg.mask_values[0]]),
                          ("pcs/mask-value/1", [msg.mask_values[1]]),
                          ("pcs/row/0", [msg.rows[0]]), ("pcs/row/1", [msg.rows[1]]),
                          ("pcs/columns", [c.reshape(-1) for c in msg.columns])):
        expected = [np.frombuffer(F.ext_to_bytes(v), "<u4").astype(np.uint64)
                    if label != "pcs/columns" else v.astype(np.uint64) for v in values]
        assert all(np.array_equal(a, b) for a, b in zip(sent[label], expected, strict=True))
    # the two products' values, from the messages alone
    start, end = _section(channel, "zk-opening/evals")
    evals = zk_opening.split_evals(F.ext_from_bytes(channel.proof_bytes()[start:end],
                                                    (len(combinations),)), len(combinations))
    start, end = _section(channel, "zk-opening/sumcheck")
    g_at_r = F.ext_from_bytes(channel.proof_bytes()[end - 16:end], ())
    for j, expected in enumerate([zk_opening.weighted_sum(evals, betas), g_at_r]):
        weights, e = products[j]
        u, zeta, mu = msg.rows[j], zetas[j], msg.mask_values[j]
        assert F.ext_eq(F.ext_sub(F.ext_dot(e, u[:, :e.shape[1]]), F.ext_mul(zeta, mu)),
                        expected)


# --- exact zero knowledge of the column sumcheck with the opened columns -------------------

ZK_COLS = 8
ZK_ROWS = (2, 2)
ZK_BLOWUP = 4
ZK_OPENED = [1, 6, 19, 30, 41, 60]
"""Six opened encoded columns (of 2 * 8 * 4): the first four are t = 4 <= k - 4, all six
are too many for k = 8 (t + 4 > k)."""
ZK_DEGREES = zk_opening.mask_degrees(ZK_COLS)
PAD_DIM = sum(ZK_ROWS) * ZK_COLS
MASK_DIM = zk_opening.mask_count(ZK_DEGREES)
DATA_DIM = sum(ZK_ROWS) * ZK_COLS


def _zk_claims() -> list[Claim]:
    """Claims with fixed components (their values come with the witness): shared row
    weights, a claim spanning both matrices, eq-structured and explicit columns."""
    rng = np.random.default_rng(31)
    rows = mle.eq_table(F.ext_random(rng, (1,)))
    explicit = F.ext_random(rng, (ZK_COLS,))
    return [Claim(F.ext_zero(), (Component(0, rows, EqColumns(F.ext_random(rng, (3,)))),)),
            Claim(F.ext_zero(), (Component(0, rows, explicit),
                                 Component(1, F.ext_random(rng, (2,)),
                                           EqColumns(F.ext_random(rng, (2,)), 4)))),
            Claim(F.ext_zero(), (Component(1, F.ext_one((1,)), explicit, row0=1),))]


def _split(flat: np.ndarray, dims=ZK_ROWS) -> list[np.ndarray]:
    """A flat vector of canonical field elements as signed (rows, k) blocks."""
    out, pos = [], 0
    for rows in dims:
        out.append(F.decode(np.asarray(flat[pos:pos + rows * ZK_COLS]) % F.P)
                   .reshape(rows, ZK_COLS))
        pos += rows * ZK_COLS
    return out


def _with_values(data: list[np.ndarray]) -> list[Claim]:
    """The fixed claims with the values the witness gives them."""
    return [_claim(data, *c.components) for c in _zk_claims()]


def _claim_values(flat: np.ndarray) -> np.ndarray:
    return np.concatenate([c.value for c in _with_values(_split(flat))]).astype(np.int64)


def _mask_of(x: np.ndarray) -> zk_sumcheck.SumcheckMask:
    coeffs, pos = [], 0
    for deg in ZK_DEGREES:
        size = F.EXT_DEGREE * (deg + 1)
        coeffs.append(np.ascontiguousarray(
            (x[pos:pos + size] % F.P).astype(np.uint64).reshape(deg + 1, F.EXT_DEGREE).T))
        pos += size
    return zk_sumcheck.SumcheckMask(tuple(coeffs))


def _zk_view(flat_data: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Under fixed challenges: every element the column sumcheck sends (G, the rounds,
    g_col(r), the u_j~(r)), then the data rows' encoded symbols at ZK_OPENED, as base
    coordinates. x = the random halves of the data rows, then g_col's coefficients."""
    data = _split(flat_data)
    pads = _split(x[:PAD_DIM])
    messages = [np.concatenate([d, p], axis=1).astype(np.int32)
                for d, p in zip(data, pads, strict=True)]
    claims = _with_values(data)
    channel = ProverChannel(FixedChallenges(32))
    combinations = zk_opening.row_combinations(claims, list(ZK_ROWS), ZK_COLS)
    P.column_sumcheck(messages, claims, combinations, _mask_of(x[PAD_DIM:]), channel)
    sent = np.frombuffer(channel.proof_bytes()[len(channel.parts[0]):], "<u4")
    columns = [ntt.rs_encode_columns(m, ZK_BLOWUP)[ZK_OPENED].reshape(-1) for m in messages]
    return np.concatenate([sent, *columns]).astype(np.int64)


def _rows_with_opened(count: int) -> np.ndarray:
    """The view's coordinates when only the first ``count`` of ZK_OPENED are opened."""
    opened = len(ZK_OPENED) * sum(ZK_ROWS)
    head = _zk_view(np.zeros(DATA_DIM, np.int64), np.zeros(PAD_DIM + MASK_DIM, np.int64))
    sumcheck_len = head.size - opened
    keep, pos = list(range(sumcheck_len)), sumcheck_len
    for rows in ZK_ROWS:
        keep += list(range(pos, pos + count * rows))
        pos += len(ZK_OPENED) * rows
    return np.array(keep)


def test_column_sumcheck_and_opened_columns_hide_the_witness():
    rng = np.random.default_rng(33)
    data = rng.integers(-50, 50, DATA_DIM)
    # Another witness with the same claims: data + a kernel vector of the claims map.
    _, to_claims = modp.affine_map(_claim_values, DATA_DIM)
    same = (data + modp.kernel_vector(to_claims, rng)) % F.P
    assert np.array_equal(_claim_values(same), _claim_values(data))
    assert not np.array_equal(same, data % F.P)

    dim = PAD_DIM + MASK_DIM
    offset, rand_map = modp.affine_map(lambda x: _zk_view(data, x), dim)
    assert modp.is_affine(lambda x: _zk_view(data, x), offset, rand_map, rng)
    zero = np.zeros(dim, np.int64)
    other = _zk_view(same, zero)
    # the randomness enters the other witness's view the same way
    assert modp.is_affine(lambda x: _zk_view(same, x), other, rand_map, rng)
    diff = (other - offset) % F.P
    assert diff.any()

    rows = _rows_with_opened(4)  # t = 4 opened columns, t + 4 <= k
    assert modp.in_column_space(rand_map[rows], diff[rows])
    # Without the random halves (u_j~(r) and the rounds over the data alone), it fails.
    masks_only = rand_map[rows][:, PAD_DIM:]
    assert not modp.in_column_space(masks_only, diff[rows])
    # With t + 4 > k (six opened columns of a k = 8 row), the random half cannot hide both
    # the opened symbols and the row's share of u_j~(r): it fails too.
    assert not modp.in_column_space(rand_map, diff)
    # Without g_col (the rounds unmasked) it fails as well.
    assert not modp.in_column_space(rand_map[rows][:, :PAD_DIM], diff[rows])

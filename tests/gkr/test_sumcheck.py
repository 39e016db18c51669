"""Sumcheck: completeness for 1-3 factors of any field mix, soundness, malformed proofs."""

from __future__ import annotations

import ast
import inspect
import itertools

import numpy as np
import pytest

from provers.gkr import field as F
from provers.gkr import mle, sumcheck
from provers.gkr.sumcheck import SumcheckError, SumcheckProof, check_final, prove, verify
from provers.gkr.transcript import Transcript

DOMAIN = "test-sumcheck"


def make_tables(kinds: str, v: int, rng: np.random.Generator) -> list[np.ndarray]:
    return [F.ext_random(rng, (1 << v,)) if k == "e" else F.random(rng, (1 << v,)) for k in kinds]


def true_sum(tables: list[np.ndarray]) -> np.ndarray:
    prod = F.ext_one((tables[0].shape[-1],))
    for t in tables:
        prod = F.ext_mul(prod, t) if t.ndim == 2 else F.ext_mul_base(prod, t)
    return F.ext_sum_all(prod)


def prove_and_verify(tables, claim, verify_claim=None):
    v = mle.num_vars(tables[0].shape[-1])
    proof, r, finals = prove(tables, claim, Transcript(DOMAIN))
    r_v, final = verify(
        claim if verify_claim is None else verify_claim, v, len(tables), proof, Transcript(DOMAIN)
    )
    return proof, r, finals, r_v, final


KINDS = ["".join(c) for d in (1, 2, 3) for c in itertools.product("eb", repeat=d)]


@pytest.mark.parametrize("kinds", KINDS)
@pytest.mark.parametrize("v", range(9))
def test_completeness(kinds, v):
    rng = np.random.default_rng(1000 * v + len(kinds) + 7 * kinds.count("e"))
    tables = make_tables(kinds, v, rng)
    claim = true_sum(tables)
    proof, r, finals, r_v, final = prove_and_verify(tables, claim)
    assert proof.round_evals.shape == (4, v, len(kinds))
    assert F.ext_eq(r, r_v) and r.shape == (4, v)
    for t, e in zip(tables, finals, strict=True):
        assert F.ext_eq(e, mle.evaluate(t, r))  # the final evaluations are the MLEs at r
    assert check_final(final, finals)


@pytest.mark.parametrize("kinds", ["ee", "eb", "eee", "eeb", "ebb", "bbb"])
def test_completeness_on_the_parallel_path(kinds):
    v = mle.log2_exact(F.PARALLEL_MIN) + 2
    rng = np.random.default_rng(len(kinds))
    tables = make_tables(kinds, v, rng)
    claim = true_sum(tables)
    _, r, finals, _, final = prove_and_verify(tables, claim)
    assert check_final(final, finals)
    assert F.ext_eq(finals[-1], mle.evaluate(tables[-1], r))


def test_inputs_are_not_modified():
    rng = np.random.default_rng(1)
    tables = make_tables("eb", 6, rng)
    copies = [t.copy() for t in tables]
    prove(tables, true_sum(tables), Transcript(DOMAIN))
    assert all(np.array_equal(t, c) for t, c in zip(tables, copies, strict=True))


def test_final_evals_follow_the_callers_order():
    rng = np.random.default_rng(2)
    tables = make_tables("beb", 4, rng)  # the prover reorders internally (extension first)
    _, r, finals, _, _ = prove_and_verify(tables, true_sum(tables))
    for t, e in zip(tables, finals, strict=True):
        assert F.ext_eq(e, mle.evaluate(t, r))


def test_deterministic():
    rng = np.random.default_rng(3)
    tables = make_tables("eee", 5, rng)
    claim = true_sum(tables)
    p1, r1, _ = prove(tables, claim, Transcript(DOMAIN))
    p2, r2, _ = prove(tables, claim, Transcript(DOMAIN))
    assert p1.to_bytes() == p2.to_bytes() and F.ext_eq(r1, r2)


def test_v0_single_element():
    tables = [np.array([5], np.uint64), F.ext_from_base(np.array([7], np.uint64))]
    claim = F.ext_from_base(np.array(35, np.uint64))
    proof, r, finals, r_v, final = prove_and_verify(tables, claim)
    assert proof.round_evals.shape == (4, 0, 2) and r.shape == (4, 0)
    assert proof.to_bytes() == b""
    assert F.ext_eq(final, claim) and check_final(final, finals)
    assert not check_final(F.ext_from_base(np.array(36, np.uint64)), finals)


# ------------------------------------------------------------------ soundness


@pytest.mark.parametrize("kinds", ["e", "eb", "eee"])
@pytest.mark.parametrize("round_index", [0, 3])
@pytest.mark.parametrize("position", [0, -1])
def test_changed_round_evaluation_fails_final_check(kinds, round_index, position):
    rng = np.random.default_rng(4)
    tables = make_tables(kinds, 5, rng)
    claim = true_sum(tables)
    proof, _, finals = prove(tables, claim, Transcript(DOMAIN))
    evals = proof.round_evals.copy()
    evals[0, round_index, position] = (int(evals[0, round_index, position]) + 1) % F.P
    _, final = verify(claim, 5, len(kinds), SumcheckProof(evals), Transcript(DOMAIN))
    assert check_final(final, finals) is False


def test_changed_final_evaluation_fails_final_check():
    rng = np.random.default_rng(5)
    tables = make_tables("eb", 5, rng)
    claim = true_sum(tables)
    proof, _, finals = prove(tables, claim, Transcript(DOMAIN))
    _, final = verify(claim, 5, 2, proof, Transcript(DOMAIN))
    assert check_final(final, finals) is True
    bad = [finals[0], F.ext_add(finals[1], F.ext_one())]
    assert check_final(final, bad) is False


def test_wrong_claim_is_rejected():
    rng = np.random.default_rng(6)
    tables = make_tables("ee", 6, rng)
    claim = true_sum(tables)
    wrong = F.ext_add(claim, F.ext_one())
    # honest proof checked against a different claim
    _, _, finals, _, final = prove_and_verify(tables, claim, verify_claim=wrong)
    assert check_final(final, finals) is False
    # a prover that asserts the wrong claim (its round messages cannot all be consistent)
    _, _, finals, _, final = prove_and_verify(tables, wrong)
    assert check_final(final, finals) is False


def test_prover_check_catches_a_wrong_claim():
    rng = np.random.default_rng(7)
    tables = make_tables("eb", 4, rng)
    wrong = F.ext_add(true_sum(tables), F.ext_one())
    with pytest.raises(ValueError, match="claim"):
        prove(tables, wrong, Transcript(DOMAIN), check=True)
    prove(tables, true_sum(tables), Transcript(DOMAIN), check=True)


def test_transcript_binds_the_proof():
    # A verifier whose transcript differs draws other challenges: the same proof fails.
    rng = np.random.default_rng(8)
    tables = make_tables("eb", 5, rng)
    claim = true_sum(tables)
    proof, _, finals = prove(tables, claim, Transcript(DOMAIN))
    other = Transcript(DOMAIN)
    other.absorb_bytes("extra", b"public input the prover did not bind")
    _, final = verify(claim, 5, 2, proof, other)
    assert check_final(final, finals) is False


# ------------------------------------------------------------------ malformed proofs


def test_wrong_number_of_rounds_raises():
    rng = np.random.default_rng(9)
    tables = make_tables("ee", 4, rng)
    claim = true_sum(tables)
    proof, _, _ = prove(tables, claim, Transcript(DOMAIN))
    short = SumcheckProof(proof.round_evals[:, :3, :])
    with pytest.raises(SumcheckError, match="expected 4 rounds, got 3"):
        verify(claim, 4, 2, short, Transcript(DOMAIN))
    long = SumcheckProof(np.concatenate([proof.round_evals, proof.round_evals[:, :1]], axis=1))
    with pytest.raises(SumcheckError, match="rounds"):
        verify(claim, 4, 2, long, Transcript(DOMAIN))


def test_wrong_number_of_evaluations_raises():
    rng = np.random.default_rng(10)
    tables = make_tables("ee", 4, rng)
    claim = true_sum(tables)
    proof, _, _ = prove(tables, claim, Transcript(DOMAIN))
    with pytest.raises(SumcheckError, match="round 0: expected 3 evaluations"):
        verify(claim, 4, 3, proof, Transcript(DOMAIN))
    with pytest.raises(SumcheckError, match="round 0"):
        verify(claim, 4, 2, SumcheckProof(proof.round_evals[:, :, :1]), Transcript(DOMAIN))


def test_non_canonical_values_raise_naming_the_round():
    rng = np.random.default_rng(11)
    tables = make_tables("eb", 4, rng)
    claim = true_sum(tables)
    proof, _, _ = prove(tables, claim, Transcript(DOMAIN))
    evals = proof.round_evals.copy()
    evals[2, 2, 1] = F.P
    with pytest.raises(SumcheckError, match="round 2"):
        verify(claim, 4, 2, SumcheckProof(evals), Transcript(DOMAIN))
    with pytest.raises(SumcheckError):
        verify(claim, 4, 2, "not a proof", Transcript(DOMAIN))  # type: ignore[arg-type]


def test_proof_bytes_roundtrip_and_malformed_bytes():
    rng = np.random.default_rng(12)
    tables = make_tables("eee", 5, rng)
    claim = true_sum(tables)
    proof, _, finals = prove(tables, claim, Transcript(DOMAIN))
    data = proof.to_bytes()
    assert len(data) == 16 * 5 * 3
    back = SumcheckProof.from_bytes(data, 5, 3)
    assert back == proof and back.num_vars == 5 and back.degree == 3
    _, final = verify(claim, 5, 3, back, Transcript(DOMAIN))
    assert check_final(final, finals)
    with pytest.raises(SumcheckError, match="expected 240 bytes"):
        SumcheckProof.from_bytes(data[:-16], 5, 3)
    with pytest.raises(SumcheckError, match="expected 240 bytes"):
        SumcheckProof.from_bytes(data + b"\x00", 5, 3)
    bad = bytearray(data)
    bad[0:4] = (0xFFFFFFFF).to_bytes(4, "little")
    with pytest.raises(SumcheckError):
        SumcheckProof.from_bytes(bytes(bad), 5, 3)
    # a flipped bit in a valid encoding decodes, and then fails the final check
    flipped = bytearray(data)
    flipped[17] ^= 0x01
    tampered = SumcheckProof.from_bytes(bytes(flipped), 5, 3)
    _, final = verify(claim, 5, 3, tampered, Transcript(DOMAIN))
    assert check_final(final, finals) is False


def test_prover_input_errors():
    rng = np.random.default_rng(13)
    with pytest.raises(ValueError, match="1 to 3"):
        prove(make_tables("eeee", 2, rng), F.ext_zero(), Transcript(DOMAIN))
    with pytest.raises(ValueError, match="power of two"):
        prove([F.random(rng, (6,))], F.ext_zero(), Transcript(DOMAIN))
    with pytest.raises(ValueError, match="different lengths"):
        prove([F.random(rng, (8,)), F.random(rng, (4,))], F.ext_zero(), Transcript(DOMAIN))


def test_interpolation_matches_the_polynomial():
    # g(t) = 3 + 5t + 7t^2 + 11t^3 from its compact form, evaluated at a point of K
    def g(t):
        return (3 + 5 * t + 7 * t**2 + 11 * t**3) % F.P

    claim = F.ext_from_base(np.array((g(0) + g(1)) % F.P, np.uint64))
    evals = F.ext_from_base(np.array([g(0), g(2), g(3)], np.uint64))
    for t in (0, 1, 4, 123456):
        got = sumcheck.interpolate_round(claim, evals, F.ext_from_base(np.array(t, np.uint64)))
        assert F.ext_eq(got, F.ext_from_base(np.array(g(t), np.uint64)))


def test_numpy_fallback_gives_the_same_proof(monkeypatch):
    rng = np.random.default_rng(14)
    v = mle.log2_exact(F.PARALLEL_MIN) + 1
    cases = [make_tables(k, v, rng) for k in ("ee", "eb", "eee", "eeb", "ebb", "b")]
    fast = [prove(t, true_sum(t), Transcript(DOMAIN))[0].to_bytes() for t in cases]
    monkeypatch.setattr(F, "_numba", None)
    monkeypatch.setattr(F, "BACKEND", "numpy")
    slow = [prove(t, true_sum(t), Transcript(DOMAIN))[0].to_bytes() for t in cases]
    assert fast == slow


def test_verifier_uses_no_prover_code():
    # Everything verify and check_final reach inside the module (transitively) is verifier
    # code, and none of it touches mle (the prover's folding) or the kernels.
    tree = ast.parse(inspect.getsource(sumcheck))
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    reached, todo = set(), ["verify", "check_final"]
    while todo:
        name = todo.pop()
        if name in reached:
            continue
        reached.add(name)
        used = {n.id for n in ast.walk(functions[name]) if isinstance(n, ast.Name)}
        assert "mle" not in used and "fold_buffer" not in used, name
        todo.extend(used & functions.keys())
    assert reached == {
        "verify",
        "check_final",
        "interpolate_round",
        "_lagrange_weights",
        "_absorb_header",
        "_as_scalar",
    }


@pytest.mark.parametrize("kinds", ["ee", "eb", "eee", "eeb", "ebb"])
def test_round_kernels_on_maximal_values(kinds):
    # Every entry p - 1 maximises each unreduced product and accumulator in the kernels.
    v = mle.log2_exact(F.PARALLEL_MIN) + 1
    tables = [
        np.full((4, 1 << v) if k == "e" else (1 << v,), F.P - 1, dtype=np.uint64) for k in kinds
    ]
    h = 1 << (v - 1)
    for half in (h, 8):  # parallel and single-threaded paths
        assert F.ext_eq(sumcheck._round(tables, half, len(kinds)),
                        sumcheck._round_numpy(tables, half, len(kinds)))
    _, _, finals, _, final = prove_and_verify(tables, true_sum(tables))
    assert check_final(final, finals)


# ------------------------------------------------------------------ sums of products


# The reference the fast prover must match byte for byte: the straightforward vectorised numpy
# prover (one pass per term, every table extension), which is also the no-numba fallback.
_reference_prove_terms = sumcheck._prove_terms_numpy


def _ext_const(value: int) -> np.ndarray:
    return F.ext_from_base(np.array(value % F.P, np.uint64))


def _requant_case(v, rng, shift=5):
    """The requantisation constraint (tables eq, X, M, Q, R, S, D; requant._constraint_terms
    with a random beta) and booleanity (eq, bits) sumchecks on random tables."""
    n = 1 << v
    eq = mle.eq_table(F.ext_random(rng, (v,)))
    base = [F.encode(rng.integers(-(1 << 12), 1 << 12, n)) for _ in range(6)]
    beta = F.ext_random(rng, ())
    b2 = F.ext_mul(beta, beta)
    half = 1 << (shift - 1)
    one = F.ext_one()
    constraint = [(one, (0, 1)), (_ext_const(half), (0, 2)), (_ext_const(-(1 << shift)), (0, 3)),
                  (_ext_const(-1), (0, 4)), (beta, (0, 5, 5)), (F.ext_neg(beta), (0, 5)),
                  (b2, (0, 6)), (F.ext_mul(b2, _ext_const(-2)), (0, 5, 3)), (b2, (0, 3)),
                  (b2, (0, 5))]
    booleanity = [(one, (0, 1, 1)), (_ext_const(-1), (0, 1))]
    bits = F.random(rng, (n,)) % np.uint64(2)
    return [([eq, *base], constraint), ([eq.copy(), bits], booleanity)]


def _random_case(v, rng, shared):
    """Up to 10 tables of either field and up to 10 terms of 1-3 factors: repeated factors,
    repeated and cancelling monomials, base and extension coefficients, coefficient one
    (plain and shifted factors in the factored form); `shared`: every term has table 0."""
    n = 1 << v
    k = int(rng.integers(1, 11))
    tables = [F.ext_random(rng, (n,)) if rng.random() < 0.4 else F.random(rng, (n,))
              for _ in range(k)]
    terms = []
    for _ in range(int(rng.integers(1, 11))):
        size = int(rng.integers(1, 4))
        idx = [int(j) for j in rng.integers(0, k, size)]
        if shared and 0 not in idx:
            idx[0] = 0
        pick = rng.random()
        if pick < 0.3:
            coeff = F.ext_one()
        elif pick < 0.6:
            coeff = _ext_const(int(rng.integers(-9, 10)))
        else:
            coeff = F.ext_random(rng, ())
        terms.append((coeff, tuple(int(j) for j in rng.permutation(idx))))
    if rng.random() < 0.5:  # a monomial repeated (factors reordered), or cancelled
        coeff, idx = terms[int(rng.integers(len(terms)))]
        again = coeff if rng.random() < 0.5 else F.ext_neg(coeff)
        terms.append((again, tuple(reversed(idx))))
    return tables, terms


def _assert_same_as_reference(tables, terms, claim=None):
    claim = F.ext_zero() if claim is None else claim
    t_fast, t_ref = Transcript(DOMAIN), Transcript(DOMAIN)
    fast = sumcheck.prove_terms(tables, terms, claim, t_fast)
    ref = _reference_prove_terms(tables, terms, claim, t_ref)
    assert fast[0].to_bytes() == ref[0].to_bytes()
    assert fast[0].round_evals.shape == ref[0].round_evals.shape
    assert np.array_equal(fast[1], ref[1]) and fast[1].shape == ref[1].shape
    assert len(fast[2]) == len(ref[2])
    for a, b in zip(fast[2], ref[2], strict=True):
        assert a.shape == (4,) and a.dtype == np.uint64 and np.array_equal(a, b)
    # the transcripts end in the same state
    assert np.array_equal(t_fast.challenge_ext("next"), t_ref.challenge_ext("next"))
    return fast


def _terms_sum(tables, terms):
    total = F.ext_zero()
    for coeff, idx in terms:
        prod = F.ext_one((tables[0].shape[-1],))
        for j in idx:
            t = tables[j]
            prod = F.ext_mul(prod, t) if t.ndim == 2 else F.ext_mul_base(prod, t)
        total = F.ext_add(total, F.ext_mul(coeff, F.ext_sum_all(prod)))
    return total


@pytest.mark.parametrize("v", [0, 1, 2, 5, 9])
def test_prove_terms_requant_shapes_match_reference(v):
    rng = np.random.default_rng(200 + v)
    for tables, terms in _requant_case(v, rng):
        claim = _terms_sum(tables, terms)
        proof, r, finals = _assert_same_as_reference(tables, terms, claim)
        # and the verifier accepts
        r_v, final = verify(claim, v, 3, proof, Transcript(DOMAIN))
        assert F.ext_eq(r_v, r)
        assert F.ext_eq(final, sumcheck.terms_final_value(terms, finals))
        for t, e in zip(tables, finals, strict=True):
            assert F.ext_eq(e, mle.evaluate(t, r))


@pytest.mark.parametrize("seed", range(24))
def test_prove_terms_random_forms_match_reference(seed):
    rng = np.random.default_rng(300 + seed)
    v = int(rng.integers(0, 8))
    tables, terms = _random_case(v, rng, shared=seed % 2 == 0)
    claim = F.ext_random(rng, ())  # any claim: the round messages do not depend on it
    _assert_same_as_reference(tables, terms, claim)


def test_prove_terms_parallel_path_matches_reference():
    # Round 1 of 2^15 rows (h = 2^14) runs the parallel round, fold and build kernels.
    v = mle.log2_exact(F.PARALLEL_MIN) + 1
    rng = np.random.default_rng(400)
    for tables, terms in _requant_case(v, rng):
        _assert_same_as_reference(tables, terms)
    _assert_same_as_reference(*_random_case(v, rng, shared=False))


def test_prove_terms_on_maximal_values():
    # Every entry and coefficient p - 1 maximises the unreduced sums in the kernels.
    v = mle.log2_exact(F.PARALLEL_MIN) + 1
    n = 1 << v
    top = np.uint64(F.P - 1)
    tables = [np.full((4, n), top), np.full(n, top), np.full(n, top), np.full((4, n), top)]
    big = np.full(4, top)
    terms = [(big, (0, 1, 2)), (big, (0, 2)), (big, (0, 3, 3)), (big, (0,)), (big, (0, 1)),
             (F.ext_one(), (0, 2, 2))]
    _assert_same_as_reference(tables, terms)
    _assert_same_as_reference(tables, [(big, (1, 2, 3)), (big, (3, 3)), (big, (1,))])


def test_prove_terms_forms():
    # The factored form of the requantisation constraint and of booleanity.
    rng = np.random.default_rng(5)
    (_, constraint), (_, booleanity) = _requant_case(2, rng)
    prefix, groups, cst = sumcheck._terms_form(constraint)
    assert prefix == [0] and cst == (0, 0, 0, 0) and len(groups) == 2
    assert [len(g) for g in groups] == [1, 2] and groups[1][0] == 5
    prefix, groups, cst = sumcheck._terms_form(booleanity)
    assert prefix == [0, 1] and groups == [[((F.P - 1, 0, 0, 0), ((1, (1, 0, 0, 0)),))]]
    # cancelling monomials vanish
    one = F.ext_one()
    assert sumcheck._terms_form([(one, (0, 1)), (F.ext_neg(one), (1, 0))]) == ([], [], (0,) * 4)


def test_prove_terms_results_do_not_alias_scratch_and_inputs_are_kept():
    rng = np.random.default_rng(6)
    (tables, terms), _ = _requant_case(6, rng)
    copies = [t.copy() for t in tables]
    proof, r, finals = sumcheck.prove_terms(tables, terms, F.ext_zero(), Transcript(DOMAIN))
    kept = (proof.to_bytes(), r.copy(), [e.copy() for e in finals])
    for v in (1, 6, 7):  # other calls reuse the prover's scratch buffers
        for t2, terms2 in _requant_case(v, rng):
            sumcheck.prove_terms(t2, terms2, F.ext_zero(), Transcript(DOMAIN))
    assert proof.to_bytes() == kept[0] and np.array_equal(r, kept[1])
    assert all(np.array_equal(a, b) for a, b in zip(finals, kept[2], strict=True))
    assert all(np.array_equal(t, c) for t, c in zip(tables, copies, strict=True))


def test_prove_terms_numpy_fallback_gives_the_same_proof(monkeypatch):
    rng = np.random.default_rng(7)
    cases = _requant_case(5, rng) + [_random_case(4, rng, shared=False)]
    fast = [sumcheck.prove_terms(t, c, F.ext_zero(), Transcript(DOMAIN))[0].to_bytes()
            for t, c in cases]
    monkeypatch.setattr(F, "_numba", None)
    monkeypatch.setattr(F, "BACKEND", "numpy")
    slow = [sumcheck.prove_terms(t, c, F.ext_zero(), Transcript(DOMAIN))[0].to_bytes()
            for t, c in cases]
    assert fast == slow


def test_prove_terms_input_errors():
    rng = np.random.default_rng(8)
    terms = [(F.ext_one(), (0, 1))]
    with pytest.raises(ValueError, match="power-of-two"):
        sumcheck.prove_terms([F.random(rng, (6,)), F.random(rng, (6,))], terms, F.ext_zero(),
                             Transcript(DOMAIN))
    with pytest.raises(ValueError, match="power-of-two"):
        sumcheck.prove_terms([F.random(rng, (8,)), F.random(rng, (4,))], terms, F.ext_zero(),
                             Transcript(DOMAIN))

"""The masked sumcheck (provers/gkr/zk_sumcheck.py): completeness in both forms with masked
factors and an output term, soundness, malformed proofs, exact hiding under fixed challenges,
and the plain provers' round_hook / stop_before_last keywords."""

from __future__ import annotations

import ast
import hashlib
import inspect
from dataclasses import dataclass

import numpy as np
import pytest

from provers.gkr import field as F
from provers.gkr import mle, sumcheck
from provers.gkr import zk_sumcheck as Z
from provers.gkr.sumcheck import SumcheckError
from provers.gkr.transcript import Transcript
from tests.gkr import modp
from tests.gkr.test_sumcheck import _terms_sum as _sum  # the sum over the cube, directly

DOMAIN = "test-zk-sumcheck"


def _tables(kinds: str, v: int, rng) -> list[np.ndarray]:
    return [F.ext_random(rng, (1 << v,)) if k == "e" else F.random(rng, (1 << v,)) for k in kinds]


def _z(point: np.ndarray) -> np.ndarray:
    """Z(point) = prod_j r_j (1 - r_j)."""
    out = F.ext_one()
    for j in range(point.shape[1]):
        out = F.ext_mul(out, F.ext_mul(point[:, j], F.ext_sub(F.ext_one(), point[:, j])))
    return out


def _masked(table: int, delta0: np.ndarray, delta1: np.ndarray | None) -> Z.MaskedFactor:
    """T' = T~ + Z delta with delta(x) = delta0 + delta1 x_v (a test's choice of delta): in the
    last round Z(r', X) delta = Z(r') X (1 - X) (delta0 + delta1 X), of degree 2 or 3."""

    def poly(point: np.ndarray) -> np.ndarray:
        d1 = F.ext_zero() if delta1 is None else delta1
        # X (1 - X)(d0 + d1 X) = d0 X + (d1 - d0) X^2 - d1 X^3
        coeffs = np.stack([F.ext_zero(), delta0, F.ext_sub(d1, delta0), F.ext_neg(d1)], axis=1)
        coeffs = coeffs if delta1 is not None else coeffs[:, :3]
        return F.ext_mul(coeffs, _z(point).reshape(4, 1))

    return Z.MaskedFactor(table, 2 if delta1 is None else 3, poly)


# Terms forms of degree 1 to 3 (at most three tables).
TERMS = {
    1: [(0,), (1,)],
    2: [(0, 1), (1,), (2, 2)],
    3: [(0, 1, 2), (0, 2), (1,)],
}


@dataclass
class Case:
    tables: list
    terms: list | None  # None: the product form
    used: list  # the terms in use (product_terms for the product form)
    factors: list
    deltas: list  # (delta0, delta1 or None) per masked factor
    out: Z.OutputTerm | None
    claim: np.ndarray

    @property
    def v(self) -> int:
        return mle.num_vars(self.tables[0].shape[-1])

    @property
    def degrees(self) -> tuple[int, int]:
        return sumcheck.terms_degree(self.used), Z.last_round_degree(
            self.used, {f.table: f.degree for f in self.factors})

    @property
    def scale(self):
        return None if self.out is None else self.out.scale

    def prove(self, mask_seed: int, backend=None, tables=None, transcript=None):
        d, d_last = self.degrees
        mask = Z.SumcheckMask.for_rounds(self.v, d, d_last, np.random.default_rng(mask_seed))
        t = Transcript(DOMAIN) if transcript is None else transcript
        result = Z.prove(self.tables if tables is None else tables, self.terms, self.claim, t,
                         mask, self.factors, self.out, backend)
        return mask, result, t

    def verify(self, proof, claim=None):
        d, d_last = self.degrees
        t = Transcript(DOMAIN)
        claim = self.claim if claim is None else claim
        return Z.verify(claim, self.v, d, d_last, proof, t, self.scale), t

    def accepts(self, proof, finals, claim=None) -> bool:
        (_, value, _, _), _ = self.verify(proof, claim)
        return F.ext_eq(value, sumcheck.terms_final_value(self.used, finals))


def make_case(form: str, degree: int, v: int, masked: bool, output: bool, rng) -> Case:
    if form == "product":
        tables = _tables("ebe"[:degree], v, rng)
        terms, used = None, Z.product_terms(degree)
    else:
        tables = _tables("ebe", v, rng)
        terms = [(F.ext_random(rng), idx) for idx in TERMS[degree]]
        used = terms
    factors, deltas = [], []
    if masked:
        deltas.append((F.ext_random(rng), F.ext_random(rng) if degree > 1 else None))
        factors.append(_masked(0, *deltas[0]))
    out = Z.OutputTerm(F.ext_random(rng), F.ext_random(rng), F.ext_random(rng)) if output else None
    claim = _sum(tables, used)
    if out is not None:
        claim = F.ext_add(claim, F.ext_mul(out.scale, F.ext_add(out.a0, out.a1)))
    return Case(tables, terms, used, factors, deltas, out, claim)


def _bump(a: np.ndarray, index) -> np.ndarray:
    """A copy of a with the element at ``index`` (its first coefficient) plus one."""
    b = np.array(a, copy=True)
    b[(0, *index)] = (b[(0, *index)] + np.uint64(1)) % np.uint64(F.P)
    return b


# ------------------------------------------------------------------ completeness


@pytest.mark.parametrize("form", ["product", "terms"])
@pytest.mark.parametrize("degree", [1, 2, 3])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("output", [False, True])
@pytest.mark.parametrize("v", [1, 2, 6])
def test_completeness(form, degree, masked, output, v):
    seed = [form == "terms", degree, masked, output, v]
    rng = np.random.default_rng(seed)
    case = make_case(form, degree, v, masked, output, rng)
    d, d_last = case.degrees
    assert d == degree
    assert d_last == (case.factors[0].degree + degree - 1 if masked else degree)
    mask, (proof, r, finals, mask_eval, output_eval), t_prover = case.prove(1)
    assert proof.round_evals.shape == (4, v - 1, d) and proof.last_evals.shape == (4, d_last)
    data = proof.to_bytes()
    assert len(data) == Z.ZkSumcheckProof.size_bytes(v, d, d_last, output)
    decoded = Z.ZkSumcheckProof.from_bytes(data, v, d, d_last, output)
    assert decoded == proof
    (r_v, value, g_r, d_r), t_verifier = case.verify(decoded)
    assert F.ext_eq(r_v, r) and r.shape == (4, v)
    # the verifier's value is the terms at the prover's final evaluations
    assert F.ext_eq(value, sumcheck.terms_final_value(case.used, finals))
    # the mask values are the mask's own g(r), and D's line a0 (1 - r_1) + a1 r_1
    assert F.ext_eq(g_r, mask.evaluate(r)) and F.ext_eq(mask_eval, g_r)
    if output:
        expect = F.ext_add(F.ext_mul(case.out.a0, F.ext_sub(F.ext_one(), r[:, 0])),
                           F.ext_mul(case.out.a1, r[:, 0]))
        assert F.ext_eq(d_r, expect) and F.ext_eq(output_eval, expect)
    else:
        assert d_r is None and output_eval is None
    # finals: T~(r), plus Z(r) delta(r) for the masked factor (computed here from delta)
    for j, (t, e) in enumerate(zip(case.tables, finals, strict=True)):
        expect = mle.evaluate(t, r)
        if masked and j == 0:
            d0, d1 = case.deltas[0]
            delta = d0 if d1 is None else F.ext_add(d0, F.ext_mul(d1, r[:, -1]))
            expect = F.ext_add(expect, F.ext_mul(_z(r), delta))
        assert F.ext_eq(e, expect), j
    # both transcripts end in the same state
    assert np.array_equal(t_prover.challenge_ext("next"), t_verifier.challenge_ext("next"))


@pytest.mark.parametrize("form", ["product", "terms"])
def test_completeness_on_the_parallel_path(form):
    # rounds 1..v-1 on the parallel numba kernels (2^15 rows)
    v = mle.log2_exact(F.PARALLEL_MIN) + 1
    case = make_case(form, 3, v, True, True, np.random.default_rng(5))
    _, (proof, r, finals, _, _), _ = case.prove(6)
    assert case.accepts(proof, finals)
    assert F.ext_eq(finals[1], mle.evaluate(case.tables[1], r))


def test_torch_backend_gives_the_same_proof():
    pytest.importorskip("torch")
    from provers.gkr import backends
    from provers.gkr.backends import torchfield as tf

    emu = backends.get("torch-cpu")
    for form, degree, v in [("product", 3, 1), ("product", 2, 5), ("terms", 3, 1),
                            ("terms", 3, 5), ("terms", 2, 6)]:
        case = make_case(form, degree, v, True, True, np.random.default_rng(degree + v))
        _, ref, _ = case.prove(7)
        _, got, _ = case.prove(7, emu, [tf.to_device(t, "cpu") for t in case.tables])
        assert got[0].to_bytes() == ref[0].to_bytes()
        for a, b in zip([got[1], *got[2], got[3], got[4]], [ref[1], *ref[2], ref[3], ref[4]],
                        strict=True):
            assert np.array_equal(a, b)


def test_numpy_fallback_gives_the_same_proof(monkeypatch):
    cases = [make_case(form, 3, 5, True, True, np.random.default_rng(8))
             for form in ("product", "terms")]
    fast = [c.prove(9)[1][0].to_bytes() for c in cases]
    monkeypatch.setattr(F, "_numba", None)
    monkeypatch.setattr(F, "BACKEND", "numpy")
    slow = [c.prove(9)[1][0].to_bytes() for c in cases]
    assert fast == slow


def test_default_mask_comes_from_os_randomness():
    a = Z.SumcheckMask.for_rounds(5, 2, 4)
    b = Z.SumcheckMask.for_rounds(5, 2, 4)
    assert a.degrees == (2, 2, 2, 2, 4)
    assert all(c.shape[0] == 4 and c.dtype == np.uint64 and int(c.max()) < F.P
               for c in a.coeffs)
    assert not all(np.array_equal(x, y) for x, y in zip(a.coeffs, b.coeffs, strict=True))


def test_mask_sum_and_round_polynomials_by_brute_force():
    rng = np.random.default_rng(10)
    v = 3
    mask = Z.SumcheckMask.random([2, 3, 1], rng)
    r = F.ext_random(rng, (v,))

    def bits(b: int, width: int) -> list[np.ndarray]:
        return [F.ext_from_base(np.uint64((b >> (width - 1 - k)) & 1)) for k in range(width)]

    def g(x: list[np.ndarray]) -> np.ndarray:  # g at a point given coordinate by coordinate
        total = F.ext_zero()
        for i, xi in enumerate(x):
            for k in range(mask.coeffs[i].shape[1]):
                total = F.ext_add(total, F.ext_mul(mask.coeffs[i][:, k], F.ext_pow(xi, k)))
        return total

    total = F.ext_zero()
    for b in range(1 << v):
        total = F.ext_add(total, g(bits(b, v)))
    assert F.ext_eq(mask.cube_sum(), total)
    for i in range(v):
        x = F.ext_random(rng)
        brute = F.ext_zero()
        for b in range(1 << (v - 1 - i)):
            brute = F.ext_add(brute, g([r[:, j] for j in range(i)] + [x] + bits(b, v - 1 - i)))
        assert F.ext_eq(Z._poly_eval(mask.round_poly(i, r), x), brute), i
    assert F.ext_eq(mask.evaluate(r), g([r[:, j] for j in range(v)]))


# ------------------------------------------------------------------ soundness


def _honest(v=4, form="terms", masked=True, output=True, seed=11):
    case = make_case(form, 2, v, masked, output, np.random.default_rng(seed))
    _, (proof, r, finals, _, _), _ = case.prove(12)
    assert case.accepts(proof, finals)
    return case, proof, finals


def _with(proof: Z.ZkSumcheckProof, **changes) -> Z.ZkSumcheckProof:
    fields = {k: getattr(proof, k) for k in
              ("mask_sum", "round_evals", "last_evals", "mask_eval", "output_eval")}
    return Z.ZkSumcheckProof(**(fields | changes))


@pytest.mark.parametrize("v", [1, 4])
def test_wrong_claim_is_rejected(v):
    case, proof, finals = _honest(v)
    assert not case.accepts(proof, finals, claim=F.ext_add(case.claim, F.ext_one()))
    # a prover starting from a false claim is caught as well
    case.claim = F.ext_add(case.claim, F.ext_one())
    _, (bad, _, bad_finals, _, _), _ = case.prove(12)
    assert not case.accepts(bad, bad_finals)


@pytest.mark.parametrize("position", [0, -1])
def test_tampered_round_messages_are_rejected(position):
    case, proof, finals = _honest(4)
    first = _with(proof, round_evals=_bump(proof.round_evals, (0, position)))
    last = _with(proof, last_evals=_bump(proof.last_evals, (position,)))
    assert not case.accepts(first, finals)
    assert not case.accepts(last, finals)
    case1, proof1, finals1 = _honest(1)  # v = 1: the only round is the last
    assert not case1.accepts(_with(proof1, last_evals=_bump(proof1.last_evals, (position,))),
                             finals1)


@pytest.mark.parametrize("v", [1, 4])
def test_wrong_mask_sum_or_mask_values_are_rejected(v):
    case, proof, finals = _honest(v)
    assert not case.accepts(_with(proof, mask_sum=_bump(proof.mask_sum, ())), finals)
    assert not case.accepts(_with(proof, mask_eval=_bump(proof.mask_eval, ())), finals)
    assert not case.accepts(_with(proof, output_eval=_bump(proof.output_eval, ())), finals)
    # a wrong final evaluation, too
    assert not case.accepts(proof, [_bump(finals[0], ()), *finals[1:]])


def test_wrong_shapes_and_lengths_raise():
    case, proof, _ = _honest(4)
    v, (d, d_last) = case.v, case.degrees
    data = proof.to_bytes()
    for bad in (data[:-1], data + b"\0" * 16, data[16:]):
        with pytest.raises(SumcheckError, match="expected"):
            Z.ZkSumcheckProof.from_bytes(bad, v, d, d_last, True)
    with pytest.raises(SumcheckError, match="expected"):
        Z.ZkSumcheckProof.from_bytes(data, v, d, d_last, False)  # no output term: 16 fewer
    with pytest.raises(SumcheckError, match="canonical"):
        Z.ZkSumcheckProof.from_bytes(b"\xff" * len(data), v, d, d_last, True)
    with pytest.raises(SumcheckError, match="at least one variable"):
        Z.ZkSumcheckProof.from_bytes(b"", 0, d, d_last, False)
    t = Transcript(DOMAIN)
    for args in [(v + 1, d, d_last), (v - 1, d, d_last), (v, d + 1, d_last), (v, d, d_last + 1)]:
        with pytest.raises(SumcheckError, match="shape"):
            Z.verify(case.claim, *args, proof, t, case.scale)
    with pytest.raises(SumcheckError, match="output term is unexpected"):
        Z.verify(case.claim, v, d, d_last, proof, t, None)
    with pytest.raises(SumcheckError, match="output term is missing"):
        Z.verify(case.claim, v, d, d_last, _with(proof, output_eval=None), t, case.scale)
    with pytest.raises(SumcheckError, match="non-canonical"):
        Z.verify(case.claim, v, d, d_last,
                 _with(proof, mask_sum=np.full(4, F.P, np.uint64)), t, case.scale)
    with pytest.raises(SumcheckError, match="at least one variable"):
        Z.verify(case.claim, 0, d, d_last, proof, t, case.scale)
    with pytest.raises(SumcheckError, match="d <= d_last"):
        Z.verify(case.claim, v, 3, 2, proof, t, case.scale)
    with pytest.raises(SumcheckError, match="ZkSumcheckProof"):
        Z.verify(case.claim, v, d, d_last, proof.round_evals, t, case.scale)


def test_prover_input_errors():
    rng = np.random.default_rng(13)
    case = make_case("terms", 2, 3, True, False, rng)
    d, d_last = case.degrees
    t = Transcript(DOMAIN)
    with pytest.raises(ValueError, match="round degrees"):
        Z.prove(case.tables, case.terms, case.claim, t, Z.SumcheckMask.for_rounds(3, d, d, rng),
                case.factors)
    not_vanishing = Z.MaskedFactor(0, 2, lambda point: F.ext_random(rng, (3,)))
    with pytest.raises(ValueError, match="does not vanish"):
        Z.prove(case.tables, case.terms, case.claim, t,
                Z.SumcheckMask.for_rounds(3, d, 3, rng), [not_vanishing])
    with pytest.raises(ValueError, match="power of two"):
        Z.prove([t_[..., :1] for t_ in case.tables], case.terms, case.claim, t,
                Z.SumcheckMask.for_rounds(1, d, d, rng))
    with pytest.raises(ValueError, match="distinct tables"):
        Z.prove(case.tables, case.terms, case.claim, t, Z.SumcheckMask.for_rounds(3, d, 4, rng),
                [case.factors[0], case.factors[0]])


def test_verifier_uses_no_prover_code():
    # What verify reaches in the module (transitively) uses no prover code: not the mask,
    # not the provers of sumcheck, not mle; of sumcheck only its verifier functions.
    tree = ast.parse(inspect.getsource(Z))
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    reached, todo, from_sumcheck = set(), ["verify", "last_round_degree"], set()
    while todo:
        name = todo.pop()
        if name in reached:
            continue
        reached.add(name)
        nodes = list(ast.walk(functions[name]))
        used = {n.id for n in nodes if isinstance(n, ast.Name)}
        from_sumcheck |= {n.attr for n in nodes if isinstance(n, ast.Attribute)
                          and isinstance(n.value, ast.Name) and n.value.id == "sumcheck"}
        assert not used & {"mle", "SumcheckMask", "prove", "backend"}, name
        todo.extend(used & functions.keys())
    assert from_sumcheck <= {"_as_scalar", "_absorb_header", "interpolate_round",
                             "_LABEL_ROUND", "_LABEL_R", "terms_degree"}
    imported = {a.name for n in tree.body if isinstance(n, ast.ImportFrom) for a in n.names}
    assert "mle" not in imported and "backends" not in imported


# ------------------------------------------------------------------ hiding


class PresetChallenges:
    """A transcript double whose challenges are fixed in advance (it absorbs nothing). With
    the challenges fixed, the prover's view is an affine function of its mask: the hiding test
    studies that function, a property of the masked sumcheck's algebra, not of Fiat-Shamir."""

    def __init__(self, challenges: list[np.ndarray]) -> None:
        self._next = list(challenges)

    def absorb_bytes(self, label, data) -> None:
        pass

    def absorb_ext(self, label, array) -> None:
        pass

    def challenge_ext(self, label) -> np.ndarray:
        return self._next.pop(0)


def _mask_from(x: np.ndarray, degrees: list[int]) -> Z.SumcheckMask:
    """The mask whose coefficients, 4 base coordinates each, are the vector x."""
    coeffs, pos = [], 0
    for deg in degrees:
        size = F.EXT_DEGREE * (deg + 1)
        coeffs.append(np.ascontiguousarray(
            (x[pos:pos + size] % F.P).astype(np.uint64).reshape(deg + 1, F.EXT_DEGREE).T))
        pos += size
    return Z.SumcheckMask(tuple(coeffs))


def _view_map(case: Case, challenges: list[np.ndarray]):
    """(offset, matrix): the view (G, every round message, g(r)) as base coordinates, an
    affine function of the mask's coordinates under fixed challenges."""
    d, d_last = case.degrees
    degrees = [d] * (case.v - 1) + [d_last]
    dim = F.EXT_DEGREE * sum(deg + 1 for deg in degrees)

    def view(x: np.ndarray) -> np.ndarray:
        proof, *_ = Z.prove(case.tables, case.terms, case.claim, PresetChallenges(challenges),
                            _mask_from(x, degrees), case.factors, case.out)
        parts = [proof.mask_sum, proof.round_evals, proof.last_evals, proof.mask_eval]
        return np.concatenate([p.reshape(-1) for p in parts]).astype(np.int64)

    offset, matrix = modp.affine_map(view, dim)
    x = modp.random_vector(np.random.default_rng(0), dim)
    assert np.array_equal(view(x), modp.apply(offset, matrix, x))  # it is affine
    return offset, matrix, degrees


def _same_public_values(case: Case, r: np.ndarray, rng) -> Case:
    """Another witness: the tables changed, table 0 (of degree at most one in every term)
    re-solved at two entries so that the claim and the terms' value at the fixed point r stay
    the same."""
    tables = [F.ext_random(rng, (t.shape[-1],)) for t in case.tables]
    target_sum = _sum(case.tables, case.used)
    target_final = sumcheck.terms_final_value(case.used, [mle.evaluate(t, r) for t in case.tables])
    b1, b2 = 1, 2

    def publics(x, y):
        t = tables[0].copy()
        t[:, b1], t[:, b2] = x, y
        trial = [t, *tables[1:]]
        final = sumcheck.terms_final_value(case.used, [mle.evaluate(u, r) for u in trial])
        return _sum(trial, case.used), final, trial

    # both public values are affine in the two entries: solve the 2x2 system over K
    zero, one = F.ext_zero(), F.ext_one()
    s0, f0, _ = publics(zero, zero)
    s1, f1, _ = publics(one, zero)
    s2, f2, _ = publics(zero, one)
    a, b = F.ext_sub(s1, s0), F.ext_sub(s2, s0)
    c, e = F.ext_sub(f1, f0), F.ext_sub(f2, f0)
    u, w = F.ext_sub(target_sum, s0), F.ext_sub(target_final, f0)
    inv = F.ext_inv(F.ext_sub(F.ext_mul(a, e), F.ext_mul(b, c)))
    x = F.ext_mul(inv, F.ext_sub(F.ext_mul(u, e), F.ext_mul(b, w)))
    y = F.ext_mul(inv, F.ext_sub(F.ext_mul(a, w), F.ext_mul(u, c)))
    s, f, trial = publics(x, y)
    assert F.ext_eq(s, target_sum) and F.ext_eq(f, target_final)
    return Case(trial, case.terms, case.used, case.factors, case.deltas, case.out, case.claim)


def _columns(degrees: list[int], keep) -> np.ndarray:
    """The mask coordinates (round, power, base coordinate) that ``keep`` selects."""
    cols, pos = [], 0
    for i, deg in enumerate(degrees):
        for k in range(deg + 1):
            for c in range(F.EXT_DEGREE):
                if keep(i, k, deg, c):
                    cols.append(pos)
                pos += 1
    return np.array(cols, np.int64)


@pytest.mark.parametrize(("form", "degree", "output"),
                         [("product", 2, False), ("terms", 3, False), ("terms", 2, True)])
def test_masked_rounds_hide_the_witness(form, degree, output):
    # Two witnesses with the same claim and the same value at the fixed point r: the
    # difference of their views (same mask) lies in the image of the mask map, so some other
    # mask explains the second witness's view exactly; the views are equally distributed.
    rng = np.random.default_rng(14 + degree)
    v = 3
    case = make_case(form, degree, v, False, output, rng)
    challenges = [F.ext_random(rng) for _ in range(v + 1)]  # rho, r_1..r_v
    r = np.stack(challenges[1:], axis=1)
    other = _same_public_values(case, r, rng)
    off, mat, degrees = _view_map(case, challenges)
    off2, mat2, _ = _view_map(other, challenges)
    assert np.array_equal(mat, mat2)  # the mask enters the view the same way for any witness
    diff = (off2 - off) % modp.P
    assert diff.any()  # the unmasked messages differ
    assert modp.in_column_space(mat, diff)
    # ... and the test can fail: without masking the views give the witness away
    # (1) a mask of too low a degree (top coefficient of each g_i left out)
    low = _columns(degrees, lambda i, k, deg, c: k < deg)
    assert not modp.in_column_space(mat[:, low], diff)
    # (2) a mask over the base field (rho g spans a quarter of K's coordinates)
    base = _columns(degrees, lambda i, k, deg, c: c == 0)
    assert not modp.in_column_space(mat[:, base], diff)
    # (3) rho = 0
    zero_rho = [F.ext_zero(), *challenges[1:]]
    off0, mat0, _ = _view_map(case, zero_rho)
    off20, _, _ = _view_map(other, zero_rho)
    assert not modp.in_column_space(mat0, (off20 - off0) % modp.P)


# ------------------------------------------------------------------ the plain provers' keywords


def _kat_cases():
    rng = np.random.default_rng(20240)
    out = []
    for kinds, v in [("e", 0), ("eb", 1), ("eee", 5), ("ebb", 6), ("bbb", 4), ("eeb", 15)]:
        out.append((_tables(kinds, v, rng), None))
    for v in (1, 5, 15):
        tables = _tables("ebbe", v, rng)
        terms = [(F.ext_one(), (0, 1)), (F.ext_random(rng), (0, 2, 2)),
                 (F.ext_random(rng), (3,)), (F.ext_random(rng), (1, 2, 3))]
        out.append((tables, terms))
    return out


# sha256 of these proofs, their points and final evaluations, as the provers wrote them before
# round_hook and stop_before_last existed (the numba and the numpy provers agree).
_KAT_DIGEST = "25269be586633a876571144c2c821f8601631beede4d591f7e06dd0aff1b41cf"


@pytest.mark.parametrize("path", ["numba", "numpy"])
def test_without_the_keywords_proofs_are_unchanged(path):
    h = hashlib.sha256()
    claim = F.ext_from_base(np.uint64(12345))
    keywords = {"round_hook": None, "stop_before_last": False}
    for tables, terms in _kat_cases():
        if terms is None:
            res = sumcheck.prove(tables, claim, Transcript("kat"), **keywords)
        elif path == "numba":
            res = sumcheck.prove_terms(tables, terms, claim, Transcript("kat"), **keywords)
        else:
            res = sumcheck._prove_terms_numpy(tables, terms, claim, Transcript("kat"), **keywords)
        proof, r, finals = res
        h.update(proof.to_bytes())
        h.update(F.ext_to_bytes(r))
        for e in finals:
            h.update(F.ext_to_bytes(e))
    assert h.hexdigest() == _KAT_DIGEST


def _provers():
    """(name, prove(tables, terms, claim, transcript, **keywords)) for every plain prover."""
    out = [("prove", lambda tb, tm, c, t, **kw: sumcheck.prove(tb, c, t, **kw)),
           ("prove_terms", sumcheck.prove_terms),
           ("numpy", sumcheck._prove_terms_numpy)]
    try:
        from provers.gkr import backends
        from provers.gkr.backends import torchfield as tf
    except ImportError:  # pragma: no cover - torch missing
        return out
    emu = backends.get("torch-cpu")

    def torch_prove(tables, terms, claim, t, **kw):
        dev = [tf.to_device(x, "cpu") for x in tables]
        return emu.prove_terms(dev, terms, claim, t, **kw)

    return [*out, ("torch", torch_prove)]


PROVERS = _provers()


@pytest.mark.parametrize(("name", "prover"), PROVERS, ids=[n for n, _ in PROVERS])
@pytest.mark.parametrize("v", [1, 2, 6])
@pytest.mark.parametrize("kinds", ["ebe", "bbb"])
def test_round_hook_and_stop_before_last(name, prover, v, kinds):
    # The terms leave tables 0 and 2 inside linear forms (never folded by the factored
    # provers): their two entries come from evaluating their even and odd entries.
    rng = np.random.default_rng(15 + v)
    tables = _tables(kinds, v, rng)
    terms = Z.product_terms(3) if name == "prove" else [
        (F.ext_random(rng), (0, 1)), (F.ext_random(rng), (1, 2, 2)), (F.ext_one(), (1,))]
    claim = F.ext_random(rng)
    plain = prover(tables, terms, claim, Transcript(DOMAIN))
    # an identity hook sees each round's message and the challenges so far, changing nothing
    seen = []

    def identity(i, msg, point):
        seen.append((i, msg.copy(), point.copy()))
        return msg

    same = prover(tables, terms, claim, Transcript(DOMAIN), round_hook=identity)
    assert same[0].to_bytes() == plain[0].to_bytes()
    assert [i for i, _, _ in seen] == list(range(v))
    for i, msg, point in seen:
        assert np.array_equal(msg, plain[0].round_evals[:, i, :])
        assert np.array_equal(point, plain[1][:, :i])
    # a hook that changes the message changes the proof from that round on
    changed = prover(tables, terms, claim, Transcript(DOMAIN),
                     round_hook=lambda i, msg, point: _bump(msg, (0,)) if i == v - 1 else msg)
    assert not np.array_equal(changed[0].round_evals[:, v - 1], plain[0].round_evals[:, v - 1])
    assert np.array_equal(changed[0].round_evals[:, : v - 1], plain[0].round_evals[:, : v - 1])
    # stopping before the last round: the first v-1 rounds, and every table bound to the
    # first v-1 challenges, its last variable left free
    partial, point, pairs = prover(tables, terms, claim, Transcript(DOMAIN),
                                   stop_before_last=True)
    assert np.array_equal(partial.round_evals, plain[0].round_evals[:, : v - 1])
    assert np.array_equal(point, plain[1][:, : v - 1])
    for t, pair, final in zip(tables, pairs, plain[2], strict=True):
        assert pair.shape == (4, 2)
        for bit in (0, 1):
            at = np.concatenate([point, F.ext_from_base(np.uint64(bit)).reshape(4, 1)], axis=1)
            assert np.array_equal(pair[:, bit], mle.evaluate(t, at))
        # the plain prover's last fold of the pair is its final evaluation
        r_v = plain[1][:, v - 1]
        assert np.array_equal(
            F.ext_add(pair[:, 0], F.ext_mul(r_v, F.ext_sub(pair[:, 1], pair[:, 0]))), final)


def test_keyword_errors():
    rng = np.random.default_rng(16)
    tables = _tables("ee", 3, rng)
    with pytest.raises(ValueError, match="check=True"):
        sumcheck.prove(tables, F.ext_zero(), Transcript(DOMAIN), check=True,
                       stop_before_last=True)
    with pytest.raises(ValueError, match="at least one variable"):
        sumcheck.prove_terms([t[:, :1] for t in tables], Z.product_terms(2), F.ext_zero(),
                             Transcript(DOMAIN), stop_before_last=True)
    with pytest.raises(ValueError, match="round_hook returned shape"):
        sumcheck.prove(tables, F.ext_zero(), Transcript(DOMAIN),
                       round_hook=lambda i, msg, point: msg[:, :1])

"""The masked sumcheck: a sumcheck whose round messages reveal nothing beyond its claim,
prover and verifier.

Protocol step: PROTOCOL.md, "Zero knowledge", "The masked sumcheck" (Libra, Xie et al.
CRYPTO 2019, section 4; the masking polynomial of Chiesa, Forbes and Spooner 2017). The claim

    sum over b in {0,1}^v of  f(b) + scale * D(b)  =  claim,

f = sum_t c_t prod_{j in t} T_j (sumcheck.prove_terms's form, or one product as in
sumcheck.prove), is proven on f + scale D + rho g, where g(x) = sum_i g_i(x_i) is the prover's
random mask (SumcheckMask: g_i of the round's degree, coefficients in K). Two extensions
serve the masked tensors T' = T~ + Z delta of the plan:

* a masked factor (MaskedFactor): table j stands for T'_j. Z vanishes while any variable is
  boolean, so rounds 1..v-1 are unchanged and in round v, where T_j is the line
  T_j(r', 0) + X (T_j(r', 1) - T_j(r', 0)), T'_j adds a known polynomial mask_j(X) (zero at
  0 and 1); the last round's degree d_last grows accordingly (last_round_degree);
* an output term (OutputTerm): D has two nonzero entries, D(0, 0..0) = a0 and
  D(1, 0..0) = a1, so that sum_b D(b) = a0 + a1; its round polynomials follow from
  D~(x) = (a0 (1 - x_1) + a1 x_1) prod_{j>=2} (1 - x_j) in O(1) each (no table).

Messages, in transcript order: the plain sumcheck's header (v, d, claim); G = sum over the
cube of g ("zk-sumcheck/mask-sum"), then rho is drawn ("zk-sumcheck/rho"); rounds 1..v-1 of
degree d and round v of degree d_last in compact form ("sumcheck/round", each absorbed
before its challenge "sumcheck/r"); then the mask values g(r) ("zk-sumcheck/mask-eval") and,
with an output term, d = a0 (1 - r_1) + a1 r_1 ("zk-sumcheck/output-eval"). Both mask values
are claims the caller must prove against a hiding commitment to the masks; this module only
returns them.

The verifier replays the rounds from claim + rho G and returns the value the terms must take
at r: final - rho g(r) - scale d prod_{j>=2} (1 - r_j). The verifier part (ZkSumcheckProof,
verify, last_round_degree, product_terms and the polynomial helpers) uses only field,
transcript and sumcheck's verifier functions. The prover reuses the plain provers' kernels
for rounds 1..v-1 through their round_hook and stop_before_last keywords (on any backend);
its last round works on two-entry tables, in plain numpy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from provers.gkr import field as F
from provers.gkr import sumcheck
from provers.gkr.sumcheck import SumcheckError, Term

_LABEL_MASK_SUM = b"zk-sumcheck/mask-sum"
_LABEL_RHO = b"zk-sumcheck/rho"
_LABEL_MASK_EVAL = b"zk-sumcheck/mask-eval"
_LABEL_OUTPUT_EVAL = b"zk-sumcheck/output-eval"


# --------------------------------------------------------------------------------------------
# polynomials in one variable over K: coefficients low to high, extension arrays (4, deg + 1)
# --------------------------------------------------------------------------------------------


def _poly_eval(coeffs: np.ndarray, x: np.ndarray) -> np.ndarray:
    """p(x) by Horner's rule: an extension scalar (4,)."""
    acc = F.ext_zero()
    for k in range(coeffs.shape[1] - 1, -1, -1):
        acc = F.ext_add(F.ext_mul(acc, x), np.ascontiguousarray(coeffs[:, k]))
    return acc


def _poly_add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.zeros((F.EXT_DEGREE, max(a.shape[1], b.shape[1])), np.uint64)
    out[:, : a.shape[1]] = a
    out[:, : b.shape[1]] = F.ext_add(out[:, : b.shape[1]], b)
    return out


def _poly_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.zeros((F.EXT_DEGREE, a.shape[1] + b.shape[1] - 1), np.uint64)
    for k in range(a.shape[1]):
        prod = F.ext_mul(np.ascontiguousarray(a[:, k : k + 1]), b)
        out[:, k : k + b.shape[1]] = F.ext_add(out[:, k : k + b.shape[1]], prod)
    return out


def _poly_scale(a: np.ndarray, c: np.ndarray) -> np.ndarray:
    return F.ext_mul(a, np.asarray(c, np.uint64).reshape(F.EXT_DEGREE, 1))


def _compact(coeffs: np.ndarray, degree: int) -> np.ndarray:
    """The compact round form (4, degree): the polynomial at 0, 2, ..., degree."""
    if coeffs.shape[1] > degree + 1 and np.any(coeffs[:, degree + 1 :]):
        raise ValueError(f"zk sumcheck: a round polynomial of degree above {degree}")
    return np.stack([_poly_eval(coeffs, F.ext_from_base(np.uint64(x)))
                     for x in (0, *range(2, degree + 1))], axis=1)


def _line(t0: np.ndarray, t1: np.ndarray) -> np.ndarray:
    """t0 + X (t1 - t0) as coefficients (4, 2)."""
    return np.stack([t0, F.ext_sub(t1, t0)], axis=1)


def _output_round(a0: np.ndarray, a1: np.ndarray, i: int, point: np.ndarray) -> np.ndarray:
    """Round i's polynomial (4, 2) of the two-entry table D, given the challenges point
    (4, >= i): the line a0 + X (a1 - a0) in round 0, and d prod_{1<=j<i} (1 - r_j) (1 - X)
    afterwards, d = a0 + r_0 (a1 - a0) (the other rows of D are zero)."""
    if i == 0:
        return _line(a0, a1)
    one = F.ext_one()
    c = _output_eval(a0, a1, point[:, 0])
    for j in range(1, i):
        c = F.ext_mul(c, F.ext_sub(one, point[:, j]))
    return _line(c, F.ext_zero())


def _output_eval(a0: np.ndarray, a1: np.ndarray, r0: np.ndarray) -> np.ndarray:
    return F.ext_add(a0, F.ext_mul(np.ascontiguousarray(r0), F.ext_sub(a1, a0)))


# --------------------------------------------------------------------------------------------
# verifier
# --------------------------------------------------------------------------------------------


def product_terms(num_tables: int) -> list[Term]:
    """The single term prod_j T_j of sumcheck.prove's product form."""
    return [(F.ext_one(), tuple(range(num_tables)))]


def last_round_degree(terms: Sequence[Term], mask_degrees: Mapping[int, int]) -> int:
    """d_last: the degree of the last round, where a masked factor j is a polynomial of degree
    mask_degrees[j] (its mask's degree) and every other factor a line; at least the other
    rounds' degree."""
    degree = sumcheck.terms_degree(list(terms))
    for _, idx in terms:
        degree = max(degree, sum(max(1, mask_degrees.get(j, 1)) for j in idx))
    return degree


def _check_ext(value, shape: tuple[int, ...], what: str) -> np.ndarray:
    a = np.asarray(value)
    if a.shape != (F.EXT_DEGREE, *shape):
        raise SumcheckError(f"zk sumcheck: {what} must have shape {(F.EXT_DEGREE, *shape)}, "
                            f"got {a.shape}")
    if a.dtype != np.uint64:
        raise SumcheckError(f"zk sumcheck: {what} must be uint64, got {a.dtype}")
    if a.size and int(a.max()) >= F.P:
        raise SumcheckError(f"zk sumcheck: {what}: non-canonical field element")
    return np.ascontiguousarray(a)


@dataclass(frozen=True, eq=False)
class ZkSumcheckProof:
    """The masked sumcheck's messages: G, rounds 1..v-1 (4, v-1, d) and round v (4, d_last) in
    compact form (at 0, 2, ..., degree), g(r), and d when there is an output term."""

    mask_sum: np.ndarray
    round_evals: np.ndarray
    last_evals: np.ndarray
    mask_eval: np.ndarray
    output_eval: np.ndarray | None = None

    def _parts(self) -> list[np.ndarray]:
        parts = [self.mask_sum, self.round_evals, self.last_evals, self.mask_eval]
        return parts if self.output_eval is None else [*parts, self.output_eval]

    def to_bytes(self) -> bytes:
        """G, the rounds in order, round v, g(r), then d if present; 16 bytes per element."""
        return b"".join(F.ext_to_bytes(p) for p in self._parts())

    @staticmethod
    def size_bytes(num_vars: int, degree: int, last_degree: int, has_output: bool) -> int:
        return 16 * (1 + (num_vars - 1) * degree + last_degree + 1 + int(has_output))

    @classmethod
    def from_bytes(cls, data: bytes, num_vars: int, degree: int, last_degree: int,
                   has_output: bool) -> ZkSumcheckProof:
        """Decode a proof of known shape; SumcheckError on a wrong length or a coefficient
        >= p."""
        if num_vars < 1:
            raise SumcheckError(f"zk sumcheck: needs at least one variable, got {num_vars}")
        expected = cls.size_bytes(num_vars, degree, last_degree, has_output)
        if len(data) != expected:
            raise SumcheckError(
                f"zk sumcheck proof: expected {expected} bytes for {num_vars} rounds "
                f"(degree {degree}, last {last_degree}, output term: {has_output}), "
                f"got {len(data)}")
        shapes = [(), (num_vars - 1, degree), (last_degree,), ()] + [()] * int(has_output)
        values, pos = [], 0
        for shape in shapes:
            size = 16 * int(np.prod(shape, dtype=np.int64))
            try:
                values.append(F.ext_from_bytes(data[pos : pos + size], shape))
            except ValueError as exc:
                raise SumcheckError(f"zk sumcheck proof: {exc}") from None
            pos += size
        return cls(*values)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ZkSumcheckProof):
            return NotImplemented
        return self.to_bytes() == other.to_bytes()

    __hash__ = None  # type: ignore[assignment]


def verify(claim: ArrayLike, num_vars: int, degree: int, last_degree: int,
           proof: ZkSumcheckProof, transcript, output_scale: ArrayLike | None = None
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Replay the masked sumcheck on the verifier's transcript.

    Returns (r, value, g(r), d): the point r (4, v), the value the terms must take at the
    final evaluations (final claim - rho g(r) - scale d prod_{j>=2} (1 - r_j)), and the mask
    values the caller must prove against the masks' commitment (d is None without an output
    term, i.e. when output_scale is None). Raises SumcheckError when the proof's shape does
    not match (v, d, d_last, output term) or a value is not canonical.
    """
    claim = sumcheck._as_scalar(claim)
    if num_vars < 1:
        raise SumcheckError(f"zk sumcheck: needs at least one variable, got {num_vars}")
    if not 1 <= degree <= last_degree:
        raise SumcheckError(f"zk sumcheck: degrees must satisfy 1 <= d <= d_last, got "
                            f"{degree}, {last_degree}")
    if not isinstance(proof, ZkSumcheckProof):
        raise SumcheckError(f"zk sumcheck: expected a ZkSumcheckProof, got "
                            f"{type(proof).__name__}")
    mask_sum = _check_ext(proof.mask_sum, (), "the mask's sum G")
    rounds = _check_ext(proof.round_evals, (num_vars - 1, degree), "rounds 1..v-1")
    last = _check_ext(proof.last_evals, (last_degree,), "the last round")
    mask_eval = _check_ext(proof.mask_eval, (), "g(r)")
    if (proof.output_eval is None) != (output_scale is None):
        raise SumcheckError("zk sumcheck: the proof's output term "
                            f"{'is missing' if proof.output_eval is None else 'is unexpected'}")
    output_eval = None if output_scale is None else _check_ext(proof.output_eval, (), "d")

    sumcheck._absorb_header(transcript, claim, num_vars, degree)
    transcript.absorb_ext(_LABEL_MASK_SUM, mask_sum)
    rho = transcript.challenge_ext(_LABEL_RHO)
    running = F.ext_add(claim, F.ext_mul(rho, mask_sum))
    point = np.empty((F.EXT_DEGREE, num_vars), np.uint64)
    for i in range(num_vars):
        msg = np.ascontiguousarray(rounds[:, i, :] if i < num_vars - 1 else last)
        transcript.absorb_ext(sumcheck._LABEL_ROUND, msg)
        r = transcript.challenge_ext(sumcheck._LABEL_R)
        point[:, i] = r
        running = sumcheck.interpolate_round(running, msg, r)
    transcript.absorb_ext(_LABEL_MASK_EVAL, mask_eval)
    value = F.ext_sub(running, F.ext_mul(rho, mask_eval))
    if output_eval is not None:
        transcript.absorb_ext(_LABEL_OUTPUT_EVAL, output_eval)
        tail = F.ext_mul(sumcheck._as_scalar(output_scale), output_eval)
        one = F.ext_one()
        for j in range(1, num_vars):
            tail = F.ext_mul(tail, F.ext_sub(one, point[:, j]))
        value = F.ext_sub(value, tail)
    return point, value, mask_eval, output_eval


# --------------------------------------------------------------------------------------------
# prover
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SumcheckMask:
    """The mask g(x) = sum_i g_i(x_i): coeffs[i] holds g_i's coefficients in K, low to high,
    as an extension array (4, deg_i + 1). deg_i must be the degree of round i (d, and d_last
    in the last round): a lower degree would leave part of the round message unmasked.
    Coefficients in K rather than F_p: the round messages lie in K (the challenges do), and
    rho times a base polynomial would cover only a quarter of their coordinates."""

    coeffs: tuple[np.ndarray, ...]

    @classmethod
    def random(cls, degrees: Sequence[int], rng: np.random.Generator | None = None
               ) -> SumcheckMask:
        """A uniform mask with g_i of degree degrees[i]: from os.urandom, or from rng (tests)."""
        coeffs = []
        for deg in degrees:
            shape = (F.EXT_DEGREE, int(deg) + 1)
            if rng is None:
                coeffs.append(F.secure_random(shape[0] * shape[1]).reshape(shape))
            else:
                coeffs.append(F.ext_random(rng, (shape[1],)))
        return cls(tuple(coeffs))

    @classmethod
    def for_rounds(cls, num_vars: int, degree: int, last_degree: int,
                   rng: np.random.Generator | None = None) -> SumcheckMask:
        """A random mask for v rounds of degree d and a last round of degree d_last."""
        return cls.random([degree] * (num_vars - 1) + [last_degree], rng)

    @property
    def num_vars(self) -> int:
        return len(self.coeffs)

    @property
    def degrees(self) -> tuple[int, ...]:
        return tuple(c.shape[1] - 1 for c in self.coeffs)

    def _ends(self, i: int) -> np.ndarray:
        """g_i(0) + g_i(1)."""
        c = self.coeffs[i]
        return F.ext_add(c[:, 0], F.ext_sum_all(c))

    def cube_sum(self) -> np.ndarray:
        """G = sum over {0,1}^v of g = 2^(v-1) sum_i (g_i(0) + g_i(1))."""
        total = F.ext_zero()
        for i in range(self.num_vars):
            total = F.ext_add(total, self._ends(i))
        return F.ext_mul_base(total, np.uint64(pow(2, self.num_vars - 1, F.P)))

    def round_poly(self, i: int, point: np.ndarray) -> np.ndarray:
        """Round i's polynomial (4, deg_i + 1) given the earlier challenges point (4, >= i):
        the sum over the later boolean variables of g(r_0..r_{i-1}, X, b), that is
        2^(v-1-i) (sum_{j<i} g_j(r_j) + g_i(X)) + 2^(v-2-i) sum_{j>i} (g_j(0) + g_j(1))."""
        v = self.num_vars
        const = F.ext_zero()
        for j in range(i):
            const = F.ext_add(const, _poly_eval(self.coeffs[j], point[:, j]))
        poly = _poly_add(self.coeffs[i], const.reshape(F.EXT_DEGREE, 1))
        poly = F.ext_mul_base(poly, np.uint64(pow(2, v - 1 - i, F.P)))
        if i < v - 1:
            later = F.ext_zero()
            for j in range(i + 1, v):
                later = F.ext_add(later, self._ends(j))
            later = F.ext_mul_base(later, np.uint64(pow(2, v - 2 - i, F.P)))
            poly[:, 0] = F.ext_add(poly[:, 0], later)
        return poly

    def evaluate(self, r: ArrayLike) -> np.ndarray:
        """g(r) = sum_i g_i(r_i) for r (4, v)."""
        r = np.asarray(r, np.uint64)
        total = F.ext_zero()
        for i in range(self.num_vars):
            total = F.ext_add(total, _poly_eval(self.coeffs[i], r[:, i]))
        return total


@dataclass(frozen=True)
class MaskedFactor:
    """Table ``table`` stands for a masked tensor T' = T~ + Z delta: in the last round it is
    its line plus poly(r_1..r_{v-1}), a polynomial in X given as coefficients (4, degree + 1)
    that vanishes at X = 0 and X = 1 (typically Z(r_1..r_{v-1}) X (1 - X) delta(r_1.., X))."""

    table: int
    degree: int
    poly: Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class OutputTerm:
    """scale * D(b) added to the sum: D(0, 0..0) = a0, D(1, 0..0) = a1, zero elsewhere
    (a0 + a1 = delta(z), scale = Z(z) for a masked output claim)."""

    scale: np.ndarray
    a0: np.ndarray
    a1: np.ndarray


def _mask_poly(factor: MaskedFactor, point: np.ndarray) -> np.ndarray:
    poly = np.asarray(factor.poly(point), np.uint64)
    if poly.shape != (F.EXT_DEGREE, factor.degree + 1):
        raise ValueError(f"zk sumcheck: the mask of table {factor.table} has shape "
                         f"{poly.shape}, expected {(F.EXT_DEGREE, factor.degree + 1)}")
    if np.any(poly[:, 0]) or np.any(F.ext_sum_all(poly)):
        raise ValueError(f"zk sumcheck: the mask of table {factor.table} does not vanish at "
                         f"X = 0 and X = 1")
    return poly


def prove(tables: Sequence, terms: list[Term] | None, claim: ArrayLike, transcript,
          mask: SumcheckMask, masked_factors: Sequence[MaskedFactor] = (),
          output_term: OutputTerm | None = None, backend=None
          ) -> tuple[ZkSumcheckProof, np.ndarray, list[np.ndarray], np.ndarray,
                     np.ndarray | None]:
    """Prove sum_b f(b) + scale D(b) = claim with the masked sumcheck.

    f is sum_t c_t prod_{j in t} tables[j] (terms; None: the product of the 1 to 3 tables, on
    the product kernels), tables of any backend (``backend``: a provers.gkr.backends backend,
    None for sumcheck's CPU provers on numpy tables). Returns (proof, r, finals, g(r), d):
    finals[j] is table j's MLE at r, T'_j(r) = line(r_v) + mask(r_v) for a masked factor, so
    that verify's value equals sumcheck.terms_final_value(terms, finals); g(r) and d (None
    without an output term) are the mask values the caller must prove.
    """
    claim = sumcheck._as_scalar(claim)
    term_list = product_terms(len(tables)) if terms is None else list(terms)
    size = backend.size(tables[0]) if backend is not None else np.shape(tables[0])[-1]
    v = int(size).bit_length() - 1
    if v < 1 or size != 1 << v:
        raise ValueError(f"zk sumcheck: tables of length {size}; needs a power of two >= 2")
    factors = {f.table: f for f in masked_factors}
    if len(factors) != len(masked_factors) or any(
            not 0 <= j < len(tables) for j in factors):
        raise ValueError(f"zk sumcheck: masked factors {[f.table for f in masked_factors]} "
                         f"must name distinct tables among {len(tables)}")
    if any(f.degree < 2 for f in masked_factors):
        raise ValueError("zk sumcheck: a mask vanishing at 0 and 1 has degree >= 2")
    d = sumcheck.terms_degree(term_list)
    d_last = last_round_degree(term_list, {j: f.degree for j, f in factors.items()})
    expected = (d,) * (v - 1) + (d_last,)
    if mask.degrees != expected:
        raise ValueError(f"zk sumcheck: the mask's round degrees are {mask.degrees}, the "
                         f"rounds' are {expected}")
    mask_sum = mask.cube_sum()
    state: dict[str, np.ndarray] = {}

    def begin() -> None:
        transcript.absorb_ext(_LABEL_MASK_SUM, mask_sum)
        state["rho"] = transcript.challenge_ext(_LABEL_RHO)

    def extra(i: int, point: np.ndarray) -> np.ndarray:
        """What g and D add to round i's polynomial."""
        poly = _poly_scale(mask.round_poly(i, point), state["rho"])
        if output_term is not None:
            out = _output_round(output_term.a0, output_term.a1, i, point)
            poly = _poly_add(poly, _poly_scale(out, output_term.scale))
        return poly

    def hook(i: int, msg: np.ndarray, point: np.ndarray) -> np.ndarray:
        if i == 0:
            begin()
        return F.ext_add(msg, _compact(extra(i, point), d))

    keywords = {"round_hook": hook, "stop_before_last": True}
    if terms is None:
        run = sumcheck.prove if backend is None else backend.prove_sumcheck
        partial, point, pairs = run(tables, claim, transcript, **keywords)
    else:
        run = sumcheck.prove_terms if backend is None else backend.prove_terms
        partial, point, pairs = run(tables, term_list, claim, transcript, **keywords)
    if "rho" not in state:  # v = 1: no round ran
        begin()
    # The last round: every factor a polynomial in X (a line, plus its mask if masked).
    polys = [_line(np.ascontiguousarray(p[:, 0]), np.ascontiguousarray(p[:, 1]))
             for p in pairs]
    for j, f in factors.items():
        polys[j] = _poly_add(polys[j], _mask_poly(f, point))
    last = extra(v - 1, point)
    for coeff, idx in term_list:
        prod = np.asarray(coeff, np.uint64).reshape(F.EXT_DEGREE, 1)
        for j in idx:
            prod = _poly_mul(prod, polys[j])
        last = _poly_add(last, prod)
    last_evals = _compact(last, d_last)
    transcript.absorb_ext(sumcheck._LABEL_ROUND, last_evals)
    r_last = transcript.challenge_ext(sumcheck._LABEL_R)
    r = np.concatenate([point, r_last.reshape(F.EXT_DEGREE, 1)], axis=1)
    finals = [_poly_eval(p, r_last) for p in polys]
    mask_eval = mask.evaluate(r)
    transcript.absorb_ext(_LABEL_MASK_EVAL, mask_eval)
    output_eval = None
    if output_term is not None:
        output_eval = _output_eval(output_term.a0, output_term.a1, r[:, 0])
        transcript.absorb_ext(_LABEL_OUTPUT_EVAL, output_eval)
    proof = ZkSumcheckProof(mask_sum, partial.round_evals, last_evals, mask_eval, output_eval)
    return proof, r, finals, mask_eval, output_eval


"""Requantize + ReLU: q = floor((x + 2^(s-1)) / 2^s), then y = max(0, q) (``relu``), q
(``identity``) or [q > 0] (``sign``) (PROTOCOL.md, "Requantize + ReLU"; the
advice-and-range-check form of zkCNN, Liu et al. 2021, and DeepProve).

Advice per element: quotient Q, sign bit S, remainder bits (s of them) and magnitude bits
(B of them). With R = sum_j 2^j Rbits_j and D = sum_j 2^j Dbits_j the constraints are

    c1 = X + 2^(s-1) M - 2^s Q - R = 0     (M: 1 on true entries, 0 on padding)
    c2 = S^2 - S = 0
    c3 = D - S (Q - 1) + (1 - S) Q = D - 2SQ + Q + S = 0
    every bit b: b^2 - b = 0

Sound for every input: R in [0, 2^s) makes 2^s Q = X + 2^(s-1) - R; D in [0, 2^B) with S a bit
means Q - 1 in [0, 2^B) when S = 1 and -Q in [0, 2^B) when S = 0, so Q is an integer in
(-2^B, 2^B] and, as 2^(s+B) + 2^s < p/2, the first equation holds over the integers: Q is the
true rounded quotient and S = [Q > 0] exactly (no freedom at Q = 0). The output is S * Q,
Q or S.

Reduction of a claim Y~(z) = c, each step a sumcheck whose final evaluations become claims:
1. ReLU: sum_b eq(z, b) S[b] Q[b] = c (degree 3) -> claims on S, Q. Otherwise the claim is
   Q's (identity) or S's (sign).
2. Draw z', beta: sum_b eq(z', b) (c1 + beta c2 + beta^2 c3) = 0 (degree 3) -> claims on X
   (the layer below), Q, S, and values R~(r), D~(r).
3. Recomposition R~(r) = sum_j Rbits~(r, j) 2^j: a sumcheck over j against the public vector
   of powers of two -> a claim on Rbits; the same for D.
4. Booleanity of each bits tensor: sum eq(z'', .) (b^2 - b) = 0 -> a claim on the bits.
Advice is in the clear in this version (the verifier evaluates its claims itself and checks
its padding is zero); a commitment replaces that later without changing the reduction.
"""

from __future__ import annotations

import numpy as np

from provers.gkr import field as F
from provers.gkr import mle, sumcheck
from provers.gkr import tensor as T
from provers.gkr.circuit import Requant, TensorInfo
from provers.gkr.claim import Claim
from provers.gkr.errors import SumcheckFailed


def _e(v: int) -> np.ndarray:
    return F.ext_from_base(F.encode(np.array(v, dtype=np.int64)))


def advice_values(layer: Requant, x: np.ndarray, true_shape: tuple[int, ...],
                  tensors: dict[str, TensorInfo]) -> dict[str, np.ndarray]:
    """The prover's advice for padded input x; zero on padding entries."""
    xt = x[tuple(slice(0, s) for s in true_shape)]
    half = (1 << (layer.shift - 1)) if layer.shift else 0
    q = (xt + half) >> layer.shift
    r = xt + half - (q << layer.shift)
    s = (q > 0).astype(np.int64)
    d = np.where(s == 1, q - 1, -q)
    if d.size and int(d.max()) >= 1 << layer.mag_bits:
        raise ValueError(f"requant layer {layer.out!r}: |quotient| {int(d.max())} exceeds the "
                         f"{layer.mag_bits}-bit range the circuit was compiled for")
    names = layer.advice
    out = {names["q"]: q, names["s"]: s,
           names["dbits"]: (d[..., None] >> np.arange(layer.mag_bits)) & 1}
    if layer.shift:
        out[names["rbits"]] = (r[..., None] >> np.arange(layer.shift)) & 1
    return {name: T.pad(value, tensors[name].padded) for name, value in out.items()}


def output_values(layer: Requant, advice: dict[str, np.ndarray]) -> np.ndarray:
    q, s = advice[layer.advice["q"]], advice[layer.advice["s"]]
    return {"relu": q * s, "identity": q, "sign": s}[layer.mode]


def _mask(true_shape: tuple[int, ...]) -> np.ndarray:
    return T.pad(np.ones(true_shape, dtype=np.int64))


def _powers(bits: int, padded: int) -> np.ndarray:
    return T.pad(1 << np.arange(bits, dtype=np.int64), (padded,))


def _width(layer: Requant, key: str) -> int:
    return layer.shift if key == "rbits" else layer.mag_bits


def _constraint_terms(layer: Requant, beta: np.ndarray) -> list[sumcheck.Term]:
    """Tables: 0 eq, 1 X, 2 M, 3 Q, 4 R, 5 S, 6 D."""
    b2 = F.ext_mul(beta, beta)
    half = (1 << (layer.shift - 1)) if layer.shift else 0
    return [(F.ext_one(), (0, 1)), (_e(half), (0, 2)), (_e(-(1 << layer.shift)), (0, 3)),
            (_e(-1), (0, 4)), (beta, (0, 5, 5)), (F.ext_neg(beta), (0, 5)), (b2, (0, 6)),
            (F.ext_mul(b2, _e(-2)), (0, 5, 3)), (b2, (0, 3)), (b2, (0, 5))]


_BOOL_TERMS = [(F.ext_one(), (0, 1, 1)), (F.ext_from_base(np.uint64(F.P - 1)), (0, 1))]


# ---------------------------------------------------------------------------------- prover


def _bits_matrix(bits: np.ndarray) -> np.ndarray:
    return bits.reshape(-1, bits.shape[-1])


def prove(layer: Requant, claim: Claim, values: dict[str, np.ndarray],
          tensors: dict[str, TensorInfo], channel, backend) -> list[Claim]:
    names, out = layer.advice, []
    q, s = values[names["q"]].reshape(-1), values[names["s"]].reshape(-1)
    x = values[layer.inputs[0]]
    t = channel.transcript
    if layer.mode == "relu":
        proof, r1, ev = backend.prove_sumcheck(
            [backend.eq_table(claim.point), backend.table(s), backend.table(q)], claim.value, t)
        channel.send_sumcheck(f"requant/{layer.out}/relu", proof)
        channel.send_ext(f"requant/{layer.out}/relu-evals", np.stack(ev[1:], axis=1))
        out += [Claim(names["s"], r1, ev[1]), Claim(names["q"], r1, ev[2])]
    else:
        out.append(Claim(names["q" if layer.mode == "identity" else "s"], claim.point,
                         claim.value))

    v = claim.point.shape[1]
    z = channel.challenges(f"requant/{layer.out}/point", v)
    beta = channel.challenge(f"requant/{layer.out}/beta")
    recomposed = {}
    for key in ("rbits", "dbits"):
        if key in names:
            bits = _bits_matrix(values[names[key]])
            recomposed[key] = bits @ _powers(_width(layer, key), bits.shape[1])
    r_vals = recomposed.get("rbits", np.zeros(q.size, np.int64))
    tables = [backend.eq_table(z), backend.table(x),
              backend.table(_mask(tensors[layer.inputs[0]].shape)), backend.table(q),
              backend.table(r_vals), backend.table(s), backend.table(recomposed["dbits"])]
    proof, r2, ev = backend.prove_terms(tables, _constraint_terms(layer, beta), F.ext_zero(), t)
    channel.send_sumcheck(f"requant/{layer.out}/constraints", proof)
    channel.send_ext(f"requant/{layer.out}/constraint-evals", np.stack(
        [ev[1], ev[3], ev[4], ev[5], ev[6]], axis=1))
    out += [Claim(layer.inputs[0], r2, ev[1]), Claim(names["q"], r2, ev[3]),
            Claim(names["s"], r2, ev[5])]
    for key, value_at_r in (("rbits", ev[4]), ("dbits", ev[6])):
        if key not in names:
            continue
        bits = _bits_matrix(values[names[key]])
        a = backend.row_combination(bits, backend.eq_table(r2))
        powers = backend.table(_powers(_width(layer, key), bits.shape[1]))
        proof, r3, ev3 = backend.prove_sumcheck([a, powers], value_at_r, t)
        channel.send_sumcheck(f"requant/{layer.out}/{key}-recompose", proof)
        channel.send_ext(f"requant/{layer.out}/{key}-recompose-eval", ev3[0])
        out.append(Claim(names[key], np.concatenate([r2, r3], axis=1), ev3[0]))
        zb = channel.challenges(f"requant/{layer.out}/{key}-bool-point",
                                mle.log2_exact(bits.size))
        proof, r4, ev4 = backend.prove_terms([backend.eq_table(zb), backend.table(bits)],
                                             _BOOL_TERMS, F.ext_zero(), t)
        channel.send_sumcheck(f"requant/{layer.out}/{key}-bool", proof)
        channel.send_ext(f"requant/{layer.out}/{key}-bool-eval", ev4[1])
        out.append(Claim(names[key], r4, ev4[1]))
    return out


# ---------------------------------------------------------------------------------- verifier


def verify(layer: Requant, claim: Claim, tensors: dict[str, TensorInfo], channel
           ) -> list[Claim]:
    names, out = layer.advice, []
    t = channel.transcript
    x_info = tensors[layer.inputs[0]]
    v = x_info.num_vars
    if layer.mode == "relu":
        proof = channel.recv_sumcheck(f"requant/{layer.out}/relu", v, 3)
        r1, final = sumcheck.verify(claim.value, v, 3, proof, t)
        ev = channel.recv_ext(f"requant/{layer.out}/relu-evals", 2)
        es, eq_ = ev[:, 0].copy(), ev[:, 1].copy()
        if not sumcheck.check_final(final, [mle.eq_eval(claim.point, r1), es, eq_]):
            raise SumcheckFailed(f"requant layer {layer.out!r} (ReLU product)")
        out += [Claim(names["s"], r1, es), Claim(names["q"], r1, eq_)]
    else:
        out.append(Claim(names["q" if layer.mode == "identity" else "s"], claim.point,
                         claim.value))

    z = channel.challenges(f"requant/{layer.out}/point", v)
    beta = channel.challenge(f"requant/{layer.out}/beta")
    terms = _constraint_terms(layer, beta)
    proof = channel.recv_sumcheck(f"requant/{layer.out}/constraints", v, 3)
    r2, final = sumcheck.verify(F.ext_zero(), v, 3, proof, t)
    ev = channel.recv_ext(f"requant/{layer.out}/constraint-evals", 5)
    ex, eq_, er, es, ed = (ev[:, k].copy() for k in range(5))
    evals = [mle.eq_eval(z, r2), ex, T.mask_eval(x_info.shape, r2), eq_, er, es, ed]
    if not F.ext_eq(final, sumcheck.terms_final_value(terms, evals)):
        raise SumcheckFailed(f"requant layer {layer.out!r} (constraints)")
    out += [Claim(layer.inputs[0], r2, ex), Claim(names["q"], r2, eq_),
            Claim(names["s"], r2, es)]
    for key, value_at_r in (("rbits", er), ("dbits", ed)):
        if key not in names:
            if key == "rbits" and not F.ext_eq(er, F.ext_zero()):
                raise SumcheckFailed(f"requant layer {layer.out!r} (nonzero remainder, shift 0)")
            continue
        info = tensors[names[key]]
        bit_vars = info.num_vars - v
        width = 1 << bit_vars
        proof = channel.recv_sumcheck(f"requant/{layer.out}/{key}-recompose", bit_vars, 2)
        r3, final = sumcheck.verify(value_at_r, bit_vars, 2, proof, t)
        ea = channel.recv_ext(f"requant/{layer.out}/{key}-recompose-eval")
        powers_at = mle.evaluate(F.encode(_powers(_width(layer, key), width)), r3)
        if not sumcheck.check_final(final, [ea, powers_at]):
            raise SumcheckFailed(f"requant layer {layer.out!r} ({key} recomposition)")
        out.append(Claim(names[key], np.concatenate([r2, r3], axis=1), ea))
        zb = channel.challenges(f"requant/{layer.out}/{key}-bool-point", info.num_vars)
        proof = channel.recv_sumcheck(f"requant/{layer.out}/{key}-bool", info.num_vars, 3)
        r4, final = sumcheck.verify(F.ext_zero(), info.num_vars, 3, proof, t)
        eb = channel.recv_ext(f"requant/{layer.out}/{key}-bool-eval")
        if not F.ext_eq(final, sumcheck.terms_final_value(
                _BOOL_TERMS, [mle.eq_eval(zb, r4), eb])):
            raise SumcheckFailed(f"requant layer {layer.out!r} ({key} booleanity)")
        out.append(Claim(names[key], r4, eb))
    return out


def mag_bits_for(bound_x: int, shift: int) -> int:
    half = (1 << (shift - 1)) if shift else 0
    return max(1, ((bound_x + half) >> shift).bit_length())


def bits_ok(shift: int, mag_bits: int) -> bool:
    """2^(s+B) + 2^s < p/2: no wrap-around can alias a negative value as positive."""
    return (1 << (shift + mag_bits)) + (1 << shift) < F.P // 2

"""Requantize + ReLU: q = floor((x + 2^(s-1)) / 2^s), then y = max(0, q) (``relu``), q
(``identity``) or [q > 0] (``sign``) (PROTOCOL.md, "Requantize + ReLU"; the
advice-and-range-check form of zkCNN, Liu et al. 2021, and DeepProve), with the range checks
by LogUp-GKR (PROTOCOL.md, "LogUp-GKR range checks"; provers/gkr/logup.py).

Advice per element: quotient Q, sign bit S, and a row of limbs (circuit.Requant.parts): the
remainder R (s bits) and the magnitude D (B bits, or more, see parts) as limbs of L bits, plus
for a quantity whose top limb must hold fewer than L bits an offset column
top + 2^L - 2^top_bits (the multiplicities of the table are one tensor per circuit).
With R = sum_i 2^(L i) Rlimb_i and D likewise the constraints are

    c1 = X + 2^(s-1) M - 2^s Q - R = 0     (M: 1 on true entries, 0 on padding)
    c2 = S^2 - S = 0
    c3 = D - S (Q - 1) + (1 - S) Q = D - 2SQ + Q + S = 0
    offset - top = (2^L - 2^top_bits) M
    every limb in [0, 2^L)                  (LogUp)

Sound for every input: the limbs give R in [0, 2^s) exactly (the offset column bounds the
top limb) and D in [0, 2^B') with 2^(s+B') + 2^s < p/2; D with S a bit means Q - 1 in
[0, 2^B') when S = 1 and -Q in [0, 2^B') when S = 0, so Q is an integer in (-2^B', 2^B'] and
the first equation holds over the integers: Q is the true rounded quotient and S = [Q > 0]
exactly (no freedom at Q = 0). The output is S * Q, Q or S.

Reduction of a claim Y~(z) = c, each step a sumcheck whose final evaluations become claims:
1. ReLU: sum_b eq(z, b) S[b] Q[b] = c (degree 3) -> claims on S, Q. Otherwise the claim is
   Q's (identity) or S's (sign).
2. Draw z', beta: sum_b eq(z', b) (c1 + beta c2 + beta^2 c3) = 0 (degree 3) -> claims on X
   (the layer below), Q, S, and values R~(r), D~(r).
3. Recomposition, every quantity at once: gamma; sum_q gamma^q value_q(r) =
   sum_j limbs~(r, j) W(j), W = sum_q gamma^q w_q the public limb weights (powers 2^(L i) for
   R and D, +1/-1 on offset and top for an offset, whose value is (2^L - 2^top_bits) M~(r)),
   a sumcheck over the limb axis -> a claim on the limbs.
The limbs' range check is not a step of the layer: every layer's limbs tensor of width L is
checked in one LogUp argument against [0, 2^L) after all layer reductions (Circuit.lookups,
logup.py), which leaves one more claim on the limbs. Per element this costs the limb count
(1 to 4 here) in LogUp leaves instead of s + B bits each with a booleanity sumcheck; the
table's 2^L leaves are paid once per circuit (one L for every layer, limb_bits_for).
"""

from __future__ import annotations

import numpy as np

from provers.gkr import field as F
from provers.gkr import logup, mle, sumcheck, zk_sumcheck
from provers.gkr import tensor as T
from provers.gkr.circuit import Requant, TensorInfo
from provers.gkr.claim import Claim
from provers.gkr.errors import SumcheckFailed
from provers.gkr.masks import Part
from provers.gkr.runner import PLAIN_PROVER, PLAIN_VERIFIER, MaskedTable
from provers.gkr.zk import shape_of


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
    width = layer.limb_bits
    limbs = np.zeros((*xt.shape, layer.limb_count), np.int64)
    for part in layer.parts:
        value = r if part.key == "r" else d
        for i in range(part.limbs):
            limbs[..., part.start + i] = (value >> (width * i)) & ((1 << width) - 1)
        if part.offset >= 0:
            top = limbs[..., part.start + part.limbs - 1]
            limbs[..., part.offset] = top + (1 << width) - (1 << part.top_bits)
    names = layer.advice
    out = {names["q"]: q, names["s"]: s, names["limbs"]: limbs}
    return {name: T.pad(value, tensors[name].padded) for name, value in out.items()}


def output_values(layer: Requant, advice: dict[str, np.ndarray]) -> np.ndarray:
    q, s = advice[layer.advice["q"]], advice[layer.advice["s"]]
    return {"relu": q * s, "identity": q, "sign": s}[layer.mode]


def _mask(true_shape: tuple[int, ...]) -> np.ndarray:
    return T.pad(np.ones(true_shape, dtype=np.int64))


def _constraint_terms(layer: Requant, beta: np.ndarray) -> list[sumcheck.Term]:
    """Tables: 0 eq, 1 X, 2 M, 3 Q, 4 R, 5 S, 6 D."""
    b2 = F.ext_mul(beta, beta)
    half = (1 << (layer.shift - 1)) if layer.shift else 0
    return [(F.ext_one(), (0, 1)), (_e(half), (0, 2)), (_e(-(1 << layer.shift)), (0, 3)),
            (_e(-1), (0, 4)), (beta, (0, 5, 5)), (F.ext_neg(beta), (0, 5)), (b2, (0, 6)),
            (F.ext_mul(b2, _e(-2)), (0, 5, 3)), (b2, (0, 3)), (b2, (0, 5))]


def _weights(layer: Requant, columns: int) -> list[tuple[str, np.ndarray]]:
    """Each recomposed quantity's weights over the (padded) limb axis: ("r" | "d", powers of
    2^L on its limbs), and for each offset column (key + "-offset", +1 on it, -1 on the top
    limb)."""
    out = []
    for part in layer.parts:
        w = np.zeros(columns, np.int64)
        w[part.start:part.start + part.limbs] = 1 << (layer.limb_bits * np.arange(part.limbs))
        out.append((part.key, w))
        if part.offset >= 0:
            w = np.zeros(columns, np.int64)
            w[part.offset], w[part.start + part.limbs - 1] = 1, -1
            out.append((part.key + "-offset", w))
    return out


def _offset_value(layer: Requant, key: str, mask_at_r: np.ndarray) -> np.ndarray:
    part = next(p for p in layer.parts if p.key + "-offset" == key)
    gap = (1 << layer.limb_bits) - (1 << part.top_bits)
    return F.ext_mul(_e(gap), mask_at_r)


def _combine(values: list[np.ndarray], gamma: np.ndarray) -> np.ndarray:
    total, power = F.ext_zero(), F.ext_one()
    for value in values:
        total = F.ext_add(total, F.ext_mul(power, value))
        power = F.ext_mul(power, gamma)
    return total


def _combined_weights(weights: list[tuple[str, np.ndarray]], gamma: np.ndarray
                      ) -> np.ndarray:
    return _combine([F.ext_from_base(F.encode(w)) for _, w in weights], gamma)


def _recomposed(layer: Requant, limbs: np.ndarray, key: str) -> np.ndarray:
    weights = dict(_weights(layer, limbs.shape[1]))
    if key not in weights:
        return np.zeros(limbs.shape[0], np.int64)
    return limbs @ weights[key]


def limb_bits_for(layers: list[tuple[int, int, int]]) -> int:
    """One table width L for every requant layer of a circuit, given each as (shift,
    mag_bits, padded elements): the one that minimises the LogUp leaves of the circuit's
    single range check, sum of elements * (padded limb count) + 2^L, the smaller L on a tie
    (at most logup.MAX_BITS). One width means one argument (one table, one multiplicity
    vector, the fewest trees), and the table is paid once, so a wide one is cheap."""
    best, best_cost = 1, None
    for bits in range(1, logup.MAX_BITS + 1):
        cost = 1 << bits
        for shift, mag_bits, elements in layers:
            probe = Requant("", (), shift=shift, mag_bits=mag_bits, limb_bits=bits)
            cost += elements * mle.next_pow2(probe.limb_count)
        if best_cost is None or cost < best_cost:
            best, best_cost = bits, cost
    return best


def mag_bits_for(bound_x: int, shift: int) -> int:
    half = (1 << (shift - 1)) if shift else 0
    return max(1, ((bound_x + half) >> shift).bit_length())


def bits_ok(shift: int, mag_bits: int) -> bool:
    """2^(s+B) + 2^s < p/2: no wrap-around can alias a negative value as positive."""
    return (1 << (shift + mag_bits)) + (1 << shift) < F.P // 2


# ------------------------------------------------------------------------------ reductions
# In a zero-knowledge proof (runner.py) the constraint sumcheck evaluates the recomposed R and
# D, which are no tensors of the circuit: virtual ones with masks of their own (a fresh one for
# D, and for R when the layer shifts; with shift 0, R is zero and public). The recomposition's
# sum over the limb axis does not see the limbs' mask (Z vanishes on boolean limb indices), so
# the masks of R and D at the point enter it as output terms. With one limb column a masked
# run has no recomposition sumcheck: D's mask is the column's times its weight.


def _virtual(layer: Requant, key: str) -> str:
    return f"{layer.out}#{key}"


def _limb_vars(layer: Requant, tensors: dict[str, TensorInfo]) -> int:
    return tensors[layer.advice["limbs"]].num_vars - tensors[layer.inputs[0]].num_vars


def zk_virtual(layer: Requant, tensors: dict[str, TensorInfo]) -> dict:
    """The virtual quantities and their masks (masks.MaskPlan.build's ``virtual``). With a
    single limb column (no limb variable, no recomposition sumcheck) D is that column
    times its weight, and so is its mask."""
    v = tensors[layer.inputs[0]].num_vars
    if _limb_vars(layer, tensors) == 0:
        weight = int(dict(_weights(layer, 1))["d"][0])
        return {_virtual(layer, "r"): (v, ()),
                _virtual(layer, "d"): (v, (Part(layer.advice["limbs"], weight % F.P),))}
    return {_virtual(layer, "r"): (v, None if layer.shift else ()),
            _virtual(layer, "d"): (v, None)}


def zk_claims(layer: Requant) -> dict[str, int]:
    """Claims the layer leaves on its advice (for the masks' degrees)."""
    names = layer.advice
    relu = layer.mode == "relu"
    return {names["q"]: 1 + relu, names["s"]: 1 + relu, names["limbs"]: 2,
            _virtual(layer, "r"): 2, _virtual(layer, "d"): 2}


def _relu_masked(layer: Requant) -> list[MaskedTable]:
    empty = F.ext_zero((0,))
    names = layer.advice
    return [MaskedTable(1, names["s"], empty, empty), MaskedTable(2, names["q"], empty, empty)]


def _constraint_masked(layer: Requant) -> list[MaskedTable]:
    """Tables 1 X, 3 Q, 4 R, 5 S, 6 D (0 eq and 2 M are public)."""
    empty = F.ext_zero((0,))
    names = layer.advice
    return [MaskedTable(1, layer.inputs[0], empty, empty),
            MaskedTable(3, names["q"], empty, empty),
            MaskedTable(4, _virtual(layer, "r"), empty, empty),
            MaskedTable(5, names["s"], empty, empty),
            MaskedTable(6, _virtual(layer, "d"), empty, empty)]


def _recompose_masked(layer: Requant, r2: np.ndarray) -> list[MaskedTable]:
    return [MaskedTable(0, layer.advice["limbs"], r2, F.ext_zero((0,)))]


def _recompose_outputs(layer: Requant, weights, gamma: np.ndarray, r2: np.ndarray
                          ) -> list:
    out, power = [], F.ext_one()
    for key, _ in weights:
        if key in ("r", "d"):
            out.append((power, _virtual(layer, key), r2))
        power = F.ext_mul(power, gamma)
    return out


def zk_shapes(layer: Requant, tensors: dict[str, TensorInfo], plan) -> list:
    v = tensors[layer.inputs[0]].num_vars
    limb_vars = tensors[layer.advice["limbs"]].num_vars - v
    shapes = []
    if layer.mode == "relu":
        shapes.append(shape_of(f"requant/{layer.out}/relu", plan,
                               zk_sumcheck.product_terms(3), _relu_masked(layer), v))
    shapes.append(shape_of(f"requant/{layer.out}/constraints", plan,
                           _constraint_terms(layer, F.ext_one()),
                           _constraint_masked(layer), v))
    if limb_vars:  # one limb column: no recomposition sumcheck in zero knowledge
        shapes.append(shape_of(f"requant/{layer.out}/recompose", plan,
                               zk_sumcheck.product_terms(2),
                               _recompose_masked(layer, F.ext_zero((v,))), limb_vars))
    return shapes


def prove(layer: Requant, claim: Claim, values: dict[str, np.ndarray],
          tensors: dict[str, TensorInfo], channel, backend, run=PLAIN_PROVER) -> list[Claim]:
    names, out = layer.advice, []
    q, s = values[names["q"]].reshape(-1), values[names["s"]].reshape(-1)
    x = values[layer.inputs[0]]
    if layer.mode == "relu":
        r1, ev = run.sumcheck(f"requant/{layer.out}/relu", channel, backend,
                             [backend.eq_table(claim.point), backend.table(s),
                              backend.table(q)], None, claim.value, _relu_masked(layer),
                             [(F.ext_one(), layer.out, claim.point)])
        channel.send_ext(f"requant/{layer.out}/relu-evals", np.stack(ev[1:], axis=1))
        out += [Claim(names["s"], r1, ev[1]), Claim(names["q"], r1, ev[2])]
    else:
        out.append(Claim(names["q" if layer.mode == "identity" else "s"], claim.point,
                         claim.value))

    v = claim.point.shape[1]
    z = channel.challenges(f"requant/{layer.out}/point", v)
    beta = channel.challenge(f"requant/{layer.out}/beta")
    limbs = values[names["limbs"]].reshape(q.size, -1)
    tables = [backend.eq_table(z), backend.table(x),
              backend.table(_mask(tensors[layer.inputs[0]].shape)), backend.table(q),
              backend.table(_recomposed(layer, limbs, "r")), backend.table(s),
              backend.table(_recomposed(layer, limbs, "d"))]
    r2, ev = run.sumcheck(f"requant/{layer.out}/constraints", channel, backend, tables,
                         _constraint_terms(layer, beta), F.ext_zero(),
                         _constraint_masked(layer), [])
    channel.send_ext(f"requant/{layer.out}/constraint-evals", np.stack(
        [ev[1], ev[3], ev[4], ev[5], ev[6]], axis=1))
    out += [Claim(layer.inputs[0], r2, ev[1]), Claim(names["q"], r2, ev[3]),
            Claim(names["s"], r2, ev[5])]

    weights = _weights(layer, limbs.shape[1])
    known = {"r": ev[4], "d": ev[6]}
    mask_at_r = T.mask_eval(tensors[layer.inputs[0]].shape, r2)
    gamma = channel.challenge(f"requant/{layer.out}/gamma")
    target = _combine([known[k] if k in known else _offset_value(layer, k, mask_at_r)
                       for k, _ in weights], gamma)
    if run.masked and limbs.shape[1] == 1:  # one limb column: its masked value at r2
        ea = run.evaluate(names["limbs"], backend.evaluate(values[names["limbs"]], r2), r2)
        channel.send_ext(f"requant/{layer.out}/recompose-eval", ea)
        out.append(Claim(names["limbs"], r2, ea))
        return out
    a = backend.row_combination(limbs, backend.eq_table(r2))
    r3, ev3 = run.sumcheck(f"requant/{layer.out}/recompose", channel, backend,
                          [a, _combined_weights(weights, gamma)], None, target,
                          _recompose_masked(layer, r2),
                          _recompose_outputs(layer, weights, gamma, r2))
    channel.send_ext(f"requant/{layer.out}/recompose-eval", ev3[0])
    out.append(Claim(names["limbs"], np.concatenate([r2, r3], axis=1), ev3[0]))
    return out


def verify(layer: Requant, claim: Claim, tensors: dict[str, TensorInfo], channel,
           run=PLAIN_VERIFIER) -> list[Claim]:
    names, out = layer.advice, []
    x_info = tensors[layer.inputs[0]]
    v = x_info.num_vars
    if layer.mode == "relu":
        r1, final = run.sumcheck(f"requant/{layer.out}/relu", channel, claim.value, v,
                                zk_sumcheck.product_terms(3), _relu_masked(layer),
                                [(F.ext_one(), layer.out, claim.point)])
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
    r2, final = run.sumcheck(f"requant/{layer.out}/constraints", channel, F.ext_zero(), v,
                            terms, _constraint_masked(layer), [])
    ev = channel.recv_ext(f"requant/{layer.out}/constraint-evals", 5)
    ex, eq_, er, es, ed = (ev[:, k].copy() for k in range(5))
    mask_at_r = T.mask_eval(x_info.shape, r2)
    evals = [mle.eq_eval(z, r2), ex, mask_at_r, eq_, er, es, ed]
    if not F.ext_eq(final, sumcheck.terms_final_value(terms, evals)):
        raise SumcheckFailed(f"requant layer {layer.out!r} (constraints)")
    if layer.shift == 0 and not F.ext_eq(er, F.ext_zero()):
        raise SumcheckFailed(f"requant layer {layer.out!r} (nonzero remainder, shift 0)")
    out += [Claim(layer.inputs[0], r2, ex), Claim(names["q"], r2, eq_),
            Claim(names["s"], r2, es)]

    limbs_info = tensors[names["limbs"]]
    limb_vars = limbs_info.num_vars - v
    weights = _weights(layer, 1 << limb_vars)
    known = {"r": er, "d": ed}
    gamma = channel.challenge(f"requant/{layer.out}/gamma")
    target = _combine([known[k] if k in known else _offset_value(layer, k, mask_at_r)
                       for k, _ in weights], gamma)
    if run.masked and limb_vars == 0:  # one limb column: D' = w limbs' at r2
        ea = channel.recv_ext(f"requant/{layer.out}/recompose-eval")
        weights_at = _combine([T.evaluate(w, r2[:, :0]) for _, w in weights], gamma)
        if not F.ext_eq(target, F.ext_mul(ea, weights_at)):
            raise SumcheckFailed(f"requant layer {layer.out!r} (limb recomposition)")
        out.append(Claim(names["limbs"], r2, ea))
        return out
    r3, final = run.sumcheck(f"requant/{layer.out}/recompose", channel, target, limb_vars,
                            zk_sumcheck.product_terms(2), _recompose_masked(layer, r2),
                            _recompose_outputs(layer, weights, gamma, r2))
    ea = channel.recv_ext(f"requant/{layer.out}/recompose-eval")
    weights_at = _combine([T.evaluate(w, r3) for _, w in weights], gamma)
    if not sumcheck.check_final(final, [ea, weights_at]):
        raise SumcheckFailed(f"requant layer {layer.out!r} (limb recomposition)")
    out.append(Claim(names["limbs"], np.concatenate([r2, r3], axis=1), ea))
    return out

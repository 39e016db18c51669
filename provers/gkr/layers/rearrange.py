"""Rearrangement by a fixed index map, Z[t] = X[idx[t]] (idx[t] = -1 gives 0)
(PROTOCOL.md "Rearrangement"; the im2col reduction of zkCNN, Liu et al. 2021).

Z~(z) = sum_s w(s) X[s] with w(s) = sum_{t: idx[t] = s} eq(z, t). The prover scatter-adds w in
O(|Z|) and runs one degree-2 sumcheck of w * X to a point r, ending in a claim X~(r). The
verifier needs w~(r) = sum_t eq(z, t) eq(idx[t], r), which it computes in O(|Z| + |X|) from
the two eq tables: linear in the layer's size, like reading the index map itself. Pure
relabellings of variables (power-of-two transposes) could skip the sumcheck; not yet done.
"""

from __future__ import annotations

import numpy as np

from provers.gkr import field as F
from provers.gkr import mle, sumcheck, zk_sumcheck
from provers.gkr.circuit import Rearrange
from provers.gkr.claim import Claim
from provers.gkr.errors import SumcheckFailed
from provers.gkr.zk import MaskedTable, shape_of


def _valid(layer: Rearrange) -> tuple[np.ndarray, np.ndarray]:
    flat = layer.index.reshape(-1)
    targets = np.nonzero(flat >= 0)[0]
    return targets, flat[targets]


def prove(layer: Rearrange, claim: Claim, values: dict[str, np.ndarray], tensors, channel,
          backend) -> list[Claim]:
    x = values[layer.inputs[0]]
    targets, sources = _valid(layer)
    w = backend.scatter(backend.eq_table(claim.point), targets, sources, x.size)
    proof, r, ev = backend.prove_sumcheck([w, backend.table(x)], claim.value,
                                          channel.transcript)
    channel.send_sumcheck(f"rearrange/{layer.out}/sumcheck", proof)
    channel.send_ext(f"rearrange/{layer.out}/eval", ev[1])
    return [Claim(layer.inputs[0], r, ev[1])]


def verify(layer: Rearrange, claim: Claim, tensors, channel) -> list[Claim]:
    v = tensors[layer.inputs[0]].num_vars
    proof = channel.recv_sumcheck(f"rearrange/{layer.out}/sumcheck", v, 2)
    r, final = sumcheck.verify(claim.value, v, 2, proof, channel.transcript)
    ex = channel.recv_ext(f"rearrange/{layer.out}/eval")
    targets, sources = _valid(layer)
    eqz, eqr = mle.eq_table(claim.point), mle.eq_table(r)
    w_at_r = F.ext_sum_all(F.ext_mul(eqz[:, targets], eqr[:, sources]))
    if not sumcheck.check_final(final, [w_at_r, ex]):
        raise SumcheckFailed(f"rearrange layer {layer.out!r}")
    return [Claim(layer.inputs[0], r, ex)]


# ------------------------------------------------------------------- zero knowledge (zk.py)


def _zk_masked(layer: Rearrange) -> list[MaskedTable]:
    empty = F.ext_zero((0,))
    return [MaskedTable(1, layer.inputs[0], empty, empty)]


def zk_shapes(layer: Rearrange, tensors, plan) -> list:
    v = tensors[layer.inputs[0]].num_vars
    return [shape_of(f"rearrange/{layer.out}/sumcheck", plan, zk_sumcheck.product_terms(2),
                     _zk_masked(layer), v)]


def prove_zk(layer: Rearrange, claim: Claim, values: dict[str, np.ndarray], tensors, channel,
             backend, zk) -> list[Claim]:
    x = values[layer.inputs[0]]
    targets, sources = _valid(layer)
    w = backend.scatter(backend.eq_table(claim.point), targets, sources, x.size)
    r, ev = zk.sumcheck(f"rearrange/{layer.out}/sumcheck", channel, backend,
                        [w, backend.table(x)], None, claim.value, _zk_masked(layer),
                        [(F.ext_one(), layer.out, claim.point)])
    channel.send_ext(f"rearrange/{layer.out}/eval", ev[1])
    return [Claim(layer.inputs[0], r, ev[1])]


def verify_zk(layer: Rearrange, claim: Claim, tensors, channel, zk) -> list[Claim]:
    v = tensors[layer.inputs[0]].num_vars
    r, value = zk.sumcheck(f"rearrange/{layer.out}/sumcheck", channel, claim.value, v,
                           zk_sumcheck.product_terms(2), _zk_masked(layer),
                           [(F.ext_one(), layer.out, claim.point)])
    ex = channel.recv_ext(f"rearrange/{layer.out}/eval")
    targets, sources = _valid(layer)
    eqz, eqr = mle.eq_table(claim.point), mle.eq_table(r)
    w_at_r = F.ext_sum_all(F.ext_mul(eqz[:, targets], eqr[:, sources]))
    if not sumcheck.check_final(value, [w_at_r, ex]):
        raise SumcheckFailed(f"rearrange layer {layer.out!r}")
    return [Claim(layer.inputs[0], r, ex)]

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
from provers.gkr.runner import PLAIN_PROVER, PLAIN_VERIFIER, MaskedTable
from provers.gkr.zk import shape_of


def _valid(layer: Rearrange) -> tuple[np.ndarray, np.ndarray]:
    flat = layer.index.reshape(-1)
    targets = np.nonzero(flat >= 0)[0]
    return targets, flat[targets]


def _masked(layer: Rearrange) -> list[MaskedTable]:
    empty = F.ext_zero((0,))
    return [MaskedTable(1, layer.inputs[0], empty, empty)]


def _label(layer: Rearrange) -> str:
    return f"rearrange/{layer.out}/sumcheck"


def prove(layer: Rearrange, claim: Claim, values: dict[str, np.ndarray], tensors, channel,
          backend, run=PLAIN_PROVER) -> list[Claim]:
    x = values[layer.inputs[0]]
    targets, sources = _valid(layer)
    w = backend.scatter(backend.eq_table(claim.point), targets, sources, x.size)
    r, ev = run.sumcheck(_label(layer), channel, backend, [w, backend.table(x)], None,
                         claim.value, _masked(layer), [(F.ext_one(), layer.out, claim.point)])
    channel.send_ext(f"rearrange/{layer.out}/eval", ev[1])
    return [Claim(layer.inputs[0], r, ev[1])]


def verify(layer: Rearrange, claim: Claim, tensors, channel, run=PLAIN_VERIFIER
           ) -> list[Claim]:
    v = tensors[layer.inputs[0]].num_vars
    r, final = run.sumcheck(_label(layer), channel, claim.value, v,
                            zk_sumcheck.product_terms(2), _masked(layer),
                            [(F.ext_one(), layer.out, claim.point)])
    ex = channel.recv_ext(f"rearrange/{layer.out}/eval")
    targets, sources = _valid(layer)
    eqz, eqr = mle.eq_table(claim.point), mle.eq_table(r)
    w_at_r = F.ext_sum_all(F.ext_mul(eqz[:, targets], eqr[:, sources]))
    if not sumcheck.check_final(final, [w_at_r, ex]):
        raise SumcheckFailed(f"rearrange layer {layer.out!r}")
    return [Claim(layer.inputs[0], r, ex)]


def zk_shapes(layer: Rearrange, tensors, plan) -> list:
    return [shape_of(_label(layer), plan, zk_sumcheck.product_terms(2), _masked(layer),
                     tensors[layer.inputs[0]].num_vars)]

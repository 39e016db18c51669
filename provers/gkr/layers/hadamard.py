"""Elementwise product Z = X * Y (PROTOCOL.md "Hadamard"): one degree-3 sumcheck of
sum_b eq(z, b) X[b] Y[b] to a point r, ending in claims X~(r) and Y~(r)."""

from __future__ import annotations

import numpy as np

from provers.gkr import field as F
from provers.gkr import mle, sumcheck, zk_sumcheck
from provers.gkr.circuit import Hadamard
from provers.gkr.claim import Claim
from provers.gkr.errors import SumcheckFailed
from provers.gkr.runner import PLAIN_PROVER, PLAIN_VERIFIER, MaskedTable
from provers.gkr.zk import shape_of


def _masked(layer: Hadamard) -> list[MaskedTable]:
    empty = F.ext_zero((0,))
    return [MaskedTable(1, layer.inputs[0], empty, empty),
            MaskedTable(2, layer.inputs[1], empty, empty)]


def _label(layer: Hadamard) -> str:
    return f"hadamard/{layer.out}/sumcheck"


def prove(layer: Hadamard, claim: Claim, values: dict[str, np.ndarray], tensors, channel,
          backend, run=PLAIN_PROVER) -> list[Claim]:
    x, y = (backend.table(values[name]) for name in layer.inputs)
    r, ev = run.sumcheck(_label(layer), channel, backend, [backend.eq_table(claim.point), x, y],
                         None, claim.value, _masked(layer),
                         [(F.ext_one(), layer.out, claim.point)])
    channel.send_ext(f"hadamard/{layer.out}/evals", np.stack(ev[1:], axis=1))
    return [Claim(layer.inputs[0], r, ev[1]), Claim(layer.inputs[1], r, ev[2])]


def verify(layer: Hadamard, claim: Claim, tensors, channel, run=PLAIN_VERIFIER) -> list[Claim]:
    v = tensors[layer.out].num_vars
    r, final = run.sumcheck(_label(layer), channel, claim.value, v,
                            zk_sumcheck.product_terms(3), _masked(layer),
                            [(F.ext_one(), layer.out, claim.point)])
    ev = channel.recv_ext(f"hadamard/{layer.out}/evals", 2)
    ex, ey = ev[:, 0].copy(), ev[:, 1].copy()
    if not sumcheck.check_final(final, [mle.eq_eval(claim.point, r), ex, ey]):
        raise SumcheckFailed(f"hadamard layer {layer.out!r}")
    return [Claim(layer.inputs[0], r, ex), Claim(layer.inputs[1], r, ey)]


def zk_shapes(layer: Hadamard, tensors, plan) -> list:
    return [shape_of(_label(layer), plan, zk_sumcheck.product_terms(3), _masked(layer),
                     tensors[layer.out].num_vars)]

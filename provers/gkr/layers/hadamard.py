"""Elementwise product Z = X * Y (PROTOCOL.md "Hadamard"): one degree-3 sumcheck of
sum_b eq(z, b) X[b] Y[b] to a point r, ending in claims X~(r) and Y~(r)."""

from __future__ import annotations

import numpy as np

from provers.gkr import field as F
from provers.gkr import mle, sumcheck, zk_sumcheck
from provers.gkr.circuit import Hadamard
from provers.gkr.claim import Claim
from provers.gkr.errors import SumcheckFailed
from provers.gkr.zk import MaskedTable, shape_of


def prove(layer: Hadamard, claim: Claim, values: dict[str, np.ndarray], tensors, channel,
          backend) -> list[Claim]:
    x, y = (backend.table(values[name]) for name in layer.inputs)
    proof, r, ev = backend.prove_sumcheck([backend.eq_table(claim.point), x, y], claim.value,
                                          channel.transcript)
    channel.send_sumcheck(f"hadamard/{layer.out}/sumcheck", proof)
    channel.send_ext(f"hadamard/{layer.out}/evals", np.stack(ev[1:], axis=1))
    return [Claim(layer.inputs[0], r, ev[1]), Claim(layer.inputs[1], r, ev[2])]


def verify(layer: Hadamard, claim: Claim, tensors, channel) -> list[Claim]:
    v = tensors[layer.out].num_vars
    proof = channel.recv_sumcheck(f"hadamard/{layer.out}/sumcheck", v, 3)
    r, final = sumcheck.verify(claim.value, v, 3, proof, channel.transcript)
    ev = channel.recv_ext(f"hadamard/{layer.out}/evals", 2)
    ex, ey = ev[:, 0].copy(), ev[:, 1].copy()
    if not sumcheck.check_final(final, [mle.eq_eval(claim.point, r), ex, ey]):
        raise SumcheckFailed(f"hadamard layer {layer.out!r}")
    return [Claim(layer.inputs[0], r, ex), Claim(layer.inputs[1], r, ey)]


# ------------------------------------------------------------------- zero knowledge (zk.py)


def _zk_masked(layer: Hadamard) -> list[MaskedTable]:
    empty = F.ext_zero((0,))
    return [MaskedTable(1, layer.inputs[0], empty, empty),
            MaskedTable(2, layer.inputs[1], empty, empty)]


def zk_shapes(layer: Hadamard, tensors, plan) -> list:
    v = tensors[layer.out].num_vars
    return [shape_of(f"hadamard/{layer.out}/sumcheck", plan, zk_sumcheck.product_terms(3),
                     _zk_masked(layer), v)]


def prove_zk(layer: Hadamard, claim: Claim, values: dict[str, np.ndarray], tensors, channel,
             backend, zk) -> list[Claim]:
    x, y = (backend.table(values[name]) for name in layer.inputs)
    r, ev = zk.sumcheck(f"hadamard/{layer.out}/sumcheck", channel, backend,
                        [backend.eq_table(claim.point), x, y], None, claim.value,
                        _zk_masked(layer), [(F.ext_one(), layer.out, claim.point)])
    channel.send_ext(f"hadamard/{layer.out}/evals", np.stack(ev[1:], axis=1))
    return [Claim(layer.inputs[0], r, ev[1]), Claim(layer.inputs[1], r, ev[2])]


def verify_zk(layer: Hadamard, claim: Claim, tensors, channel, zk) -> list[Claim]:
    v = tensors[layer.out].num_vars
    r, value = zk.sumcheck(f"hadamard/{layer.out}/sumcheck", channel, claim.value, v,
                           zk_sumcheck.product_terms(3), _zk_masked(layer),
                           [(F.ext_one(), layer.out, claim.point)])
    ev = channel.recv_ext(f"hadamard/{layer.out}/evals", 2)
    ex, ey = ev[:, 0].copy(), ev[:, 1].copy()
    if not sumcheck.check_final(value, [mle.eq_eval(claim.point, r), ex, ey]):
        raise SumcheckFailed(f"hadamard layer {layer.out!r}")
    return [Claim(layer.inputs[0], r, ex), Claim(layer.inputs[1], r, ey)]

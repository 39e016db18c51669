"""Elementwise product Z = X * Y (PROTOCOL.md "Hadamard"): one degree-3 sumcheck of
sum_b eq(z, b) X[b] Y[b] to a point r, ending in claims X~(r) and Y~(r)."""

from __future__ import annotations

import numpy as np

from provers.gkr import mle, sumcheck
from provers.gkr.circuit import Hadamard
from provers.gkr.claim import Claim
from provers.gkr.errors import SumcheckFailed


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

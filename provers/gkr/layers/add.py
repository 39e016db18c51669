"""Addition, and the broadcast of a bias over rows (PROTOCOL.md "add").

Z = X + Y: the prover sends X~(z) and Y~(z); the verifier checks they add up to the claim.
Z[i, l] = X[i, l] + bias[l] for the m true rows: Z~(z_i, z_l) = X~(z) + bias~(z_l) * S(z_i)
with S(z_i) = sum_{i < m} eq(z_i, i), which the verifier computes itself, so padding rows
stay zero. Z = X + c on true entries: X~(z) = Z~(z) - c M~(z) with M the mask of true entries.
No sumcheck, no soundness error beyond the claims' own. In a zero-knowledge proof the outputs'
masks are derived from the inputs' (masks.py), so these checks are identities of masked values;
the prover sends masked evaluations (``run.evaluate``).
"""

from __future__ import annotations

import numpy as np

from provers.gkr import field as F
from provers.gkr import mle
from provers.gkr import tensor as T
from provers.gkr.circuit import Add, AddBias, AddConst
from provers.gkr.claim import Claim
from provers.gkr.errors import ClaimMismatch
from provers.gkr.runner import PLAIN_PROVER, PLAIN_VERIFIER


def _points(layer, claim: Claim, out_shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(layer, AddBias):
        row_vars = mle.log2_exact(out_shape[0])
        return claim.point, claim.point[:, row_vars:]
    return claim.point, claim.point


def _const_claim(layer: AddConst, claim: Claim, tensors) -> list[Claim]:
    """Z = X + c M: X~(z) = Z~(z) - c M~(z); nothing is sent."""
    mask = T.mask_eval(tensors[layer.out].shape, claim.point)
    c = F.encode(np.array(layer.c, dtype=np.int64))
    return [Claim(layer.inputs[0], claim.point, F.ext_sub(claim.value, F.ext_mul_base(mask, c)))]


def prove(layer: Add | AddBias | AddConst, claim: Claim, values: dict[str, np.ndarray], tensors,
          channel, backend, run=PLAIN_PROVER) -> list[Claim]:
    if isinstance(layer, AddConst):
        return _const_claim(layer, claim, tensors)
    x, y = values[layer.inputs[0]], values[layer.inputs[1]]
    zx, zy = _points(layer, claim, values[layer.out].shape)
    ex = run.evaluate(layer.inputs[0], backend.evaluate(x, zx), zx)
    ey = run.evaluate(layer.inputs[1], backend.evaluate(y, zy), zy)
    channel.send_ext(f"{layer.kind}/{layer.out}/evals", np.stack([ex, ey], axis=1))
    return [Claim(layer.inputs[0], zx, ex), Claim(layer.inputs[1], zy, ey)]


def verify(layer: Add | AddBias | AddConst, claim: Claim, tensors, channel,
           run=PLAIN_VERIFIER) -> list[Claim]:
    if isinstance(layer, AddConst):
        return _const_claim(layer, claim, tensors)
    out_shape = tensors[layer.out].padded
    zx, zy = _points(layer, claim, out_shape)
    evals = channel.recv_ext(f"{layer.kind}/{layer.out}/evals", 2)
    ex, ey = evals[:, 0].copy(), evals[:, 1].copy()
    if isinstance(layer, AddBias):
        row_vars = mle.log2_exact(out_shape[0])
        eq_rows = mle.eq_table(claim.point[:, :row_vars])
        rows_sum = F.ext_sum_all(eq_rows[:, :layer.rows])
        expected = F.ext_add(ex, F.ext_mul(ey, rows_sum))
    else:
        expected = F.ext_add(ex, ey)
    if not F.ext_eq(expected, claim.value):
        raise ClaimMismatch(f"{layer.kind} layer {layer.out!r}")
    return [Claim(layer.inputs[0], zx, ex), Claim(layer.inputs[1], zy, ey)]



def zk_shapes(layer, tensors, plan) -> list:
    return []

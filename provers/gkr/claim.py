"""Claims "T~(z) = c" and the merge of several claims on one tensor into one.

Merge (PROTOCOL.md, Flow step 3): draw alpha, then one degree-2 sumcheck proves
sum_j alpha^j c_j = sum_b (sum_j alpha^j eq(z_j, b)) T[b], ending in a single claim on T at
the sumcheck's point. The claims' values are already in the transcript when alpha is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from provers.gkr import field as F
from provers.gkr import mle, sumcheck
from provers.gkr.errors import SumcheckFailed


@dataclass(frozen=True)
class Claim:
    tensor: str
    point: np.ndarray
    """(4, v) extension point, MSB-first."""
    value: np.ndarray
    """(4,) extension scalar."""


def alpha_powers(alpha: np.ndarray, count: int) -> list[np.ndarray]:
    powers = [F.ext_one()]
    for _ in range(count - 1):
        powers.append(F.ext_mul(powers[-1], alpha))
    return powers


def combined_value(claims: list[Claim], powers: list[np.ndarray]) -> np.ndarray:
    total = F.ext_zero()
    for c, a in zip(claims, powers, strict=True):
        total = F.ext_add(total, F.ext_mul(a, c.value))
    return total


def prove_merge(claims: list[Claim], values: np.ndarray, channel, backend) -> Claim:
    name = claims[0].tensor
    alpha = channel.challenge(f"merge/{name}/alpha")
    powers = alpha_powers(alpha, len(claims))
    weight = backend.eq_combination([c.point for c in claims], powers)
    proof, r, finals = backend.prove_sumcheck([weight, backend.table(values)],
                                              combined_value(claims, powers),
                                              channel.transcript)
    channel.send_sumcheck(f"merge/{name}/sumcheck", proof)
    channel.send_ext(f"merge/{name}/eval", finals[1])
    return Claim(name, r, finals[1])


def verify_merge(claims: list[Claim], num_vars: int, channel) -> Claim:
    name = claims[0].tensor
    alpha = channel.challenge(f"merge/{name}/alpha")
    powers = alpha_powers(alpha, len(claims))
    proof = channel.recv_sumcheck(f"merge/{name}/sumcheck", num_vars, 2)
    r, final = sumcheck.verify(combined_value(claims, powers), num_vars, 2, proof,
                               channel.transcript)
    value = channel.recv_ext(f"merge/{name}/eval")
    weight_at_r = F.ext_zero()
    for c, a in zip(claims, powers, strict=True):
        weight_at_r = F.ext_add(weight_at_r, F.ext_mul(a, mle.eq_eval(c.point, r)))
    if not sumcheck.check_final(final, [weight_at_r, value]):
        raise SumcheckFailed(f"the merge of {len(claims)} claims on {name!r}")
    return Claim(name, r, value)


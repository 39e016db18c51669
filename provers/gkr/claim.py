"""Claims "T~(z) = c" and the merge of several claims on one tensor into one.

Merge (PROTOCOL.md, Flow step 3): draw alpha, then one degree-2 sumcheck proves
sum_j alpha^j c_j = sum_b (sum_j alpha^j eq(z_j, b)) T[b], ending in a single claim on T at
the sumcheck's point. The claims' values are already in the transcript when alpha is drawn.
In a zero-knowledge proof (runner.py) the claims are on the masked T', whose masks at the
points, sum_j alpha^j mask_T(z_j), enter the sum as output terms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from provers.gkr import field as F
from provers.gkr import mle, sumcheck
from provers.gkr.errors import SumcheckFailed
from provers.gkr.runner import PLAIN_PROVER, PLAIN_VERIFIER, MaskedTable


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


def _masked(name: str) -> list[MaskedTable]:
    empty = F.ext_zero((0,))
    return [MaskedTable(1, name, empty, empty)]


def _outputs(claims: list[Claim], powers: list[np.ndarray]) -> list:
    return [(a, c.tensor, c.point) for c, a in zip(claims, powers, strict=True)]


def merge_label(name: str) -> str:
    return f"merge/{name}/sumcheck"


def merge_masked(name: str) -> list[MaskedTable]:
    """The merge's masked tables (for zk.schedule): the tensor's own, table 1."""
    return _masked(name)


def prove_merge(claims: list[Claim], values: np.ndarray, channel, backend,
                run=PLAIN_PROVER) -> Claim:
    name = claims[0].tensor
    alpha = channel.challenge(f"merge/{name}/alpha")
    powers = alpha_powers(alpha, len(claims))
    weight = backend.eq_combination([c.point for c in claims], powers)
    r, finals = run.sumcheck(merge_label(name), channel, backend,
                             [weight, backend.table(values)], None,
                             combined_value(claims, powers), _masked(name),
                             _outputs(claims, powers))
    channel.send_ext(f"merge/{name}/eval", finals[1])
    return Claim(name, r, finals[1])


def verify_merge(claims: list[Claim], num_vars: int, channel, run=PLAIN_VERIFIER) -> Claim:
    name = claims[0].tensor
    alpha = channel.challenge(f"merge/{name}/alpha")
    powers = alpha_powers(alpha, len(claims))
    r, final = run.sumcheck(merge_label(name), channel, combined_value(claims, powers),
                            num_vars, [(F.ext_one(), (0, 1))], _masked(name),
                            _outputs(claims, powers))
    value = channel.recv_ext(f"merge/{name}/eval")
    weight_at_r = F.ext_zero()
    for c, a in zip(claims, powers, strict=True):
        weight_at_r = F.ext_add(weight_at_r, F.ext_mul(a, mle.eq_eval(c.point, r)))
    if not sumcheck.check_final(final, [weight_at_r, value]):
        raise SumcheckFailed(f"the merge of {len(claims)} claims on {name!r}")
    return Claim(name, r, value)

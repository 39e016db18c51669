"""Multiplication by a nonzero integer constant: Z~(z) = c X~(z), so the claim on X is c^-1
times the claim on Z. Nothing is sent; a zero-knowledge proof (``run``) changes nothing: the
output's mask is c times the input's (masks.py)."""

from __future__ import annotations

import numpy as np

from provers.gkr import field as F
from provers.gkr.circuit import Scale
from provers.gkr.claim import Claim


def _reduce(layer: Scale, claim: Claim) -> list[Claim]:
    c_inv = F.inv(F.encode(np.array(layer.c, dtype=np.int64)))
    return [Claim(layer.inputs[0], claim.point, F.ext_mul_base(claim.value, c_inv))]


def prove(layer: Scale, claim: Claim, values: dict[str, np.ndarray], tensors, channel,
          backend, run=None) -> list[Claim]:
    return _reduce(layer, claim)


def verify(layer: Scale, claim: Claim, tensors, channel, run=None) -> list[Claim]:
    return _reduce(layer, claim)


def zk_shapes(layer, tensors, plan) -> list:
    return []

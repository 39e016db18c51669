"""Typed verification failures: each says which check failed and in which layer."""

from __future__ import annotations

from provers.base import MalformedProof, ProofRejected

__all__ = ["ClaimMismatch", "LeafMismatch", "MalformedProof", "RangeCheckFailed",
           "SumcheckFailed", "UnsupportedCircuit"]


class SumcheckFailed(ProofRejected):
    """A sumcheck's final claim is not the product of the factors' claimed evaluations."""

    def __init__(self, where: str) -> None:
        super().__init__(f"sumcheck failed in {where}")
        self.where = where


class ClaimMismatch(ProofRejected):
    """A layer's claimed evaluations do not combine to the claim it had to prove."""

    def __init__(self, where: str) -> None:
        super().__init__(f"claimed evaluations do not add up in {where}")
        self.where = where


class RangeCheckFailed(ProofRejected):
    """A LogUp range check's two sums differ (or a root denominator is zero): some value is
    outside the table, or a multiplicity is wrong."""

    def __init__(self, where: str) -> None:
        super().__init__(f"range check failed in {where}")
        self.where = where


class LeafMismatch(ProofRejected):
    """A claim on a public tensor (input, weight, output, advice) is not its true evaluation."""

    def __init__(self, tensor: str) -> None:
        super().__init__(f"claim on public tensor {tensor!r} is false")
        self.tensor = tensor


class UnsupportedCircuit(ValueError):
    """The compiler cannot express a model as a circuit (names the node and why)."""

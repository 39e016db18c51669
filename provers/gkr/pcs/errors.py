"""Typed rejections of a Ligero opening: each names the check that failed."""

from __future__ import annotations

from provers.base import ProofRejected


class CommitmentMismatch(ProofRejected):
    """The opening was made for a different commitment than the verifier holds."""


class MerklePathInvalid(ProofRejected):
    """The opened columns and Merkle nodes do not hash to the committed root."""


class ProximityFailed(ProofRejected):
    """The random row combination is not consistent with the opened columns: the committed
    rows are not (close to) codewords."""


class ColumnMismatch(ProofRejected):
    """A claimed row combination is not consistent with the opened columns."""


class OpeningMismatch(ProofRejected):
    """The opened row combination does not give the claimed evaluation."""

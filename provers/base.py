"""The prover protocol and its error tree.

A prover turns a quantized model into proofs. It never times itself and never catches its own
failures to hide them: the runner owns timing, memory and the outcome of every stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

import numpy as np

from zkbench.types import Artifact, Capabilities, Keys, Proof, Size, Witness

if TYPE_CHECKING:
    from zkbench.qmodel import QuantizedModel


class ProverError(Exception):
    """Base of every error a prover raises on purpose."""


class Unsupported(ProverError):
    """The prover cannot take this model, size or backend; the runner records a ``skip`` row."""


class ProofRejected(ProverError):
    """The verifier rejected the proof. The message says which check failed, and where."""


class MalformedProof(ProofRejected):
    """The proof bytes do not parse: truncated, extended, wrong version, non-canonical values."""


@runtime_checkable
class Prover(Protocol):
    """What the runner calls, stage by stage. ``verify`` returns True or raises ProofRejected."""

    name: ClassVar[str]

    def version(self) -> str: ...

    def capabilities(self) -> Capabilities: ...

    def available(self) -> str | None:
        """None when the prover can run on this machine, else the reason it cannot."""
        ...

    def skip_reason(self, model: QuantizedModel, size: Size, backend: str) -> str | None: ...

    def compile(self, model: QuantizedModel, workdir: Path) -> Artifact: ...

    def setup(self, artifact: Artifact) -> Keys: ...

    def witness(self, artifact: Artifact, x: np.ndarray) -> Witness:
        """Compute everything the proof needs from the quantized input ``x``."""
        ...

    def prove(self, artifact: Artifact, keys: Keys, witness: Witness) -> Proof: ...

    def verify(self, artifact: Artifact, keys: Keys, proof: Proof) -> bool: ...


class BaseProver:
    """Defaults shared by the in-tree provers: CPU only, always available, every op it lists."""

    name: ClassVar[str] = ""

    def __init__(self, backend: str = "cpu") -> None:
        self.backend = backend

    def version(self) -> str:
        from zkbench import __version__

        return __version__

    def available(self) -> str | None:
        return None

    def skip_reason(self, model: QuantizedModel, size: Size, backend: str) -> str | None:
        caps = self.capabilities()
        if backend not in caps.backends:
            return f"{self.name} has no backend {backend!r} (it has {', '.join(caps.backends)})"
        missing = sorted({node.op for node in model.nodes} - caps.ops)
        if missing:
            return f"{self.name} does not support op(s) {', '.join(missing)}"
        return None

    def capabilities(self) -> Capabilities:  # pragma: no cover - every prover overrides
        raise NotImplementedError


class RecordedWeightsDigest:
    """Mixin for a peer proving the committed-weights statement through a digest of the weights
    that its circuit makes public: ``setup`` records the digest in ``keys.data[digest_key]``;
    ``prove`` attaches that recorded digest to the proof's meta; ``verify`` rejects a proof
    that claims another digest, then runs the peer's own verification, which checks the proof
    against the recorded digest. Put it before the peer's class in the bases."""

    digest_key: ClassVar[str]

    def prove(self, artifact: Artifact, keys: Keys, witness: Witness) -> Proof:
        proof = super().prove(artifact, keys, witness)
        return Proof(data=proof.data, statement=proof.statement,
                     meta={self.digest_key: keys.data[self.digest_key]})

    def verify(self, artifact: Artifact, keys: Keys, proof: Proof) -> bool:
        claimed = proof.meta.get(self.digest_key)
        recorded = keys.data[self.digest_key]
        if claimed is not None and claimed != recorded:
            raise ProofRejected(f"{self.name}: the proof's {self.digest_key.replace('_', ' ')} "
                                f"{claimed} differs from the one recorded at setup {recorded}")
        return super().verify(artifact, keys, proof)

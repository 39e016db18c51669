"""``gkr``: the reference GKR prover as a zkbench prover.

Statement (v1): inference with public weights, input and output. BabyBear with every challenge
in its degree-4 extension; Fiat-Shamir over SHA-256. ``security_bits`` in capabilities is the
floor the compiler enforces; each circuit's own figure (from its rounds and degrees) is
reported per cell.

Backends (provers/gkr/backends): ``cpu`` (numpy + numba), ``cuda`` (PyTorch on a GPU) and
``torch-cpu`` (the same PyTorch code on the CPU); all three write byte-identical proofs. A
backend that cannot run here (``cuda`` without a GPU) makes ``available()`` give the reason,
so the runner records a ``skip`` row, and ``compile`` raise Unsupported: never a CPU run
under a GPU label. ``backend_used`` is the backend that ran, None where none can.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import ClassVar

import numpy as np

from provers.base import BaseProver, MalformedProof, ProofRejected, Unsupported
from provers.gkr import backends, verifier
from provers.gkr import field as F
from provers.gkr import prover as gkr_prover
from provers.gkr.circuit import Circuit
from provers.gkr.compile import SUPPORTED_OPS, compile_model, tensor_values
from provers.gkr.errors import UnsupportedCircuit
from zkbench.qmodel import QuantizedModel
from zkbench.types import Artifact, Capabilities, Keys, Proof, Statement, Witness

FIELD_BITS = 4 * math.log2(F.P)
MIN_SECURITY_BITS = 100


class GkrProver(BaseProver):
    name: ClassVar[str] = "gkr"

    def capabilities(self) -> Capabilities:
        return Capabilities(field="BabyBear^4", security_bits=MIN_SECURITY_BITS, zk=False,
                            statement="public", backends=backends.NAMES, ops=SUPPORTED_OPS)

    def available(self) -> str | None:
        if self.backend not in backends.NAMES:
            return None  # skip_reason names the unknown backend and the known ones
        return backends.unavailable(self.backend)

    @property
    def backend_used(self) -> str | None:
        return None if self.available() else self.backend

    def unavailable_backends(self) -> dict[str, str]:
        """Backend -> why it cannot run here, for each backend that cannot (zkbench list)."""
        reasons = {name: backends.unavailable(name) for name in backends.NAMES}
        return {name: why for name, why in reasons.items() if why}

    def security_bits(self, artifact: Artifact) -> int:
        return artifact.data[1].security_bits(FIELD_BITS)

    def compile(self, model: QuantizedModel, workdir: Path) -> Artifact:
        try:
            backend = backends.get(self.backend)
        except backends.BackendUnavailable as exc:
            raise Unsupported(str(exc)) from None
        try:
            circuit = compile_model(model)
        except UnsupportedCircuit as exc:
            raise Unsupported(str(exc)) from None
        bits = circuit.security_bits(FIELD_BITS)
        if bits < MIN_SECURITY_BITS:
            raise Unsupported(f"circuit would have only {bits} bits of security")
        # Compile (or load) the numba kernels, or initialise the GPU, here, so that no timed
        # proving stage pays for it.
        backend.warmup()
        return Artifact(workdir=workdir, data=(model, circuit), digest=circuit.digest().hex())

    def setup(self, artifact: Artifact) -> Keys:
        circuit: Circuit = artifact.data[1]
        # Public-weights statement: the verifier's key is the circuit itself, weights included
        # (4 bytes per field element); the prover needs nothing more.
        size = len(json.dumps(circuit.description())) + 4 * sum(
            w.size for w in circuit.weights.values())
        return Keys(pk_bytes=size, vk_bytes=size)

    def witness(self, artifact: Artifact, x: np.ndarray) -> Witness:
        model, circuit = artifact.data
        values = tensor_values(model, circuit, np.asarray(x))
        y = _unpad(values[circuit.output], circuit.tensors[circuit.output].shape)
        return Witness(Statement(input=np.asarray(x), output=y), data=values)

    def prove(self, artifact: Artifact, keys: Keys, witness: Witness) -> Proof:
        circuit: Circuit = artifact.data[1]
        data = gkr_prover.prove(circuit, witness.data,
                                backend=backends.get(self.backend)).proof_bytes()
        return Proof(data=data, statement=witness.statement)

    def verify(self, artifact: Artifact, keys: Keys, proof: Proof) -> bool:
        circuit: Circuit = artifact.data[1]
        try:
            return verifier.verify(circuit, proof.statement.input, proof.statement.output,
                                   proof.data)
        except ProofRejected:
            raise
        except ValueError as exc:  # malformed values the channel did not classify
            raise MalformedProof(f"gkr proof: {exc}") from None


def _unpad(values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    return np.ascontiguousarray(values[tuple(slice(0, s) for s in shape)])

"""``gkr``, ``gkr-cw``, ``gkr-ca`` and ``gkr-zk``: the reference GKR prover as zkbench provers.

Statements. ``gkr`` (``statement="public"``): inference with public weights, input and output;
the verifier reads the weights and evaluates their MLEs itself. ``gkr-cw``
(``statement="committed-weights"``): the weights are committed once in ``setup`` (Ligero,
provers/gkr/pcs; the commitment is the verifying key's, absorbed before any challenge), and
every proof ends with an opening of the claims GKR leaves on them (committed.py); the
verifying key holds the circuit's shapes and layers but no weight. ``gkr-zk`` proves that
statement in zero knowledge (PROTOCOL.md, "Zero knowledge"; zk_prover.py).

Advice (the requant layers' quotients, signs, range-check limbs and multiplicities):
``advice="committed"`` commits it with Ligero at the start of every proof and opens the
claims on it with the weights' (one set of queries), so the proof no longer grows with it;
``advice="clear"`` sends it in the proof for the verifier to evaluate itself. ``gkr-cw``
commits it; ``gkr`` sends it in the clear, as committing cost 1.7x its prove time on VGG-16
(measured with bit-decomposed range checks), and ``gkr-ca`` is ``gkr`` with committed advice.

Both: BabyBear with every challenge in its degree-4 extension; Fiat-Shamir over SHA-256.
``security_bits`` in capabilities is the floor the compiler enforces; each circuit's own
figure (from its rounds and degrees and the commitments' openings) is reported per cell.

Backends (provers/gkr/backends): ``cpu`` (numpy + numba), ``cuda`` (PyTorch on a GPU) and
``torch-cpu`` (the same PyTorch code on the CPU); all three write byte-identical proofs. A
backend that cannot run here (``cuda`` without a GPU) makes ``available()`` give the reason,
so the runner records a ``skip`` row, and ``compile`` raise Unsupported: never a CPU run
under a GPU label. ``backend_used`` is the backend that ran, None where none can.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from provers.base import BaseProver, MalformedProof, ProofRejected, Unsupported
from provers.gkr import (
    backends,
    committed,
    committed_prover,
    logup,
    verifier,
    zk,
    zk_opening,
    zk_prover,
)
from provers.gkr import field as F
from provers.gkr import prover as gkr_prover
from provers.gkr.circuit import Circuit
from provers.gkr.compile import SUPPORTED_OPS, compile_model, tensor_values
from provers.gkr.errors import UnsupportedCircuit
from provers.gkr.masks import MaskPlan
from provers.gkr.pcs import ligero
from provers.gkr.pcs.params import DEFAULT, Commitment, choose_cols
from zkbench.qmodel import QuantizedModel
from zkbench.types import Artifact, Capabilities, Keys, Proof, Statement, Witness

FIELD_BITS = 4 * math.log2(F.P)
MIN_SECURITY_BITS = 100
STATEMENTS = ("public", "committed-weights")
ADVICE_MODES = ("committed", "clear")


@dataclass(frozen=True)
class VerifyingKey:
    """All the verifier reads: the circuit (without weights for committed-weights), when
    weights are committed their layout and commitment, and when advice is committed its
    layout (each proof carries the advice commitment's root)."""

    circuit: Circuit
    layout: committed.Layout | None = None
    commitment: Commitment | None = None
    advice: committed.Layout | None = None
    masks: object = None
    """zk.MaskLayout of a zero-knowledge proof's mask vector (``gkr-zk``)."""

    def size_bytes(self) -> int:
        size = len(json.dumps(self.circuit.description()))
        size += 4 * sum(w.size for w in self.circuit.weights.values())
        if self.layout is not None:
            size += len(json.dumps(self.layout.description())) + len(
                self.commitment.to_bytes())
        if self.advice is not None:
            size += len(json.dumps(self.advice.description()))
        return size


@dataclass(frozen=True)
class GkrKeys:
    vk: VerifyingKey
    matrix: object = None
    """The prover's committed matrix (ligero.CommittedMatrix) for committed-weights."""


class GkrProver(BaseProver):
    name: ClassVar[str] = "gkr"
    default_statement: ClassVar[str] = "public"

    default_advice: ClassVar[str] = "clear"

    def __init__(self, backend: str = "cpu", statement: str | None = None,
                 advice: str | None = None) -> None:
        super().__init__(backend)
        self.statement = statement or self.default_statement
        if self.statement not in STATEMENTS:
            raise ValueError(f"gkr: unknown statement {self.statement!r}; known: "
                             f"{', '.join(STATEMENTS)}")
        advice = advice or self.default_advice
        if advice not in ADVICE_MODES:
            raise ValueError(f"gkr: unknown advice mode {advice!r}; known: "
                             f"{', '.join(ADVICE_MODES)}")
        self.advice = advice

    @property
    def committed(self) -> bool:
        return self.statement == "committed-weights"

    def capabilities(self) -> Capabilities:
        return Capabilities(field="BabyBear^4", security_bits=MIN_SECURITY_BITS, zk=False,
                            statement=self.statement, backends=backends.NAMES, ops=SUPPORTED_OPS)

    def _layouts(self, circuit: Circuit) -> tuple[committed.Layout | None,
                                                   committed.Layout | None]:
        return _layouts(circuit, self.committed, self.advice == "committed")

    def _bits(self, circuit: Circuit) -> int:
        weights, advice = self._layouts(circuit)
        if weights is None and advice is None:
            return circuit.security_bits(FIELD_BITS)
        uses = circuit.consumers()
        claims = 0 if weights is None else sum(uses[name] for name in weights.slots)
        claims += 0 if advice is None else committed.advice_claim_count(circuit)
        cols = (weights or advice).cols
        error = (circuit.soundness_error_terms() / 2.0**FIELD_BITS
                 + committed.security_error(cols, claims, DEFAULT))
        return math.floor(-math.log2(error))

    def _refusal(self, circuit: Circuit) -> str | None:
        """Why this prover cannot prove a compiled circuit (None: it can)."""
        return None

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
        return self._bits(artifact.data[1])

    def compile(self, model: QuantizedModel, workdir: Path) -> Artifact:
        try:
            backend = backends.get(self.backend)
        except backends.BackendUnavailable as exc:
            raise Unsupported(str(exc)) from None
        try:
            circuit = compile_model(model)
        except UnsupportedCircuit as exc:
            raise Unsupported(str(exc)) from None
        reason = self._refusal(circuit)
        if reason:
            raise Unsupported(reason)
        bits = self._bits(circuit)
        if bits < MIN_SECURITY_BITS:
            raise Unsupported(f"circuit would have only {bits} bits of security")
        # Compile (or load) the numba kernels, or initialise the GPU, here, so that no timed
        # proving stage pays for it.
        backend.warmup()
        ligero.warmup()
        return Artifact(workdir=workdir, data=(model, circuit), digest=circuit.digest().hex())

    def setup(self, artifact: Artifact) -> Keys:
        circuit: Circuit = artifact.data[1]
        layout, advice = self._layouts(circuit)
        if not self.committed:
            # Public weights: the verifier's key is the circuit itself, weights included
            # (4 bytes per field element); the prover needs nothing more.
            vk = VerifyingKey(circuit, advice=advice)
            return Keys(data=GkrKeys(vk), pk_bytes=vk.size_bytes(), vk_bytes=vk.size_bytes())
        matrix = committed_prover.commit(layout, circuit.weights, DEFAULT)
        vk = VerifyingKey(dataclasses.replace(circuit, weights={}), layout, matrix.commitment,
                          advice)
        pk_bytes = vk.size_bytes() + matrix.values.nbytes + matrix.columns.nbytes
        return Keys(data=GkrKeys(vk, matrix), pk_bytes=pk_bytes, vk_bytes=vk.size_bytes())

    def witness(self, artifact: Artifact, x: np.ndarray) -> Witness:
        model, circuit = artifact.data
        values = tensor_values(model, circuit, np.asarray(x))
        y = _unpad(values[circuit.output], circuit.tensors[circuit.output].shape)
        return Witness(Statement(input=np.asarray(x), output=y), data=values)

    def prove(self, artifact: Artifact, keys: Keys, witness: Witness) -> Proof:
        k: GkrKeys = keys.data
        backend = backends.get(self.backend)
        if not self.committed:
            circuit: Circuit = artifact.data[1]
            data = gkr_prover.prove(circuit, witness.data, advice=k.vk.advice,
                                    backend=backend).proof_bytes()
        else:
            data = gkr_prover.prove(k.vk.circuit, witness.data,
                                    committed=(k.vk.layout, k.matrix),
                                    advice=k.vk.advice, backend=backend).proof_bytes()
        return Proof(data=data, statement=witness.statement)

    def verify(self, artifact: Artifact, keys: Keys, proof: Proof) -> bool:
        """Reads only the verifying key (``keys.data.vk``), never the artifact's weights."""
        vk: VerifyingKey = keys.data.vk
        extra = None if vk.layout is None else (vk.layout, vk.commitment)
        try:
            return verifier.verify(vk.circuit, proof.statement.input, proof.statement.output,
                                   proof.data, committed=extra, advice=vk.advice)
        except ProofRejected:
            raise
        except ValueError as exc:  # malformed values the channel did not classify
            raise MalformedProof(f"gkr proof: {exc}") from None


class GkrCommittedProver(GkrProver):
    """``gkr`` proving the committed-weights statement (a name of its own, so sweeps and
    reports compare it with the other committed-weights provers)."""

    name: ClassVar[str] = "gkr-cw"
    default_statement: ClassVar[str] = "committed-weights"
    default_advice: ClassVar[str] = "committed"


class GkrCommittedAdviceProver(GkrProver):
    """``gkr`` (public weights) with its advice committed: proofs of about a megabyte
    instead of tens, for the commitment's cost in prove time."""

    name: ClassVar[str] = "gkr-ca"
    default_advice: ClassVar[str] = "committed"


class GkrZkProver(GkrProver):
    """``gkr`` in zero knowledge (PROTOCOL.md, "Zero knowledge"): the committed-weights
    statement, the weights committed with hiding Ligero in setup, every proof committing a
    fresh mask vector and running every sumcheck masked, and one zero-knowledge opening at
    the end (with the advice, committed with hiding by the proof); the proof reveals
    nothing beyond the statement. Randomised: two proofs of one statement differ. The
    weights stay hidden for about k / (t + 4) proofs of one setup (PROTOCOL.md)."""

    name: ClassVar[str] = "gkr-zk"
    default_statement: ClassVar[str] = "committed-weights"
    default_advice: ClassVar[str] = "committed"

    def capabilities(self) -> Capabilities:
        return Capabilities(field="BabyBear^4", security_bits=MIN_SECURITY_BITS, zk=True,
                            statement=self.statement, backends=backends.NAMES,
                            ops=SUPPORTED_OPS, deterministic=False)

    def _bits(self, circuit: Circuit) -> int:
        """The circuit's terms, each masked sumcheck's extra ones (rho, and its last round's
        degree beyond the others'), and the opening's (zk_opening.security_error) for every
        claim it opens: one per weight claim, and per masked sumcheck g(r) and at most one
        output value."""
        layout, advice, masks = _zk_layouts(circuit)
        terms = circuit.soundness_error_terms()
        terms += sum(s.last_degree - s.degree + 1 for s in masks.shapes)
        for bits, names in circuit.lookups().items():
            terms += logup.zk_error_terms([circuit.tensors[n].size for n in names], bits,
                                          masks.plan)
        claims = sum(circuit.consumers()[name] for name in layout.slots)
        claims += 0 if advice is None else committed.advice_claim_count(circuit)
        claims += 2 * len(masks.shapes)
        error = (terms / 2.0**FIELD_BITS
                 + zk_opening.security_error(layout.cols, claims, claims, DEFAULT))
        return math.floor(-math.log2(error))

    def _refusal(self, circuit: Circuit) -> str | None:
        return zk.unsupported(circuit)

    def setup(self, artifact: Artifact) -> Keys:
        circuit: Circuit = artifact.data[1]
        layout, advice, masks = _zk_layouts(circuit)
        matrix = ligero.commit(layout.vector(circuit.weights), layout.cols, DEFAULT,
                               hiding=True, mask_rows=0)
        vk = VerifyingKey(dataclasses.replace(circuit, weights={}), layout, matrix.commitment,
                          advice, masks=masks)
        pk_bytes = vk.size_bytes() + matrix.message.nbytes + matrix.columns.nbytes
        return Keys(data=GkrKeys(vk, matrix), pk_bytes=pk_bytes, vk_bytes=vk.size_bytes())

    def prove(self, artifact: Artifact, keys: Keys, witness: Witness) -> Proof:
        k: GkrKeys = keys.data
        data = zk_prover.prove(k.vk.circuit, witness.data, k.vk.layout, k.matrix, k.vk.masks,
                               backends.get(self.backend), advice=k.vk.advice).proof_bytes()
        return Proof(data=data, statement=witness.statement)

    def verify(self, artifact: Artifact, keys: Keys, proof: Proof) -> bool:
        vk: VerifyingKey = keys.data.vk
        try:
            return verifier.verify_zk(vk.circuit, proof.statement.input,
                                      proof.statement.output, proof.data, vk.layout,
                                      vk.commitment, vk.masks, vk.advice)
        except ProofRejected:
            raise
        except ValueError as exc:
            raise MalformedProof(f"gkr proof: {exc}") from None


def _zk_layouts(circuit: Circuit) -> tuple[committed.Layout, committed.Layout | None,
                                            zk.MaskLayout]:
    """The weights' and the advice's layouts (one column count k, at least 512: the random
    half of each row absorbs the column openings and the opening's row combinations,
    PROTOCOL.md) and the mask vector's."""
    tensors = [circuit.tensors[n] for n in sorted(circuit.weights)]
    extra = [circuit.tensors[n] for n in circuit.advice()]
    total = max(sum(t.size for t in tensors + extra), 1)
    cols = max(choose_cols(total, DEFAULT, opened_rows=2), 512)
    layout = committed.Layout.build(tensors, DEFAULT, cols)
    advice = committed.advice_layout(circuit, cols, DEFAULT)
    plan = MaskPlan.build(circuit, extra_claims=zk.extra_claims(circuit),
                          virtual=zk.virtual_tensors(circuit))
    shapes = zk.schedule(circuit, plan, cols.bit_length())
    return layout, advice, zk.MaskLayout.build(plan, shapes, cols)


def _layouts(circuit: Circuit, weights: bool, advice: bool
             ) -> tuple[committed.Layout | None, committed.Layout | None]:
    """The committed matrices' layouts (weights, advice), None for what is not committed.
    Opened with one set of queries, they share one column count, chosen for their total
    size."""
    tensors = [circuit.tensors[n] for n in sorted(circuit.weights)] if weights else []
    extra = [circuit.tensors[n] for n in circuit.advice()] if advice else []
    if not tensors and not extra:
        return None, None
    cols = choose_cols(max(sum(t.size for t in tensors + extra), 1), DEFAULT, opened_rows=2)
    return (committed.Layout.build(tensors, DEFAULT, cols) if weights else None,
            committed.advice_layout(circuit, cols, DEFAULT) if advice else None)


def _unpad(values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    return np.ascontiguousarray(values[tuple(slice(0, s) for s in shape)])

"""The prover conformance kit: completeness, tamper rejection, reproducibility, bad input.

Each check asserts the specific outcome: an honest proof returns True; every tampered proof
raises ``ProofRejected`` (never returns, never crashes with another error).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from provers.base import ProofRejected
from zkbench import registry
from zkbench.cell import build
from zkbench.qmodel import QuantizedModel
from zkbench.types import Artifact, Keys, Proof

FLIP_POSITIONS = 24


@dataclass
class Case:
    prover: Any
    qmodel: QuantizedModel
    x: np.ndarray
    artifact: Artifact
    keys: Keys
    proof: Proof


def prepare(prover_name: str, workload: str = "matmul", size: str = "n=16", seed: int = 0,
            backend: str = "cpu", workdir: Path | None = None) -> Case:
    """Build, quantize, compile, set up, and prove one statement."""
    prover = registry.create_prover(prover_name, backend)
    w = registry.create_workload(workload)
    _, x, qmodel = build(w, size, seed)
    xq = qmodel.quantize_input(x)
    workdir = workdir or Path(tempfile.mkdtemp(prefix="zkbench-conformance-"))
    artifact = prover.compile(qmodel, workdir)
    keys = prover.setup(artifact)
    proof = prover.prove(artifact, keys, prover.witness(artifact, xq))
    return Case(prover, qmodel, xq, artifact, keys, proof)


def assert_rejected(case: Case, proof: Proof, what: str) -> None:
    try:
        accepted = case.prover.verify(case.artifact, case.keys, proof)
    except ProofRejected:
        return
    raise AssertionError(f"{case.prover.name}: {what} was not rejected (verify -> {accepted!r})")


def flip_positions(length: int, count: int = FLIP_POSITIONS) -> list[int]:
    """The first and last byte and evenly spread ones between."""
    if length == 0:
        return []
    return sorted(set(np.linspace(0, length - 1, min(count, length)).astype(int).tolist()))


class ProverConformance:
    """Subclass and set ``prover_name`` (and optionally ``workload``, ``size``)."""

    prover_name: ClassVar[str]
    workload: ClassVar[str] = "matmul"
    size: ClassVar[str] = "n=16"
    backend: ClassVar[str] = "cpu"

    @pytest.fixture(scope="class")
    @classmethod
    def case(cls, tmp_path_factory: pytest.TempPathFactory) -> Case:
        prover = registry.create_prover(cls.prover_name, cls.backend)
        reason = prover.available()
        if reason:
            pytest.skip(f"{cls.prover_name} unavailable here: {reason}")
        return prepare(cls.prover_name, cls.workload, cls.size, backend=cls.backend,
                       workdir=tmp_path_factory.mktemp(cls.prover_name))

    def _sound(self, case: Case) -> None:
        if not case.prover.capabilities().sound:
            pytest.skip(f"{self.prover_name} proves nothing (sound=False)")

    def test_honest_proof_verifies(self, case: Case) -> None:
        assert case.prover.verify(case.artifact, case.keys, case.proof) is True

    def test_output_matches_reference_inference(self, case: Case) -> None:
        self._sound(case)
        expected = case.qmodel.output(case.x)
        assert np.array_equal(np.asarray(case.proof.statement.output), expected)

    def test_flipped_bytes_rejected(self, case: Case) -> None:
        self._sound(case)
        positions = flip_positions(len(case.proof.data))
        if not positions:
            pytest.skip("empty proof")
        for pos in positions:
            for mask in (0x01, 0x80):
                data = bytearray(case.proof.data)
                data[pos] ^= mask
                assert_rejected(case, case.proof.with_data(bytes(data)),
                                f"proof with byte {pos} xor {mask:#x}")

    def test_truncated_and_extended_rejected(self, case: Case) -> None:
        self._sound(case)
        data = case.proof.data
        assert_rejected(case, case.proof.with_data(data[:-1]), "proof truncated by one byte")
        assert_rejected(case, case.proof.with_data(data + b"\0"), "proof extended by one byte")
        assert_rejected(case, case.proof.with_data(b""), "empty proof")

    def test_wrong_output_rejected(self, case: Case) -> None:
        self._sound(case)
        for delta in (1, -1):
            out = np.array(case.proof.statement.output, dtype=np.int64, copy=True)
            out.reshape(-1)[out.size // 2] += delta
            assert_rejected(case, case.proof.with_output(out), f"output changed by {delta}")

    def test_wrong_input_rejected(self, case: Case) -> None:
        self._sound(case)
        x = np.array(case.proof.statement.input, dtype=np.int64, copy=True)
        x.reshape(-1)[0] += 1
        bad = Proof(case.proof.data, case.proof.statement.__class__(x, case.proof.statement.output))
        assert_rejected(case, bad, "proof paired with a changed input")

    def test_seeded_runs_reproducible(self, case: Case, tmp_path: Path) -> None:
        again = prepare(self.prover_name, self.workload, self.size, backend=self.backend,
                        workdir=tmp_path)
        assert np.array_equal(again.proof.statement.output, case.proof.statement.output)
        assert np.array_equal(again.x, case.x)
        if case.prover.capabilities().deterministic:
            assert again.proof.data == case.proof.data

    def test_bad_input_shape_errors(self, case: Case) -> None:
        wrong = np.zeros((*case.x.shape[:-1], case.x.shape[-1] + 1), dtype=np.int64)
        with pytest.raises(ValueError, match="shape"):
            case.prover.witness(case.artifact, wrong)

"""The committed-weights statement (``gkr-cw``): weights committed in setup with Ligero,
opened at the end of every proof; the verifier's key holds no weights."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from provers.base import ProofRejected
from provers.gkr import prover as gkr_prover
from provers.gkr.adapter import GkrCommittedProver, GkrKeys, GkrProver
from provers.gkr.errors import SumcheckFailed
from tests.onnx_models import mlp_model, small_cnn
from zkbench import registry
from zkbench.quantize import quantize
from zkbench.testing import ProverConformance
from zkbench.types import Artifact, Keys, Proof


class TestGkrCommittedConformance(ProverConformance):
    prover_name = "gkr-cw"


def _case(tmp: Path, model, xs):
    q = quantize(model, xs[:8], output_kind="scores")
    prover = GkrCommittedProver()
    artifact = prover.compile(q, tmp)
    keys = prover.setup(artifact)
    x = q.quantize_input(xs[8])
    witness = prover.witness(artifact, x)
    return q, prover, artifact, keys, witness, prover.prove(artifact, keys, witness)


@pytest.fixture(scope="module")
def mlp_case(tmp_path_factory):
    rng = np.random.default_rng(0)
    model = mlp_model(rng, dims=(32, 48, 48, 10))
    xs = rng.normal(0, 1, (16, 1, 32)).astype(np.float32)
    return _case(Path(tmp_path_factory.mktemp("mlp")), model, xs)


def test_statement_and_registry():
    assert GkrCommittedProver().capabilities().statement == "committed-weights"
    assert GkrProver().capabilities().statement == "public"
    assert GkrProver(statement="committed-weights").committed
    assert registry.create_prover("gkr-cw").capabilities().statement == "committed-weights"
    with pytest.raises(ValueError, match="unknown statement"):
        GkrProver(statement="zk")


def test_proof_verifies_from_the_verifying_key_alone(mlp_case):
    q, prover, artifact, keys, witness, proof = mlp_case
    assert np.array_equal(proof.statement.output, q.output(witness.statement.input))
    vk_only = Keys(data=GkrKeys(keys.data.vk), vk_bytes=keys.vk_bytes)
    assert prover.verify(Artifact(workdir=Path("."), data=None), vk_only, proof) is True
    assert prover.security_bits(artifact) >= 100


def test_verifying_key_holds_no_weights(mlp_case):
    _, _, artifact, keys, _, _ = mlp_case
    circuit = artifact.data[1]
    vk = keys.data.vk
    assert vk.circuit.weights == {}
    blob = pickle.dumps(vk)
    for name, w in circuit.weights.items():
        if w.size >= 64:  # long enough that a chance match is impossible
            assert np.ascontiguousarray(w, "<i8").tobytes() not in blob, name
            assert np.ascontiguousarray(w, "<i4").tobytes() not in blob, name
    assert keys.vk_bytes < 4 * sum(w.size for w in circuit.weights.values())


def test_proving_other_weights_is_rejected(mlp_case):
    """A prover that runs the circuit with weights other than the committed ones."""
    _, prover, artifact, keys, witness, proof = mlp_case
    values = dict(witness.data)
    name = next(n for n in sorted(artifact.data[1].weights) if values[n].ndim == 2)
    values[name] = values[name].copy()
    values[name][0, 0] += 1
    k = keys.data
    forged = gkr_prover.prove(k.vk.circuit, values, committed=(k.vk.layout, k.matrix),
                              advice=k.vk.advice)
    with pytest.raises(ProofRejected):
        prover.verify(artifact, keys, proof.with_data(forged.proof_bytes()))


def test_weights_claims_reach_the_commitment(mlp_case):
    """Changing the claimed weight evaluations breaks the column sumcheck."""
    _, prover, artifact, keys, witness, proof = mlp_case
    channel = gkr_prover.prove(keys.data.vk.circuit, witness.data,
                               committed=(keys.data.vk.layout, keys.data.matrix),
                               advice=keys.data.vk.advice)
    assert channel.proof_bytes() == proof.data
    start, end = next((s, e) for label, s, e in channel.layout if label == "committed/evals")
    data = bytearray(proof.data)
    data[start] ^= 1
    with pytest.raises(SumcheckFailed, match="column sumcheck"):
        prover.verify(artifact, keys, proof.with_data(bytes(data)))


def test_proof_for_another_commitment_is_rejected(tmp_path, mlp_case):
    q, prover, artifact, keys, witness, proof = mlp_case
    rng = np.random.default_rng(1)
    other_model = mlp_model(rng, dims=(32, 48, 48, 10))
    other = quantize(other_model, rng.normal(0, 1, (8, 1, 32)).astype(np.float32),
                     output_kind="scores")
    other_keys = prover.setup(prover.compile(other, tmp_path))
    assert other_keys.data.vk.commitment.root != keys.data.vk.commitment.root
    # The commitment enters the transcript first, so every later check sees other
    # challenges: some reduction or the opening rejects.
    with pytest.raises(ProofRejected):
        prover.verify(artifact, other_keys, proof)


def test_tampered_bytes_are_rejected(mlp_case):
    _, prover, artifact, keys, _, proof = mlp_case
    data = proof.data
    for pos in range(8, len(data), max(1, len(data) // 30)):
        bad = bytearray(data)
        bad[pos] ^= 0x10
        with pytest.raises(ProofRejected):
            prover.verify(artifact, keys, Proof(bytes(bad), proof.statement))


def test_cnn_with_committed_weights(tmp_path):
    rng = np.random.default_rng(2)
    model = small_cnn(rng)
    xs = rng.normal(0, 1, (16, 1, 1, 8, 8)).astype(np.float32)
    _, prover, artifact, keys, _, proof = _case(tmp_path, model, xs)
    assert prover.verify(artifact, keys, proof)


def test_committed_verifier_never_imports_the_prover_side():
    code = ("import sys, provers.gkr.verifier; bad = [m for m in ('provers.gkr.prover', "
            "'provers.gkr.committed_prover', 'provers.gkr.pcs.ligero') if m in sys.modules]; "
            "sys.exit(1 if bad else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0

"""GKR through the harness: conformance kit on matmul, and a quantized ONNX MLP end to end."""

from pathlib import Path

import numpy as np
import pytest

from provers.base import ProofRejected
from provers.gkr.adapter import GkrProver
from tests.onnx_models import mlp_model, small_cnn, small_tree
from zkbench.quantize import quantize
from zkbench.testing import ProverConformance


class TestGkrConformance(ProverConformance):
    prover_name = "gkr"


class TestGkrConformanceLargerMatmul(ProverConformance):
    prover_name = "gkr"
    size = "n=128"


@pytest.fixture(scope="module")
def mlp_case(tmp_path_factory):
    rng = np.random.default_rng(0)
    model = mlp_model(rng, dims=(32, 48, 48, 10))
    xs = rng.normal(0, 1, (16, 1, 32)).astype(np.float32)
    q = quantize(model, xs[:8], output_kind="scores")
    prover = GkrProver()
    artifact = prover.compile(q, Path(tmp_path_factory.mktemp("mlp")))
    keys = prover.setup(artifact)
    x = q.quantize_input(xs[8])
    proof = prover.prove(artifact, keys, prover.witness(artifact, x))
    return q, prover, artifact, keys, x, proof


def test_mlp_uses_every_layer_kind(mlp_case):
    _, _, artifact, *_ = mlp_case
    kinds = {layer.kind for layer in artifact.data[1].layers}
    assert {"matmul", "add_bias", "requant", "scale", "add_const"} <= kinds


def test_mlp_proof_verifies_and_matches_integer_inference(mlp_case):
    q, prover, artifact, keys, x, proof = mlp_case
    assert np.array_equal(proof.statement.output, q.output(x))
    assert prover.verify(artifact, keys, proof) is True
    assert prover.security_bits(artifact) >= 100


def test_mlp_tampering_is_rejected(mlp_case):
    _, prover, artifact, keys, _, proof = mlp_case
    out = proof.statement.output.copy()
    out[0, 3] += 1
    with pytest.raises(ProofRejected):
        prover.verify(artifact, keys, proof.with_output(out))
    data = bytearray(proof.data)
    for pos in range(0, len(data), max(1, len(data) // 40)):
        bad = bytearray(data)
        bad[pos] ^= 0x10
        with pytest.raises(ProofRejected):
            prover.verify(artifact, keys, proof.with_data(bytes(bad)))


@pytest.mark.parametrize("name", ["cnn", "tree", "deep-mlp"])
def test_models_prove_end_to_end(name, tmp_path):
    rng = np.random.default_rng(5)
    if name == "cnn":
        model, xs = small_cnn(rng), rng.uniform(0, 1, (9, 1, 1, 8, 8)).astype(np.float32)
    elif name == "tree":
        model, xs = small_tree(), rng.uniform(-1, 1, (9, 4, 3)).astype(np.float32)
    else:
        model = mlp_model(rng, dims=(32, 48, 48, 48, 10))
        xs = rng.normal(0, 1, (9, 1, 32)).astype(np.float32)
    q = quantize(model, xs[:8], output_kind="scores")
    prover = GkrProver()
    artifact = prover.compile(q, tmp_path)
    keys = prover.setup(artifact)
    x = q.quantize_input(xs[8])
    proof = prover.prove(artifact, keys, prover.witness(artifact, x))
    assert np.array_equal(proof.statement.output, q.output(x))
    assert prover.verify(artifact, keys, proof) is True
    bad = proof.statement.output.copy()
    bad.reshape(-1)[0] += 1
    with pytest.raises(ProofRejected):
        prover.verify(artifact, keys, proof.with_output(bad))

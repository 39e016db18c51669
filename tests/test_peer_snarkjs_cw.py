"""``snarkjs-groth16-cw``: Groth16 proving "y = f_W(x) for the committed W".

The model is a tiny two-layer perceptron (3 -> 2 -> 2, 14 weights: one Poseidon link, 672
constraints, powers of tau 2^10), so every test runs in seconds to a minute without a large
ceremony. Checked: the conformance kit; a proof made with other weights of the same shapes,
valid under the same verifying key for its own digest, rejected by the digest recorded at
setup; an edited digest rejected; verification with the weights and salt erased; the circuit
the same for any weights of the same shapes and bounds; the honest skip above the ceremony
limit; ``zkbench prove`` / ``verify`` and ``zkbench run`` on an ONNX file.

Needs node and npm, like tests/test_peer_snarkjs.py; the module skips cleanly without them.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from provers.base import ProofRejected, Unsupported
from provers.snarkjs import circuit as C
from provers.snarkjs import encoding, formats, tools
from provers.snarkjs.adapter import SnarkjsGroth16CommittedProver, calculate_witness
from tests.onnx_models import mlp_model
from zkbench.qmodel import QuantizedModel
from zkbench.quantize import quantize
from zkbench.testing import ProverConformance
from zkbench.testing.conformance import Case
from zkbench.types import Artifact, Keys, Proof, Statement

pytestmark = pytest.mark.peers

REPO = Path(__file__).resolve().parent.parent
NAME = "snarkjs-groth16-cw"


@pytest.fixture(scope="module", autouse=True)
def node_tools() -> None:
    reason = tools.ensure_installed()
    if reason:
        pytest.skip(f"snarkjs-groth16-cw unavailable here: {reason}")


def tiny_float_model() -> onnx.ModelProto:
    return mlp_model(np.random.default_rng(0), dims=(3, 2, 2))


def tiny_model() -> tuple[QuantizedModel, np.ndarray]:
    """The quantized tiny perceptron and one quantized input to prove."""
    rng = np.random.default_rng(1)
    calibration = rng.normal(size=(8, 1, 3)).astype(np.float32)
    qmodel = quantize(tiny_float_model(), calibration)
    return qmodel, qmodel.quantize_input(rng.normal(size=(1, 3)).astype(np.float32))


def prepare_tiny(workdir: Path) -> Case:
    """``zkbench.testing.prepare`` for the tiny model: compile, set up, prove."""
    prover = SnarkjsGroth16CommittedProver()
    qmodel, x = tiny_model()
    artifact = prover.compile(qmodel, workdir)
    keys = prover.setup(artifact)
    proof = prover.prove(artifact, keys, prover.witness(artifact, x))
    return Case(prover, qmodel, x, artifact, keys, proof)


def negated(qmodel: QuantizedModel) -> QuantizedModel:
    """The same model with every weight negated: same shapes, same static bounds."""
    return dataclasses.replace(qmodel, constants={k: -v for k, v in qmodel.constants.items()})


class TestSnarkjsCommittedConformance(ProverConformance):
    """The conformance kit on the tiny model (the kit's own matmul n=16 needs 2^14)."""

    prover_name = NAME

    @pytest.fixture(scope="class")
    @classmethod
    def case(cls, tmp_path_factory: pytest.TempPathFactory) -> Case:
        return prepare_tiny(tmp_path_factory.mktemp("cw"))

    def test_seeded_runs_reproducible(self, case: Case, tmp_path: Path) -> None:
        again = prepare_tiny(tmp_path)
        assert np.array_equal(again.proof.statement.output, case.proof.statement.output)
        assert again.proof.data != case.proof.data  # fresh r, s: Groth16's zero knowledge
        # A fresh compile draws a fresh salt, so the same weights get another digest.
        assert again.keys.data["weights_digest"] != case.keys.data["weights_digest"]

    def test_statement_and_settings(self, case: Case) -> None:
        caps = case.prover.capabilities()
        assert caps.statement == "committed-weights" and caps.zk is True
        settings = dict(kv.split("=", 1)
                        for kv in case.prover.settings(case.artifact, case.keys).split())
        assert settings["weights_digest"] == case.keys.data["weights_digest"]
        assert settings["weights"] == "14"
        assert int(settings["constraints"]) == case.artifact.data[1].header.n_constraints
        assert int(settings["hash_constraints"]) == C.POSEIDON_CONSTRAINTS

    def test_digest_is_public_signal_zero(self, case: Case) -> None:
        wtns = case.artifact.data[1].workdir / "witness.wtns"
        (digest,) = formats.read_wtns(wtns, 1, 1)
        assert str(digest) == case.keys.data["weights_digest"]
        assert case.proof.meta == {"weights_digest": case.keys.data["weights_digest"]}

    def test_other_weights_rejected(self, case: Case, tmp_path: Path) -> None:
        """Negated weights through the same wasm and zkey give a proof that snarkjs accepts
        for its own digest; verify rejects it, since it uses the digest recorded at setup."""
        prover, keys, compiled = case.prover, case.keys, case.artifact.data[1]
        other_weights = -compiled.circuit.weights
        assert not np.array_equal(other_weights, compiled.circuit.weights)
        other = dataclasses.replace(compiled, workdir=tmp_path, circuit=dataclasses.replace(
            compiled.circuit, weights=other_weights))
        wtns = calculate_witness(other, case.x, "other")
        path = tmp_path / "other-proof.json"
        tools.driver("prove", keys.data["zkey"], wtns, path, cwd=tmp_path)
        forged = json.loads(path.read_text())
        n_out = int(np.prod(compiled.circuit.output_shape))
        y = C.from_field([int(v) for v in forged["publicSignals"][1:1 + n_out]],
                         compiled.circuit.output_shape)
        assert not np.array_equal(y, case.proof.statement.output)
        assert np.array_equal(y, negated(case.qmodel).output(case.x))
        assert forged["publicSignals"][0] != keys.data["weights_digest"]
        # Valid for its own public signals under the same verifying key.
        claim = tmp_path / "claim.json"
        claim.write_text(json.dumps(forged))
        assert json.loads(tools.driver("verify", keys.data["vk"], claim, cwd=tmp_path)) == {
            "verified": True}
        proof = Proof(data=encoding.encode(forged["proof"]), statement=Statement(case.x, y))
        with pytest.raises(ProofRejected, match="pairing check failed"):
            prover.verify(case.artifact, keys, proof)
        claimed = Proof(data=proof.data, statement=proof.statement,
                        meta={"weights_digest": forged["publicSignals"][0]})
        with pytest.raises(ProofRejected, match="differs from the one recorded at setup"):
            prover.verify(case.artifact, keys, claimed)

    def test_edited_digest_rejected(self, case: Case) -> None:
        keys = case.keys
        edited = Keys(data={**keys.data,
                            "weights_digest": str((int(keys.data["weights_digest"]) + 1) % C.P)})
        honest = Proof(data=case.proof.data, statement=case.proof.statement)
        assert case.prover.verify(case.artifact, keys, honest) is True
        with pytest.raises(ProofRejected, match="pairing check failed"):
            case.prover.verify(case.artifact, edited, honest)
        with pytest.raises(ProofRejected, match="differs from the one recorded at setup"):
            case.prover.verify(case.artifact, edited, case.proof)

    def test_verifier_never_reads_the_weights(self, case: Case) -> None:
        """Verify with every weight value and the salt erased from the artifact, and keys
        holding only the verifying key and the digest (no zkey)."""
        qmodel, compiled = case.artifact.data
        blind_model = dataclasses.replace(
            qmodel, constants={k: np.zeros_like(v) for k, v in qmodel.constants.items()})
        blind = dataclasses.replace(compiled, salt=None, circuit=dataclasses.replace(
            compiled.circuit, weights=np.zeros_like(compiled.circuit.weights)))
        artifact = Artifact(workdir=case.artifact.workdir, data=(blind_model, blind),
                            digest=case.artifact.digest)
        keys = Keys(data={"vk": case.keys.data["vk"],
                          "weights_digest": case.keys.data["weights_digest"]})
        assert case.prover.verify(artifact, keys, case.proof) is True
        with pytest.raises(ProofRejected):
            case.prover.verify(artifact, keys, case.proof.with_output(
                case.proof.statement.output + 1))


def test_circuit_depends_on_shapes_and_bounds_only() -> None:
    """Other weights with the same shapes and bounds: the same committed circuit, while the
    public one (weights as constants) changes."""
    qmodel, _ = tiny_model()
    other = negated(qmodel)
    assert C.generate(other, committed=True).source == C.generate(qmodel,
                                                                  committed=True).source
    assert C.generate(other).source != C.generate(qmodel).source
    committed = C.generate(qmodel, committed=True)
    assert np.array_equal(committed.weights, np.concatenate(
        [qmodel.constants[k].reshape(-1) for k in qmodel.constants]))


def test_salt_is_kept_per_folder(tmp_path: Path) -> None:
    from provers.snarkjs.adapter import _salt

    (tmp_path / "other").mkdir()
    first, again, other = _salt(tmp_path), _salt(tmp_path), _salt(tmp_path / "other")
    assert first == again != other
    assert 0 <= first < C.P


def test_circuits_above_the_ceremony_limit_are_skipped(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    """matmul n=16 with committed weights: 4096 product gates and 18 Poseidon links need 2^14;
    with no cached ceremony and the inline limit at 2^12 compile names the power and the
    command (the runner's skip row)."""
    from zkbench import registry
    from zkbench.cell import build

    monkeypatch.setattr(tools, "cached_powers", lambda: [])
    monkeypatch.setenv("ZKBENCH_SNARKJS_MAX_POWER", "12")
    _, _, qmodel = build(registry.create_workload("matmul"), "n=16", 0)
    circuit = C.generate(qmodel, committed=True)
    assert circuit.product_gates == 16**3
    assert circuit.hash_constraints == 18 * C.POSEIDON_CONSTRAINTS
    with pytest.raises(Unsupported, match=r"2\^14, above the 2\^12 available.*"
                                          r"provers\.snarkjs\.tools ptau 14"):
        SnarkjsGroth16CommittedProver().compile(qmodel, tmp_path)
    assert not (tmp_path / "circom" / "model.r1cs").exists()


@pytest.fixture(scope="module")
def onnx_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "tiny.onnx"
    onnx.save(tiny_float_model(), str(path))
    return path


def test_cli_prove_then_verify(onnx_file: Path, tmp_path: Path) -> None:
    """``zkbench verify`` compiles again into the proof's folder: it must find the salt and
    the keys there, so the digest it records matches the proof's."""
    cli = [sys.executable, "-m", "zkbench.cli"]
    out = tmp_path / "proof"
    subprocess.run([*cli, "prove", "--prover", NAME, "--model", str(onnx_file), "--out",
                    str(out)], cwd=REPO, check=True, capture_output=True, timeout=600)
    ok = subprocess.run([*cli, "verify", str(out)], cwd=REPO, capture_output=True, text=True,
                        timeout=600)
    assert ok.returncode == 0, ok.stderr
    (out / "circom" / "weights.salt").write_text("1")  # another salt: another digest
    bad = subprocess.run([*cli, "verify", str(out)], cwd=REPO, capture_output=True, text=True,
                         timeout=600)
    assert bad.returncode == 1 and "pairing check failed" in bad.stderr


def test_zkbench_run_rows(onnx_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    subprocess.run([sys.executable, "-m", "zkbench.cli", "run", "--provers", NAME, "--model",
                    str(onnx_file), "--out", str(out), "--quiet"],
                   cwd=REPO, check=True, capture_output=True, text=True, timeout=900)
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert {r["stage"] for r in rows} == {"compile", "setup", "witness", "prove", "verify"}
    for r in rows:
        assert r["status"] == "ok", r.get("status_reason")
        assert r["statement"] == "committed-weights" and r["proof_bytes"] == 256
        assert r["verified"] is True and r["tamper_rejected"] is True
    settings = dict(kv.split("=", 1) for kv in rows[-1]["prover_settings"].split())
    assert int(settings["weights_digest"]) < C.P and settings["weights"] == "14"

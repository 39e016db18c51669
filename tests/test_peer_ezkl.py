"""The ``ezkl`` peer: the conformance kit on matmul n=16 (``ezkl`` and ``ezkl-cw``), the
committed weights hash of ``ezkl-cw`` checked against other weights and an edited hash, and real
sweeps next to ``gkr`` on the smallest size of every workload, each with a verified proof and a
rejected tampered one."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from zkbench import registry
from zkbench.testing import ProverConformance
from zkbench.testing.conformance import Case

pytestmark = pytest.mark.peers


@pytest.fixture(scope="module", autouse=True)
def _ezkl_installed() -> None:
    pytest.importorskip("ezkl")


class TestEzklConformance(ProverConformance):
    prover_name = "ezkl"


class TestEzklCommittedConformance(ProverConformance):
    prover_name = "ezkl-cw"

    def test_statement_and_settings(self, case: Case) -> None:
        assert case.prover.capabilities().statement == "committed-weights"
        settings = dict(kv.split("=", 1)
                        for kv in case.prover.settings(case.artifact, case.keys).split())
        assert settings["param_visibility"] == "hashed/public"
        assert settings["weights_hash"] == ",".join(case.keys.data["weights_hash"])

    def test_weights_bound_by_the_hash_recorded_at_setup(self, case: Case,
                                                         tmp_path: Path) -> None:
        """A proof made with other weights (valid for its own hash, under the same verifying
        key) and an honest proof checked against an edited hash are both rejected."""
        import ezkl
        import onnx
        from onnx import numpy_helper

        from provers.base import ProofRejected
        from zkbench.types import Keys, Proof

        prover, keys = case.prover, case.keys
        source = onnx.ModelProto()
        source.CopyFrom(case.qmodel.source)
        for init in source.graph.initializer:
            # Halved rather than negated: the other witness stays inside the lookup ranges
            # calibrated for the honest one (a value outside makes ezkl's prover threads log,
            # and a thread that logs while ezkl.prove holds the interpreter lock waits for it
            # forever).
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) / 2, init.name))
        other = prover.compile(dataclasses.replace(case.qmodel, source=source), tmp_path)
        witness = prover.witness(other, case.x)
        assert not np.array_equal(witness.statement.output, case.proof.statement.output)
        path = tmp_path / "other-proof.json"
        # In a process of its own, with a deadline and two more tries, should a prover
        # thread still log (see above: all threads were found waiting on futexes).
        command = [sys.executable, "-c", "import sys, ezkl; "
                   "ezkl.prove(*sys.argv[1:5], srs_path=sys.argv[5])",
                   str(witness.data), str(other.data[1].compiled_path),
                   str(keys.data["pk"]), str(path), str(keys.data["srs_path"])]
        for _ in range(3):
            try:
                subprocess.run(command, check=True, timeout=180, capture_output=True)
                break
            except subprocess.TimeoutExpired:
                continue
        else:
            pytest.fail("ezkl.prove hung three times in a row (180 s each)")
        forged = json.loads(path.read_text())
        assert forged["instances"][0][0] not in keys.data["weights_hash"]
        # Valid for its own instances: only the recorded hash tells it apart.
        assert ezkl.verify(str(path), str(case.artifact.data[1].settings_path),
                           str(keys.data["vk"]), srs_path=str(keys.data["srs_path"])) is True
        proof = Proof(data=bytes(forged["proof"]), statement=witness.statement)
        with pytest.raises(ProofRejected, match="verify"):
            prover.verify(case.artifact, keys, proof)
        claimed = Proof(data=proof.data, statement=proof.statement,
                        meta={"weights_hash": forged["instances"][0][:1]})
        with pytest.raises(ProofRejected, match="differs from the one recorded at setup"):
            prover.verify(case.artifact, keys, claimed)
        # The honest proof (its claim left out) against an edited recorded hash: the low
        # byte of the little-endian field element flipped.
        digest = bytearray(bytes.fromhex(keys.data["weights_hash"][0]))
        digest[0] ^= 1
        edited = Keys(data={**keys.data, "weights_hash": [digest.hex()]})
        honest = Proof(data=case.proof.data, statement=case.proof.statement)
        assert prover.verify(case.artifact, keys, honest) is True
        with pytest.raises(ProofRejected, match="verify"):
            prover.verify(case.artifact, edited, honest)


def test_unavailable_without_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ezkl", None)  # makes `import ezkl` raise ImportError
    reason = registry.create_prover("ezkl").available()
    assert reason is not None and "pip install -e '.[peers]'" in reason


SMALLEST = {"matmul": "n=16", "mlp": "depth-small-3", "cnn": "digits",
            "decision_tree": "tree-d4"}


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], list[dict]]:
    """One real `zkbench run` of ezkl and gkr; rows grouped by (prover, workload)."""
    out = tmp_path_factory.mktemp("sweep") / "out"
    repo = Path(__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, "-m", "zkbench.cli", "run", "--provers", "ezkl,gkr",
                        "--workloads", ",".join(SMALLEST), "--sizes", ",".join(SMALLEST.values()),
                        "--quiet", "--out", str(out)],
                       capture_output=True, text=True, cwd=repo, timeout=1800)
    assert r.returncode == 0, r.stderr
    rows: dict[tuple[str, str], list[dict]] = {}
    for line in (out / "results.jsonl").read_text().splitlines():
        row = json.loads(line)
        rows.setdefault((row["prover"], row["workload"]), []).append(row)
    return rows


@pytest.mark.parametrize("workload", list(SMALLEST))
def test_sweep_proves_verifies_and_rejects_tampering(sweep, workload: str) -> None:
    for prover in ("ezkl", "gkr"):
        rows = sweep[(prover, workload)]
        assert [r["stage"] for r in rows] == ["compile", "setup", "witness", "prove", "verify"]
        assert all(r["status"] == "ok" for r in rows), rows[-1].get("status_reason")
        last = rows[-1]
        assert last["verified"] is True and last["tamper_rejected"] is True, last
        assert last["proof_bytes"] > 0 and last["vk_bytes"] > 0 and last["pk_bytes"] > 0
        assert last["fidelity_max_abs_err"] is not None
    ezkl = sweep[("ezkl", workload)][-1]
    assert ezkl["field"] == "BN254" and ezkl["statement"] == "public"
    settings = dict(kv.split("=", 1) for kv in ezkl["prover_settings"].split())
    assert settings["param_visibility"] == "fixed"
    assert settings["input_visibility"] == settings["output_visibility"] == "public"
    assert 10 <= int(settings["logrows"]) <= 20
    assert int(settings["srs_bytes"]) > 2 ** int(settings["logrows"]) * 64


@pytest.fixture
def calibrations(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """The arguments of every ``ezkl.calibrate_settings`` call the test makes (the real one
    runs)."""
    import ezkl

    calls: list[tuple] = []
    calibrate = ezkl.calibrate_settings

    def counted(*args, **kwargs):
        calls.append(args)
        return calibrate(*args, **kwargs)

    monkeypatch.setattr(ezkl, "calibrate_settings", counted)
    return calls


def _no_calibration(*args, **kwargs) -> None:
    raise AssertionError("calibrate_settings ran on a circuit whose rows exceed the cap")


@pytest.mark.parametrize(("prover", "workload", "size", "cap", "need"),
                         [("ezkl", "matmul", "n=16", "12", 13),
                          ("ezkl-cw", "mlp", "depth-small-3", None, 21)])
def test_circuits_above_the_row_cap_are_skipped_before_calibration(
        prover: str, workload: str, size: str, cap: str | None, need: int, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """matmul n=16 has 6272 rows (2^13 at least) under a cap of 2^12; ezkl-cw's Poseidon hash
    of mlp depth-small-3's weights takes 1787602 rows (2^21) under the default cap 2^17."""
    import ezkl

    from provers.base import Unsupported
    from zkbench.testing import prepare

    if cap is None:
        monkeypatch.delenv("ZKBENCH_EZKL_MAX_LOGROWS", raising=False)
    else:
        monkeypatch.setenv("ZKBENCH_EZKL_MAX_LOGROWS", cap)
    monkeypatch.setattr(ezkl, "calibrate_settings", _no_calibration)
    with pytest.raises(Unsupported, match=rf"^{prover}: .* needs at least 2\^{need} rows before "
                                          rf"calibration \(\d+ rows\), above the cap 2\^"):
        prepare(prover, workload, size, workdir=tmp_path)


def test_circuit_at_the_row_cap_is_calibrated_and_proven(
        calibrations: list[tuple], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """At a cap of exactly the bound (2^13 for matmul n=16) the circuit is calibrated once and
    proven: the early check skips nothing that fits."""
    from zkbench.testing import prepare

    monkeypatch.setenv("ZKBENCH_EZKL_MAX_LOGROWS", "13")
    case = prepare("ezkl", "matmul", "n=16", workdir=tmp_path)
    assert len(calibrations) == 1
    assert case.artifact.data[1].logrows == 13
    assert case.prover.verify(case.artifact, case.keys, case.proof) is True


def test_circuits_above_the_row_cap_after_calibration_are_skipped(
        calibrations: list[tuple], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 2x2 Gemm has fewer than 2^8 rows, but calibration adds the 256-row range check table
    and the rows reserved for blinding: 2^9 rows, above a cap of 2^8, caught after
    calibration."""
    from provers.base import Unsupported
    from tests.onnx_models import mlp_model
    from zkbench.quantize import quantize

    rng = np.random.default_rng(0)
    qmodel = quantize(mlp_model(rng, dims=(2, 2)), rng.normal(size=(8, 1, 2)))
    monkeypatch.setenv("ZKBENCH_EZKL_MAX_LOGROWS", "8")
    with pytest.raises(Unsupported, match=r"needs 2\^9 rows after calibration, above the cap "
                                          r"2\^8"):
        registry.create_prover("ezkl").compile(qmodel, tmp_path)
    assert len(calibrations) == 1

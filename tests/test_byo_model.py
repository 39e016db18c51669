"""Bring your own model: ONNX files written by real exporters (torch.onnx.export, skl2onnx),
run, proven and verified through the command line, inspected, and refused in one line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from tests.test_cli import one_clean_line as one_line
from workloads.onnx_file import OnnxFile, as_samples
from zkbench import graph, support
from zkbench.cell import build
from zkbench.graph import ModelError
from zkbench.normalize import normalize
from zkbench.quantize import SUPPORTED_ONNX_OPS
from zkbench.types import Cell

REPO = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO),
                                                                 os.environ.get("PYTHONPATH")]))}


def zk(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "zkbench.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=ENV, timeout=600)


def rows_of(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def ort_outputs(model: onnx.ModelProto, x: np.ndarray) -> list:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})


def digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return x.astype(np.float32), y


# ----------------------------------------------------------------------------- exporters


@pytest.fixture(scope="module")
def torch_cnn(tmp_path_factory) -> Path:
    """A small CNN with BatchNorm after its convolution and its hidden linear layer, Dropout,
    a shape-computed flatten and a dynamic batch, as torch.onnx.export writes it (constant
    folding off, so the BatchNorm nodes are in the file)."""
    torch = pytest.importorskip("torch")
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)
            self.pool = nn.MaxPool2d(2)
            self.drop = nn.Dropout(0.25)
            self.fc = nn.Linear(64, 16)
            self.bn1 = nn.BatchNorm1d(16)
            self.out = nn.Linear(16, 10)

        def forward(self, x):
            x = self.pool(torch.relu(self.bn(self.conv(x))))
            x = self.drop(x.view(x.size(0), -1))
            return self.out(torch.relu(self.bn1(self.fc(x))))

    torch.manual_seed(0)
    net = Net()
    with torch.no_grad():  # running statistics far from the identity, so folding matters
        for bn in (net.bn, net.bn1):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.2, 0.2)
    net.eval()
    path = tmp_path_factory.mktemp("torch") / "cnn.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, torch.randn(1, 1, 8, 8), str(path), input_names=["image"],
                          output_names=["logits"], dynamic_axes={"image": {0: "batch"}},
                          dynamo=False, do_constant_folding=False)
    return path


def _skl(model, name: str, tmp_path_factory) -> Path:
    pytest.importorskip("skl2onnx")
    from skl2onnx import to_onnx

    x, y = digits()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x[:1200], y[:1200])
        onx = to_onnx(model, x[:1])  # the converter's defaults: ZipMap, label output
    path = tmp_path_factory.mktemp("skl") / f"{name}.onnx"
    onnx.save(onx, str(path))
    return path


@pytest.fixture(scope="module")
def skl_mlp(tmp_path_factory) -> Path:
    from sklearn.neural_network import MLPClassifier

    return _skl(MLPClassifier((24,), max_iter=300, random_state=0), "mlp", tmp_path_factory)


@pytest.fixture(scope="module")
def skl_tree(tmp_path_factory) -> Path:
    from sklearn.tree import DecisionTreeClassifier

    return _skl(DecisionTreeClassifier(max_depth=6, random_state=0), "tree", tmp_path_factory)


@pytest.fixture(scope="module")
def heldout_inputs(tmp_path_factory) -> dict[str, Path]:
    """Held-out digits as .npy (several samples) and as ezkl-style .json (one sample)."""
    x, _ = digits()
    folder = tmp_path_factory.mktemp("inputs")
    np.save(folder / "digits.npy", x[1500:1540])
    (folder / "one.json").write_text(json.dumps({"input_data": [x[1700].tolist()]}))
    return {"npy": folder / "digits.npy", "json": folder / "one.json"}


def _tanh_model(tmp_path: Path) -> Path:
    torch = pytest.importorskip("torch")
    nn = torch.nn
    net = nn.Sequential(nn.Linear(8, 4), nn.Tanh(), nn.Linear(4, 3)).eval()
    path = tmp_path / "tanh.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, torch.randn(1, 8), str(path), input_names=["x"], dynamo=False)
    return path


# ----------------------------------------------------------------------------- normalization


def test_torch_cnn_normalizes_to_quantizer_ops_with_batchnorm_folded(torch_cnn):
    original = onnx.load(str(torch_cnn))
    assert sum(n.op_type == "BatchNormalization" for n in original.graph.node) == 2
    norm = normalize(original, where=str(torch_cnn))
    ops = {n.op_type for n in norm.model.graph.node}
    assert ops <= set(SUPPORTED_ONNX_OPS), ops
    assert "BatchNormalization" not in ops and "Dropout" not in ops and "Shape" not in ops
    assert any("2 BatchNormalization folded" in n for n in norm.notes), norm.notes
    x = np.random.default_rng(1).standard_normal((1, 1, 8, 8)).astype(np.float32)
    ref = ort_outputs(original, x)[0]
    np.testing.assert_allclose(graph.run_float(norm.model, x), ref, rtol=1e-4, atol=1e-5)


def test_sklearn_models_normalize_to_the_same_probabilities(skl_mlp, skl_tree):
    x, _ = digits()
    for path in (skl_mlp, skl_tree):
        original = onnx.load(str(path))
        norm = normalize(original, where=str(path))
        assert {n.op_type for n in norm.model.graph.node} <= set(SUPPORTED_ONNX_OPS)
        for row in x[1500:1600:7]:
            label, zipmap = ort_outputs(original, row[None])
            proba = np.array([[d[k] for k in sorted(d)] for d in zipmap])
            got = graph.run_float(norm.model, row[None])
            if path == skl_mlp:  # its final Softmax is dropped, and said so
                got = np.exp(got - got.max()) / np.exp(got - got.max()).sum()
            np.testing.assert_allclose(got, proba, atol=1e-6)
            assert int(got.argmax()) == int(label[0])
    tree_notes = normalize(onnx.load(str(skl_tree))).notes
    assert any("TreeEnsembleClassifier" in n and "tensorized" in n for n in tree_notes)
    mlp_notes = normalize(onnx.load(str(skl_mlp))).notes
    assert any("final Softmax" in n for n in mlp_notes)


def test_tree_ensembles_of_several_kinds_match_onnxruntime(tmp_path):
    pytest.importorskip("skl2onnx")
    from skl2onnx import to_onnx
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.tree import DecisionTreeRegressor

    x, y = digits()
    for model, target in ((RandomForestClassifier(5, max_depth=4, random_state=0), y),
                          (DecisionTreeRegressor(max_depth=5, random_state=0), y / 9.0)):
        model.fit(x[:1000], target[:1000])
        onx = to_onnx(model, x[:1], options={id(model): {"zipmap": False}}
                      if hasattr(model, "classes_") else None)
        norm = normalize(onx)
        rows = x[1000:1400:9]
        for row in rows:
            outs = ort_outputs(onx, row[None])
            ref = outs[-1] if hasattr(model, "classes_") else outs[0]
            np.testing.assert_allclose(graph.run_float(norm.model, row[None]), ref, atol=1e-6)


def _small_model(opset: int, extra_nodes: bool = True) -> onnx.ModelProto:
    """MatMul + Add, Identity, Dropout, Unsqueeze/Squeeze, Transpose, Relu, BatchNorm after
    a MatMul: the rearrangements and removable nodes of exporters, at a given opset."""
    rng = np.random.default_rng(3)
    w = numpy_helper.from_array(rng.standard_normal((6, 4)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "b")
    axes = numpy_helper.from_array(np.array([0], np.int64), "axes")
    bn = [numpy_helper.from_array(v.astype(np.float32), n) for n, v in
          (("g", rng.uniform(0.5, 1.5, 4)), ("beta", rng.uniform(-1, 1, 4)),
           ("mu", rng.uniform(-1, 1, 4)), ("var", rng.uniform(0.5, 2, 4)))]
    nodes = [helper.make_node("Identity", ["x"], ["x1"], name="id"),
             helper.make_node("MatMul", ["x1", "w"], ["m"], name="mm"),
             helper.make_node("BatchNormalization", ["m", "g", "beta", "mu", "var"], ["n"],
                              name="bn"),
             helper.make_node("Add", ["n", "b"], ["a"], name="add"),
             helper.make_node("Dropout", ["a"], ["d"], name="drop"),
             helper.make_node("Squeeze", ["d", "axes"], ["s"], name="squeeze"),
             helper.make_node("Unsqueeze", ["s", "axes"], ["u"], name="unsqueeze"),
             helper.make_node("Transpose", ["u"], ["t"], name="transpose", perm=[1, 0]),
             helper.make_node("Relu", ["t"], ["y"], name="relu")]
    g = helper.make_graph(nodes, "small",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, "n"])],
                          [w, b, axes, *bn])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


@pytest.mark.parametrize("opset", [13, 17, 21])
def test_opsets_13_to_21_normalize_and_keep_the_output(opset):
    model = _small_model(opset)
    onnx.checker.check_model(model, full_check=True)
    norm = normalize(model)
    ops = {n.op_type for n in norm.model.graph.node}
    assert ops <= set(SUPPORTED_ONNX_OPS), ops
    assert not ops & {"Identity", "Dropout", "Squeeze", "Unsqueeze", "BatchNormalization"}
    x = np.random.default_rng(opset).standard_normal((1, 6)).astype(np.float32)
    np.testing.assert_allclose(graph.run_float(norm.model, x), ort_outputs(model, x)[0],
                               rtol=1e-5, atol=1e-5)


def test_opsets_outside_13_to_21_are_converted_or_refused():
    model = _small_model(22)
    assert next(o.version for o in normalize(model).model.opset_import if o.domain == "") == 21
    model.opset_import[0].version = 99
    with pytest.raises(ModelError, match="m.onnx: opset 99 is outside the 13-21"):
        normalize(model, where="m.onnx")
    pytest.importorskip("skl2onnx")  # skl2onnx writes trees at opset 9
    from skl2onnx import to_onnx
    from sklearn.tree import DecisionTreeClassifier

    x, y = digits()
    onx = to_onnx(DecisionTreeClassifier(max_depth=3, random_state=0).fit(x, y), x[:1])
    assert next(o.version for o in onx.opset_import if o.domain == "") < 13
    norm = normalize(onx)
    assert next(o.version for o in norm.model.opset_import if o.domain == "") >= 13


def test_batch_fixes_the_dynamic_dimension_and_nothing_else(skl_mlp, heldout_inputs):
    norm = normalize(onnx.load(str(skl_mlp)), batch=3)
    dims = [d.dim_value for d in norm.model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [3, 64]
    batched = OnnxFile(skl_mlp, heldout_inputs["npy"], batch=4)  # biases broadcast over rows
    fmodel, _, qmodel = build(batched, batched.size, 0)
    assert support.stops(fmodel, qmodel, ["gkr"], compile_check=True) == {"gkr": None}
    with pytest.raises(ModelError, match="Squeeze"):  # squeezes the batch axis: needs 1
        normalize(_small_model(17), batch=3)
    bad = _small_model(17)
    bad.graph.input[0].type.tensor_type.shape.dim[1].dim_param = "features"
    with pytest.raises(ModelError, match="dynamic dimension 1 .features."):
        normalize(bad, where="m.onnx")


# ----------------------------------------------------------------------------- the workload


def test_size_and_cell_id_follow_the_file(torch_cnn, tmp_path, heldout_inputs):
    copy = tmp_path / "cnn.onnx"
    shutil.copy(torch_cnn, copy)
    w = OnnxFile(copy)
    assert w.size.startswith("cnn-") and w.size == f"cnn-{w.file_sha256[:12]}"
    before = Cell("gkr", w.name, w.size).cell_id
    m = onnx.load(str(copy))
    m.producer_version += "-edited"
    onnx.save(m, str(copy))
    after = OnnxFile(copy)
    assert after.size != w.size and Cell("gkr", w.name, after.size).cell_id != before
    assert OnnxFile(copy, batch=4).size.endswith("-b4")
    assert "-in" in OnnxFile(copy, heldout_inputs["npy"]).size


def test_inputs_from_files_or_seeded_random(skl_mlp, heldout_inputs):
    x, _ = digits()
    w = OnnxFile(skl_mlp, heldout_inputs["npy"])
    drawn = w.inputs(w.size, np.random.default_rng(5))
    assert drawn.shape == (1, 64) and any(np.array_equal(drawn[0], r) for r in x[1500:1540])
    assert w.input_source.startswith("file:digits.npy@")
    one = OnnxFile(skl_mlp, heldout_inputs["json"])
    np.testing.assert_array_equal(one.inputs(one.size, np.random.default_rng(0))[0], x[1700])
    rnd = OnnxFile(skl_mlp)
    a = rnd.inputs(rnd.size, np.random.default_rng(7))
    assert rnd.input_source == "random" and a.shape == (1, 64) and a.dtype == np.float32
    np.testing.assert_array_equal(a, rnd.inputs(rnd.size, np.random.default_rng(7)))
    batched = OnnxFile(skl_mlp, heldout_inputs["npy"], batch=4)  # 4 of the file's 40 rows
    rows = batched.inputs(batched.size, np.random.default_rng(1))
    assert rows.shape == (4, 64) and all(any(np.array_equal(r, h) for h in x[1500:1540])
                                         for r in rows)
    with pytest.raises(ModelError, match=r"shape \(3, 5\) do not fit"):
        as_samples(np.zeros((3, 5), np.float32), (1, 64), "x.npy")


# ----------------------------------------------------------------------------- end to end


def _assert_gkr_rows(out: Path, source: str) -> None:
    rows = [r for r in rows_of(out) if r["prover"] == "gkr"]
    assert [r["stage"] for r in rows] == ["compile", "setup", "witness", "prove", "verify"]
    for r in rows:
        assert r["status"] == "ok", r.get("status_reason")
        assert r["workload"] == "onnx_file" and r["verified"] is True
        assert r["tamper_rejected"] is True
        assert r["input_source"].startswith(source)
    assert rows[0]["n_params"] > 0 and rows[0]["n_macs"] > 0


def _prove_verify_tamper(model: Path, tmp_path: Path, *extra: str) -> None:
    """prove --model, verify, and a flipped proof byte rejected (the run's rows hold the full
    tamper check: a flipped byte and a wrong public output)."""
    proof = tmp_path / "proof"
    r = zk("prove", "--prover", "gkr", "--model", model, *extra, "--out", proof)
    assert r.returncode == 0, r.stderr
    st = json.loads((proof / "statement.json").read_text())
    assert st["model_file_sha256"] == OnnxFile(model).file_sha256
    r = zk("verify", proof)
    assert r.returncode == 0, r.stderr
    bad = tmp_path / "tampered"
    shutil.copytree(proof, bad)
    data = bytearray((bad / "proof.bin").read_bytes())
    data[len(data) // 2] ^= 0x40
    (bad / "proof.bin").write_bytes(bytes(data))
    assert "rejected" in one_line(zk("verify", bad), 1)


def test_torch_cnn_runs_proves_and_verifies_with_gkr(torch_cnn, tmp_path):
    r = zk("run", "--model", torch_cnn, "--provers", "gkr", "--out", tmp_path / "run", "--quiet")
    assert r.returncode == 0, r.stderr
    _assert_gkr_rows(tmp_path / "run", "random")
    _prove_verify_tamper(torch_cnn, tmp_path)
    # the statement is about these bytes: a changed model file is rejected
    proof = tmp_path / "proof"
    m = onnx.load(str(torch_cnn))
    m.producer_version += "-edited"
    edited = tmp_path / "edited.onnx"
    onnx.save(m, str(edited))
    assert "model file" in one_line(zk("verify", proof, "--model", edited), 1)
    moved = tmp_path / "moved.onnx"
    shutil.copy(torch_cnn, moved)
    assert zk("verify", proof, "--model", moved).returncode == 0


def test_sklearn_mlp_runs_proves_and_verifies_with_gkr(skl_mlp, heldout_inputs, tmp_path):
    r = zk("run", "--model", skl_mlp, "--input", heldout_inputs["npy"], "--provers", "gkr",
           "--out", tmp_path / "run", "--quiet")
    assert r.returncode == 0, r.stderr
    _assert_gkr_rows(tmp_path / "run", "file:digits.npy@")
    assert rows_of(tmp_path / "run")[0]["fidelity_top1_agree"] >= 0.9
    _prove_verify_tamper(skl_mlp, tmp_path, "--input", heldout_inputs["json"])


def test_sklearn_tree_runs_proves_and_verifies_with_gkr(skl_tree, heldout_inputs, tmp_path):
    r = zk("run", "--model", skl_tree, "--input", heldout_inputs["npy"], "--provers", "gkr",
           "--out", tmp_path / "run", "--quiet")
    assert r.returncode == 0, r.stderr
    _assert_gkr_rows(tmp_path / "run", "file:digits.npy@")
    # digits are integers 0..16 and thresholds half-integers: quantization is exact
    assert rows_of(tmp_path / "run")[0]["fidelity_top1_agree"] == 1.0
    _prove_verify_tamper(skl_tree, tmp_path, "--input", heldout_inputs["npy"])


def test_inspect_lists_ops_params_macs_and_provers(torch_cnn, tmp_path):
    r = zk("inspect", torch_cnn)
    assert r.returncode == 0, r.stderr
    assert "BatchNormalization x2" in r.stdout and "Conv" in r.stdout
    n_params = graph.n_params(OnnxFile(torch_cnn).normalized.model)
    assert f"parameters {n_params:,}" in r.stdout and "MACs" in r.stdout
    for prover in ("null", "plain", "gkr"):
        assert any(ln.split()[:2] == [prover, "yes"] for ln in r.stdout.splitlines())
    tanh = _tanh_model(tmp_path)
    r = zk("inspect", tanh)
    assert r.returncode == 2
    assert "gkr" in r.stdout and "no: op Tanh at node '/1/Tanh'" in r.stdout


# ----------------------------------------------------------------------------- refusals


def test_unsupported_op_is_one_line_and_leaves_nothing(tmp_path):
    tanh = _tanh_model(tmp_path)
    out = tmp_path / "run"
    line = one_line(zk("run", "--model", tanh, "--provers", "plain,gkr", "--out", out), 2)
    assert "op Tanh at node '/1/Tanh'" in line and "plain, gkr" in line
    assert not out.exists()
    line = one_line(zk("prove", "--prover", "gkr", "--model", tanh, "--out", tmp_path / "p"), 2)
    assert "op Tanh at node '/1/Tanh'" in line and "gkr" in line
    assert not (tmp_path / "p").exists()


def test_checker_failure_is_one_line_and_leaves_nothing(tmp_path):
    g = helper.make_graph([helper.make_node("Relu", ["x", "nowhere"], ["y"], name="r")], "bad",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    path = tmp_path / "bad.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    with pytest.raises(onnx.checker.ValidationError) as exc:
        onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    reason = str(exc.value).splitlines()[0].strip()
    out = tmp_path / "run"
    line = one_line(zk("run", "--model", path, "--provers", "gkr", "--out", out), 2)
    assert "fails onnx's checker" in line and reason in line and "OpType: Relu" in line
    assert not out.exists()
    line = one_line(zk("prove", "--prover", "gkr", "--model", path, "--out", tmp_path / "p"), 2)
    assert "fails onnx's checker" in line
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [(["run", "--input", "x.npy"], "--input needs --model"),
     (["run", "--model", "m.onnx", "--workloads", "mlp"], "--model takes the place of"),
     (["run", "--model", "missing.onnx"], "missing.onnx: no such file"),
     (["prove", "--prover", "gkr", "--out", "p"], "--workload and --size, or --model")],
)
def test_model_flag_misuse_is_one_line(tmp_path, args, needle):
    assert needle in one_line(zk(*args, cwd=tmp_path), 2)


@pytest.mark.peers
def test_exported_models_run_through_the_peers(skl_tree, skl_mlp, heldout_inputs, tmp_path):
    """The same files through every available peer: each cell either proves, verifies and
    rejects both tamperings, or is one honest skip row with its reason; at least one peer
    proves each model."""
    from zkbench import registry

    peers = [p for p in ("ezkl", "snarkjs-groth16") if registry.create_prover(p).available()
             is None]
    if not peers:
        pytest.skip("no peer prover is available here")
    for model in (skl_tree, skl_mlp):
        out = tmp_path / model.stem
        r = zk("run", "--model", model, "--input", heldout_inputs["npy"], "--provers",
               ",".join(peers), "--out", out, "--quiet")
        assert r.returncode == 0, r.stderr
        proven = []
        for prover in peers:
            rows = [row for row in rows_of(out) if row["prover"] == prover]
            if rows[0]["status"] == "skip":
                assert len(rows) == 1 and rows[0]["status_reason"], rows
                continue
            assert [row["status"] for row in rows] == ["ok"] * 5, rows[-1]["status_reason"]
            assert rows[-1]["verified"] is True and rows[-1]["tamper_rejected"] is True
            proven.append(prover)
        assert proven, f"no peer proved {model.name}"

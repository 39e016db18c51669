"""The decision_tree workload: tensorized ONNX trees and forests, checked against scikit-learn."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from workloads.base import UnknownSize
from workloads.decision_tree import DecisionTree, graph, load_blocks, load_forest, load_heldout
from workloads.decision_tree.forest import Forest
from workloads.decision_tree.train import MODELS, N_CLASSES, N_FEATURES

ort = pytest.importorskip("onnxruntime")

W = DecisionTree()
KEYS = tuple(MODELS)
ALLOWED_OPS = {"MatMul", "Add", "Sub", "Less", "LessOrEqual", "Cast", "Equal"}


def _session(model: onnx.ModelProto):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    return ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])


def _run_batched(model: onnx.ModelProto, x: np.ndarray, batch: int) -> np.ndarray:
    """Run a fixed-batch model over any number of rows (the last chunk zero-padded)."""
    sess = _session(model)
    outs = []
    for i in range(0, len(x), batch):
        chunk = x[i:i + batch]
        padded = np.zeros((batch, x.shape[1]), np.float32)
        padded[:len(chunk)] = chunk
        outs.append(sess.run(None, {"input": padded})[0][:len(chunk)])
    return np.concatenate(outs)


def _with_outputs(model: onnx.ModelProto, names: list[str]) -> onnx.ModelProto:
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for n in names:
        m.graph.output.append(helper.make_tensor_value_info(n, TensorProto.FLOAT, None))
    return m


def _probe_inputs(forest: Forest, n: int, seed: int) -> np.ndarray:
    """Adversarial inputs: random reals, integers, values exactly on the thresholds (ties),
    their float32 neighbours, and huge magnitudes."""
    rng = np.random.default_rng(seed)
    thr = graph.float32_at_most(forest.threshold[~forest.is_leaf])
    parts = [
        rng.uniform(-2.0, 18.0, (n, N_FEATURES)),
        rng.integers(0, 17, (n, N_FEATURES)),
        rng.choice(thr, (n, N_FEATURES)),
        np.nextafter(rng.choice(thr, (n, N_FEATURES)), np.float32(np.inf)),
        np.nextafter(rng.choice(thr, (n, N_FEATURES)), np.float32(-np.inf)),
        rng.choice([-1e30, 1e30, 0.0, 16.0], (n, N_FEATURES)),
    ]
    return np.concatenate([np.asarray(p, np.float32) for p in parts])


def _assert_scores_match(got: np.ndarray, want: np.ndarray, atol: float = 1e-5) -> None:
    np.testing.assert_allclose(got, want, rtol=0, atol=atol)
    # argmax equal; where the reference has a tie at the top, any of the tied classes is fine
    top = want.max(axis=1, keepdims=True)
    chosen = want[np.arange(len(got)), got.argmax(axis=1)]
    assert np.all(chosen >= top[:, 0] - 1e-6)
    clear = np.sort(want, axis=1)[:, -2] < top[:, 0] - atol
    assert np.array_equal(got.argmax(1)[clear], want.argmax(1)[clear])


# --------------------------------------------------------------------------- protocol


def test_protocol_sizes_and_suites():
    from workloads.base import Workload

    assert isinstance(W, Workload)
    assert W.name == "decision_tree" and W.output_kind == "scores"
    sizes = W.sizes()
    assert len(sizes) == len(set(sizes)) == 16
    assert "forest-128x9-b128" in sizes and "tree-d4" in sizes
    assert tuple(W.quick_sizes()) == ("tree-d4",)
    suites = W.suites()
    assert suites["paper"] and "forest-128x9-b128" in suites["paper"]
    for members in suites.values():
        assert set(members) <= set(sizes)
    with pytest.raises(UnknownSize):
        W.model("tree-d5")
    with pytest.raises(UnknownSize):
        W.inputs("forest-128x9-b64", np.random.default_rng(0))


@pytest.mark.parametrize("size", W.sizes())
def test_model_checks_and_shape(size):
    model = W.model(size)
    onnx.checker.check_model(model, full_check=True)
    assert model.ir_version == 8
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 17)]
    batch = W.batch(size)
    (inp,) = model.graph.input
    (out,) = model.graph.output
    assert inp.name == "input" and out.name == "output"
    assert inp.type.tensor_type.elem_type == TensorProto.FLOAT
    assert [d.dim_value for d in inp.type.tensor_type.shape.dim] == [batch, N_FEATURES]
    assert [d.dim_value for d in out.type.tensor_type.shape.dim] == [batch, N_CLASSES]
    ops = {n.op_type for n in model.graph.node}
    assert ops <= ALLOWED_OPS, ops
    assert ops <= graph.OPS
    for n in model.graph.node:
        if n.op_type == "Cast":
            assert helper.get_attribute_value(n.attribute[0]) == TensorProto.FLOAT
    assert all(t.data_type == TensorProto.FLOAT for t in model.graph.initializer)
    x = W.inputs(size, np.random.default_rng(7))
    assert x.shape == (batch, N_FEATURES) and x.dtype == np.float32
    y = _session(model).run(None, {"input": x})[0]
    assert y.shape == (batch, N_CLASSES)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, atol=1e-5)


# --------------------------------------------------------------------------- fidelity


@pytest.mark.parametrize("key", KEYS)
def test_onnx_matches_reference_on_heldout(key):
    """Every held-out digit: the b128 graph against a plain tree walk of the stored arrays,
    and the batch-1 graph on a few of them."""
    x, _ = load_heldout()
    forest = load_forest(key)
    want = forest.predict_proba(x)
    _assert_scores_match(_run_batched(W.model(f"{key}-b128"), x, 128), want)
    _assert_scores_match(_run_batched(W.model(key), x[:24], 1), want[:24])


@pytest.mark.parametrize("key", KEYS)
def test_tie_semantics_and_path_property(key):
    """On adversarial inputs (ties at thresholds included): the graph follows x <= threshold,
    S <= E holds elementwise, and exactly one leaf per tree fires."""
    forest = load_forest(key)
    blocks = load_blocks(key)
    x = _probe_inputs(forest, 32, seed=KEYS.index(key))
    x = np.concatenate([x, load_heldout()[0][:64]])
    extra = [f"b{g:03d}_{t}" for g in range(len(blocks)) for t in ("S", "L")]
    sess = _session(_with_outputs(W.model(f"{key}-b128"), extra))
    for i in range(0, len(x), 128):
        chunk = np.zeros((128, N_FEATURES), np.float32)
        rows = x[i:i + 128]
        chunk[:len(rows)] = rows
        outs = sess.run(None, {"input": chunk})
        _assert_scores_match(outs[0][:len(rows)], forest.predict_proba(rows))
        for g, blk in enumerate(blocks):
            s, leaf = outs[1 + 2 * g], outs[2 + 2 * g]
            assert np.all(s <= blk.E[None, :]), f"block {g}: S > E"
            assert np.array_equal(leaf, (s == blk.E[None, :]).astype(np.float32))
            # one leaf per tree: columns of the block's trees in order
            c = 0
            for t in range(*blk.trees):
                n_leaves = forest.tree_sizes()[t][1]
                np.testing.assert_array_equal(leaf[:, c:c + n_leaves].sum(axis=1), 1.0)
                c += n_leaves
            assert c == blk.n_leaves


def test_block_layout_does_not_change_outputs():
    """One tree per block, the default budget, and one block: the same scores."""
    x = load_heldout()[0][:128]
    key = "forest-8x9"
    want = load_forest(key).predict_proba(x)
    counts = []
    for budget in (1, graph.MAX_BLOCK_NODES, 10**9):
        w = DecisionTree(max_block_nodes=budget)
        model = w.model(f"{key}-b128")
        counts.append(len(load_blocks(key, budget)))
        _assert_scores_match(_session(model).run(None, {"input": x})[0], want)
    assert counts[0] == 8 and counts[-1] == 1 and counts[0] >= counts[1] >= counts[2]


def test_tree_structure_matrices():
    """P, E and A on tree-d4 against their definitions, straight from the node arrays."""
    forest = load_forest("tree-d4")
    (blk,) = load_blocks("tree-d4")
    left, right = forest.children_left, forest.children_right
    inner, leaves = np.flatnonzero(left >= 0), np.flatnonzero(left < 0)
    assert blk.P.shape == (len(inner), len(leaves)) == (15, 16)
    np.testing.assert_array_equal(blk.A.sum(axis=0), 1.0)
    np.testing.assert_array_equal(blk.A.argmax(axis=0), forest.feature[inner])

    def subtree(n):
        return {n} if left[n] < 0 else {n} | subtree(left[n]) | subtree(right[n])

    for i, n in enumerate(inner):
        lset, rset = subtree(left[n]), subtree(right[n])
        for j, leaf in enumerate(leaves):
            want = 1.0 if leaf in lset else -1.0 if leaf in rset else 0.0
            assert blk.P[i, j] == want
    np.testing.assert_array_equal(blk.E, (blk.P == 1).sum(axis=0))


def test_float32_thresholds_round_down():
    t64 = np.array([0.1, 2.5, -0.3, 1e-40, 7.0, np.float64(np.float32(3.3))])
    t32 = graph.float32_at_most(t64)
    assert t32.dtype == np.float32
    assert np.all(t32.astype(np.float64) <= t64)
    assert np.all(np.nextafter(t32, np.float32(np.inf)).astype(np.float64) > t64)
    # every shipped threshold is exactly representable: no rounding on the digits data
    for key in KEYS:
        f = load_forest(key)
        t = f.threshold[~f.is_leaf]
        assert np.array_equal(graph.float32_at_most(t).astype(np.float64), t)


# --------------------------------------------------------------------------- scikit-learn


@pytest.fixture(scope="module")
def fitted():
    """Fresh scikit-learn fits of every model (a few seconds) and the held-out split."""
    pytest.importorskip("sklearn")
    from workloads.decision_tree import train

    x_tr, y_tr, x_te, y_te = train.split()
    return {k: train.fit(k, x_tr, y_tr) for k in KEYS}, (x_te, y_te)


def test_regeneration_reproduces_stored_arrays(fitted):
    import sklearn

    from workloads.decision_tree import train

    models, (x_te, y_te) = fitted
    hx, hy = load_heldout()
    assert np.array_equal(hx, x_te.astype(np.float32)) and np.array_equal(hy, y_te)
    for key in KEYS:
        stored = load_forest(key)
        regenerated = train.to_forest(models[key], key)
        if not stored.equal_arrays(regenerated):
            recorded = stored.meta.get("sklearn_version")
            if recorded != sklearn.__version__:
                pytest.skip(f"{key}: stored with scikit-learn {recorded}, refitted with "
                            f"{sklearn.__version__}, whose trees differ")
            pytest.fail(f"{key}: refitting does not reproduce data/{key}.npz")
        assert stored.meta["key"] == key


@pytest.mark.parametrize("key", KEYS)
def test_onnx_matches_sklearn_predict_proba(fitted, key):
    models, (x_te, _) = fitted
    from workloads.decision_tree import train

    clf = models[key]
    forest = load_forest(key)
    if not forest.equal_arrays(train.to_forest(clf, key)):
        pytest.skip(f"{key}: this scikit-learn fits different trees than the shipped ones")
    x = np.asarray(x_te, np.float32)
    want = clf.predict_proba(x)
    np.testing.assert_allclose(forest.predict_proba(x), want, rtol=0, atol=1e-12)
    _assert_scores_match(_run_batched(W.model(f"{key}-b128"), x, 128), want)
    _assert_scores_match(_run_batched(W.model(key), x[:16], 1), want[:16])
    probe = _probe_inputs(forest, 16, seed=3)
    _assert_scores_match(_run_batched(W.model(f"{key}-b128"), probe, 128),
                         clf.predict_proba(probe))


def test_training_is_fast():
    pytest.importorskip("sklearn")
    import time

    from workloads.decision_tree import train

    start = time.perf_counter()
    forests, _ = train.generate()
    assert time.perf_counter() - start < 20.0
    assert set(forests) == set(KEYS)


# --------------------------------------------------------------------------- determinism


def _digest(size: str) -> str:
    return hashlib.sha256(W.model(size).SerializeToString()).hexdigest()


PINNED = {
    "tree-d4": "86870852085273b14b97bdd8821f987c1614e693865208e4390017f53b47ca25",
    "forest-8x9-b128": "02f4d1ad3a927edad929aafd0c3acb687b7847e3c9d9a62a618c6d4e391bb358",
    "forest-128x9-b128": "b47ec7c1844132da19ae54695ad66f7c4d7b67782fd1c77e3da398e5ec4fa780",
}


@pytest.mark.parametrize("size", W.sizes())
def test_model_bytes_deterministic(size):
    first = W.model(size).SerializeToString()
    load_forest.cache_clear()
    load_blocks.cache_clear()
    assert W.model(size).SerializeToString() == first


@pytest.mark.parametrize("size", sorted(PINNED))
def test_model_bytes_pinned(size):
    """The same bytes on every machine: a change here means the shipped models changed."""
    assert _digest(size) == PINNED[size]


def test_model_needs_no_sklearn_and_is_stable_across_processes():
    code = (
        "import sys, hashlib, numpy as np\n"
        "from workloads.decision_tree import DecisionTree\n"
        "w = DecisionTree()\n"
        "m = w.model('forest-8x9-b128'); x = w.inputs('tree-d4', np.random.default_rng(0))\n"
        "assert 'sklearn' not in sys.modules\n"
        "print(hashlib.sha256(m.SerializeToString()).hexdigest())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == _digest("forest-8x9-b128")


def test_inputs_are_heldout_digits():
    x_all, _ = W.heldout()
    assert x_all.shape == (450, N_FEATURES) and x_all.dtype == np.float32
    a = W.inputs("forest-128x9-b128", np.random.default_rng(5))
    b = W.inputs("forest-128x9-b128", np.random.default_rng(5))
    assert np.array_equal(a, b) and a.shape == (128, N_FEATURES) and a.dtype == np.float32
    assert a.min() >= 0 and a.max() <= 16 and np.array_equal(a, np.rint(a))
    rows = {r.tobytes() for r in x_all}
    assert all(r.tobytes() in rows for r in a)
    one = W.inputs("tree-d4", np.random.default_rng(5))
    assert one.shape == (1, N_FEATURES)


# --------------------------------------------------------------------------- counts


def test_forest_128x9_counts(record_property):
    """Remainder's shape: 128 trees, depth <= 9, 64 features; node and leaf counts reported."""
    stats = W.stats("forest-128x9-b128")
    for k, v in stats.items():
        record_property(k, v)
    print("forest-128x9-b128:", stats)
    forest = load_forest("forest-128x9")
    assert stats["n_trees"] == 128 and stats["max_depth"] <= 9 and stats["batch"] == 128
    # binary trees: one more leaf than internal nodes, per tree
    assert stats["leaves"] == stats["internal_nodes"] + 128
    assert all(n_leaf == n_int + 1 for n_int, n_leaf in forest.tree_sizes())
    assert all(n_leaf <= 2**9 for _, n_leaf in forest.tree_sizes())
    blocks = load_blocks("forest-128x9")
    assert sum(b.n_internal for b in blocks) == stats["internal_nodes"]
    assert sum(b.n_leaves for b in blocks) == stats["leaves"]
    assert all(b.n_internal <= graph.MAX_BLOCK_NODES for b in blocks)
    assert stats["heldout_accuracy"] > 0.9


@pytest.mark.parametrize("key", KEYS)
def test_stats_consistent_with_model(key):
    stats = W.stats(key)
    model = W.model(key)
    n_params = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    assert stats["n_params"] == n_params
    assert stats["blocks"] == sum(n.op_type == "LessOrEqual" for n in model.graph.node)
    kind, n_trees, depth = MODELS[key]
    assert stats["n_trees"] == n_trees and stats["max_depth"] <= depth
    for t in model.graph.initializer:
        if t.name.endswith("_E"):
            assert np.all(numpy_helper.to_array(t) >= 0)

"""The mlp, cnn and chess workloads: graphs, op vocabulary, parameter counts, data, encoding."""

from __future__ import annotations

import importlib.util

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from workloads.base import UnknownSize, Workload
from workloads.builder import VOCABULARY
from workloads.chess import Chess, encode, make_positions, positions
from workloads.cnn import Cnn
from workloads.cnn import digits as digits_mod
from workloads.mlp import COI_PARAMS, DEPTH_PUBLISHED, Mlp, largest_matrix, n_params
from zkbench import graph

WORKLOADS = {"mlp": Mlp(), "cnn": Cnn(), "chess": Chess()}
SLOW_PARAMS = 5_000_000  # mlp sizes above this take ~0.6-2 s to build and check: slow tests
needs_chess = pytest.mark.skipif(importlib.util.find_spec("chess") is None,
                                 reason="python-chess is not installed")


def _marks(wname: str, size: str) -> list[pytest.MarkDecorator]:
    marks = []
    if wname == "mlp" and WORKLOADS["mlp"].n_params(size) > SLOW_PARAMS:
        marks.append(pytest.mark.slow)
    if wname == "chess":
        marks.append(needs_chess)
    return marks


def _cases():
    for wname, w in WORKLOADS.items():
        for size in w.sizes():
            yield pytest.param(wname, size, marks=_marks(wname, size), id=f"{wname}-{size}")


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])
    return sess.run(None, {"input": x})[0]


def _out_shape(model: onnx.ModelProto) -> tuple[int, ...]:
    return tuple(d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim)


# -- every size: builds, checks, runs, uses only the vocabulary -------------------------------
@pytest.mark.parametrize(("wname", "size"), list(_cases()))
def test_every_size_builds_checks_and_runs(wname, size):
    w = WORKLOADS[wname]
    model = w.model(size)
    onnx.checker.check_model(model, full_check=True)
    assert model.ir_version == 8
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 17)]
    assert [i.name for i in model.graph.input] == ["input"]
    assert [o.name for o in model.graph.output] == ["output"]
    ops = {n.op_type for n in model.graph.node}
    assert ops <= VOCABULARY, f"ops outside the vocabulary: {ops - VOCABULARY}"
    for t in model.graph.initializer:
        assert t.data_type == onnx.TensorProto.FLOAT
    x = w.inputs(size, np.random.default_rng(0))
    assert x.dtype == np.float32
    in_dims = tuple(d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim)
    assert x.shape == in_dims and in_dims[0] == 1
    y = _run(model, x)
    assert y.shape == _out_shape(model)
    assert np.all(np.isfinite(y))
    assert 1e-3 < float(np.sqrt(np.mean(y**2))) < 100.0  # activations stay O(1)
    if hasattr(w, "n_params"):
        assert graph.n_params(model) == w.n_params(size)


@pytest.mark.parametrize(("wname", "size"), [
    pytest.param(wname, size, marks=_marks(wname, size), id=f"{wname}-{size}")
    for wname, size in [("mlp", "depth-small-3"), ("mlp", "FC_517529"), ("mlp", "depth-large-50"),
                        ("cnn", "digits"), ("cnn", "lenet5"), ("cnn", "vgg11"),
                        ("chess", "tiny"), ("chess", "leela")]
])
def test_models_and_inputs_are_deterministic(wname, size):
    w = WORKLOADS[wname]
    a = w.model(size).SerializeToString(deterministic=True)
    b = type(w)().model(size).SerializeToString(deterministic=True)
    assert a == b
    x1 = w.inputs(size, np.random.default_rng(7))
    x2 = w.inputs(size, np.random.default_rng(7))
    assert np.array_equal(x1, x2)


@pytest.mark.parametrize("wname", list(WORKLOADS))
def test_protocol_suites_and_unknown_size(wname):
    w = WORKLOADS[wname]
    assert isinstance(w, Workload)
    assert w.name == wname and w.output_kind == "scores"
    sizes = set(w.sizes())
    assert len(sizes) == len(w.sizes())
    assert set(w.quick_sizes()) <= sizes and w.quick_sizes()
    suites = w.suites()
    assert "paper" in suites
    for members in suites.values():
        assert members and set(members) <= sizes
    with pytest.raises(UnknownSize):
        w.model("no-such-size")


# -- mlp: the Cost of Intelligence architectures -------------------------------------------------
def test_mlp_suites():
    suites = Mlp().suites()
    assert suites["coi-params"] == list(COI_PARAMS)
    assert len(suites["coi-params"]) == 12 and len(suites["coi-depth"]) == 14
    assert Mlp().quick_sizes() == ("depth-small-3",)
    assert {"FC_48564", "FC_18252933"} <= set(suites["paper"])


@pytest.mark.parametrize("size", list(COI_PARAMS))
def test_mlp_coi_params_match_the_paper(size):
    published, (a, b) = COI_PARAMS[size]
    dims = Mlp().dims(size)
    small = published < 500_000
    assert dims[0] == (32 if small else 784) and dims[-1] == (100 if small else 1000)
    assert len(dims) - 1 == (20 if small else 30)
    assert abs(n_params(dims) - published) <= 0.01 * published
    # published "A x B": A inputs, B outputs; the Gemm weight (transB=1) is B x A
    assert largest_matrix(dims) == (a, b)
    areas = sorted(x * y for x, y in zip(dims[:-1], dims[1:], strict=True))
    assert areas[-1] == a * b


def test_mlp_coi_depth_match_the_paper():
    mlp = Mlp()
    for n in (3, 5, 10, 15, 20, 30, 40):
        dims = mlp.dims(f"depth-small-{n}")
        assert (dims[0], dims[-1], len(dims) - 1) == (32, 100, n)
    for n in (50, 75, 100, 150, 200, 350, 500):
        dims = mlp.dims(f"depth-large-{n}")
        assert (dims[0], dims[-1], len(dims) - 1) == (784, 1000, n)
    for size, published in DEPTH_PUBLISHED.items():
        assert abs(mlp.n_params(size) - published) <= 0.01 * published
        assert mlp.n_params(size) == published  # exactly, with widths 100, 200, 100, ...


def test_mlp_layers_are_gemm_bias_relu():
    model = Mlp().model("depth-small-3")
    ops = [n.op_type for n in model.graph.node]
    assert ops == ["Gemm", "Relu", "Gemm", "Relu", "Gemm"]
    for node in model.graph.node:
        if node.op_type == "Gemm":
            attrs = {a.name: a.i for a in node.attribute}
            assert attrs == {"transB": 1} and len(node.input) == 3
    shapes = [tuple(t.dims) for t in model.graph.initializer]
    assert shapes == [(100, 32), (100,), (200, 100), (200,), (100, 200), (100,)]


# -- cnn ---------------------------------------------------------------------------------------
def test_cnn_parameter_counts():
    cnn = Cnn()
    assert graph.n_params(cnn.model("lenet5")) == 61_706
    assert graph.n_params(cnn.model("digits")) == 1_898
    vgg16 = graph.n_params(cnn.model("vgg16"))
    assert vgg16 == 15_245_130 and abs(vgg16 - 15.0e6) < 0.02 * 15.0e6
    convs = [n for n in cnn.model("vgg16").graph.node if n.op_type == "Conv"]
    assert len(convs) == 13
    assert [n.op_type for n in cnn.model("vgg11").graph.node].count("Conv") == 8


def test_digits_float_accuracy_and_heldout():
    cnn = Cnn()
    x, y = cnn.heldout()
    assert x.shape == (397, 1, 8, 8) and x.dtype == np.float32 and y.shape == (397,)
    assert 0.0 <= x.min() and x.max() <= 1.0
    import onnxruntime as ort

    sess = ort.InferenceSession(cnn.model("digits").SerializeToString(),
                                providers=["CPUExecutionProvider"])
    pred = np.array([sess.run(None, {"input": xi[None]})[0].argmax() for xi in x])
    assert float(np.mean(pred == y)) >= 0.9
    sample = cnn.inputs("digits", np.random.default_rng(3))
    assert any(np.array_equal(sample[0], xi) for xi in x)


def test_digits_retraining_reproduces_the_stored_weights():
    stored = digits_mod.load_weights()
    retrained = digits_mod.train_digits()
    for name in digits_mod.TENSORS:
        np.testing.assert_allclose(retrained[name], stored[name], atol=1e-4, rtol=0)
    _, _, x, y = digits_mod.load_split()
    assert digits_mod.accuracy(retrained, x, y) >= 0.9
    model_w = {t.name: numpy_helper.to_array(t) for t in Cnn().model("digits").graph.initializer}
    for name in digits_mod.TENSORS:
        assert np.array_equal(model_w[name], stored[name])


# -- chess -------------------------------------------------------------------------------------
@pytest.fixture
def chess():
    return pytest.importorskip("chess")


def test_chess_parameter_counts():
    ch = Chess()
    leela = ch.n_params("leela")
    assert graph.n_params(ch.model("leela")) == leela == 4_543_026
    assert 3_000_000 <= leela <= 5_000_000
    assert 3_000_000 <= ch.n_nonzero_params("leela") <= leela
    model = ch.model("tiny")
    blocks = [n for n in model.graph.node if n.op_type == "Add"]
    assert len(blocks) == 2 + 1  # two residual skips and the head merge
    assert _out_shape(model) == (1, 1861)


def test_chess_heads_split_policy_and_wdl():
    # the heads meet in one Add: policy rows 0..1857, value (W, D, L) rows 1858..1860
    model = Chess().model("tiny")
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    assert not inits["policy.fc.weight"][1858:].any() and not inits["policy.fc.bias"][1858:].any()
    assert not inits["value.fc2.weight"][:1858].any() and not inits["value.fc2.bias"][:1858].any()
    assert inits["policy.fc.weight"][:1858].any() and inits["value.fc2.weight"][1858:].any()


def test_chess_encoding_start_position(chess):
    x = encode(chess.STARTING_FEN)
    assert x.shape == (1, 112, 8, 8) and x.dtype == np.float32
    p = x[0]
    assert p[0:6].sum() == 16 and p[6:12].sum() == 16
    assert p[0, 1].sum() == 8 and p[0, 1].all()  # own pawns on rank 2
    assert p[1, 0, 1] == p[1, 0, 6] == 1  # knights b1, g1
    assert p[2, 0, 2] == p[2, 0, 5] == 1  # bishops c1, f1
    assert p[3, 0, 0] == p[3, 0, 7] == 1  # rooks a1, h1
    assert p[4, 0, 3] == 1 and p[5, 0, 4] == 1  # queen d1, king e1
    assert p[6, 6].all() and p[11, 7, 4] == 1  # their pawns on rank 7, their king e8
    assert p[12].sum() == 0
    for h in range(1, 8):  # history slots repeat the position, repetition planes zero
        assert np.array_equal(p[13 * h:13 * h + 13], p[0:13])
    assert p[104:108].all()  # all four castling rights
    assert not p[108].any()  # white to move
    assert not p[109].any() and not p[110].any() and p[111].all()


def test_chess_encoding_flips_for_black(chess):
    board = chess.Board()
    board.push_san("e4")
    p = encode(board.fen())[0]
    assert p[108].all()  # black to move
    assert p[0, 1].sum() == 8 and p[0, 1].all()  # black's pawns seen from black: rank "2"
    assert p[5, 0, 4] == 1 and p[4, 0, 3] == 1  # black king e8 -> row 0, queen d8 -> row 0
    assert p[6, 4, 4] == 1 and p[6, 6].sum() == 7  # white's e4 pawn mirrored to e5
    assert p[11, 7, 4] == 1  # white king e1 -> row 7


def test_chess_encoding_castling_and_rule50(chess):
    white = encode("r3k2r/8/8/8/8/8/8/R3K2R w Kq - 33 40")[0]
    assert list(white[104:108, 0, 0]) == [0, 1, 1, 0]  # our O-O-O, O-O, their O-O-O, O-O
    assert np.allclose(white[109], 33 / 99)
    black = encode("r3k2r/8/8/8/8/8/8/R3K2R b Kq - 33 40")[0]
    assert list(black[104:108, 0, 0]) == [1, 0, 0, 1]


def test_chess_positions_are_real_and_regenerable(chess):
    shipped = positions()
    assert 24 <= len(shipped) <= 40
    for fen, label in shipped:
        assert chess.Board(fen).is_valid() and label
    assert [(fen, label) for label, fen in make_positions.positions()] == list(shipped)
    ch = Chess()
    fens = {encode(fen).tobytes() for fen, _ in shipped}
    x = ch.inputs("tiny", np.random.default_rng(0))
    assert x.shape == (1, 112, 8, 8) and x.tobytes() in fens

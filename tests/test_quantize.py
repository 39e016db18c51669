import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from tests.onnx_models import mlp_model, small_cnn, small_tree
from workloads.matmul import MatMul
from zkbench import graph
from zkbench.qmodel import matmul_exact, rescale
from zkbench.quantize import QuantizationError, fidelity, quantize, scale_exponent


def test_scale_exponent_fits_the_range():
    for m in [1e-3, 0.3, 1.0, 5.0, 127.0, 1000.0]:
        s = scale_exponent(m, 8)
        assert m * 2.0**s <= 127 < m * 2.0 ** (s + 1)


def test_matmul_integer_inference_is_exact_and_close_to_float():
    w = MatMul()
    model = w.model("n=64")
    x = w.inputs("n=64", np.random.default_rng(1))
    q = quantize(model, x)
    xq = q.quantize_input(x)
    wq = q.constants["W"]
    y = q.output(xq)
    assert np.array_equal(y, xq @ wq)  # int64 oracle
    ref = graph.run_float(model, x)
    err = fidelity(ref, q.dequantize_output(y), "values").max_abs_err
    # Each product carries <= half a step of error per factor; a loose analytic bound.
    step_x, step_w = 2.0 ** -q.scale_bits["X"], 2.0 ** -q.scale_bits["W"]
    assert 0 < err < 64 * (step_x + step_w)


@pytest.mark.parametrize("size", ["64x1024x256", "b8:16x64x64"])
def test_rectangular_and_batched_matmul_is_the_integer_product(size):
    w = MatMul()
    model = w.model(size)
    x = w.inputs(size, np.random.default_rng(3))
    b, m, k, n = w.shape(size)
    assert x.shape == ((b, m, k) if b else (m, k))
    q = quantize(model, x)
    xq = q.quantize_input(x)
    y = q.output(xq)
    assert y.shape == ((b, m, n) if b else (m, n))
    assert np.array_equal(y, xq @ q.constants["W"])
    ref = graph.run_float(model, x)
    assert fidelity(ref, q.dequantize_output(y), "values").max_abs_err < 2.0


def test_matmul_size_names_parse_or_fail_clearly():
    assert MatMul.shape("n=32") == (0, 32, 32, 32)
    assert MatMul.shape("1x4096x4096") == (0, 1, 4096, 4096)
    assert MatMul.shape("b8:16x64x64") == (8, 16, 64, 64)
    with pytest.raises(ValueError, match="n=N, MxKxN nor bB:MxKxN"):
        MatMul.shape("16x64")


def test_mlp_gets_rescales_and_keeps_top1():
    rng = np.random.default_rng(0)
    model = mlp_model(rng)
    xs = rng.normal(0, 1, (64, 1, 16)).astype(np.float32)
    q = quantize(model, xs[:32], output_kind="scores")
    assert [n.op for n in q.nodes].count("rescale") == 1
    agree = [np.argmax(q.dequantize_output(q.output(q.quantize_input(x))))
             == np.argmax(graph.run_float(model, x)) for x in xs]
    assert np.mean(agree) >= 0.9


def test_unsupported_op_names_op_and_node():
    g = helper.make_graph([helper.make_node("Softmax", ["x"], ["y"], name="probs")], "s",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(QuantizationError, match="Softmax.*|.*probs.*"):
        quantize(model, np.ones((1, 4), np.float32))
    with pytest.raises(QuantizationError, match="probs"):
        quantize(model, np.ones((1, 4), np.float32))


def test_float_blas_path_matches_int64():
    rng = np.random.default_rng(2)
    a = rng.integers(-127, 128, (33, 300))
    b = rng.integers(-127, 128, (300, 17))
    assert np.array_equal(matmul_exact(a, b, 127, 127), a @ b)
    big = rng.integers(-(2**30), 2**30, (4, 8))
    assert np.array_equal(matmul_exact(big, big.T, 2**30, 2**30), big @ big.T)


def test_rescale_rounds_half_up():
    x = np.array([-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5])
    assert rescale(x, 1).tolist() == [-2, -2, -1, -1, 0, 0, 1, 1, 2, 2, 3]  # floor((x+1)/2)


def test_fidelity_top1():
    ref = np.array([[0.1, 0.9], [0.8, 0.2]])
    got = np.array([[0.0, 1.0], [0.1, 0.9]])
    f = fidelity(ref, got, "scores")
    assert f.top1_agree == 0.5
    assert f.max_abs_err == pytest.approx(0.7)


def test_rearrange_and_mul_match_onnxruntime():
    rng = np.random.default_rng(3)
    w = rng.normal(0, 0.3, (6, 8)).astype(np.float32)
    g = helper.make_graph(
        [helper.make_node("Transpose", ["x"], ["xt"], name="t", perm=[1, 0]),
         helper.make_node("Reshape", ["xt", "shape"], ["xr"], name="r"),
         helper.make_node("Mul", ["xr", "xr"], ["sq"], name="m"),
         helper.make_node("MatMul", ["sq", "w"], ["mm"], name="mm"),
         helper.make_node("Flatten", ["mm"], ["y"], name="f", axis=0)],
        "rearrange", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16])],
        [numpy_helper.from_array(np.array([2, 6], np.int64), "shape"),
         numpy_helper.from_array(w, "w")])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    xs = rng.uniform(-1, 1, (8, 3, 4)).astype(np.float32)
    q = quantize(model, xs)
    assert [n.op for n in q.nodes].count("rearrange") == 3
    for x in xs[:3]:
        got = q.dequantize_output(q.output(q.quantize_input(x)))
        ref = graph.run_float(model, x)
        assert got.shape == ref.shape
        assert np.max(np.abs(got - ref)) < 0.1


def test_cnn_with_conv_and_maxpool_tracks_float():
    rng = np.random.default_rng(0)
    model = small_cnn(rng)
    xs = rng.uniform(0, 1, (24, 1, 1, 8, 8)).astype(np.float32)
    q = quantize(model, xs[:8], output_kind="scores")
    ops = [n.op for n in q.nodes]
    assert ops.count("matmul") == 3 and "rearrange" in ops and "relu" in ops
    agree = []
    for x in xs[8:]:
        got = q.dequantize_output(q.output(q.quantize_input(x)))
        ref = graph.run_float(model, x)
        assert np.max(np.abs(got.reshape(ref.shape) - ref)) < 0.15
        agree.append(np.argmax(got) == np.argmax(ref))
    assert np.mean(agree) >= 0.8


def test_deep_mlp_is_saturated_so_bounds_stay_small():
    rng = np.random.default_rng(1)
    model = mlp_model(rng, dims=(32, 64, 64, 64, 64, 10))
    q = quantize(model, rng.normal(0, 1, (16, 1, 32)).astype(np.float32), output_kind="scores")
    # every matmul input is within the int8 range, whatever the input
    for node in q.nodes:
        if node.op == "matmul":
            assert q.bounds[node.inputs[0]] <= 127, node
    assert max(q.bounds.values()) < 2**29


def test_tree_comparisons_are_exact():
    model = small_tree()
    rng = np.random.default_rng(2)
    xs = rng.uniform(-1, 1, (16, 4, 3)).astype(np.float32)
    xs[0, 0] = [0.5, -0.25, 0.125]  # exactly on the thresholds: Less is strict
    q = quantize(model, xs, output_kind="scores")
    assert "sign" in {n.op for n in q.nodes}
    for x in xs:
        got = q.dequantize_output(q.output(q.quantize_input(x)))
        assert np.max(np.abs(got - graph.run_float(model, x))) < 1e-2

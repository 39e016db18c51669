import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from workloads.matmul import MatMul
from zkbench import graph
from zkbench.qmodel import matmul_exact, rescale
from zkbench.quantize import QuantizationError, fidelity, quantize, scale_exponent


def _mlp(rng, dims=(16, 32, 10)):
    nodes, inits = [], []
    prev = "x"
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
        w = rng.normal(0, 1 / np.sqrt(a), (b, a)).astype(np.float32)
        bias = rng.normal(0, 0.1, b).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(bias, f"b{i}")]
        out = f"h{i}" if i < len(dims) - 2 else "y"
        nodes.append(helper.make_node("Gemm", [prev, f"w{i}", f"b{i}"], [f"g{i}" if out != "y"
                                      else "y"], name=f"gemm{i}", transB=1))
        if out != "y":
            nodes.append(helper.make_node("Relu", [f"g{i}"], [out], name=f"relu{i}"))
        prev = out
    g = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                          [1, dims[0]])], [helper.make_tensor_value_info("y", TensorProto.FLOAT,
                          [1, dims[-1]])], inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


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


def test_mlp_gets_rescales_and_keeps_top1():
    rng = np.random.default_rng(0)
    model = _mlp(rng)
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

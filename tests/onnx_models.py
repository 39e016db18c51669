"""Small float ONNX models built in the tests (the workloads package grows its own)."""

import numpy as np
from onnx import TensorProto, helper, numpy_helper


def mlp_model(rng, dims=(16, 32, 10)):
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


def small_cnn(rng, channels=(1, 4, 6), hw=8, classes=5):
    """conv3x3(pad 1)-relu-maxpool-conv3x3(stride 2, pad 1)-relu-flatten-gemm."""
    c0, c1, c2 = channels
    w1 = rng.normal(0, np.sqrt(2 / (9 * c0)), (c1, c0, 3, 3)).astype(np.float32)
    w2 = rng.normal(0, np.sqrt(2 / (9 * c1)), (c2, c1, 3, 3)).astype(np.float32)
    flat = c2 * (hw // 4) ** 2
    w3 = rng.normal(0, np.sqrt(2 / flat), (classes, flat)).astype(np.float32)
    inits = [numpy_helper.from_array(w1, "w1"),
             numpy_helper.from_array(rng.normal(0, 0.05, c1).astype(np.float32), "b1"),
             numpy_helper.from_array(w2, "w2"),
             numpy_helper.from_array(rng.normal(0, 0.05, c2).astype(np.float32), "b2"),
             numpy_helper.from_array(w3, "w3"),
             numpy_helper.from_array(rng.normal(0, 0.05, classes).astype(np.float32), "b3")]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1],
                         kernel_shape=[3, 3]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], name="conv2", pads=[1, 1, 1, 1],
                         kernel_shape=[3, 3], strides=[2, 2]),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("Flatten", ["r2"], ["f"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f", "w3", "b3"], ["y"], name="fc", transB=1),
    ]
    g = helper.make_graph(nodes, "small_cnn",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c0, hw, hw])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, classes])],
                          inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def small_tree():
    """A depth-2 decision tree on 3 features in the tensorized form: Less, MatMul, Equal."""
    a = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32)  # feature of each node
    thresholds = np.array([0.5, -0.25, 0.125], np.float32)
    # node 0 root; node 1 its left child, node 2 its right child; leaves 0..3 left to right
    p = np.array([[1, 1, -1, -1], [1, -1, 0, 0], [0, 0, 1, -1]], np.float32)
    e = np.array([2, 1, 1, 0], np.float32)
    v = np.array([[1, 0], [0.25, 0.75], [0.5, 0.5], [0, 1]], np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "A"], ["t"], name="select"),
        helper.make_node("Less", ["t", "thr"], ["lt"], name="less"),
        helper.make_node("Cast", ["lt"], ["c"], name="cast1", to=TensorProto.FLOAT),
        helper.make_node("MatMul", ["c", "P"], ["s"], name="paths"),
        helper.make_node("Equal", ["s", "E"], ["eq"], name="equal"),
        helper.make_node("Cast", ["eq"], ["leaf"], name="cast2", to=TensorProto.FLOAT),
        helper.make_node("MatMul", ["leaf", "V"], ["y"], name="values"),
    ]
    inits = [numpy_helper.from_array(a, "A"), numpy_helper.from_array(thresholds, "thr"),
             numpy_helper.from_array(p, "P"), numpy_helper.from_array(e, "E"),
             numpy_helper.from_array(v, "V")]
    g = helper.make_graph(nodes, "small_tree",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 3])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 2])], inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model

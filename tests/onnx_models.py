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

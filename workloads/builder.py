"""A small straight-line ONNX graph builder in the op vocabulary zkbench's provers support.

The vocabulary (opset 17, ir_version 8, batch 1, static shapes, float32 weights): Gemm
(transB=1, 1-d bias), Conv (2-d, square 1x1/3x3/5x5 kernel, stride 1 or 2, symmetric pads,
group 1), Relu, MaxPool (2x2, stride 2), Flatten, Add (two activations of one shape). The
``mlp``, ``cnn`` and ``chess`` workloads all build their graphs with :class:`GraphBuilder`.

Every layer is named; its tensors are ``<name>.weight`` and ``<name>.bias`` and, unless the
caller passes explicit arrays (trained weights), they are drawn from
``weight_rng(workload, size, tensor)``: weights He-style, normal with std ``gain *
sqrt(2 / fan_in)``; biases normal with std :data:`BIAS_STD`.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from workloads.base import weight_rng
from zkbench.types import Size

OPSET = 17
IR_VERSION = 8
BIAS_STD = 0.02

VOCABULARY = frozenset({"MatMul", "Gemm", "Add", "Relu", "Conv", "MaxPool", "Flatten",
                        "Reshape", "Identity"})
"""The ONNX ops the quantizer and the GKR prover support; graphs here use only these."""


def he_normal(workload: str, size: Size, tensor: str, shape: tuple[int, ...], fan_in: int,
              gain: float = 1.0) -> np.ndarray:
    """A seeded He-normal weight: std ``gain * sqrt(2 / fan_in)``, float32."""
    std = gain * np.sqrt(2.0 / fan_in)
    return (weight_rng(workload, size, tensor).standard_normal(shape) * std).astype(np.float32)


def small_bias(workload: str, size: Size, tensor: str, n: int) -> np.ndarray:
    return (weight_rng(workload, size, tensor).standard_normal(n) * BIAS_STD).astype(np.float32)


class GraphBuilder:
    """Appends layers to a single running tensor (``cur``, of shape ``shape``).

    Branches (residual skips, two heads) are made by remembering ``cur``/``shape`` and
    calling :meth:`goto` to continue from an earlier tensor.
    """

    def __init__(self, workload: str, size: Size, input_shape: tuple[int, ...]):
        self.workload = workload
        self.size = size
        self.input_shape = tuple(input_shape)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.cur = "input"
        self.shape: tuple[int, ...] = self.input_shape
        self._names: set[str] = {"input"}

    # -- bookkeeping -------------------------------------------------------------------------
    def _fresh(self, name: str) -> str:
        if name in self._names:
            raise ValueError(f"duplicate tensor/node name {name!r}")
        self._names.add(name)
        return name

    def _const(self, name: str, array: np.ndarray) -> str:
        data = np.ascontiguousarray(array, dtype=np.float32)
        self.initializers.append(numpy_helper.from_array(data, self._fresh(name)))
        return name

    def _node(self, op: str, inputs: list[str], name: str, shape: tuple[int, ...],
              **attrs) -> str:
        out = self._fresh(name)
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        self.cur, self.shape = out, shape
        return out

    def goto(self, tensor: str, shape: tuple[int, ...]) -> None:
        """Continue building from an earlier tensor (for skips and heads)."""
        self.cur, self.shape = tensor, tuple(shape)

    @property
    def n_params(self) -> int:
        return int(sum(int(np.prod(t.dims)) for t in self.initializers))

    # -- layers ------------------------------------------------------------------------------
    def gemm(self, name: str, n_out: int, *, relu: bool = False, weight: np.ndarray | None = None,
             bias: np.ndarray | None = None, gain: float = 1.0) -> str:
        """``cur @ W.T + b`` (Gemm, transB=1, W of shape (n_out, n_in)), then an optional Relu."""
        if len(self.shape) != 2 or self.shape[0] != 1:
            raise ValueError(f"gemm {name}: input shape {self.shape} is not (1, n)")
        n_in = self.shape[1]
        if weight is None:
            weight = he_normal(self.workload, self.size, f"{name}.weight", (n_out, n_in), n_in,
                               gain)
        if bias is None:
            bias = small_bias(self.workload, self.size, f"{name}.bias", n_out)
        if weight.shape != (n_out, n_in) or bias.shape != (n_out,):
            raise ValueError(f"gemm {name}: weight {weight.shape} / bias {bias.shape} do not fit")
        w = self._const(f"{name}.weight", weight)
        b = self._const(f"{name}.bias", bias)
        self._node("Gemm", [self.cur, w, b], name, (1, n_out), transB=1)
        return self.relu(f"{name}.relu") if relu else self.cur

    def conv(self, name: str, c_out: int, k: int, *, stride: int = 1, pad: int | None = None,
             relu: bool = False, weight: np.ndarray | None = None, bias: np.ndarray | None = None,
             gain: float = 1.0) -> str:
        """A square ``k x k`` convolution (NCHW, group 1); ``pad`` defaults to ``k // 2``."""
        if k not in (1, 3, 5) or stride not in (1, 2):
            raise ValueError(f"conv {name}: kernel {k} / stride {stride} outside the vocabulary")
        n, c_in, h, w_ = self.shape
        pad = k // 2 if pad is None else pad
        if weight is None:
            weight = he_normal(self.workload, self.size, f"{name}.weight", (c_out, c_in, k, k),
                               c_in * k * k, gain)
        if bias is None:
            bias = small_bias(self.workload, self.size, f"{name}.bias", c_out)
        if weight.shape != (c_out, c_in, k, k) or bias.shape != (c_out,):
            raise ValueError(f"conv {name}: weight {weight.shape} / bias {bias.shape} do not fit")
        h_out = (h + 2 * pad - k) // stride + 1
        w_out = (w_ + 2 * pad - k) // stride + 1
        wt = self._const(f"{name}.weight", weight)
        bt = self._const(f"{name}.bias", bias)
        self._node("Conv", [self.cur, wt, bt], name, (n, c_out, h_out, w_out),
                   kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4)
        return self.relu(f"{name}.relu") if relu else self.cur

    def relu(self, name: str) -> str:
        return self._node("Relu", [self.cur], name, self.shape)

    def maxpool(self, name: str) -> str:
        n, c, h, w = self.shape
        return self._node("MaxPool", [self.cur], name, (n, c, h // 2, w // 2),
                          kernel_shape=[2, 2], strides=[2, 2])

    def flatten(self, name: str) -> str:
        shape = (self.shape[0], int(np.prod(self.shape[1:])))
        return self._node("Flatten", [self.cur], name, shape, axis=1)

    def add(self, name: str, other: str) -> str:
        """``cur + other``; ``other`` must be an activation of the same shape as ``cur``."""
        return self._node("Add", [self.cur, other], name, self.shape)

    # -- result ------------------------------------------------------------------------------
    def build(self, graph_name: str) -> onnx.ModelProto:
        """The model: one input ``input``, one output ``output`` (the current tensor)."""
        last = self.nodes[-1]
        if last.output[0] != self.cur:
            raise ValueError("the current tensor is not the last node's output")
        last.output[0] = "output"
        graph = helper.make_graph(
            self.nodes,
            graph_name,
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(self.input_shape))],
            [helper.make_tensor_value_info("output", TensorProto.FLOAT, list(self.shape))],
            self.initializers,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="zkbench")
        model.ir_version = IR_VERSION
        return model

"""``matmul``: Y = X @ W, X the public input and W a seeded weight.

Three shapes of size name:

- ``n=N``: square, X and W both N x N (the scaling series);
- ``MxKxN``: rectangular, X is M x K and W is K x N; ``1xKxN`` is a matrix-vector product, the
  shape of one token through a dense layer;
- ``bB:MxKxN``: batched, B independent inputs of M x K through the same W (ONNX MatMul
  broadcasting over a leading batch axis), the shape of a batch through one layer.
"""

from __future__ import annotations

import re
from typing import ClassVar

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from workloads.base import check_size, weight_rng
from zkbench.types import Size

SIZES_N = (16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
SIZES_RECT = ("1x4096x4096", "64x1024x256", "256x64x1024", "b8:16x64x64", "b16:128x256x256")
_SHAPE = re.compile(r"^(?:b(\d+):)?(\d+)x(\d+)x(\d+)$")


class MatMul:
    name: ClassVar[str] = "matmul"
    output_kind: ClassVar[str] = "values"

    def sizes(self) -> tuple[Size, ...]:
        return tuple(f"n={n}" for n in SIZES_N) + SIZES_RECT

    def quick_sizes(self) -> tuple[Size, ...]:
        return ("n=16", "n=64")

    def suites(self) -> dict[str, list[Size]]:
        return {"paper": ["n=256", "n=1024", "n=2048"]}

    @staticmethod
    def shape(size: Size) -> tuple[int, int, int, int]:
        """(batch, m, k, n) of a size name; batch 0 means no batch axis."""
        if size.startswith("n="):
            n = int(size.split("=", 1)[1])
            return 0, n, n, n
        match = _SHAPE.match(size)
        if match is None:
            raise ValueError(f"matmul size {size!r} is neither n=N, MxKxN nor bB:MxKxN")
        b, m, k, n = match.groups()
        return int(b or 0), int(m), int(k), int(n)

    def _x_shape(self, size: Size) -> list[int]:
        b, m, k, _ = self.shape(size)
        return [b, m, k] if b else [m, k]

    def model(self, size: Size) -> onnx.ModelProto:
        check_size(self, size)
        b, m, k, n = self.shape(size)
        w = weight_rng(self.name, size, "W").uniform(-1.0, 1.0, (k, n)).astype(np.float32)
        y_shape = [b, m, n] if b else [m, n]
        graph = helper.make_graph(
            [helper.make_node("MatMul", ["X", "W"], ["Y"], name="matmul")],
            f"matmul_{size.replace(':', '_')}",
            [helper.make_tensor_value_info("X", TensorProto.FLOAT, self._x_shape(size))],
            [helper.make_tensor_value_info("Y", TensorProto.FLOAT, y_shape)],
            [numpy_helper.from_array(w, "W")],
        )
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="zkbench"
        )
        model.ir_version = 8
        return model

    def inputs(self, size: Size, rng: np.random.Generator) -> np.ndarray:
        check_size(self, size)
        return rng.uniform(-1.0, 1.0, self._x_shape(size)).astype(np.float32)

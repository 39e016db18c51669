"""``matmul``: Y = X @ W for square n x n matrices, X the public input and W a seeded weight."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from workloads.base import check_size, weight_rng
from zkbench.types import Size

SIZES_N = (16, 32, 64, 128, 256, 512, 1024, 2048, 4096)


class MatMul:
    name: ClassVar[str] = "matmul"
    output_kind: ClassVar[str] = "values"

    def sizes(self) -> tuple[Size, ...]:
        return tuple(f"n={n}" for n in SIZES_N)

    def quick_sizes(self) -> tuple[Size, ...]:
        return ("n=16", "n=64")

    def suites(self) -> dict[str, list[Size]]:
        return {"paper": ["n=256", "n=1024", "n=2048"]}

    @staticmethod
    def n(size: Size) -> int:
        return int(size.split("=", 1)[1])

    def model(self, size: Size) -> onnx.ModelProto:
        check_size(self, size)
        n = self.n(size)
        w = weight_rng(self.name, size, "W").uniform(-1.0, 1.0, (n, n)).astype(np.float32)
        graph = helper.make_graph(
            [helper.make_node("MatMul", ["X", "W"], ["Y"], name="matmul")],
            f"matmul_{n}",
            [helper.make_tensor_value_info("X", TensorProto.FLOAT, [n, n])],
            [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [n, n])],
            [numpy_helper.from_array(w, "W")],
        )
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="zkbench"
        )
        model.ir_version = 8
        return model

    def inputs(self, size: Size, rng: np.random.Generator) -> np.ndarray:
        check_size(self, size)
        n = self.n(size)
        return rng.uniform(-1.0, 1.0, (n, n)).astype(np.float32)

"""``cnn``: LeNet-5, VGG-11 and VGG-16 (seeded weights) and a small CNN trained on digits.

Sizes:

``lenet5`` -- input ``1x1x32x32``: conv5x5(6) - relu - maxpool - conv5x5(16) - relu - maxpool -
flatten - gemm 120 - relu - gemm 84 - relu - gemm 10 (61,706 parameters).

``vgg11`` / ``vgg16`` -- CIFAR-shaped input ``1x3x32x32``; 3x3 convolutions with pad 1, each
followed by relu, 2x2 max-pools, in the standard VGG channel configurations; then the CIFAR
classifier 512 - 512 - 10 (Gemm + relu, Gemm + relu, Gemm): 9,750,922 and 15,245,130
parameters.

``digits`` -- input ``1x1x8x8``, pixels scaled to [0, 1] (sklearn's 0..16 divided by 16):
conv3x3(8) - relu - maxpool - conv3x3(16) - relu - maxpool - flatten - gemm 10, with weights
trained on scikit-learn's bundled digits (see :mod:`workloads.cnn.digits`); its inputs are
held-out images, so fidelity columns measure real accuracy lost to quantization.

Seeded weights are He-normal (``weight_rng``), biases small; there is no batch norm, softmax or
dropout (not in the provers' op vocabulary), so outputs are raw class logits.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import onnx

from workloads.base import check_size
from workloads.builder import GraphBuilder
from workloads.cnn import digits
from workloads.cnn.digits import train_digits
from zkbench.types import Size

__all__ = ["Cnn", "train_digits"]

VGG_CONFIGS: dict[str, tuple[int | str, ...]] = {
    "vgg11": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg16": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"),
}
INPUT_SHAPES: dict[str, tuple[int, int, int, int]] = {
    "lenet5": (1, 1, 32, 32),
    "vgg11": (1, 3, 32, 32),
    "vgg16": (1, 3, 32, 32),
    "digits": (1, 1, 8, 8),
}


class Cnn:
    name: ClassVar[str] = "cnn"
    output_kind: ClassVar[str] = "scores"

    def __init__(self) -> None:
        self._digits_weights: dict[str, np.ndarray] | None = None
        self._heldout: tuple[np.ndarray, np.ndarray] | None = None

    def sizes(self) -> tuple[Size, ...]:
        return ("digits", "lenet5", "vgg11", "vgg16")

    def quick_sizes(self) -> tuple[Size, ...]:
        return ("digits",)

    def suites(self) -> dict[str, list[Size]]:
        return {"paper": ["lenet5", "vgg11", "vgg16", "digits"]}

    def input_shape(self, size: Size) -> tuple[int, int, int, int]:
        check_size(self, size)
        return INPUT_SHAPES[size]

    # -- models ------------------------------------------------------------------------------
    def model(self, size: Size) -> onnx.ModelProto:
        b = GraphBuilder(self.name, size, self.input_shape(size))
        if size == "lenet5":
            b.conv("conv1", 6, 5, pad=0, relu=True)
            b.maxpool("pool1")
            b.conv("conv2", 16, 5, pad=0, relu=True)
            b.maxpool("pool2")
            b.flatten("flatten")
            b.gemm("fc1", 120, relu=True)
            b.gemm("fc2", 84, relu=True)
            b.gemm("fc3", 10)
        elif size in VGG_CONFIGS:
            n_conv = n_pool = 0
            for item in VGG_CONFIGS[size]:
                if item == "M":
                    n_pool += 1
                    b.maxpool(f"pool{n_pool}")
                else:
                    n_conv += 1
                    b.conv(f"conv{n_conv}", int(item), 3, pad=1, relu=True)
            b.flatten("flatten")
            b.gemm("fc1", 512, relu=True)
            b.gemm("fc2", 512, relu=True)
            b.gemm("fc3", 10)
        else:  # digits
            w = self.digits_weights()
            b.conv("conv1", 8, 3, pad=1, relu=True, weight=w["conv1.weight"],
                   bias=w["conv1.bias"])
            b.maxpool("pool1")
            b.conv("conv2", 16, 3, pad=1, relu=True, weight=w["conv2.weight"],
                   bias=w["conv2.bias"])
            b.maxpool("pool2")
            b.flatten("flatten")
            b.gemm("fc", 10, weight=w["fc.weight"], bias=w["fc.bias"])
        return b.build(f"cnn_{size}")

    def inputs(self, size: Size, rng: np.random.Generator) -> np.ndarray:
        """Uniform [0, 1) images for the seeded nets; a held-out digit (in [0, 1]) for digits."""
        shape = self.input_shape(size)
        if size == "digits":
            x, _ = self.heldout()
            return x[int(rng.integers(len(x)))][None].copy()
        return rng.uniform(0.0, 1.0, shape).astype(np.float32)

    # -- the trained digits net --------------------------------------------------------------
    def digits_weights(self) -> dict[str, np.ndarray]:
        """The committed trained weights (``digits_weights.npz``; see ``digits.train_digits``)."""
        if self._digits_weights is None:
            self._digits_weights = digits.load_weights()
        return self._digits_weights

    def heldout(self) -> tuple[np.ndarray, np.ndarray]:
        """The 397 held-out digits: ``x`` float32 ``(n, 1, 8, 8)`` in [0, 1], labels ``y``."""
        if self._heldout is None:
            _, _, x, y = digits.load_split()
            self._heldout = (x, y)
        return self._heldout

"""``mlp``: the multi-layer perceptrons of Modulus Labs' *The Cost of Intelligence* (2023).

Every layer is ``Gemm(transB=1)`` with a bias, followed by ``Relu`` except the last. Input: a
float32 vector of shape ``(1, n_in)``, uniform in [-1, 1].

Two suites (shared/ANCHORS.md, the paper's appendix A.4):

``coi-params`` -- the 12 architectures ``FC_48564`` ... ``FC_18252933``: small ones with input
32, output 100 and 20 layers; large ones with input 784, output 1000 and 30 layers. The paper
gives each one's parameter count and the shape of its largest FC matrix, not its widths, so
:func:`solve_widths` designs them: the largest matrix is placed as published and every other
hidden layer gets one common width ``w`` (the first ``j`` of them ``w + 1``), with ``(w, j)``
chosen to bring weights + biases as close as possible to the published count. A published
shape ``A x B`` is read as ``A`` inputs and ``B`` outputs (the Gemm weight is ``B x A`` in
transB form): ``88x100`` and ``230x1000`` are the last layer (``B`` is the output size),
``111x122`` / ``161x177`` and the square ones are two adjacent hidden widths in the middle.

``coi-depth`` -- the 14 "200x100-style" architectures ``depth-small-{3..40}`` (input 32,
output 100) and ``depth-large-{50..500}`` (input 784, output 1000): hidden widths alternate
100, 200, 100, ... This reproduces every published count exactly: 43,600 (small-3), 779,100
(small-40), 1,146,700 (large-50), 10,214,200 (large-500).

Weights are He-style normals from ``weight_rng``; so that activations stay O(1) through 500
layers, each layer's weight is then multiplied by a gain (a multiple of 1/64) that brings a
fixed seeded probe batch's pre-activations to unit RMS.
"""

from __future__ import annotations

from functools import cache
from typing import ClassVar

import numpy as np
import onnx

from workloads.base import check_size, weight_rng
from workloads.builder import BIAS_STD, GraphBuilder
from zkbench.types import Size

SMALL = (32, 100, 20)
LARGE = (784, 1000, 30)

COI_PARAMS: dict[str, tuple[int, tuple[int, int]]] = {
    # name: (published parameter count, published largest FC matrix "A x B")
    "FC_48564": (49_473, (88, 100)),
    "FC_87771": (88_988, (111, 122)),
    "FC_177522": (179_249, (161, 177)),
    "FC_517529": (520_892, (230, 1000)),
    "FC_676836": (680_646, (273, 1000)),
    "FC_1195804": (1_200_801, (389, 1000)),
    "FC_2236477": (2_243_260, (562, 1000)),
    "FC_4107399": (4_116_558, (793, 1000)),
    "FC_7770136": (7_782_715, (1124, 1124)),
    "FC_11216646": (11_231_754, (1369, 1369)),
    "FC_14773663": (14_790_999, (1586, 1586)),
    "FC_18252933": (18_272_201, (1773, 1773)),
}
DEPTH_SMALL = (3, 5, 10, 15, 20, 30, 40)
DEPTH_LARGE = (50, 75, 100, 150, 200, 350, 500)
DEPTH_PUBLISHED = {
    "depth-small-3": 43_600, "depth-small-40": 779_100,
    "depth-large-50": 1_146_700, "depth-large-500": 10_214_200,
}

PROBE_ROWS = 16
GAIN_STEP = 64


def n_params(dims: tuple[int, ...]) -> int:
    """Weights plus biases of the MLP with layer widths ``dims`` (input first, output last)."""
    d = np.asarray(dims, dtype=np.int64)
    return int(np.sum(d[:-1] * d[1:]) + np.sum(d[1:]))


def largest_matrix(dims: tuple[int, ...]) -> tuple[int, int]:
    """``(inputs, outputs)`` of the layer with the most weights (the first, on ties)."""
    pairs = list(zip(dims[:-1], dims[1:], strict=True))
    return max(pairs, key=lambda p: p[0] * p[1])


def _layout(n_in: int, n_out: int, n_layers: int, largest: tuple[int, int], w: int,
            j: int) -> tuple[int, ...]:
    a, b = largest
    if b == n_out:
        n_free = n_layers - 2
        free = [w + 1] * j + [w] * (n_free - j)
        hidden = [*free, a]
    else:
        n_free = n_layers - 3
        free = [w + 1] * j + [w] * (n_free - j)
        m = n_free // 2
        hidden = [*free[:m], a, b, *free[m:]]
    return (n_in, *hidden, n_out)


def solve_widths(n_in: int, n_out: int, n_layers: int, params: int,
                 largest: tuple[int, int]) -> tuple[int, ...]:
    """Layer widths with the published largest matrix and the closest parameter count.

    The free hidden widths are ``w`` or ``w + 1``; the count grows monotonically in ``w`` and
    in ``j`` (how many are ``w + 1``), so a bisection on ``w`` and a scan over ``j`` find the
    best pair. Raises if the result's largest matrix is not ``largest``.
    """
    a, b = largest
    n_free = n_layers - 2 if b == n_out else n_layers - 3
    lo, hi = 1, max(a, b, n_in, n_out)  # n_params(layout(lo)) <= params < n_params(layout(hi))
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if n_params(_layout(n_in, n_out, n_layers, largest, mid, 0)) <= params:
            lo = mid
        else:
            hi = mid
    candidates = [_layout(n_in, n_out, n_layers, largest, lo, j) for j in range(n_free + 1)]
    dims = min(candidates, key=lambda d: abs(n_params(d) - params))
    area = a * b
    for x, y in zip(dims[:-1], dims[1:], strict=True):
        if x * y > area or (x * y == area and (x, y) != (a, b)):
            raise ValueError(f"layer {x}x{y} is not smaller than the largest matrix {a}x{b}")
    return dims


def depth_dims(n_in: int, n_out: int, n_layers: int) -> tuple[int, ...]:
    """``n_layers`` FC layers with hidden widths alternating 100, 200, 100, ..."""
    return (n_in, *(100 if i % 2 == 0 else 200 for i in range(n_layers - 1)), n_out)


def _size_table() -> dict[str, tuple[int, ...]]:
    table: dict[str, tuple[int, ...]] = {}
    for name, (params, largest) in COI_PARAMS.items():
        n_in, n_out, n_layers = SMALL if params < 500_000 else LARGE
        table[name] = solve_widths(n_in, n_out, n_layers, params, largest)
    for n_layers in DEPTH_SMALL:
        table[f"depth-small-{n_layers}"] = depth_dims(*SMALL[:2], n_layers)
    for n_layers in DEPTH_LARGE:
        table[f"depth-large-{n_layers}"] = depth_dims(*LARGE[:2], n_layers)
    return table


@cache
def size_table() -> dict[str, tuple[int, ...]]:
    """size -> layer widths (input first, output last), for every size."""
    return _size_table()


class Mlp:
    name: ClassVar[str] = "mlp"
    output_kind: ClassVar[str] = "scores"

    def sizes(self) -> tuple[Size, ...]:
        return tuple(size_table())

    def quick_sizes(self) -> tuple[Size, ...]:
        return ("depth-small-3",)

    def suites(self) -> dict[str, list[Size]]:
        return {
            "coi-params": list(COI_PARAMS),
            "coi-depth": [f"depth-small-{n}" for n in DEPTH_SMALL]
            + [f"depth-large-{n}" for n in DEPTH_LARGE],
            "paper": ["FC_48564", "FC_2236477", "FC_18252933", "depth-large-500"],
        }

    def dims(self, size: Size) -> tuple[int, ...]:
        """Layer widths of ``size``: input, hidden..., output."""
        check_size(self, size)
        return size_table()[size]

    def n_params(self, size: Size) -> int:
        return n_params(self.dims(size))

    def model(self, size: Size) -> onnx.ModelProto:
        dims = self.dims(size)
        n_layers = len(dims) - 1
        builder = GraphBuilder(self.name, size, (1, dims[0]))
        probe = weight_rng(self.name, size, "probe").uniform(-1.0, 1.0, (PROBE_ROWS, dims[0]))
        for i, (n_in, n_out) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
            layer = f"fc{i}"
            raw = weight_rng(self.name, size, f"{layer}.weight").standard_normal((n_out, n_in))
            weight = raw * np.sqrt(2.0 / n_in)
            # Calibrate: the probe's pre-activation RMS -> 1, the gain rounded to 1/64 so that
            # last-bit differences in a machine's BLAS can never change the float32 weights.
            rms = float(np.sqrt(np.mean((probe @ weight.T) ** 2)))
            gain = max(1, round(GAIN_STEP / rms)) / GAIN_STEP if rms > 0 else 1.0
            weight = (weight * gain).astype(np.float32)
            bias = (weight_rng(self.name, size, f"{layer}.bias").standard_normal(n_out)
                    * BIAS_STD).astype(np.float32)
            last = i == n_layers - 1
            builder.gemm(layer, n_out, relu=not last, weight=weight, bias=bias)
            probe = probe @ weight.astype(np.float64).T + bias
            if not last:
                probe = np.maximum(probe, 0.0)
        return builder.build(f"mlp_{size}")

    def inputs(self, size: Size, rng: np.random.Generator) -> np.ndarray:
        dims = self.dims(size)
        return rng.uniform(-1.0, 1.0, (1, dims[0])).astype(np.float32)

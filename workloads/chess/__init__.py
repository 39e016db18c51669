"""``chess``: a Leela-Chess-Zero-style residual network on lc0's 112 input planes.

Input ``1x112x8x8``, encoded from a FEN by :func:`encode` (lc0's "classical" 112-plane format):

* planes ``13 * h + 0..5``: the side to move's pawns, knights, bishops, rooks, queens, king;
  ``13 * h + 6..11``: the opponent's; ``13 * h + 12``: the repetition flag -- for each of the 8
  history slots ``h`` (0 = the current position). A FEN carries no history, so every slot repeats
  the current position (as lc0 fills history for a position set up from a FEN) and every
  repetition plane is zero.
* plane 104 / 105: the side to move may castle queenside / kingside; 106 / 107: the same for
  the opponent; 108: all ones when black is to move; 109: the rule-50 half-move counter divided
  by 99; 110: all zeros; 111: all ones.
* ``plane[row, col]`` is the square on rank ``row + 1``, file ``"abcdefgh"[col]``, seen from
  the side to move: when black is to move the board is flipped vertically (rank 8 <-> rank 1),
  so the mover's pieces always start on rows 0 and 1.

Network (seeded He-normal weights; the second convolution of each residual block is scaled by
``1 / sqrt(blocks)`` so that activations stay O(1) down the tower):

* body: conv3x3 (F) + relu, then B residual blocks ``relu(x + conv3x3(relu(conv3x3(x))))``;
* policy head: conv1x1 (P channels) + relu, flatten, Gemm to 1858 move logits;
* value head: conv1x1 (V channels) + relu, flatten, Gemm to 128 + relu, Gemm to 3 win / draw /
  loss logits (no tanh or softmax: not in the provers' vocabulary).

The op vocabulary has no Concat, so the heads are merged with one Add: the policy Gemm writes
rows ``0..1857`` of a ``1861``-vector (its rows 1858..1860 are zero) and the value head's last
Gemm writes rows ``1858..1860`` (its rows ``0..1857`` are zero). The single output ``(1, 1861)``
is the 1858 policy logits followed by the W, D, L logits. The structural zeros are counted in
the parameter totals (``n_params``); :meth:`Chess.n_nonzero_params` leaves them out.

lc0's classical policy head has 32 channels, which would put 3.8M weights in the policy Gemm
alone; ``leela`` (10 blocks x 128 filters) uses P = 8 so that the whole net is ~4.5M parameters,
close to the ~4M-parameter net of Modulus' "Leela vs the World".
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import ClassVar, NamedTuple

import numpy as np
import onnx

from workloads.base import check_size, weight_rng
from workloads.builder import BIAS_STD, GraphBuilder
from zkbench.types import Size

POSITIONS_PATH = Path(__file__).with_name("positions.txt")
N_PLANES = 112
N_POLICY = 1858
N_WDL = 3
N_OUT = N_POLICY + N_WDL
HISTORY = 8


class Arch(NamedTuple):
    blocks: int
    filters: int
    policy_channels: int
    value_channels: int
    value_hidden: int


ARCHS: dict[Size, Arch] = {
    "tiny": Arch(2, 16, 2, 2, 32),
    "small": Arch(6, 64, 8, 16, 128),
    "medium": Arch(10, 64, 8, 32, 128),
    "leela": Arch(10, 128, 8, 32, 128),
}


# -- input encoding ------------------------------------------------------------------------------
def encode_board(board) -> np.ndarray:
    """lc0 classical planes ``(112, 8, 8)`` float32 for a ``chess.Board`` (see module doc)."""
    import chess

    us = board.turn
    current = np.zeros((13, 8, 8), dtype=np.float32)
    for square, piece in board.piece_map().items():
        sq = square if us == chess.WHITE else chess.square_mirror(square)
        plane = piece.piece_type - 1 + (0 if piece.color == us else 6)
        current[plane, chess.square_rank(sq), chess.square_file(sq)] = 1.0
    planes = np.zeros((N_PLANES, 8, 8), dtype=np.float32)
    for h in range(HISTORY):
        planes[13 * h:13 * h + 13] = current
    them = not us
    aux = 13 * HISTORY
    planes[aux + 0] = float(board.has_queenside_castling_rights(us))
    planes[aux + 1] = float(board.has_kingside_castling_rights(us))
    planes[aux + 2] = float(board.has_queenside_castling_rights(them))
    planes[aux + 3] = float(board.has_kingside_castling_rights(them))
    planes[aux + 4] = float(us == chess.BLACK)
    planes[aux + 5] = board.halfmove_clock / 99.0
    planes[aux + 6] = 0.0
    planes[aux + 7] = 1.0
    return planes


def encode(fen: str) -> np.ndarray:
    """The network input ``(1, 112, 8, 8)`` float32 for a FEN."""
    import chess

    return encode_board(chess.Board(fen))[None]


@cache
def positions() -> tuple[tuple[str, str], ...]:
    """The shipped positions: ``(fen, where it comes from)`` from ``positions.txt``."""
    out = []
    for line in POSITIONS_PATH.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            fen, _, label = line.partition(" ; ")
            out.append((fen.strip(), label.strip()))
    return tuple(out)


# -- the network ---------------------------------------------------------------------------------
def n_params(arch: Arch) -> int:
    """All parameters of ``arch``, the head-merge zeros included (= the ONNX initializers)."""
    f, p, v, hid = arch.filters, arch.policy_channels, arch.value_channels, arch.value_hidden
    body = (N_PLANES * 9 * f + f) + arch.blocks * 2 * (f * f * 9 + f)
    policy = (f * p + p) + (p * 64 * N_OUT + N_OUT)
    value = (f * v + v) + (v * 64 * hid + hid) + (hid * N_OUT + N_OUT)
    return body + policy + value


def n_head_zeros(arch: Arch) -> int:
    """The structural zeros of the head merge (weights and biases)."""
    return N_WDL * (arch.policy_channels * 64 + 1) + N_POLICY * (arch.value_hidden + 1)


class Chess:
    name: ClassVar[str] = "chess"
    output_kind: ClassVar[str] = "scores"

    def sizes(self) -> tuple[Size, ...]:
        return tuple(ARCHS)

    def quick_sizes(self) -> tuple[Size, ...]:
        return ("tiny",)

    def suites(self) -> dict[str, list[Size]]:
        return {"paper": ["tiny", "leela"]}

    def arch(self, size: Size) -> Arch:
        check_size(self, size)
        return ARCHS[size]

    def n_params(self, size: Size) -> int:
        return n_params(self.arch(size))

    def n_nonzero_params(self, size: Size) -> int:
        arch = self.arch(size)
        return n_params(arch) - n_head_zeros(arch)

    def model(self, size: Size) -> onnx.ModelProto:
        arch = self.arch(size)
        b = GraphBuilder(self.name, size, (1, N_PLANES, 8, 8))
        b.conv("input_conv", arch.filters, 3, relu=True)
        residual_gain = 1.0 / np.sqrt(arch.blocks)
        for i in range(arch.blocks):
            skip = b.cur
            b.conv(f"block{i}.conv1", arch.filters, 3, relu=True)
            b.conv(f"block{i}.conv2", arch.filters, 3, gain=residual_gain)
            b.add(f"block{i}.add", skip)
            b.relu(f"block{i}.relu")
        trunk, trunk_shape = b.cur, b.shape

        b.conv("policy.conv", arch.policy_channels, 1, relu=True)
        b.flatten("policy.flatten")
        b.gemm("policy.fc", N_OUT, weight=self._padded_weight(size, "policy.fc", b.shape[1],
                                                               slice(0, N_POLICY)),
               bias=self._padded_bias(size, "policy.fc", slice(0, N_POLICY)))
        policy = b.cur

        b.goto(trunk, trunk_shape)
        b.conv("value.conv", arch.value_channels, 1, relu=True)
        b.flatten("value.flatten")
        b.gemm("value.fc1", arch.value_hidden, relu=True)
        b.gemm("value.fc2", N_OUT, weight=self._padded_weight(size, "value.fc2", b.shape[1],
                                                              slice(N_POLICY, N_OUT)),
               bias=self._padded_bias(size, "value.fc2", slice(N_POLICY, N_OUT)))
        b.add("heads", policy)
        return b.build(f"chess_{size}")

    def _padded_weight(self, size: Size, layer: str, n_in: int, rows: slice) -> np.ndarray:
        """A Gemm weight ``(1861, n_in)``: He-normal in ``rows``, zero elsewhere."""
        n_rows = rows.stop - rows.start
        w = np.zeros((N_OUT, n_in), dtype=np.float32)
        rng = weight_rng(self.name, size, f"{layer}.weight")
        w[rows] = (rng.standard_normal((n_rows, n_in)) * np.sqrt(2.0 / n_in)).astype(np.float32)
        return w

    def _padded_bias(self, size: Size, layer: str, rows: slice) -> np.ndarray:
        n_rows = rows.stop - rows.start
        bias = np.zeros(N_OUT, dtype=np.float32)
        rng = weight_rng(self.name, size, f"{layer}.bias")
        bias[rows] = (rng.standard_normal(n_rows) * BIAS_STD).astype(np.float32)
        return bias

    def inputs(self, size: Size, rng: np.random.Generator) -> np.ndarray:
        """A shipped position from a famous game (chosen by ``rng``), encoded."""
        check_size(self, size)
        fens = positions()
        return encode(fens[int(rng.integers(len(fens)))][0])

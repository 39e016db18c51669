"""``decision_tree``: scikit-learn decision trees and random forests as tensorized ONNX graphs.

Models (trained on scikit-learn's bundled digits data: 64 pixel features in 0..16, 10 classes;
see ``train.py``), fitted once with fixed seeds and shipped as plain arrays in ``data/*.npz``:

- ``tree-d4`` ... ``tree-d12``: one ``DecisionTreeClassifier`` of ``max_depth`` 4, 6, 8, 10, 12;
- ``forest-8x9``, ``forest-32x9``, ``forest-128x9``: a ``RandomForestClassifier`` of 8, 32, 128
  trees of ``max_depth`` 9 (``forest-128x9-b128`` is Remainder's benchmark shape: 128 trees of
  depth 9, 128 inputs x 64 features).

Each model comes at batch 1 (the bare name) and batch 128 (``-b128``). The graph uses only
MatMul, LessOrEqual, Cast (to float), Equal and Add; ``graph.py`` documents its layout. The
output is the class-probability vector of ``predict_proba`` (``output_kind`` "scores").

Inputs are real held-out digits (raw 0..16 pixel values as float32) that no model saw while
training, picked by the caller's generator.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import numpy as np
import onnx

from workloads.base import check_size
from workloads.decision_tree import graph
from workloads.decision_tree.forest import Forest
from workloads.decision_tree.train import DATA_DIR, HELDOUT_FILE, MODELS, N_FEATURES
from zkbench.types import Size

BATCHES = (1, 128)
QUICK = ("tree-d4",)
PAPER = ("tree-d4", "tree-d8", "tree-d12", "tree-d8-b128", "forest-8x9", "forest-32x9-b128",
         "forest-128x9-b128")


def _split_size(size: Size) -> tuple[str, int]:
    key, _, b = size.partition("-b")
    return key, int(b) if b else 1


@functools.cache
def load_forest(key: str) -> Forest:
    """The shipped arrays of model ``key``; refitted with scikit-learn if the file is absent."""
    path = DATA_DIR / f"{key}.npz"
    if path.exists():
        return Forest.load(path)
    from workloads.decision_tree import train

    return train.to_forest(train.fit(key), key)


@functools.cache
def load_heldout() -> tuple[np.ndarray, np.ndarray]:
    path = DATA_DIR / HELDOUT_FILE
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            x, y = z["x"], z["y"]
    else:
        from workloads.decision_tree import train

        _, _, x, y = train.split()
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


@functools.cache
def load_blocks(key: str, max_block_nodes: int = graph.MAX_BLOCK_NODES
                ) -> tuple[graph.Block, ...]:
    return tuple(graph.blocks(load_forest(key), N_FEATURES, max_block_nodes))


class DecisionTree:
    name: ClassVar[str] = "decision_tree"
    output_kind: ClassVar[str] = "scores"

    def __init__(self, max_block_nodes: int = graph.MAX_BLOCK_NODES) -> None:
        """``max_block_nodes``: the internal-node budget of one block of trees (graph.py)."""
        self.max_block_nodes = int(max_block_nodes)

    def sizes(self) -> tuple[Size, ...]:
        return tuple(key if b == 1 else f"{key}-b{b}" for key in MODELS for b in BATCHES)

    def quick_sizes(self) -> tuple[Size, ...]:
        return QUICK

    def suites(self) -> dict[str, list[Size]]:
        """``paper``: depths 4/8/12 at batch 1, a batched tree, the forests up to Remainder's
        128 trees x depth 9 x batch 128; ``remainder``: that shape alone."""
        return {"quick": list(QUICK), "paper": list(PAPER), "remainder": ["forest-128x9-b128"]}

    def batch(self, size: Size) -> int:
        check_size(self, size)
        return _split_size(size)[1]

    def forest(self, size: Size) -> Forest:
        check_size(self, size)
        return load_forest(_split_size(size)[0])

    def model(self, size: Size) -> onnx.ModelProto:
        check_size(self, size)
        key, batch = _split_size(size)
        blks = list(load_blocks(key, self.max_block_nodes))
        return graph.to_onnx(blks, batch, f"decision_tree_{size}")

    def inputs(self, size: Size, rng: np.random.Generator) -> np.ndarray:
        """``batch`` distinct held-out digits, chosen by ``rng``: float32 (batch, 64), raw
        pixel intensities 0..16 (no scaling; the thresholds are in the same units)."""
        check_size(self, size)
        x, _ = load_heldout()
        idx = rng.choice(len(x), size=_split_size(size)[1], replace=False)
        return np.array(x[idx], dtype=np.float32)

    def heldout(self) -> tuple[np.ndarray, np.ndarray]:
        """The held-out split: X float32 (450, 64) in 0..16 and labels y int64 (450,)."""
        x, y = load_heldout()
        return x.copy(), y.copy()

    def stats(self, size: Size) -> dict[str, Any]:
        """Shape figures of ``size``: trees, nodes, blocks, parameters, MACs, accuracy."""
        check_size(self, size)
        key, batch = _split_size(size)
        forest = load_forest(key)
        blks = load_blocks(key, self.max_block_nodes)
        x, y = load_heldout()
        n_params = sum(v.size for b in blks for v in b.tensors().values())
        macs_per_row = sum(b.A.size + b.P.size + b.V.size for b in blks)
        return {
            "model": key,
            "batch": batch,
            "n_trees": forest.n_trees,
            "max_depth": forest.depth(),
            "internal_nodes": forest.n_internal,
            "leaves": forest.n_leaves,
            "blocks": len(blks),
            "n_params": int(n_params),
            "n_nonzero_params": int(sum(np.count_nonzero(v) for b in blks
                                        for v in b.tensors().values())),
            "n_macs": int(macs_per_row * batch),
            "heldout_accuracy": float((forest.predict_proba(x).argmax(1) == y).mean()),
        }

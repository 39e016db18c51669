"""A fitted tree ensemble as plain arrays, its storage as .npz, and a reference evaluator.

The arrays are scikit-learn's own ``tree_`` arrays, concatenated over the trees of an ensemble
(node ids stay local to their tree; ``tree_offsets`` says where each tree starts):

- ``children_left`` / ``children_right`` (int32): child node ids, ``-1`` at a leaf;
- ``feature`` (int32): the feature an internal node tests (negative at a leaf);
- ``threshold`` (float64): an internal node sends a sample left iff ``x[feature] <= threshold``;
- ``counts`` (int32, nodes x classes): the (bootstrap-weighted) training samples of each class
  that reached the node; a leaf predicts ``counts / counts.sum()``, as ``predict_proba`` does;
- ``tree_offsets`` (int64, trees + 1).

A single decision tree is an ensemble of one. The ensemble's prediction is the mean of its
trees' leaf probabilities, which is scikit-learn's ``predict_proba`` for a random forest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ARRAYS = ("children_left", "children_right", "feature", "threshold", "counts", "tree_offsets")


@dataclass(frozen=True)
class Forest:
    children_left: np.ndarray
    children_right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    counts: np.ndarray
    tree_offsets: np.ndarray
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def n_trees(self) -> int:
        return len(self.tree_offsets) - 1

    @property
    def n_classes(self) -> int:
        return int(self.counts.shape[1])

    def tree(self, t: int) -> slice:
        return slice(int(self.tree_offsets[t]), int(self.tree_offsets[t + 1]))

    @property
    def is_leaf(self) -> np.ndarray:
        return self.children_left < 0

    @property
    def n_internal(self) -> int:
        return int((~self.is_leaf).sum())

    @property
    def n_leaves(self) -> int:
        return int(self.is_leaf.sum())

    def tree_sizes(self) -> list[tuple[int, int]]:
        """(internal nodes, leaves) of every tree."""
        return [(int((~self.is_leaf[self.tree(t)]).sum()), int(self.is_leaf[self.tree(t)].sum()))
                for t in range(self.n_trees)]

    def depth(self) -> int:
        """The deepest leaf's depth (root = 0), over all trees."""
        deepest = 0
        for t in range(self.n_trees):
            sl = self.tree(t)
            left, right = self.children_left[sl], self.children_right[sl]
            depth = np.zeros(len(left), dtype=np.int64)
            for node in range(len(left)):  # sklearn numbers nodes in pre-order: parents first
                if left[node] >= 0:
                    depth[left[node]] = depth[right[node]] = depth[node] + 1
            deepest = max(deepest, int(depth.max()))
        return deepest

    def leaf_proba(self) -> np.ndarray:
        """Class probabilities of every node (float64), ``counts`` normalized per row."""
        c = self.counts.astype(np.float64)
        total = c.sum(axis=1, keepdims=True)
        return c / np.where(total > 0, total, 1.0)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Reference inference by walking every tree, in float64, on float32-rounded inputs
        (scikit-learn's trees cast their input to float32 and compare against float64
        thresholds, and so does this)."""
        x = np.asarray(x, dtype=np.float32).astype(np.float64)
        proba = self.leaf_proba()
        out = np.zeros((x.shape[0], self.n_classes), dtype=np.float64)
        rows = np.arange(x.shape[0])
        for t in range(self.n_trees):
            sl = self.tree(t)
            left, right = self.children_left[sl], self.children_right[sl]
            feat, thr = self.feature[sl], self.threshold[sl]
            node = np.zeros(x.shape[0], dtype=np.int64)
            while True:
                inner = left[node] >= 0
                if not inner.any():
                    break
                go_left = x[rows, np.where(inner, feat[node], 0)] <= thr[node]
                nxt = np.where(go_left, left[node], right[node])
                node = np.where(inner, nxt, node)
            out += proba[sl][node]
        return out / self.n_trees

    # ------------------------------------------------------------------ storage

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in ARRAYS}

    def save(self, path: Path) -> None:
        meta = {f"meta_{k}": np.array(str(v)) for k, v in sorted(self.meta.items())}
        np.savez_compressed(path, **self.arrays(), **meta)

    @classmethod
    def load(cls, path: Path) -> Forest:
        with np.load(path, allow_pickle=False) as z:
            arrays = {name: z[name] for name in ARRAYS}
            meta = {k[len("meta_"):]: str(z[k][()]) for k in z.files if k.startswith("meta_")}
        return cls(**arrays, meta=meta)

    def equal_arrays(self, other: Forest) -> bool:
        return all(
            getattr(self, n).dtype == getattr(other, n).dtype
            and np.array_equal(getattr(self, n), getattr(other, n))
            for n in ARRAYS
        )

"""Fit the decision-tree workload's models with scikit-learn and write their arrays.

Only this module imports scikit-learn, and only to (re)generate the shipped ``data/*.npz``
files; ``model()`` and ``inputs()`` read those files. Regenerate (a few seconds, one core) with

    python -m workloads.decision_tree.train

Data: scikit-learn's bundled ``load_digits`` (1797 8x8 images of handwritten digits, 64 integer
pixel features in 0..16, 10 classes), split once with a fixed seed into 1347 training samples
and 450 held-out samples (stratified, 25%) that no model ever sees while training.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from workloads.decision_tree.forest import Forest

DATA_DIR = Path(__file__).parent / "data"
HELDOUT_FILE = "heldout.npz"
SPLIT_SEED = 0
TEST_FRACTION = 0.25
TRAIN_SEED = 0
N_FEATURES = 64
N_CLASSES = 10

# model key -> (kind, number of trees, max_depth)
MODELS: dict[str, tuple[str, int, int]] = {
    **{f"tree-d{d}": ("tree", 1, d) for d in (4, 6, 8, 10, 12)},
    **{f"forest-{n}x9": ("forest", n, 9) for n in (8, 32, 128)},
}


def split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, y_train, X_heldout, y_heldout) of the digits data, always the same split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=TEST_FRACTION, stratify=y, random_state=SPLIT_SEED
    )
    return x_tr, y_tr, x_te, y_te


def estimator(key: str):  # -> a fresh, unfitted scikit-learn classifier
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.tree import DecisionTreeClassifier

    kind, n_trees, depth = MODELS[key]
    if kind == "tree":
        return DecisionTreeClassifier(max_depth=depth, random_state=TRAIN_SEED)
    return RandomForestClassifier(
        n_estimators=n_trees, max_depth=depth, random_state=TRAIN_SEED, n_jobs=1
    )


def fit(key: str, x_train: np.ndarray | None = None, y_train: np.ndarray | None = None):
    """The fitted scikit-learn model for ``key`` (deterministic)."""
    if x_train is None or y_train is None:
        x_train, y_train, _, _ = split()
    return estimator(key).fit(x_train, y_train)


def to_forest(clf, key: str) -> Forest:
    """The plain arrays of a fitted DecisionTreeClassifier or RandomForestClassifier."""
    import sklearn

    trees = [clf] if hasattr(clf, "tree_") else list(clf.estimators_)
    parts: dict[str, list[np.ndarray]] = {n: [] for n in ("cl", "cr", "f", "t", "c")}
    offsets = [0]
    for est in trees:
        tr = est.tree_
        if tr.n_outputs != 1 or tr.value.shape[2] != N_CLASSES:
            raise ValueError(f"{key}: expected one output with {N_CLASSES} classes")
        # sklearn stores per-node class fractions; times the node's (bootstrap-)weighted
        # sample count they are whole numbers, kept exactly as integers.
        counts = np.rint(tr.value[:, 0, :] * tr.weighted_n_node_samples[:, None])
        if not np.allclose(counts / counts.sum(axis=1, keepdims=True), tr.value[:, 0, :],
                           rtol=0, atol=1e-12):
            raise ValueError(f"{key}: node values are not whole sample counts")
        parts["cl"].append(tr.children_left.astype(np.int32))
        parts["cr"].append(tr.children_right.astype(np.int32))
        parts["f"].append(np.where(tr.children_left < 0, -1, tr.feature).astype(np.int32))
        parts["t"].append(np.where(tr.children_left < 0, 0.0, tr.threshold).astype(np.float64))
        parts["c"].append(counts.astype(np.int32))
        offsets.append(offsets[-1] + tr.node_count)
    kind, n_trees, depth = MODELS[key]
    return Forest(
        children_left=np.concatenate(parts["cl"]),
        children_right=np.concatenate(parts["cr"]),
        feature=np.concatenate(parts["f"]),
        threshold=np.concatenate(parts["t"]),
        counts=np.concatenate(parts["c"]),
        tree_offsets=np.asarray(offsets, dtype=np.int64),
        meta={"key": key, "kind": kind, "n_trees": str(n_trees), "max_depth": str(depth),
              "estimator": type(clf).__name__, "random_state": str(TRAIN_SEED),
              "sklearn_version": sklearn.__version__},
    )


def generate() -> tuple[dict[str, Forest], tuple[np.ndarray, np.ndarray]]:
    """Every model's arrays and the held-out split (X uint8, y int64), from scratch."""
    x_tr, y_tr, x_te, y_te = split()
    forests = {key: to_forest(fit(key, x_tr, y_tr), key) for key in MODELS}
    return forests, (x_te.astype(np.uint8), y_te.astype(np.int64))


def write(data_dir: Path = DATA_DIR) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    forests, (x_te, y_te) = generate()
    for key, forest in forests.items():
        forest.save(data_dir / f"{key}.npz")
    np.savez_compressed(data_dir / HELDOUT_FILE, x=x_te, y=y_te)


if __name__ == "__main__":
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else DATA_DIR)

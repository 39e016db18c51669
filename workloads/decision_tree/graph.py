"""A tree ensemble as a tensorized ONNX graph: comparisons and matrix products only.

The "GEMM" strategy. For a block of trees with I internal nodes and L leaves (all its trees'
nodes side by side, in tree order, then node order), and a batch of B inputs of F features:

1. ``T = MatMul(input, A)``           A (F x I): column i is one-hot at node i's feature, so
                                      T[b, i] = input[b, feature(i)] exactly (B x I);
2. ``C = Cast(LessOrEqual(T, thr))``  thr (I,): node i's threshold; C[b, i] = 1 iff sample b
                                      goes LEFT at node i (scikit-learn's rule, x <= threshold);
3. ``S = MatMul(C, P)``               P (I x L): +1 where leaf l lies in node i's left subtree,
                                      -1 where it lies in the right subtree, 0 otherwise
                                      (block-diagonal over the trees);
4. ``Lf = Cast(Equal(S, E))``         E (L,): the number of left turns on leaf l's path;
                                      Lf[b, l] = 1 iff sample b reaches leaf l;
5. ``Y = MatMul(Lf, V)``              V (L x K): leaf l's class probabilities divided by the
                                      ensemble's number of trees.

The blocks' Y are summed with Add; the sum is ``output`` (B x K), the mean of the trees' leaf
probabilities: scikit-learn's ``predict_proba``.

Why step 4 is sound and cheap to prove: S[b, l] = (left-turn ancestors of l where b goes left)
- (right-turn ancestors of l where b goes left) <= E[l], with equality iff b follows l's whole
path. So S <= E for every input, and Equal(S, E) == NOT(E - S > 0); exactly one leaf per tree
is 1.

Thresholds: scikit-learn compares a float32 feature against a float64 threshold. Each
threshold is stored as the largest float32 not above it, which makes ``x <= thr32`` and
``x <= thr64`` agree for every float32 x. (On the digits data every threshold is a midpoint
of two integers, exactly representable, so nothing is rounded.)

Why blocks: a single block-diagonal P for 128 trees of ~130 nodes would be a dense 16,800 x
16,900 matrix (284M entries, 1.1 GB as float32, over 99.9% zeros). Trees are therefore packed, in
order, into blocks of at most ``MAX_BLOCK_NODES`` internal nodes (a tree larger than that gets
a block to itself); a block is one chain of the five steps above. A single tree, and any
ensemble that fits the budget, is one block: exactly the layout above with no Add.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from workloads.decision_tree.forest import Forest

OPSET = 17
IR_VERSION = 8
INPUT = "input"
OUTPUT = "output"
MAX_BLOCK_NODES = 512
OPS = frozenset({"MatMul", "LessOrEqual", "Cast", "Equal", "Add"})


@dataclass(frozen=True)
class Block:
    """The constant tensors of one block of trees (float32)."""

    trees: tuple[int, int]  # [first, last + 1)
    A: np.ndarray  # (features, internal)
    thr: np.ndarray  # (internal,)
    P: np.ndarray  # (internal, leaves)
    E: np.ndarray  # (leaves,)
    V: np.ndarray  # (leaves, classes)

    @property
    def n_internal(self) -> int:
        return int(self.P.shape[0])

    @property
    def n_leaves(self) -> int:
        return int(self.P.shape[1])

    def tensors(self) -> dict[str, np.ndarray]:
        return {"A": self.A, "thr": self.thr, "P": self.P, "E": self.E, "V": self.V}


def float32_at_most(t: np.ndarray) -> np.ndarray:
    """The largest float32 <= t, elementwise (t float64)."""
    t = np.asarray(t, dtype=np.float64)
    t32 = t.astype(np.float32)
    above = t32.astype(np.float64) > t
    return np.where(above, np.nextafter(t32, np.float32(-np.inf)), t32).astype(np.float32)


def pack(forest: Forest, max_block_nodes: int = MAX_BLOCK_NODES) -> list[tuple[int, int]]:
    """Consecutive tree ranges [first, last + 1), each holding at most ``max_block_nodes``
    internal nodes (or a single tree that alone exceeds it)."""
    ranges: list[tuple[int, int]] = []
    start, nodes = 0, 0
    for t, (n_int, _) in enumerate(forest.tree_sizes()):
        if t > start and nodes + n_int > max_block_nodes:
            ranges.append((start, t))
            start, nodes = t, 0
        nodes += n_int
    ranges.append((start, forest.n_trees))
    return ranges


def block(forest: Forest, first: int, last: int, n_features: int) -> Block:
    """The tensors of trees [first, last) of ``forest``."""
    proba = forest.leaf_proba()
    internal_cols: list[np.ndarray] = []
    thresholds: list[np.ndarray] = []
    p_blocks: list[np.ndarray] = []
    e_parts: list[np.ndarray] = []
    v_parts: list[np.ndarray] = []
    for t in range(first, last):
        sl = forest.tree(t)
        left, right = forest.children_left[sl], forest.children_right[sl]
        n = len(left)
        inner = np.flatnonzero(left >= 0)
        leaves = np.flatnonzero(left < 0)
        if len(inner) == 0:
            raise ValueError(f"tree {t} is a single leaf; it has no comparison to tensorize")
        col_of = np.full(n, -1, dtype=np.int64)
        col_of[inner] = np.arange(len(inner))
        # parent of every node and whether it is its parent's left child
        parent = np.full(n, -1, dtype=np.int64)
        is_left = np.zeros(n, dtype=bool)
        parent[left[inner]] = inner
        parent[right[inner]] = inner
        is_left[left[inner]] = True
        p = np.zeros((len(inner), len(leaves)), dtype=np.float32)
        e = np.zeros(len(leaves), dtype=np.float32)
        for j, leaf in enumerate(leaves):
            node = leaf
            while parent[node] >= 0:
                p[col_of[parent[node]], j] = 1.0 if is_left[node] else -1.0
                e[j] += 1.0 if is_left[node] else 0.0
                node = parent[node]
        feat = forest.feature[sl][inner]
        if feat.min() < 0 or feat.max() >= n_features:
            raise ValueError(f"tree {t}: a feature index outside [0, {n_features})")
        internal_cols.append(feat)
        thresholds.append(float32_at_most(forest.threshold[sl][inner]))
        p_blocks.append(p)
        e_parts.append(e)
        v_parts.append(proba[sl][leaves] / forest.n_trees)
    feats = np.concatenate(internal_cols)
    a = np.zeros((n_features, len(feats)), dtype=np.float32)
    a[feats, np.arange(len(feats))] = 1.0
    big_p = np.zeros((sum(b.shape[0] for b in p_blocks), sum(b.shape[1] for b in p_blocks)),
                     dtype=np.float32)
    r = c = 0
    for p in p_blocks:
        big_p[r:r + p.shape[0], c:c + p.shape[1]] = p
        r, c = r + p.shape[0], c + p.shape[1]
    return Block(
        trees=(first, last),
        A=a,
        thr=np.concatenate(thresholds),
        P=big_p,
        E=np.concatenate(e_parts),
        V=np.concatenate(v_parts).astype(np.float32),
    )


def blocks(forest: Forest, n_features: int, max_block_nodes: int = MAX_BLOCK_NODES
           ) -> list[Block]:
    return [block(forest, a, b, n_features) for a, b in pack(forest, max_block_nodes)]


def block_graph(blk: Block, input_name: str, output_name: str, prefix: str
                ) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    """The five steps of one block as ONNX nodes from ``input_name`` (B x F) to
    ``output_name`` (B x K), and its constants; every other name starts with ``prefix``."""
    p = prefix
    inits = [numpy_helper.from_array(np.ascontiguousarray(value, np.float32), p + name)
             for name, value in blk.tensors().items()]
    nodes = [
        helper.make_node("MatMul", [input_name, p + "A"], [p + "T"], name=p + "select"),
        helper.make_node("LessOrEqual", [p + "T", p + "thr"], [p + "le"], name=p + "compare"),
        helper.make_node("Cast", [p + "le"], [p + "C"], name=p + "cast_C",
                         to=TensorProto.FLOAT),
        helper.make_node("MatMul", [p + "C", p + "P"], [p + "S"], name=p + "paths"),
        helper.make_node("Equal", [p + "S", p + "E"], [p + "eq"], name=p + "leaf_test"),
        helper.make_node("Cast", [p + "eq"], [p + "L"], name=p + "cast_L",
                         to=TensorProto.FLOAT),
        helper.make_node("MatMul", [p + "L", p + "V"], [output_name], name=p + "values"),
    ]
    return nodes, inits


def to_onnx(blocks_: list[Block], batch: int, graph_name: str) -> onnx.ModelProto:
    """The ONNX model (opset 17, IR 8) of ``blocks_`` for a fixed batch size."""
    n_features = blocks_[0].A.shape[0]
    n_classes = blocks_[0].V.shape[1]
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []
    ys: list[str] = []
    last = len(blocks_) == 1
    for g, blk in enumerate(blocks_):
        p = f"b{g:03d}_"
        y = OUTPUT if last else p + "Y"
        block_nodes_, block_inits = block_graph(blk, INPUT, y, p)
        nodes += block_nodes_
        inits += block_inits
        ys.append(y)
    acc = ys[0]
    for g in range(1, len(ys)):
        out = OUTPUT if g == len(ys) - 1 else f"sum{g:03d}"
        nodes.append(helper.make_node("Add", [acc, ys[g]], [out], name=f"sum{g:03d}"))
        acc = out
    graph = helper.make_graph(
        nodes,
        graph_name,
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, [batch, n_features])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, [batch, n_classes])],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="zkbench"
    )
    model.ir_version = IR_VERSION
    return model

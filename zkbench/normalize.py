"""Exporters' ONNX graphs -> the plain float graphs the quantizer takes.

PyTorch, scikit-learn and Keras converters write graphs full of things that are not
arithmetic: Identity and Dropout nodes, shape computations (Shape -> Gather -> Concat feeding a
Reshape), BatchNormalization after a convolution or a linear layer, dynamic batch dimensions,
several outputs (a label next to the scores), ZipMap dictionaries, tree ensembles of the
``ai.onnx.ml`` domain and old opsets. ``normalize`` rewrites one into a graph with one float
input of static shape, one float output, and only arithmetic and rearrangement nodes, keeping
its float output unchanged (up to float rounding), except where a note says otherwise.

The work is done by existing tooling wherever it does it: ``onnx.version_converter`` brings
opsets outside 13-21 into that range, onnxruntime's basic-level graph optimizer (whose output
uses standard ONNX ops only) folds constants and shape computations, removes Identity and
Dropout, folds BatchNormalization into a preceding Conv and fuses MatMul + Add, and
``onnx.shape_inference`` gives every tensor its static shape. Written here is only what
those do not do: choosing the output, fixing the batch dimension, BatchNormalization after
Gemm or MatMul, Squeeze and Unsqueeze as Reshape, tree ensembles as comparisons and matrix
products (the layout of ``workloads.decision_tree.graph``), and dropping a final Softmax.
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from zkbench.graph import ModelError, check

OPSET_MIN, OPSET_MAX = 13, 21
ML_DOMAIN = "ai.onnx.ml"
TREE_OPS = ("TreeEnsembleClassifier", "TreeEnsembleRegressor")
FINAL_MONOTONE_OPS = ("Softmax", "LogSoftmax")


@dataclass(frozen=True)
class Normalized:
    model: onnx.ModelProto
    notes: tuple[str, ...]
    """What was changed beyond exact rewrites (outputs dropped, Softmax dropped, ...)."""


def normalize(model: onnx.ModelProto, batch: int | None = None, where: str = "model"
              ) -> Normalized:
    """The quantizer-ready float graph of ``model``; ``batch`` fixes a dynamic leading input
    dimension (1 when None). Raises ModelError naming ``where`` and the problem."""
    model = _upgrade_opset(model, where)
    notes: list[str] = []
    _choose_output(model, where, notes)
    _name_nodes(model)
    _fix_input_shape(model, batch, where, notes)
    _prune(model)
    _tensorize_trees(model, where, notes)
    _prune(model)
    batchnorms = _count(model, "BatchNormalization")
    model = _ort_basic(model, where)
    model = _infer(model, where)
    _fold_batchnorm(model)
    folded = batchnorms - _count(model, "BatchNormalization")
    if folded:
        notes.append(f"{folded} BatchNormalization folded into the preceding Conv/Gemm/MatMul")
    _squeeze_as_reshape(model)
    _flatten_biases(model)
    _drop_final_softmax(model, notes)
    _prune(model)
    _clean_opsets(model)
    model = _infer(model, where)
    check(model, where=f"{where} (normalized)")
    return Normalized(model, tuple(notes))


def _count(model: onnx.ModelProto, op: str) -> int:
    return sum(n.op_type == op for n in model.graph.node)


def opset(model: onnx.ModelProto) -> int:
    """The default-domain opset the model imports (1 if none: ONNX's rule)."""
    return max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=1)


# ----------------------------------------------------------------------------- passes


def _upgrade_opset(model: onnx.ModelProto, where: str) -> onnx.ModelProto:
    """Opsets 13-21 as they are; older ones lifted to 13 and newer ones lowered to 21 by
    onnx's version converter, where its adapters cover the model's ops."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    version = opset(model)
    # Some converters import the default domain twice; one entry, the newest, is meant.
    others = [o for o in model.opset_import if o.domain not in ("", "ai.onnx")]
    del model.opset_import[:]
    model.opset_import.extend([helper.make_opsetid("", version), *others])
    if OPSET_MIN <= version <= OPSET_MAX:
        return model
    target = OPSET_MIN if version < OPSET_MIN else OPSET_MAX
    try:
        return onnx.version_converter.convert_version(model, target)
    except Exception as exc:
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{where}: opset {version} is outside the {OPSET_MIN}-{OPSET_MAX} "
                         f"zkbench takes, and onnx's version converter cannot bring it to "
                         f"{target}: {first}") from None


def _producers(graph: onnx.GraphProto) -> dict[str, onnx.NodeProto]:
    return {out: node for node in graph.node for out in node.output if out}


def _consumers(graph: onnx.GraphProto) -> dict[str, list[onnx.NodeProto]]:
    uses: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            uses.setdefault(name, []).append(node)
    return uses


def _choose_output(model: onnx.ModelProto, where: str, notes: list[str]) -> None:
    """Keep the one float tensor output. A ZipMap output (scikit-learn's dictionaries of class
    probabilities) stands for the probability tensor it is built from."""
    graph = model.graph
    producers = _producers(graph)
    candidates: list[str] = []
    for out in graph.output:
        node = producers.get(out.name)
        if node is not None and node.op_type == "ZipMap" and node.domain == ML_DOMAIN:
            candidates.append(node.input[0])
        elif out.type.tensor_type.elem_type == TensorProto.FLOAT:
            candidates.append(out.name)
    candidates = list(dict.fromkeys(candidates))
    names = [o.name for o in graph.output]
    if len(candidates) != 1:
        kinds = "no float tensor output" if not candidates else (
            f"{len(candidates)} float outputs ({', '.join(candidates)})")
        raise ModelError(f"{where}: outputs {', '.join(names)} give {kinds}; zkbench proves "
                         f"models with exactly one")
    keep = candidates[0]
    if names != [keep]:
        dropped = [n for n in names if n != keep]
        notes.append(f"output {keep!r} kept; {', '.join(map(repr, dropped))} dropped")
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info(keep, TensorProto.FLOAT, None))


def _name_nodes(model: onnx.ModelProto) -> None:
    """Unnamed nodes get ``Op:first-output`` so every error can point at a node."""
    for node in model.graph.node:
        if not node.name:
            node.name = f"{node.op_type}:{node.output[0]}"


def _real_inputs(graph: onnx.GraphProto) -> list[onnx.ValueInfoProto]:
    inits = {t.name for t in graph.initializer}
    return [i for i in graph.input if i.name not in inits]


def _fix_input_shape(model: onnx.ModelProto, batch: int | None, where: str,
                     notes: list[str]) -> None:
    graph = model.graph
    inputs = _real_inputs(graph)
    if len(inputs) != 1:
        raise ModelError(f"{where}: {len(inputs)} inputs ({', '.join(i.name for i in inputs)}); "
                         f"zkbench proves models with exactly one")
    x = inputs[0]
    tt = x.type.tensor_type
    if not x.type.HasField("tensor_type") or tt.elem_type != TensorProto.FLOAT:
        kind = (TensorProto.DataType.Name(tt.elem_type) if x.type.HasField("tensor_type")
                else x.type.WhichOneof("value"))
        raise ModelError(f"{where}: input {x.name!r} is {kind}; zkbench takes float32 inputs")
    if not tt.HasField("shape") or not tt.shape.dim:
        raise ModelError(f"{where}: input {x.name!r} declares no shape")
    for i, d in enumerate(tt.shape.dim):
        if d.HasField("dim_value") and d.dim_value > 0:
            if i == 0 and batch is not None and d.dim_value != batch:
                raise ModelError(f"{where}: input {x.name!r} has a fixed batch of {d.dim_value}; "
                                 f"--batch {batch} cannot change it")
            continue
        if i != 0:
            label = d.dim_param or "unnamed"
            raise ModelError(f"{where}: input {x.name!r} has a dynamic dimension {i} ({label}); "
                             f"only the leading (batch) dimension may be dynamic")
        d.dim_value = batch or 1
        if batch:
            notes.append(f"batch dimension of {x.name!r} set to {batch}")
    # Inferred shapes of the old dynamic graph would contradict the fixed one.
    del graph.value_info[:]
    for out in graph.output:
        out.type.tensor_type.ClearField("shape")


def _prune(model: onnx.ModelProto) -> None:
    """Drop nodes and initializers the output does not depend on."""
    graph = model.graph
    producers = _producers(graph)
    needed = {o.name for o in graph.output}
    keep: set[int] = set()
    stack = list(needed)
    while stack:
        name = stack.pop()
        node = producers.get(name)
        if node is None or id(node) in keep:
            continue
        keep.add(id(node))
        for inp in node.input:
            if inp and inp not in needed:
                needed.add(inp)
                stack.append(inp)
        for attr in node.attribute:  # names a subgraph reads from the outer scope
            for sub in ([attr.g] if attr.HasField("g") else list(attr.graphs)):
                for inner in sub.node:
                    for inp in inner.input:
                        if inp and inp not in needed:
                            needed.add(inp)
                            stack.append(inp)
    nodes = [n for n in graph.node if id(n) in keep]
    del graph.node[:]
    graph.node.extend(nodes)
    inits = [t for t in graph.initializer if t.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(inits)


def _ort_basic(model: onnx.ModelProto, where: str) -> onnx.ModelProto:
    """onnxruntime's basic-level optimizer: constant folding, redundant-node removal,
    Conv + BatchNormalization, MatMul + Add. Its saved model uses standard ops only."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.log_severity_level = 3
    options.intra_op_num_threads = 1
    with tempfile.TemporaryDirectory(prefix="zkbench-normalize-") as tmp:
        path = Path(tmp) / "optimized.onnx"
        options.optimized_model_filepath = str(path)
        try:
            ort.InferenceSession(model.SerializeToString(), options,
                                 providers=["CPUExecutionProvider"])
        except Exception as exc:
            text = str(exc).strip().splitlines()
            raise ModelError(f"{where}: onnxruntime cannot load it: "
                             f"{text[0] if text else type(exc).__name__}") from None
        return onnx.load(str(path))


def _infer(model: onnx.ModelProto, where: str) -> onnx.ModelProto:
    try:
        return onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    except Exception as exc:
        text = str(exc).strip().splitlines()
        raise ModelError(f"{where}: shape inference fails: "
                         f"{text[0] if text else type(exc).__name__}") from None


def _static_shapes(model: onnx.ModelProto) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    g = model.graph
    for vi in [*g.input, *g.value_info, *g.output]:
        tt = vi.type.tensor_type
        if tt.HasField("shape") and all(d.HasField("dim_value") for d in tt.shape.dim):
            shapes[vi.name] = tuple(d.dim_value for d in tt.shape.dim)
    for t in g.initializer:
        shapes[t.name] = tuple(t.dims)
    return shapes


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _fresh(graph: onnx.GraphProto, base: str) -> str:
    taken = ({t.name for t in graph.initializer} | {o for n in graph.node for o in n.output}
             | {i.name for i in graph.input})
    name, i = base, 0
    while name in taken:
        i += 1
        name = f"{base}_{i}"
    return name


def _set_init(graph: onnx.GraphProto, name: str, value: np.ndarray) -> None:
    for i, t in enumerate(graph.initializer):
        if t.name == name:
            graph.initializer[i].CopyFrom(numpy_helper.from_array(value, name))
            return
    graph.initializer.append(numpy_helper.from_array(value, name))


def _fold_batchnorm(model: onnx.ModelProto) -> None:
    """BatchNormalization (inference) right after Conv, Gemm or a 2-D MatMul with constant
    weights becomes part of that node: y = x * a + b per channel, a = scale / sqrt(var + eps),
    b = bias - mean * a, multiplied into the weights' output channels and added to the bias.
    A BatchNormalization anywhere else stays, and the quantizer names it."""
    graph = model.graph
    init = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    shapes = _static_shapes(model)
    outputs = {o.name for o in graph.output}
    for bn in list(graph.node):
        if bn.op_type != "BatchNormalization" or len(bn.output) != 1:
            continue
        params = [init.get(n) for n in bn.input[1:5]]
        uses = _consumers(graph).get(bn.input[0], [])
        prev = _producers(graph).get(bn.input[0])
        if any(p is None for p in params) or prev is None or len(uses) != 1 \
                or bn.input[0] in outputs:
            continue
        gamma, beta, mean, var = (np.asarray(p, np.float64) for p in params)
        eps = float(_attrs(bn).get("epsilon", 1e-5))
        a = gamma / np.sqrt(var + eps)
        b = beta - mean * a
        last = _fold_into(graph, prev, a, b, init, shapes)
        if last is None:
            continue
        last.output[0] = bn.output[0]  # the folded node now writes what the BN wrote
        graph.node.remove(bn)
        init = {t.name: numpy_helper.to_array(t) for t in graph.initializer}


def _fold_into(graph: onnx.GraphProto, prev: onnx.NodeProto, a: np.ndarray, b: np.ndarray,
               init: dict[str, np.ndarray], shapes: dict[str, tuple[int, ...]]
               ) -> onnx.NodeProto | None:
    """Multiply ``prev``'s output channels by ``a`` and add ``b``. Returns the node whose
    output is now the folded result (``prev``, or an Add after a MatMul), None when it
    cannot fold."""
    op = prev.op_type
    w_name = prev.input[1] if len(prev.input) > 1 else ""
    if w_name not in init:
        return None
    w = np.asarray(init[w_name], np.float64)
    attrs = _attrs(prev)
    if op == "Conv" and w.ndim >= 3 and w.shape[0] == a.size:
        w = w * a.reshape(-1, *([1] * (w.ndim - 1)))
        bias_old = init.get(prev.input[2]) if len(prev.input) > 2 and prev.input[2] else 0.0
    elif op == "Gemm" and w.ndim == 2 and attrs.get("alpha", 1.0) == 1.0 \
            and attrs.get("beta", 1.0) == 1.0 and len(shapes.get(prev.output[0], ())) == 2:
        n_out = w.shape[0] if attrs.get("transB", 0) else w.shape[1]
        if n_out != a.size:
            return None
        w = w * (a[:, None] if attrs.get("transB", 0) else a[None, :])
        bias_old = init.get(prev.input[2]) if len(prev.input) > 2 and prev.input[2] else 0.0
    elif op == "MatMul" and w.ndim == 2 and w.shape[1] == a.size \
            and len(shapes.get(prev.output[0], ())) == 2:
        w = w * a[None, :]
        bias_old = 0.0
    else:
        return None
    if bias_old is None or np.size(bias_old) not in (1, a.size):
        return None
    bias = np.asarray(bias_old, np.float64).reshape(-1) * a + b
    new_w = _fresh(graph, f"{w_name}/bn_folded")
    _set_init(graph, new_w, w.astype(np.float32))
    prev.input[1] = new_w
    new_b = _fresh(graph, f"{prev.name}/bn_bias")
    _set_init(graph, new_b, bias.astype(np.float32))
    if op == "MatMul":  # no bias slot: an Add after it
        mid = _fresh(graph, f"{prev.output[0]}/bn_scaled")
        add = helper.make_node("Add", [mid, new_b], [prev.output[0]], name=f"{prev.name}/bn_bias")
        prev.output[0] = mid
        graph.node.insert(list(graph.node).index(prev) + 1, add)
        return graph.node[list(graph.node).index(prev) + 1]
    if len(prev.input) > 2:
        prev.input[2] = new_b
    else:
        prev.input.append(new_b)
    return prev


def _squeeze_as_reshape(model: onnx.ModelProto) -> None:
    """Squeeze and Unsqueeze of an activation are Reshapes to their inferred static shape."""
    graph = model.graph
    shapes = _static_shapes(model)
    for i, node in enumerate(list(graph.node)):
        if node.op_type not in ("Squeeze", "Unsqueeze") or node.output[0] not in shapes:
            continue
        target = _fresh(graph, f"{node.name}/shape")
        _set_init(graph, target, np.asarray(shapes[node.output[0]], np.int64))
        graph.node[i].CopyFrom(helper.make_node("Reshape", [node.input[0], target],
                                                [node.output[0]], name=node.name))


def _flatten_biases(model: onnx.ModelProto) -> None:
    """Constant addends (Gemm's C, a constant side of Add) lose their leading 1-dimensions:
    (1, N) -> (N,), the same broadcast, in the form a bias takes in every prover."""
    graph = model.graph
    init = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    shapes = _static_shapes(model)
    for node in graph.node:
        if node.op_type == "Gemm" and len(node.input) > 2:
            slots = [2]
        elif node.op_type == "Add":
            slots = [0, 1]
        else:
            continue
        for slot in slots:
            name = node.input[slot]
            value = init.get(name)
            if value is None or value.ndim < 2 or value.shape[0] != 1:
                continue
            other = node.input[1 - slot] if node.op_type == "Add" else node.output[0]
            if len(shapes.get(other, ())) < value.ndim:  # the output's rank depends on it
                continue
            flat = value.reshape(value.shape[next(i for i, d in enumerate(value.shape)
                                                  if d != 1 or i == value.ndim - 1):])
            new = _fresh(graph, f"{name}/flat")
            _set_init(graph, new, flat)
            init[new] = flat
            node.input[slot] = new


def _drop_final_softmax(model: onnx.ModelProto, notes: list[str]) -> None:
    """A Softmax (or LogSoftmax) producing the output over its last axis is dropped: the
    scores before it have the same top-1 class, and exponentials are outside every prover's
    op set. The note says so."""
    graph = model.graph
    out = graph.output[0]
    node = _producers(graph).get(out.name)
    if node is None or node.op_type not in FINAL_MONOTONE_OPS:
        return
    rank = len(out.type.tensor_type.shape.dim)
    axis = int(_attrs(node).get("axis", -1))
    if axis not in (-1, rank - 1):
        return
    graph.output[0].CopyFrom(helper.make_tensor_value_info(node.input[0], TensorProto.FLOAT,
                                                           None))
    graph.node.remove(node)
    notes.append(f"final {node.op_type} at node {node.name!r} dropped: the proof covers the "
                 f"scores before it (same top-1 class)")


def _clean_opsets(model: onnx.ModelProto) -> None:
    used = {n.domain for n in model.graph.node} - {"", "ai.onnx"}
    keep = [o for o in model.opset_import if o.domain in ("", "ai.onnx") or o.domain in used]
    del model.opset_import[:]
    model.opset_import.extend(keep)


# ----------------------------------------------------------------------------- tree ensembles


def _tensorize_trees(model: onnx.ModelProto, where: str, notes: list[str]) -> None:
    """``ai.onnx.ml`` TreeEnsembleClassifier / TreeEnsembleRegressor -> the tensorized
    comparison graph of ``workloads.decision_tree.graph`` (MatMul, LessOrEqual, Cast, Equal),
    with the ensemble's own leaf weights as the value matrix."""
    graph = model.graph
    if not any(n.op_type in TREE_OPS and n.domain == ML_DOMAIN for n in graph.node):
        return
    shapes = _static_shapes(_infer(model, where))
    new_nodes: list[onnx.NodeProto] = []
    used = {name for n in graph.node for name in n.input} | {o.name for o in graph.output}
    for node in graph.node:
        if node.op_type not in TREE_OPS or node.domain != ML_DOMAIN:
            new_nodes.append(node)
            continue
        if node.op_type == "TreeEnsembleClassifier":
            if node.output[0] in used:
                raise ModelError(f"{where}: node {node.name!r} (TreeEnsembleClassifier): its "
                                 f"label output is used; zkbench proves the scores")
            out = node.output[1]
        else:
            out = node.output[0]
        x_shape = shapes.get(node.input[0], ())
        if len(x_shape) != 2:
            raise ModelError(f"{where}: node {node.name!r} ({node.op_type}): input shape "
                             f"{x_shape or 'unknown'}, expected static (batch, features)")
        ensemble = _Ensemble.from_node(node, where)
        nodes, inits = ensemble.graph(node.input[0], out, x_shape[1], f"{node.name}/")
        new_nodes.extend(nodes)
        graph.initializer.extend(inits)
        notes.append(f"{node.op_type} {node.name!r} ({ensemble.n_trees} trees) tensorized as "
                     f"comparisons and matrix products")
    del graph.node[:]
    graph.node.extend(new_nodes)
    for o in model.opset_import:  # LessOrEqual needs opset 12; normalize takes 13+
        if o.domain in ("", "ai.onnx"):
            o.version = max(o.version, OPSET_MIN)


@dataclass(frozen=True)
class _Ensemble:
    """Trees as scikit-learn-style arrays (``workloads.decision_tree.forest.Forest``) with
    each leaf's output weights, in the convention ``x[feature] <= threshold`` goes left."""

    forest: object
    weights: np.ndarray  # (nodes, outputs): what each leaf adds to the output
    base: np.ndarray  # (outputs,)

    @property
    def n_trees(self) -> int:
        return self.forest.n_trees  # type: ignore[attr-defined]

    @classmethod
    def from_node(cls, node: onnx.NodeProto, where: str) -> _Ensemble:
        from workloads.decision_tree.forest import Forest

        at = _attrs(node)
        what = f"{where}: node {node.name!r} ({node.op_type})"

        def arr(name: str, dtype: type = np.float64) -> np.ndarray:
            if name in at:
                return np.asarray(at[name], dtype)
            if f"{name}_as_tensor" in at:
                return numpy_helper.to_array(at[f"{name}_as_tensor"]).astype(dtype)
            return np.zeros(0, dtype)

        post = at.get("post_transform", b"NONE")
        post = post.decode() if isinstance(post, bytes) else str(post)
        if post != "NONE":
            raise ModelError(f"{what}: post_transform {post} is not supported (only NONE)")
        if node.op_type == "TreeEnsembleClassifier":
            prefix = "class"
            labels = at.get("classlabels_int64s") or at.get("classlabels_strings") or []
            n_out = len(labels)
        else:
            prefix = "target"
            n_out = int(at.get("n_targets", 1))
            agg = at.get("aggregate_function", b"SUM")
            agg = agg.decode() if isinstance(agg, bytes) else str(agg)
            if agg not in ("SUM", "AVERAGE"):
                raise ModelError(f"{what}: aggregate_function {agg} is not supported")
        tree_ids = arr("nodes_treeids", np.int64)
        node_ids = arr("nodes_nodeids", np.int64)
        features = arr("nodes_featureids", np.int64)
        values = arr("nodes_values").astype(np.float32).astype(np.float64)
        true_ids = arr("nodes_truenodeids", np.int64)
        false_ids = arr("nodes_falsenodeids", np.int64)
        modes = [m.decode() if isinstance(m, bytes) else str(m) for m in at.get("nodes_modes", [])]
        w_tree = arr(f"{prefix}_treeids", np.int64)
        w_node = arr(f"{prefix}_nodeids", np.int64)
        w_out = arr(f"{prefix}_ids", np.int64)
        w_val = arr(f"{prefix}_weights")
        if node.op_type == "TreeEnsembleClassifier" and n_out == 2 \
                and len(set(w_out.tolist())) == 1:
            raise ModelError(f"{what}: binary classifier with one weight column (onnxruntime "
                             f"derives the other class) is not supported")
        if w_out.size and (w_out.min() < 0 or w_out.max() >= n_out):
            raise ModelError(f"{what}: weight ids outside [0, {n_out})")
        trees = sorted(set(tree_ids.tolist()))
        left, right, feat, thr, offsets = [], [], [], [], [0]
        weights: list[np.ndarray] = []
        for t in trees:
            sel = np.flatnonzero(tree_ids == t)
            local = {int(n): i for i, n in enumerate(node_ids[sel])}
            n = len(sel)
            lt, rt = np.full(n, -1, np.int32), np.full(n, -1, np.int32)
            ft, th = np.full(n, -2, np.int32), np.full(n, -2.0)
            for k, j in enumerate(sel):
                mode = modes[j]
                if mode == "LEAF":
                    continue
                yes, no = local.get(int(true_ids[j])), local.get(int(false_ids[j]))
                if yes is None or no is None:
                    raise ModelError(f"{what}: tree {t} node {node_ids[j]} has a missing child")
                v = values[j]
                below = float(np.nextafter(np.float32(v), np.float32(-np.inf)))
                if mode == "BRANCH_LEQ":  # x <= v
                    lt[k], rt[k], th[k] = yes, no, v
                elif mode == "BRANCH_LT":  # x < v  <=>  x <= the float32 below v
                    lt[k], rt[k], th[k] = yes, no, below
                elif mode == "BRANCH_GT":  # x > v  <=>  not x <= v
                    lt[k], rt[k], th[k] = no, yes, v
                elif mode == "BRANCH_GTE":  # x >= v  <=>  not x <= the float32 below v
                    lt[k], rt[k], th[k] = no, yes, below
                else:
                    raise ModelError(f"{what}: node mode {mode} is not supported")
                ft[k] = features[j]
            w = np.zeros((n, n_out))
            ws = np.flatnonzero(w_tree == t)
            for j in ws:
                if int(w_node[j]) not in local:
                    raise ModelError(f"{what}: weight for unknown node {w_node[j]} of tree {t}")
                w[local[int(w_node[j])], w_out[j]] += w_val[j]
            left.append(lt)
            right.append(rt)
            feat.append(ft)
            thr.append(th)
            weights.append(w)
            offsets.append(offsets[-1] + n)
        all_w = np.concatenate(weights) if weights else np.zeros((0, n_out))
        if node.op_type == "TreeEnsembleRegressor" and agg == "AVERAGE":
            all_w = all_w / max(len(trees), 1)
        base = arr("base_values")
        base = base if base.size else np.zeros(n_out)
        forest = Forest(children_left=np.concatenate(left), children_right=np.concatenate(right),
                        feature=np.concatenate(feat), threshold=np.concatenate(thr),
                        counts=np.abs(all_w) + 1.0, tree_offsets=np.asarray(offsets, np.int64))
        return cls(forest=forest, weights=all_w, base=np.asarray(base, np.float64))

    def graph(self, x: str, out: str, n_features: int, prefix: str
              ) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
        """Nodes from ``x`` (batch x features) to ``out`` (batch x outputs)."""
        from workloads.decision_tree import graph as tree_graph

        forest = self.forest
        constant = self.base.copy()
        split: list[int] = []  # trees with at least one comparison
        for t in range(forest.n_trees):  # type: ignore[attr-defined]
            sl = forest.tree(t)  # type: ignore[attr-defined]
            if (forest.children_left[sl] >= 0).any():  # type: ignore[attr-defined]
                split.append(t)
            else:  # a single leaf adds a constant
                constant = constant + self.weights[sl][0]
        nodes: list[onnx.NodeProto] = []
        inits: list[onnx.TensorProto] = []
        ys: list[str] = []
        for g, (first, last) in enumerate(_ranges(forest, split)):
            blk = tree_graph.block(forest, first, last, n_features)  # type: ignore[arg-type]
            leaf_rows = [np.flatnonzero(forest.children_left[forest.tree(t)] < 0)  # type: ignore
                         + forest.tree(t).start for t in range(first, last)]  # type: ignore
            v = self.weights[np.concatenate(leaf_rows)].astype(np.float32)
            blk = dataclasses.replace(blk, V=v)
            y = f"{prefix}b{g:03d}_Y"
            more_nodes, more_inits = tree_graph.block_graph(blk, x, y, f"{prefix}b{g:03d}_")
            nodes += more_nodes
            inits += more_inits
            ys.append(y)
        if not ys:
            raise ModelError(f"node {prefix[:-1]!r}: every tree is a single leaf")
        has_constant = bool(np.any(constant != 0))
        acc = ys[0]
        for g in range(1, len(ys)):
            nxt = out if g == len(ys) - 1 and not has_constant else f"{prefix}sum{g:03d}"
            nodes.append(helper.make_node("Add", [acc, ys[g]], [nxt], name=f"{prefix}sum{g:03d}"))
            acc = nxt
        if has_constant:
            inits.append(numpy_helper.from_array(constant.astype(np.float32), f"{prefix}base"))
            nodes.append(helper.make_node("Add", [acc, f"{prefix}base"], [out],
                                          name=f"{prefix}base"))
        elif acc != out:
            nodes.append(helper.make_node("Identity", [acc], [out], name=f"{prefix}out"))
        return nodes, inits


def _ranges(forest: object, trees: list[int]) -> list[tuple[int, int]]:
    """Consecutive runs of ``trees`` packed into blocks as ``graph.pack`` packs a forest."""
    from workloads.decision_tree.graph import MAX_BLOCK_NODES

    sizes = forest.tree_sizes()  # type: ignore[attr-defined]
    ranges: list[tuple[int, int]] = []
    start, nodes = None, 0
    for t in range(len(sizes)):
        if t not in trees:
            if start is not None:
                ranges.append((start, t))
            start, nodes = None, 0
            continue
        if start is None:
            start, nodes = t, 0
        elif nodes + sizes[t][0] > MAX_BLOCK_NODES:
            ranges.append((start, t))
            start, nodes = t, 0
        nodes += sizes[t][0]
    if start is not None:
        ranges.append((start, len(sizes)))
    return ranges

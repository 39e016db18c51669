"""QuantizedModel -> Circuit: one layer per integer op, tensors padded to powers of two.

The compiler refuses, naming the node, any model it cannot prove soundly: a tensor whose
static bound reaches 2^29 (its values could wrap around p = 2^31 - 2^27 + 1 and alias), or an
op or shape no layer covers.
"""

from __future__ import annotations

import numpy as np

from provers.gkr import logup
from provers.gkr import tensor as T
from provers.gkr.circuit import (
    Add,
    AddBias,
    AddConst,
    Circuit,
    Hadamard,
    Layer,
    MatMul,
    Rearrange,
    Requant,
    Scale,
    TensorInfo,
    lookup_mult,
)
from provers.gkr.errors import UnsupportedCircuit
from provers.gkr.layers import requant
from zkbench.qmodel import QNode, QuantizedModel

BOUND_LIMIT = 2**29
SUPPORTED_OPS = frozenset({"matmul", "add", "mulconst", "addconst", "mul", "relu", "sign",
                           "rescale", "rearrange"})


def padded_index(index: np.ndarray, src_shape: tuple[int, ...]) -> np.ndarray:
    """A model's index map (true shapes) as a map between the padded tensors."""
    src_padded = T.padded_shape(src_shape)
    flat = index.reshape(-1)
    valid = flat >= 0
    coords = np.unravel_index(np.where(valid, flat, 0), src_shape)
    mapped = np.ravel_multi_index(coords, src_padded)
    out = T.pad(np.where(valid, mapped, -1).reshape(index.shape))
    mask = T.pad(np.ones(index.shape, dtype=np.int64)) == 0
    out[mask] = -1
    return out


def _fuse(model: QuantizedModel) -> list[tuple[QNode, ...]]:
    """Group nodes into layers: a ReLU whose only consumer is a rescale becomes one requant."""
    uses: dict[str, int] = {}
    for node in model.nodes:
        for name in node.inputs:
            uses[name] = uses.get(name, 0) + 1
    groups: list[tuple[QNode, ...]] = []
    nodes = list(model.nodes)
    i = 0
    while i < len(nodes):
        node = nodes[i]
        nxt = nodes[i + 1] if i + 1 < len(nodes) else None
        if (node.op == "relu" and nxt is not None and nxt.op == "rescale"
                and nxt.inputs == (node.output,) and uses.get(node.output) == 1
                and node.output != model.output_name):
            groups.append((node, nxt))
            i += 2
        else:
            groups.append((node,))
            i += 1
    return groups


def _requant(group: tuple[QNode, ...], model: QuantizedModel, limb_bits: int = 8) -> Requant:
    first, last = group[0], group[-1]
    shift = int(last.attrs["shift"]) if last.op == "rescale" else 0
    mode = {"relu": "relu", "sign": "sign"}.get(first.op, "identity")
    bound = model.bounds[first.inputs[0]]
    mag_bits = requant.mag_bits_for(bound, shift)
    if not requant.bits_ok(shift, mag_bits):
        raise UnsupportedCircuit(
            f"node {last.name!r}: a shift of {shift} with {mag_bits}-bit quotients reaches "
            f"2^{shift + mag_bits}, too close to p/2 to range-check soundly")
    return Requant(last.output, (first.inputs[0],), shift=shift, mode=mode, mag_bits=mag_bits,
                   limb_bits=limb_bits)


def _limb_bits(model: QuantizedModel, groups: list[tuple[QNode, ...]]) -> int:
    """The circuit's one limb width (requant.limb_bits_for) over its requant layers."""
    shapes = model.shapes()
    plan = []
    for group in groups:
        if group[-1].op in ("relu", "rescale", "sign"):
            layer = _requant(group, model)
            elements = int(np.prod(T.padded_shape(shapes[layer.inputs[0]])))
            plan.append((layer.shift, layer.mag_bits, elements))
    return requant.limb_bits_for(plan)


def compile_model(model: QuantizedModel) -> Circuit:
    shapes = model.shapes()
    for name, bound in model.bounds.items():
        if bound >= BOUND_LIMIT:
            where = next((n.name for n in model.nodes if n.output == name), name)
            raise UnsupportedCircuit(
                f"node {where!r}: tensor {name!r} may reach {bound} >= 2^29 in magnitude, "
                f"too close to the field size to prove without wrap-around"
            )
    tensors: dict[str, TensorInfo] = {
        model.input_name: TensorInfo(model.input_name, shapes[model.input_name], "input")
    }
    weights: dict[str, np.ndarray] = {}
    for name, value in model.constants.items():
        tensors[name] = TensorInfo(name, tuple(value.shape), "weight")
        weights[name] = T.pad(value)
    layers: list[Layer] = []
    groups = _fuse(model)
    limb_bits = _limb_bits(model, groups)
    for group in groups:
        node = group[-1]
        shape_of = [shapes[i] for i in group[0].inputs]
        out_shape = shapes[node.output]
        if node.op in ("relu", "rescale", "sign"):
            layer = _requant(group, model, limb_bits)
            layers.append(layer)
            x_shape = shapes[layer.inputs[0]]
            shapes_of = layer.advice_shapes(x_shape)
            for key, name in layer.advice.items():
                tensors[name] = TensorInfo(name, shapes_of[key], "advice")
        elif node.op == "matmul":
            if len(shape_of[0]) != 2 or len(shape_of[1]) != 2:
                raise UnsupportedCircuit(f"node {node.name!r}: matmul of shapes {shape_of} "
                                         f"(only 2-d operands)")
            layers.append(MatMul(node.output, node.inputs))
        elif node.op == "add":
            if shape_of[0] == shape_of[1]:
                layers.append(Add(node.output, node.inputs))
            elif (len(shape_of[0]) == 2 and len(shape_of[1]) == 1
                  and shape_of[1][0] == shape_of[0][1]):
                layers.append(AddBias(node.output, node.inputs, rows=shape_of[0][0]))
            else:
                raise UnsupportedCircuit(f"node {node.name!r}: add of shapes {shape_of}")
        elif node.op == "mul":
            if shape_of[0] != shape_of[1]:
                raise UnsupportedCircuit(f"node {node.name!r}: mul of shapes {shape_of}")
            layers.append(Hadamard(node.output, node.inputs))
        elif node.op == "rearrange":
            layers.append(Rearrange(node.output, node.inputs,
                                    index=padded_index(node.attrs["index"], shape_of[0])))
        elif node.op == "addconst":
            layers.append(AddConst(node.output, node.inputs, c=int(node.attrs["c"])))
        elif node.op == "mulconst":
            c = int(node.attrs["c"])
            if c == 0:
                raise UnsupportedCircuit(f"node {node.name!r}: multiplication by zero")
            layers.append(Scale(node.output, node.inputs, c=c))
        else:
            raise UnsupportedCircuit(f"node {node.name!r}: op {node.op!r} has no GKR layer yet")
        tensors[node.output] = TensorInfo(node.output, out_shape, "derived")
    for bits in sorted({layer.limb_bits for layer in layers if isinstance(layer, Requant)}):
        name = lookup_mult(bits)
        tensors[name] = TensorInfo(name, (1 << bits,), "advice")
    return Circuit(tensors=tensors, layers=tuple(layers), input=model.input_name,
                   output=model.output_name, weights=weights)


def tensor_values(model: QuantizedModel, circuit: Circuit, x: np.ndarray
                  ) -> dict[str, np.ndarray]:
    """Every tensor of the circuit, zero-padded, from the model's exact integer inference,
    plus the advice of every requant layer (checked against the model's own output)."""
    values = model.run(x)
    out = {name: T.pad(values[name], info.padded) for name, info in circuit.tensors.items()
           if info.role != "advice"}
    for layer in circuit.layers:
        if isinstance(layer, Requant):
            x_info = circuit.tensors[layer.inputs[0]]
            advice = requant.advice_values(layer, out[layer.inputs[0]], x_info.shape,
                                           circuit.tensors)
            out.update(advice)
            if not np.array_equal(requant.output_values(layer, advice), out[layer.out]):
                raise AssertionError(f"requant layer {layer.out!r}: advice disagrees with "
                                     f"the model's inference")
    for bits, names in circuit.lookups().items():
        out[lookup_mult(bits)] = logup.multiplicities([out[n] for n in names], bits)
    return out

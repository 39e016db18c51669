"""QuantizedModel -> circom 2 source: the circuit the ``snarkjs-groth16`` prover compiles.

Statement (v1, the same as ``gkr``'s): inference with public weights, input and output. The
weights are constants of the circuit, so the verifying key binds them; the input ``x`` and the
output ``y`` are the public signals. Every tensor is a flat array of BN254 scalars, a negative
integer v standing for p - |v|; the static bounds keep every value far below p / 2.

Linear ops (matmul with a constant side, add, mulconst, addconst, rearrange) cost no
multiplication gates: they are linear constraints that circom's simplifier folds away.
``mul`` and a matmul of two activations cost one gate per product. ``relu``, ``sign`` and
``rescale`` go through one template, ``Requant``, which decomposes ``a + OFF`` into K bits,
each constrained boolean, whose weighted sum is constrained to equal ``a + OFF``. The
decomposition is then unique, so every advice bit is determined by ``a``:

- ``rescale`` by s: ``OFF = 2**(s-1) + 2**(K-1)``; the bits above s, less ``2**(K-1-s)``, are
  ``floor((a + 2**(s-1)) / 2**s)``, and the top bit says whether that quotient is >= 0;
- ``relu``: the same with s = 0 (``OFF = 2**(K-1)``), output ``a * top``;
- a relu whose only consumer is a rescale (or the reverse) is one ``Requant``: rounding
  half up commutes with max(., 0), so rescale(relu(a)) = quotient * top;
- ``sign``: ``OFF = 2**(K-1) - 1``, output ``top`` = [a > 0].

K is sized from the input's static bound so ``a + OFF`` lies in [0, 2**K) for every value the
model can produce, and must stay below the field's 253 safe bits.

Committed weights (``generate(model, committed=True)``, the ``snarkjs-groth16-cw`` circuit): the
constants the circuit reads become one private input ``w`` (each tensor flattened, in order of
first use, after folding the nodes that read constants only). A product with a weight is then
a product of two signals and costs one gate, so ``matmul`` with a weight side costs one gate
per multiply-accumulate and ``mul`` by a weight tensor one per element. The public output
``digest`` (declared first, so it is public signal 0) is a chain of circomlib's Poseidon over
``w``: ``h_0 = salt``, ``h_{i+1} = Poseidon(h_i, w[15 i], ..., w[15 i + 14])`` (the last block
padded with zeros; the length is fixed by the circuit), ``digest = h_last``. ``salt`` is a
private input, a random field element the prover draws once per compiled circuit: without it
the digest of weights an observer can guess (a public model, a fine-tune of one) would confirm
the guess; with it the digest hides them, at no extra constraint. Poseidon with 16
inputs (width 17) costs 609 constraints for 15 weights, 40.6 per weight, the cheapest per
weight of circomlib's widths (measured with circom 2.2.3 --O2: 2 inputs 240 for 1 weight,
8 inputs 402 for 7, 12 inputs 504 for 11, 15 inputs 573 for 14, 16 inputs 609 for 15). These
counts need --O2: under --O1 each Poseidon(16) keeps 1480 linear constraints of its mixing
layers on top (2092 in all, 139 per weight), so committed circuits compile with --O2. The
weights are not range-checked: the digest binds them to the values hashed at setup.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zkbench.qmodel import QNode, QuantizedModel, _apply

P = 21888242871839275222246405745257275088548364400416034343698204186575808495617
"""The BN254 scalar field, where circom's signals live."""
MAX_BITS = 250
"""Widest bit decomposition allowed: 2**250 is far below p / 2, so no value can wrap."""
SUPPORTED_OPS = frozenset({"matmul", "add", "mulconst", "addconst", "mul", "relu", "sign",
                           "rescale", "rearrange"})

MODE_RESCALE, MODE_RELU, MODE_SIGN = 0, 1, 2

TEMPLATES = """\
pragma circom 2.1.0;

// Range-checked requantization of N values; see provers/snarkjs/circuit.py.
template Requant(N, K, OFF, S, MODE) {
    signal input a[N];
    signal output c[N];
    signal b[N][K];
    for (var i = 0; i < N; i++) {
        var sum = 0;
        var e = 1;
        for (var j = 0; j < K; j++) {
            b[i][j] <-- ((a[i] + OFF) >> j) & 1;
            b[i][j] * (b[i][j] - 1) === 0;
            sum += b[i][j] * e;
            e += e;
        }
        sum === a[i] + OFF;
        var q = 0;
        e = 1;
        for (var j = S; j < K - 1; j++) {
            q += b[i][j] * e;
            e += e;
        }
        if (MODE == 0) {
            c[i] <== q + b[i][K - 1] * e - e;
        } else if (MODE == 1) {
            c[i] <== q * b[i][K - 1];
        } else {
            c[i] <== b[i][K - 1];
        }
    }
}

// Elementwise products of N pairs.
template Products(N) {
    signal input a[N];
    signal input b[N];
    signal output c[N];
    for (var i = 0; i < N; i++) {
        c[i] <== a[i] * b[i];
    }
}
"""


POSEIDON_INPUTS = 16
"""Inputs of each Poseidon in the weights chain: the previous link and 15 weights."""
WEIGHTS_PER_LINK = POSEIDON_INPUTS - 1
POSEIDON_CONSTRAINTS = 609
"""Constraints of circomlib's Poseidon(16) compiled with --O2 (8 full rounds of 17 S-boxes and
68 partial rounds of one, 3 constraints per x^5, less the three of the first round whose
S-box inputs are constants)."""

DIGEST_TEMPLATE = f"""\
// The chained Poseidon digest of N weights; see provers/snarkjs/circuit.py.
template WeightsDigest(N) {{
    signal input salt;
    signal input w[N];
    signal output digest;
    var LINKS = (N + {WEIGHTS_PER_LINK - 1}) \\ {WEIGHTS_PER_LINK};
    component link[LINKS];
    for (var i = 0; i < LINKS; i++) {{
        link[i] = Poseidon({POSEIDON_INPUTS});
        if (i == 0) {{
            link[i].inputs[0] <== salt;
        }} else {{
            link[i].inputs[0] <== link[i - 1].out;
        }}
        for (var j = 0; j < {WEIGHTS_PER_LINK}; j++) {{
            if (i * {WEIGHTS_PER_LINK} + j < N) {{
                link[i].inputs[j + 1] <== w[i * {WEIGHTS_PER_LINK} + j];
            }} else {{
                link[i].inputs[j + 1] <== 0;
            }}
        }}
    }}
    digest <== link[LINKS - 1].out;
}}
"""
POSEIDON_INCLUDE = 'include "circomlib/circuits/poseidon.circom";\n'
"""Found through circom's ``-l`` library path: the installed ``node_modules``."""


class CircuitError(ValueError):
    """The model cannot be written as a sound circuit; the message names the node."""


@dataclass(frozen=True)
class CircomCircuit:
    """The generated source and what the prover needs to talk to it."""

    source: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    range_bits: int
    """Boolean advice signals of all Requant components: the bulk of the constraints."""
    product_gates: int
    weights: np.ndarray | None = None
    """Committed circuits only: the private input ``w``, the flat weights the digest hashes
    (the prover's; the verifier never reads them)."""

    @property
    def committed(self) -> bool:
        return self.weights is not None

    @property
    def digest_signals(self) -> int:
        """Public signals ahead of the output: the weights digest in a committed circuit."""
        return 1 if self.committed else 0

    @property
    def hash_constraints(self) -> int:
        if not self.committed:
            return 0
        links = max(1, -(-self.weights.size // WEIGHTS_PER_LINK))
        return links * POSEIDON_CONSTRAINTS

    @property
    def n_public(self) -> int:
        return (int(np.prod(self.input_shape)) + int(np.prod(self.output_shape))
                + self.digest_signals)

    @property
    def min_power(self) -> int:
        """A lower bound on the powers of tau the compiled circuit will need: its boolean and
        product gates and the weights hash alone (circom adds linear constraints on top), plus
        the public signals."""
        return (self.range_bits + self.product_gates + self.hash_constraints
                + self.n_public).bit_length()


def to_field(values: np.ndarray) -> list[str]:
    """Signed integers as decimal BN254 scalars (v < 0 becomes p + v)."""
    return [str(int(v) % P) for v in np.asarray(values).reshape(-1).tolist()]


def from_field(values: list[int], shape: tuple[int, ...]) -> np.ndarray:
    """BN254 scalars back to signed integers (above p / 2 means negative)."""
    signed = [v - P if v > P // 2 else v for v in values]
    return np.array(signed, dtype=np.int64).reshape(shape)


def requant_params(op: str, bound: int, shift: int) -> tuple[int, int]:
    """(K, OFF) of a Requant of mode ``op`` over values with |a| <= bound."""
    if op == "sign":
        k = (bound + 1).bit_length() + 1
        return k, 2 ** (k - 1) - 1
    half = 2 ** (shift - 1) if shift else 0
    k = max((bound + half).bit_length(), shift) + 1
    return k, half + 2 ** (k - 1)


class _Writer:
    """Accumulates the main template's body, one model node at a time."""

    def __init__(self, model: QuantizedModel, committed: bool = False) -> None:
        self.model = model
        self.committed = committed
        self.weight_at: dict[str, int] = {}
        """Committed circuits: offset in ``w`` of each constant the circuit reads."""
        self.weights: list[np.ndarray] = []
        self.n_weights = 0
        self.shapes = model.shapes()
        self.lines: list[str] = []
        self.refs: dict[str, str] = {model.input_name: "x"}
        self.consts: dict[str, np.ndarray] = dict(model.constants)
        self.range_bits = 0
        self.product_gates = 0
        self.counter = 0

    def fresh(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}{self.counter}"

    def size(self, name: str) -> int:
        return int(np.prod(self.shapes[name], dtype=np.int64))

    def const_array(self, values: np.ndarray) -> str:
        name = self.fresh("k")
        flat = np.asarray(values, dtype=np.int64).reshape(-1)
        self.lines.append(f"    var {name}[{flat.size}] = [{', '.join(map(str, flat.tolist()))}];")
        return name

    def weight(self, name: str, pos: str) -> str:
        """Committed circuits: element ``pos`` of constant ``name``, a slice of the private
        ``w`` allocated on first use."""
        if name not in self.weight_at:
            flat = np.asarray(self.consts[name], dtype=np.int64).reshape(-1)
            self.weight_at[name] = self.n_weights
            self.weights.append(flat)
            self.n_weights += flat.size
        offset = self.weight_at[name]
        return f"w[{offset} + {pos}]" if offset else f"w[{pos}]"

    def element(self, name: str, pos: str) -> str:
        """Element ``pos`` of activation or (committed) weight ``name``."""
        if name in self.consts:
            return self.weight(name, pos)
        return f"{self.refs[name]}[{pos}]"

    def operand(self, name: str, out_shape: tuple[int, ...], var: str) -> str:
        """An expression for element ``var`` of ``name`` broadcast to ``out_shape``."""
        shape = self.shapes[name]
        size = int(np.prod(shape, dtype=np.int64))
        total = int(np.prod(out_shape, dtype=np.int64))
        index = np.broadcast_to(np.arange(size).reshape(shape), out_shape).reshape(-1)
        if np.array_equal(index, np.arange(total)):
            pos = var
        elif np.array_equal(index, np.arange(total) % size):
            pos = f"{var} % {size}"
        else:
            pos = f"{self.const_array(index)}[{var}]"
        if name in self.consts and not self.committed:
            return f"{self.const_array(self.consts[name])}[{pos}]"
        return self.element(name, pos)

    def signal(self, node: QNode) -> str:
        name = self.fresh("s")
        self.lines.append(f"    signal {name}[{self.size(node.output)}];")
        self.refs[node.output] = name
        return name

    def elementwise(self, node: QNode, expr: str) -> None:
        n = self.size(node.output)
        out = self.signal(node)
        self.lines.append(f"    for (var i = 0; i < {n}; i++) {{ {out}[i] <== {expr}; }}")

    def node(self, node: QNode) -> None:
        if all(name in self.consts for name in node.inputs):  # fold constants in Python
            args = [self.consts[n] for n in node.inputs]
            self.consts[node.output] = _apply(node, args, [self.model.bounds[n]
                                                           for n in node.inputs])
            return
        out_shape = self.shapes[node.output]
        if node.op == "add":
            a, b = (self.operand(n, out_shape, "i") for n in node.inputs)
            self.elementwise(node, f"{a} + {b}")
        elif node.op == "mul":
            self.mul(node)
        elif node.op == "mulconst":
            self.elementwise(node, f"{self.operand(node.inputs[0], out_shape, 'i')} * "
                                   f"{int(node.attrs['c'])}")
        elif node.op == "addconst":
            self.elementwise(node, f"{self.operand(node.inputs[0], out_shape, 'i')} + "
                                   f"{int(node.attrs['c'])}")
        elif node.op == "rearrange":
            self.rearrange(node)
        elif node.op == "matmul":
            self.matmul(node)
        elif node.op in ("relu", "sign", "rescale"):
            self.requant(node, node.op, int(node.attrs.get("shift", 0)))
        else:
            raise CircuitError(f"node {node.name!r}: op {node.op!r} has no circom template")

    def mul(self, node: QNode) -> None:
        out_shape = self.shapes[node.output]
        a, b = (self.operand(n, out_shape, "i") for n in node.inputs)
        if any(n in self.consts for n in node.inputs):
            self.elementwise(node, f"{a} * {b}")
            if self.committed:  # a weight signal times an activation: one gate each
                self.product_gates += self.size(node.output)
            return
        n = self.size(node.output)
        comp = self.fresh("m")
        self.lines.append(f"    component {comp} = Products({n});")
        self.lines.append(f"    for (var i = 0; i < {n}; i++) {{ {comp}.a[i] <== {a}; "
                          f"{comp}.b[i] <== {b}; }}")
        self.refs[node.output] = f"{comp}.c"
        self.product_gates += n

    def rearrange(self, node: QNode) -> None:
        index = np.asarray(node.attrs["index"], dtype=np.int64).reshape(-1)
        src = self.refs[node.inputs[0]]
        idx = self.const_array(np.where(index < 0, 0, index))
        if (index < 0).any():
            mask = self.const_array((index >= 0).astype(np.int64))
            self.elementwise(node, f"{src}[{idx}[i]] * {mask}[i]")
        else:
            self.elementwise(node, f"{src}[{idx}[i]]")

    def matmul(self, node: QNode) -> None:
        a_name, b_name = node.inputs
        a_shape, b_shape = self.shapes[a_name], self.shapes[b_name]
        if len(b_shape) != 2 or (a_name in self.consts and len(a_shape) != 2):
            raise CircuitError(f"node {node.name!r}: matmul of shapes {a_shape} @ {b_shape} "
                               "(the right side must be a matrix)")
        k, n = b_shape
        rows = int(np.prod(a_shape[:-1], dtype=np.int64))
        if (a_name in self.consts or b_name in self.consts) and not self.committed:
            a = (self.const_array(self.consts[a_name]) if a_name in self.consts
                 else self.refs[a_name])
            b = (self.const_array(self.consts[b_name]) if b_name in self.consts
                 else self.refs[b_name])
            out = self.signal(node)
            self.lines += [
                f"    for (var r = 0; r < {rows}; r++) {{",
                f"        for (var j = 0; j < {n}; j++) {{",
                "            var acc = 0;",
                f"            for (var q = 0; q < {k}; q++) {{ acc += {a}[r * {k} + q] * "
                f"{b}[q * {n} + j]; }}",
                f"            {out}[r * {n} + j] <== acc;",
                "        }",
                "    }",
            ]
            return
        # Two signals (activations, or committed weights): one gate per multiply-accumulate.
        a = self.element(a_name, f"r * {k} + q")
        b = self.element(b_name, f"q * {n} + j")
        comp = self.fresh("m")
        total = rows * n * k
        self.lines += [
            f"    component {comp} = Products({total});",
            f"    for (var r = 0; r < {rows}; r++) {{",
            f"        for (var j = 0; j < {n}; j++) {{",
            f"            for (var q = 0; q < {k}; q++) {{",
            f"                {comp}.a[(r * {n} + j) * {k} + q] <== {a};",
            f"                {comp}.b[(r * {n} + j) * {k} + q] <== {b};",
            "            }",
            "        }",
            "    }",
        ]
        out = self.signal(node)
        self.lines += [
            f"    for (var t = 0; t < {rows * n}; t++) {{",
            "        var acc = 0;",
            f"        for (var q = 0; q < {k}; q++) {{ acc += {comp}.c[t * {k} + q]; }}",
            f"        {out}[t] <== acc;",
            "    }",
        ]
        self.product_gates += total

    def requant(self, node: QNode, op: str, shift: int, source: str | None = None) -> None:
        source = source or node.inputs[0]
        bound = self.model.bounds[source]
        k, off = requant_params(op, bound, shift)
        if k > MAX_BITS:
            raise CircuitError(f"node {node.name!r}: a {k}-bit range check (bound {bound}) "
                               f"exceeds the {MAX_BITS} bits BN254 can check soundly")
        mode = {"rescale": MODE_RESCALE, "relu": MODE_RELU, "sign": MODE_SIGN}[op]
        n = self.size(node.output)
        comp = self.fresh("q")
        self.lines.append(f"    component {comp} = Requant({n}, {k}, {off}, {shift}, {mode});")
        self.lines.append(f"    for (var i = 0; i < {n}; i++) {{ {comp}.a[i] <== "
                          f"{self.refs[source]}[i]; }}")
        self.refs[node.output] = f"{comp}.c"
        self.range_bits += n * k


def _fusable(model: QuantizedModel) -> set[int]:
    """Indices i where node i (relu/rescale) and node i + 1 (rescale/relu) become one Requant."""
    uses: dict[str, int] = {}
    for node in model.nodes:
        for name in node.inputs:
            uses[name] = uses.get(name, 0) + 1
    fused = set()
    nodes = model.nodes
    for i in range(len(nodes) - 1):
        a, b = nodes[i], nodes[i + 1]
        if ({a.op, b.op} == {"relu", "rescale"} and b.inputs == (a.output,)
                and uses.get(a.output) == 1 and a.output != model.output_name
                and a.inputs[0] not in model.constants and (i - 1) not in fused):
            fused.add(i)
    return fused


def generate(model: QuantizedModel, committed: bool = False) -> CircomCircuit:
    """The circom source of ``model``: main template ``Model``, public input ``x``, output ``y``
    (with ``committed``: private inputs ``salt`` and ``w``, and the public output ``digest``
    before ``y``).

    Raises CircuitError naming the node it cannot write soundly."""
    unknown = sorted({n.op for n in model.nodes} - SUPPORTED_OPS)
    if unknown:
        raise CircuitError(f"model {model.name!r}: unsupported op(s) {', '.join(unknown)}")
    w = _Writer(model, committed)
    fused = _fusable(model)
    i = 0
    nodes = model.nodes
    while i < len(nodes):
        node = nodes[i]
        if i in fused:
            nxt = nodes[i + 1]
            shift = int((node if node.op == "rescale" else nxt).attrs["shift"])
            w.requant(nxt, "relu", shift, source=node.inputs[0])
            i += 2
            continue
        w.node(node)
        i += 1
    out = model.output_name
    n_in = int(np.prod(model.input_shape, dtype=np.int64))
    n_out = w.size(out)
    if out in w.consts:
        raise CircuitError(f"model {model.name!r}: the output does not depend on the input")
    body = "\n".join(w.lines)
    header, weights = f"{TEMPLATES}\n", None
    signals = f"    signal input x[{n_in}];\n"
    if committed:
        weights = (np.concatenate(w.weights) if w.weights
                   else np.zeros(0, dtype=np.int64))
        if weights.size == 0:
            raise CircuitError(f"model {model.name!r}: no weights to commit to")
        pragma, templates = TEMPLATES.split("\n", 1)
        header = f"{pragma}\n{POSEIDON_INCLUDE}{templates}\n{DIGEST_TEMPLATE}\n"
        signals += ("    signal input salt;\n"
                    f"    signal input w[{weights.size}];\n"
                    "    signal output digest;\n"
                    f"    component hash = WeightsDigest({weights.size});\n"
                    "    hash.salt <== salt;\n"
                    f"    for (var i = 0; i < {weights.size}; i++) {{ hash.w[i] <== w[i]; }}\n"
                    "    digest <== hash.digest;\n")
    source = (
        header +
        "template Model() {\n"
        f"{signals}"
        f"    signal output y[{n_out}];\n"
        f"{body}\n"
        f"    for (var i = 0; i < {n_out}; i++) {{ y[i] <== {w.refs[out]}[i]; }}\n"
        "}\n\n"
        "component main {public [x]} = Model();\n"
    )
    return CircomCircuit(source=source, input_shape=tuple(model.input_shape),
                         output_shape=tuple(w.shapes[out]), range_bits=w.range_bits,
                         product_gates=w.product_gates, weights=weights)

"""GKR completeness and soundness over random circuits of every layer kind.

Each soundness test changes one thing and asserts the specific rejection the verifier must
give. The Fiat-Shamir test plays a forging prover against a verifier whose transcript omits
the public output: it succeeds there and fails against the real verifier.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from provers.base import MalformedProof, ProofRejected
from provers.gkr import field as F
from provers.gkr import mle, verifier
from provers.gkr import prover as gkr_prover
from provers.gkr.adapter import FIELD_BITS
from provers.gkr.circuit import lookup_mult
from provers.gkr.compile import compile_model, tensor_values
from provers.gkr.errors import ClaimMismatch, LeafMismatch, RangeCheckFailed, SumcheckFailed
from provers.gkr.statement import absorb_output, bind_prefix
from zkbench.qmodel import QNode, QuantizedModel

KINDS = ("matmul", "add", "bias", "scale", "merge", "chain", "relu", "rescale", "requant", "mlp",
         "hadamard", "transpose", "window", "sign", "addconst")


def random_model(kind: str, rng: np.random.Generator, shift: int = 0) -> QuantizedModel:
    """A small random integer model exercising one layer kind (odd sizes test padding)."""
    m, k, n = (int(v) for v in rng.integers(2, 7, 3))
    consts = {"W1": rng.integers(-127, 128, (k, n)), "W2": rng.integers(-127, 128, (n, n)),
              "W3": rng.integers(-127, 128, (n, n)), "b": rng.integers(-999, 1000, (n,)),
              "V": rng.integers(-127, 128, (m, n))}
    nodes = [QNode("matmul", ("x", "W1"), "h", "mm1")]
    if kind == "matmul":
        out = "h"
    elif kind == "add":
        nodes.append(QNode("add", ("h", "V"), "y", "add"))
        out = "y"
    elif kind == "bias":
        nodes.append(QNode("add", ("h", "b"), "y", "bias"))
        out = "y"
    elif kind == "scale":
        nodes.append(QNode("mulconst", ("h",), "y", "scale", {"c": 8}))
        out = "y"
    elif kind == "merge":  # h feeds two layers: its claims are merged
        nodes += [QNode("matmul", ("h", "W2"), "p", "mm2"),
                  QNode("matmul", ("h", "W3"), "q", "mm3"), QNode("add", ("p", "q"), "y", "add")]
        out = "y"
    elif kind == "sign":  # comparisons, as decision trees use them
        nodes += [QNode("add", ("h", "b"), "d", "threshold"), QNode("sign", ("d",), "y", "less")]
        out = "y"
    elif kind == "addconst":
        nodes.append(QNode("addconst", ("h",), "y", "offset", {"c": -77}))
        out = "y"
    elif kind == "hadamard":
        nodes.append(QNode("mul", ("h", "V"), "y", "mul"))
        out = "y"
    elif kind == "transpose":  # a transpose then a non-power-of-two flatten
        nodes += [QNode("rearrange", ("h",), "ht", "transpose",
                        {"index": np.arange(m * n).reshape(m, n).T.copy()}),
                  QNode("rearrange", ("ht",), "y", "flatten",
                        {"index": np.arange(m * n).reshape(1, n * m)})]
        out = "y"
    elif kind == "window":  # overlapping windows with zero padding, as im2col makes
        idx = np.arange(m * n).reshape(m, n)
        win = np.full((m, 2 * n), -1)
        win[:, :n] = idx
        win[:, n + 1:] = idx[:, :-1]  # each row's shifted copy, a zero at the edge
        nodes.append(QNode("rearrange", ("h",), "y", "im2col", {"index": win}))
        out = "y"
    elif kind == "relu":
        nodes.append(QNode("relu", ("h",), "y", "relu"))
        out = "y"
    elif kind == "rescale":
        nodes.append(QNode("rescale", ("h",), "y", "rescale", {"shift": 5}))
        out = "y"
    elif kind == "requant":
        nodes += [QNode("relu", ("h",), "hr", "relu"),
                  QNode("rescale", ("hr",), "y", "rescale", {"shift": 7})]
        out = "y"
    elif kind == "mlp":  # two layers of Gemm, bias, ReLU and rescale
        nodes += [QNode("add", ("h", "b"), "hb", "bias"), QNode("relu", ("hb",), "hr", "relu"),
                  QNode("rescale", ("hr",), "a", "rescale", {"shift": 9}),
                  QNode("matmul", ("a", "W2"), "y", "mm2")]
        out = "y"
    else:  # chain: every kind in one circuit
        nodes += [QNode("add", ("h", "b"), "hb", "bias"),
                  QNode("mulconst", ("hb",), "hs", "scale", {"c": -3}),
                  QNode("matmul", ("hs", "W2"), "p", "mm2"), QNode("add", ("p", "hs"), "y", "add")]
        out = "y"
    used = {i for node in nodes for i in node.inputs}
    constants = {k_: v for k_, v in consts.items() if k_ in used}
    bounds = {"x": 127, **{k_: int(np.abs(v).max()) for k_, v in constants.items()}}
    for node in nodes:  # loose static bounds, enough for the compiler's check
        bounds[node.output] = 2**20
    return QuantizedModel(name=f"random-{kind}", input_name="x", input_shape=(m, k),
                          output_name=out, bits=8, nodes=tuple(nodes), constants=constants,
                          scale_bits={}, bounds=bounds)


def build(kind: str, seed: int):
    rng = np.random.default_rng(seed)
    model = random_model(kind, rng)
    circuit = compile_model(model)
    x = rng.integers(-127, 128, model.input_shape)
    values = tensor_values(model, circuit, x)
    y = model.output(x)
    channel = gkr_prover.prove(circuit, values)
    return model, circuit, x, y, channel


def bump(data: bytes, offset: int) -> bytes:
    """Add 1 to the field coefficient at ``offset`` (canonically, mod p)."""
    out = bytearray(data)
    value = int.from_bytes(out[offset:offset + 4], "little")
    out[offset:offset + 4] = ((value + 1) % F.P).to_bytes(4, "little")
    return bytes(out)


def top_error(circuit) -> type:
    """The first check a wrong statement trips: the top layer's own."""
    return ClaimMismatch if circuit.layers[-1].kind in ("add", "add_bias") else SumcheckFailed


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", range(3))
def test_completeness(kind, seed):
    _, circuit, x, y, channel = build(kind, seed)
    assert verifier.verify(circuit, x, y, channel.proof_bytes()) is True


@pytest.mark.parametrize("kind", KINDS)
def test_changed_round_polynomial_is_rejected(kind):
    _, circuit, x, y, channel = build(kind, 11)
    rounds = [(label, s, e) for label, s, e in channel.layout if "sumcheck" in label and e > s]
    assert rounds  # every kind has at least the first matmul's sumcheck
    for _label, start, end in rounds:
        for offset in (start, end - 4, start + 16 * ((end - start) // 32)):
            with pytest.raises(SumcheckFailed):
                verifier.verify(circuit, x, y, bump(channel.proof_bytes(), offset))


@pytest.mark.parametrize("kind", KINDS)
def test_changed_claimed_evaluation_is_rejected(kind):
    _, circuit, x, y, channel = build(kind, 12)
    evals = [(label, s, e) for label, s, e in channel.layout if "sumcheck" not in label]
    assert evals
    for label, start, end in evals:
        if label.startswith("advice/"):
            continue  # advice is checked as a leaf: see test_changed_advice_is_rejected
        expected = ClaimMismatch if label.startswith(("add/", "add_bias/")) else SumcheckFailed
        if label.endswith("/roots"):  # a LogUp root: the two sums no longer agree
            expected = RangeCheckFailed
        for i, offset in enumerate(range(start, end, 16)):  # every element, rotating limbs
            offset += 4 * (i % 4)
            with pytest.raises(expected):
                verifier.verify(circuit, x, y, bump(channel.proof_bytes(), offset))


@pytest.mark.parametrize("kind", KINDS)
def test_wrong_output_and_wrong_input_are_rejected(kind):
    _, circuit, x, y, channel = build(kind, 13)
    proof = channel.proof_bytes()
    y2 = y.copy()
    y2.reshape(-1)[-1] += 1
    with pytest.raises(top_error(circuit)):
        verifier.verify(circuit, x, y2, proof)
    x2 = x.copy()
    x2.reshape(-1)[0] -= 1
    with pytest.raises(top_error(circuit)):
        verifier.verify(circuit, x2, y, proof)


@pytest.mark.parametrize("kind", KINDS)
def test_proof_replayed_on_other_weights_is_rejected(kind):
    model, circuit, x, y, channel = build(kind, 14)
    other = dict(model.constants)
    name = sorted(other)[0]
    other[name] = other[name].copy()
    other[name].reshape(-1)[0] += 1
    twin = compile_model(QuantizedModel(**{**model.__dict__, "constants": other}))
    assert twin.description() == circuit.description()  # same shapes and layers
    with pytest.raises(top_error(circuit)):
        verifier.verify(twin, x, y, channel.proof_bytes())


@pytest.mark.parametrize("kind", KINDS)
def test_truncated_and_extended_proofs_are_malformed(kind):
    _, circuit, x, y, channel = build(kind, 15)
    proof = channel.proof_bytes()
    for bad in (proof[:-1], proof[:-16], proof + b"\0", proof + proof[-16:], b"", proof[:8]):
        with pytest.raises(MalformedProof):
            verifier.verify(circuit, x, y, bad)
    non_canonical = bytearray(proof)
    non_canonical[-4:] = (F.P + 1).to_bytes(4, "little")
    with pytest.raises(MalformedProof):
        verifier.verify(circuit, x, y, bytes(non_canonical))


def _kernel_vector(rows: np.ndarray) -> list[int]:
    """A nonzero integer vector d (mod p) with rows @ d = 0 for a 4 x 5 matrix over F_p."""
    p = F.P
    a = [[int(v) % p for v in row] for row in rows]
    pivots, r = [], 0
    for c in range(5):
        piv = next((i for i in range(r, 4) if a[i][c]), None)
        if piv is None:
            continue
        a[r], a[piv] = a[piv], a[r]
        inv = pow(a[r][c], -1, p)
        a[r] = [v * inv % p for v in a[r]]
        for i in range(4):
            if i != r and a[i][c]:
                f = a[i][c]
                a[i] = [(vi - f * vr) % p for vi, vr in zip(a[i], a[r], strict=True)]
        pivots.append(c)
        r += 1
    free = next(c for c in range(5) if c not in pivots)
    d = [0] * 5
    d[free] = 1
    for i, c in enumerate(pivots):
        d[c] = -a[i][free] % p
    return d


def test_fiat_shamir_output_omission_is_forgeable_only_when_omitted():
    """If the transcript skipped the public output, the output point z would not depend on
    the output, and adding any d with d~(z) = 0 to an honest output gives a second output
    that the same proof 'proves'. The real verifier binds the output and rejects it."""
    seed = next(s for s in range(100)
                if np.prod(random_model("bias", np.random.default_rng(s)).output_shape) >= 5)
    rng = np.random.default_rng(seed)
    model = random_model("bias", rng)
    circuit = compile_model(model)
    x = rng.integers(-127, 128, model.input_shape)
    values = tensor_values(model, circuit, x)
    y = model.output(x)
    weak = frozenset({"output"})
    proof = gkr_prover.prove(circuit, values, omit=weak).proof_bytes()
    out = circuit.tensors[circuit.output]
    # The forger learns z without committing to an output: replay the weak transcript.
    transcript = bind_prefix(circuit, values[circuit.input], omit=weak)
    absorb_output(transcript, values[circuit.output], omit=weak)
    z = transcript.challenge_ext_vector(b"output/point", out.num_vars)
    eq = mle.eq_table(z)  # (4, 2^v): d must be orthogonal to all four coordinate rows
    real = [(r, c) for r in range(y.shape[0]) for c in range(y.shape[1])][:5]
    cols = np.array([r * out.padded[1] + c for r, c in real])
    d = _kernel_vector(eq[:, cols].astype(object))
    y_forged = y.copy()
    for (r, c), di in zip(real, d, strict=True):
        value = (int(y[r, c]) + di) % F.P
        y_forged[r, c] = value if value < F.P // 2 else value - F.P
    y_forged = y_forged.reshape(y.shape)
    assert not np.array_equal(y_forged, y)
    # Against a verifier that forgot to absorb the output, the forgery is accepted ...
    assert verifier.verify(circuit, x, y_forged, proof, omit=weak) is True
    # ... and the real verifier rejects it, at the very first layer.
    with pytest.raises(ClaimMismatch):
        verifier.verify(circuit, x, y_forged, proof)


def test_leaf_mismatch_is_named():
    _, circuit, x, y, channel = build("matmul", 3)
    # A weight changed after proving, with the digest kept (a verifier bug stand-in): the
    # final leaf check is what catches it.
    circuit.weights["W1"].reshape(-1)[0] += 1
    with pytest.raises((LeafMismatch, SumcheckFailed)):
        verifier.verify(circuit, x, y, channel.proof_bytes())


def test_verifier_never_imports_the_prover():
    code = ("import sys, provers.gkr.verifier; "
            "print(sorted(m for m in sys.modules if m.startswith('provers.gkr')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "provers.gkr.prover" not in out
    assert "provers.gkr.adapter" not in out


def test_security_bits_from_rounds_and_degrees():
    for kind in KINDS:
        _, circuit, *_ = build(kind, 5)
        terms = circuit.soundness_error_terms()
        assert terms > 0
        assert circuit.security_bits(FIELD_BITS) == int(FIELD_BITS - np.log2(terms))
        assert circuit.security_bits(FIELD_BITS) >= 100


@pytest.mark.parametrize("kind", ["relu", "rescale", "requant", "mlp"])
def test_changed_advice_is_rejected(kind):
    _, circuit, x, y, channel = build(kind, 16)
    advice = [(label, s, e) for label, s, e in channel.layout if label.startswith("advice/")]
    assert advice
    for _label, start, end in advice:
        for offset in (start, (start + end) // 2 // 4 * 4):
            with pytest.raises(ProofRejected) as info:
                verifier.verify(circuit, x, y, bump(channel.proof_bytes(), offset))
            assert isinstance(info.value, SumcheckFailed | LeafMismatch | ClaimMismatch) or (
                "padding" in str(info.value))


def _requant_case(shift: int):
    """x -> matmul -> requant(ReLU, shift) as the output, with honest values."""
    rng = np.random.default_rng(40 + shift)
    model = random_model("requant" if shift else "relu", rng)
    circuit = compile_model(model)
    x = rng.integers(-127, 128, model.input_shape)
    return circuit, x, tensor_values(model, circuit, x)


def _prove_with(circuit, values):
    values = {k: v.copy() for k, v in values.items()}
    return values, lambda: gkr_prover.prove(circuit, values).proof_bytes()


def test_wrong_sign_bit_is_caught():
    circuit, x, honest = _requant_case(7)
    layer = circuit.layers[-1]
    values, proof = _prove_with(circuit, honest)
    q, s = values[layer.advice["q"]], values[layer.advice["s"]]
    idx = tuple(np.argwhere(q > 0)[0])
    s[idx] = 0  # claim ReLU cut a positive value
    values[layer.out] = q * s
    y = values[layer.out][tuple(slice(0, n) for n in circuit.tensors[layer.out].shape)]
    with pytest.raises(SumcheckFailed, match="constraints"):
        verifier.verify(circuit, x, y, proof())


def _set_limbs(layer, limbs, idx, key: str, value: int) -> None:
    """Write ``value`` into quantity ``key``'s limbs at element ``idx`` the way the honest
    prover lays them out (digits base 2^L, the rest in the top limb, its offset column
    recomputed), whether or not the value fits."""
    part = next(p for p in layer.parts if p.key == key)
    width = layer.limb_bits
    for i in range(part.limbs):
        digit = value >> (width * i)
        limbs[idx + (part.start + i,)] = digit if i == part.limbs - 1 else digit % (1 << width)
    if part.offset >= 0:
        top = limbs[idx + (part.start + part.limbs - 1,)]
        limbs[idx + (part.offset,)] = top + (1 << width) - (1 << part.top_bits)


def _honest_mult(layer, values) -> None:
    """The multiplicities of the table entries among the limbs (values out of range do not
    count: no multiplicity can account for them)."""
    limbs = values[layer.advice["limbs"]].reshape(-1)
    table = 1 << layer.limb_bits
    values[lookup_mult(layer.limb_bits)] = np.bincount(limbs[(limbs >= 0) & (limbs < table)],
                                               minlength=table)


def test_out_of_range_remainder_is_caught():
    """R + 2^s with Q - 1 satisfies X + h = 2^s Q + R, but R no longer fits s bits: its top
    limb or its offset column leaves the table."""
    circuit, x, honest = _requant_case(7)
    layer = circuit.layers[-1]
    values, proof = _prove_with(circuit, honest)
    q, s = values[layer.advice["q"]], values[layer.advice["s"]]
    limbs = values[layer.advice["limbs"]]
    idx = tuple(np.argwhere(q > 1)[0])
    r = sum(int(limbs[idx + (p.start + i,)]) << (layer.limb_bits * i)
            for p in layer.parts if p.key == "r" for i in range(p.limbs))
    q[idx] -= 1
    _set_limbs(layer, limbs, idx, "r", r + (1 << layer.shift))
    _set_limbs(layer, limbs, idx, "d", int(q[idx]) - 1 if s[idx] else -int(q[idx]))
    _honest_mult(layer, values)
    values[layer.out] = q * s
    y = values[layer.out][tuple(slice(0, n) for n in circuit.tensors[layer.out].shape)]
    with pytest.raises(RangeCheckFailed, match="sums differ"):
        verifier.verify(circuit, x, y, proof())


def test_wrong_magnitude_is_caught():
    circuit, x, honest = _requant_case(0)
    layer = circuit.layers[-1]
    values, proof = _prove_with(circuit, honest)
    limbs = values[layer.advice["limbs"]]
    d_start = next(p.start for p in layer.parts if p.key == "d")
    idx = tuple(np.argwhere(values[layer.advice["q"]] > 0)[0])
    limbs[idx + (d_start,)] ^= 1  # D no longer equals |Q|
    _honest_mult(layer, values)
    y = values[layer.out][tuple(slice(0, n) for n in circuit.tensors[layer.out].shape)]
    with pytest.raises(SumcheckFailed, match="constraints"):
        verifier.verify(circuit, x, y, proof())


@pytest.mark.parametrize("shift", [0, 7])
def test_limb_out_of_range_is_caught_whatever_the_multiplicities(shift):
    """A limb raised by 2^L and the next one lowered by 1 recompose to the same value, so
    every constraint holds, but the first is outside the table: no multiplicities (honest
    counts of the rest, or the original ones) balance the sums."""
    circuit, x, honest = _requant_case(shift)
    layer = circuit.layers[-1]
    values, proof = _prove_with(circuit, honest)
    part = next(p for p in layer.parts if p.limbs >= 2 and p.offset < 0)
    limbs = values[layer.advice["limbs"]]
    idx = (0,) * (limbs.ndim - 1)
    limbs[idx + (part.start,)] += 1 << layer.limb_bits
    limbs[idx + (part.start + 1,)] -= 1
    y = values[layer.out][tuple(slice(0, n) for n in circuit.tensors[layer.out].shape)]
    for mult in ("kept", "honest"):
        if mult == "honest":
            _honest_mult(layer, values)
        with pytest.raises(RangeCheckFailed, match="sums differ"):
            verifier.verify(circuit, x, y, proof())


def test_wrong_multiplicity_is_caught():
    circuit, x, honest = _requant_case(7)
    layer = circuit.layers[-1]
    values, proof = _prove_with(circuit, honest)
    values[lookup_mult(layer.limb_bits)][3] += 1
    y = values[layer.out][tuple(slice(0, n) for n in circuit.tensors[layer.out].shape)]
    with pytest.raises(RangeCheckFailed, match="sums differ"):
        verifier.verify(circuit, x, y, proof())


def test_limb_plan_covers_every_width():
    """Each quantity's limbs cover its width; the remainder exactly (an offset column when
    its top limb is narrower than L), the magnitude at least."""
    from provers.gkr.circuit import Requant
    for shift in (0, 1, 5, 7, 12, 16, 17):
        for mag_bits in (1, 5, 8, 13, 26 - shift):
            for bits in range(1, 17):
                layer = Requant("y", ("x",), shift=shift, mag_bits=mag_bits, limb_bits=bits)
                for part in layer.parts:
                    width = shift if part.key == "r" else mag_bits
                    covered = (part.limbs - 1) * bits + part.top_bits
                    assert covered == width if part.key == "r" else covered >= width
                    assert (part.offset >= 0) == (part.top_bits < bits)
                assert layer.limb_count == sum(p.limbs + (p.offset >= 0) for p in layer.parts)


def test_sign_of_zero_is_pinned():
    """S = 1 at Q = 0 would make [0 > 0] true; the strict magnitude constraint forbids it."""
    rng = np.random.default_rng(3)
    model = random_model("sign", rng)
    model.constants["W1"][:] = 0  # every comparison input is now the bias alone ...
    model.constants["b"][:] = 0  # ... which is zero: Q = 0 everywhere
    circuit = compile_model(model)
    x = rng.integers(-127, 128, model.input_shape)
    values = tensor_values(model, circuit, x)
    layer = circuit.layers[-1]
    s = values[layer.advice["s"]]
    true = tuple(slice(0, n) for n in circuit.tensors[layer.out].shape)
    s[true] = 1
    values[layer.out] = s
    proof = gkr_prover.prove(circuit, values).proof_bytes()
    with pytest.raises(SumcheckFailed, match="constraints"):
        verifier.verify(circuit, x, s[true], proof)

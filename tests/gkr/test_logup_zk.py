"""The LogUp-GKR range check in zero knowledge (logup.prove_zk / verify_zk; PROTOCOL.md,
"LogUp in zero knowledge") on its own, with a small driver: a mask plan holding the limb
tensors, the multiplicities and the check's virtual quantities, a random mask vector, and
the claims the argument leaves checked against the masked tensors directly (the true MLE
plus the plan's mask), every mask claim against the mask vector."""

from __future__ import annotations

import numpy as np
import pytest

from provers.gkr import backends, logup
from provers.gkr import field as F
from provers.gkr import tensor as T
from provers.gkr.channel import MAGIC_ZK, ProverChannel, VerifierChannel, new_transcript
from provers.gkr.circuit import Circuit, TensorInfo
from provers.gkr.errors import ClaimMismatch, SumcheckFailed
from provers.gkr.masks import MaskPlan
from provers.gkr.zk import MaskLayout, SumcheckShape, ZkVerifier
from provers.gkr.zk_prover import ZkProver

CPU = backends.get("cpu")
LABEL = "test/logup-zk"
MULT = "range#mult"


def _plan(sizes: list[int], bits: int) -> tuple[MaskPlan, MaskLayout, list[str]]:
    names = [f"limbs{i}" for i in range(len(sizes))]
    circuit = Circuit({"x": TensorInfo("x", (2,), "input")}, (), "x", "x", {})
    virtual = {n: (s.bit_length() - 1, None) for n, s in zip(names, sizes, strict=True)}
    virtual[MULT] = (bits, None)
    virtual.update(logup.zk_virtual(names, sizes, bits, MULT))
    plan = MaskPlan.build(circuit, virtual=virtual)
    shapes = logup.zk_shapes(sizes, bits, plan, LABEL)
    shapes.append(SumcheckShape("zk-opening/sumcheck", 2, 2, 2))  # the flow's last block
    return plan, MaskLayout.build(plan, shapes, 256), names


def _instance(rng, sizes: list[int], bits: int) -> tuple[list[np.ndarray], np.ndarray]:
    values = [rng.integers(0, 1 << bits, s) for s in sizes]
    values[0][0], values[-1][-1] = 0, (1 << bits) - 1
    return values, logup.multiplicities(values, bits)


def _prove(values, mult, bits, layout, names, vector, tamper=None) -> tuple:
    channel = ProverChannel(new_transcript(), MAGIC_ZK)
    zk = ZkProver(layout, vector)
    claims = logup.prove_zk(values, mult, bits, LABEL, channel, CPU, zk, names, MULT)
    proof = channel.proof_bytes()
    if tamper is not None:
        proof = tamper(proof, channel)
    return proof, claims, zk


def _verify(proof, sizes, bits, layout) -> tuple:
    channel = VerifierChannel(new_transcript(), proof, MAGIC_ZK)
    zk = ZkVerifier(layout)
    claims = logup.verify_zk(sizes, bits, LABEL, channel, zk)
    channel.finish()
    return claims, zk.cursor.claims


def _apply(functional: dict, vector: np.ndarray) -> np.ndarray:
    total = F.ext_zero()
    for idx, coef in functional.items():
        total = F.ext_add(total, F.ext_mul_base(coef, np.uint64(vector[idx])))
    return total


def _check_claims(plan, vector, names, values, mult, claims, mask_claims) -> None:
    made, (zm, ym) = claims
    for name, tensor, (z, y) in zip(names, values, made, strict=True):
        expected = F.ext_add(T.evaluate(tensor, z), plan.evaluate(vector, name, z))
        assert F.ext_eq(y, expected), f"claim on {name}"
    expected = F.ext_add(T.evaluate(mult, zm), plan.evaluate(vector, MULT, zm))
    assert F.ext_eq(ym, expected), "claim on the multiplicities"
    assert mask_claims
    for mc in mask_claims:
        assert F.ext_eq(_apply(mc.functional, vector), mc.value), "mask claim"


@pytest.mark.parametrize(("sizes", "bits"), [([8, 32], 4), ([64, 16, 4], 5), ([2, 128], 8),
                                             ([16, 16, 8], 6)])
def test_completeness_and_claims_on_the_masked_tensors(sizes, bits) -> None:
    rng = np.random.default_rng([len(sizes), bits])
    values, mult = _instance(rng, sizes, bits)
    plan, layout, names = _plan(sizes, bits)
    vector = F.random(rng, (layout.size,))
    proof, prover_claims, zk = _prove(values, mult, bits, layout, names, vector)
    claims, mask_claims = _verify(proof, sizes, bits, layout)
    _check_claims(plan, vector, names, values, mult, claims, mask_claims)
    assert zk.cursor.position == len(layout.shapes) - 1  # every scheduled LogUp sumcheck ran
    for (zp, yp), (zv, yv) in zip(prover_claims[0], claims[0], strict=True):
        assert F.ext_eq(zp, zv) and F.ext_eq(yp, yv)


def _setup(sizes=(8, 32), bits=4, seed=3):
    rng = np.random.default_rng(seed)
    values, mult = _instance(rng, list(sizes), bits)
    plan, layout, names = _plan(list(sizes), bits)
    return rng, values, mult, plan, layout, names, F.random(rng, (layout.size,))


@pytest.mark.parametrize("bad", [16, -1, 1 << 20, F.P // 2])
def test_an_entry_out_of_range_is_rejected(bad) -> None:
    rng, values, _, _, layout, names, vector = _setup()
    values[1][5] = bad
    honest = np.bincount(np.clip(np.concatenate(values), 0, 15), minlength=16)
    for mult in (honest, rng.integers(0, 9, 16)):
        proof, _, _ = _prove(values, mult, 4, layout, names, vector)
        with pytest.raises(SumcheckFailed, match="numerator is not zero"):
            _verify(proof, [8, 32], 4, layout)


def test_a_wrong_multiplicity_is_rejected() -> None:
    _, values, mult, _, layout, names, vector = _setup()
    mult = mult.copy()
    mult[2] += 1
    mult[3] -= 1
    proof, _, _ = _prove(values, mult, 4, layout, names, vector)
    with pytest.raises(SumcheckFailed, match="numerator is not zero"):
        _verify(proof, [8, 32], 4, layout)


def _bump(at_label: str, skip_bytes: int = 0):
    """A tamper adding 1 to the first field coordinate of a message (``skip_bytes`` in)."""
    def tamper(proof: bytes, channel) -> bytes:
        start = next(s for name, s, _ in channel.layout if name == at_label) + skip_bytes
        v = (int.from_bytes(proof[start:start + 4], "little") + 1) % F.P
        return proof[:start] + v.to_bytes(4, "little") + proof[start + 4:]
    return tamper


@pytest.mark.parametrize(("label", "skip", "error"), [
    ("top/evals", 0, SumcheckFailed), ("level2/evals", 16, SumcheckFailed),
    ("level4/evals", 48, SumcheckFailed), ("level2/sumcheck", 16, SumcheckFailed),
    ("top/sumcheck", 16, SumcheckFailed), ("level5/sumcheck", 0, SumcheckFailed),
    ("members", 16, ClaimMismatch), ("members", 0, ClaimMismatch)])
def test_a_tampered_message_is_rejected(label, skip, error) -> None:
    _, values, mult, _, layout, names, vector = _setup()
    proof, _, _ = _prove(values, mult, 4, layout, names, vector,
                         tamper=_bump(f"{LABEL}/{label}", skip))
    with pytest.raises(error):
        _verify(proof, [8, 32], 4, layout)


def test_no_root_is_sent_and_the_sent_level_values_are_masked() -> None:
    """The proof carries no root and no level value in the clear: the top's four values are
    the level-1 nodes plus their masks, which differ with the mask vector."""
    _, values, mult, plan, layout, names, vector = _setup()
    channel = ProverChannel(new_transcript(), MAGIC_ZK)
    logup.prove_zk(values, mult, 4, LABEL, channel, CPU, ZkProver(layout, vector), names, MULT)
    labels = {name[len(LABEL) + 1:] for name, _, _ in channel.layout}
    assert not any("root" in x for x in labels)
    assert labels == {"top/sumcheck", "top/evals", "members"} | {
        f"level{k}/{m}" for k in range(1, 6) for m in ("sumcheck", "evals")}
    other = F.random(np.random.default_rng(9), (layout.size,))
    sent = []
    for vec in (vector, other):
        ch = ProverChannel(new_transcript(), MAGIC_ZK)
        logup.prove_zk(values, mult, 4, LABEL, ch, CPU, ZkProver(layout, vec), names, MULT)
        start, end = next((s, e) for name, s, e in ch.layout if name == f"{LABEL}/top/evals")
        sent.append(ch.proof_bytes()[start:end])
    assert sent[0] != sent[1]


def test_the_verifier_side_imports_nothing_from_the_prover() -> None:
    """logup.py (verify_zk's module) and zk.py name no prover module (zk_prover,
    committed_prover, prover): the prover's side reaches them as an object (ZkProver)."""
    import ast
    import inspect

    from provers.gkr import zk

    def is_prover(name: str) -> bool:
        return any(part == "prover" or part.endswith("_prover") for part in name.split("."))

    for module in (logup, zk):
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if isinstance(node, ast.ImportFrom):
                assert not is_prover(node.module or ""), node.module
                assert not any(is_prover(a.name) for a in node.names), node.module
            elif isinstance(node, ast.Import):
                assert not any(is_prover(a.name) for a in node.names)


class _BaseAlphaFirst:
    """Makes a channel's first alpha a base-field element (2, an entry of the table), as
    a transcript might draw with probability 1/p^3; the argument must draw again."""

    def __init__(self, channel) -> None:
        self.channel, self.alphas = channel, []

    def __getattr__(self, name):
        return getattr(self.channel, name)

    def challenge(self, label: str) -> np.ndarray:
        if label.endswith("/alpha") and not self.alphas:
            alpha = F.ext_from_base(np.uint64(2))
        else:
            alpha = self.channel.challenge(label)
        if label.endswith("/alpha"):
            self.alphas.append(alpha)
        return alpha


def test_an_alpha_in_the_base_field_is_drawn_again() -> None:
    """alpha = 2 would make a table leaf's q zero (and the root's Q): both sides draw again."""
    _, values, mult, plan, layout, names, vector = _setup()
    prover = _BaseAlphaFirst(ProverChannel(new_transcript(), MAGIC_ZK))
    claims = logup.prove_zk(values, mult, 4, LABEL, prover, CPU, ZkProver(layout, vector),
                            names, MULT)
    verifier = _BaseAlphaFirst(VerifierChannel(new_transcript(), prover.proof_bytes(),
                                               MAGIC_ZK))
    zk = ZkVerifier(layout)
    made = logup.verify_zk([8, 32], 4, LABEL, verifier, zk)
    verifier.finish()
    assert len(prover.alphas) == len(verifier.alphas) == 2
    assert np.any(prover.alphas[1][1:])
    _check_claims(plan, vector, names, values, mult, made, zk.cursor.claims)
    assert F.ext_eq(claims[1][1], made[1][1])


def test_error_terms_count_every_sumcheck() -> None:
    sizes, bits = [8, 32], 4
    plan, layout, _ = _plan(sizes, bits)
    shapes = logup.zk_shapes(sizes, bits, plan, LABEL)
    assert [s.num_vars for s in shapes] == [1, 1, 2, 3, 4, 5]
    rounds = sum(sum(s.degrees) + 1 for s in shapes)
    assert logup.zk_error_terms(sizes, bits, plan) == 40 + 16 + rounds + 2 * 5 + 1
    assert all(s.last_degree > s.degree == 3 for s in shapes)


def test_the_torch_backend_gives_the_same_proof() -> None:
    reason = backends.unavailable("torch-cpu")
    if reason:
        pytest.skip(reason)
    _, values, mult, _, layout, names, vector = _setup()
    proofs = []
    for backend in (CPU, backends.get("torch-cpu")):
        channel = ProverChannel(new_transcript(), MAGIC_ZK)
        logup.prove_zk(values, mult, 4, LABEL, channel, backend, ZkProver(layout, vector),
                       names, MULT)
        proofs.append(channel.proof_bytes())
    assert proofs[0] == proofs[1]
    _verify(proofs[1], [8, 32], 4, layout)

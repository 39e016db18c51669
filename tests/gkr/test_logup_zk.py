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

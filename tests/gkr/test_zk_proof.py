"""Whole zero-knowledge proofs (gkr-zk; PROTOCOL.md, "Zero knowledge"): honest proofs verify
on a circuit with every masked layer kind (matmul, Hadamard, rearrangement, the free layers,
a merge) and on every workload through the adapter (with the tamper check the runner
applies); every part of a proof is bound (a flipped byte anywhere is rejected); proofs are
randomised; every workload's requant layers, reduced alone, leave claims on masked tensors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from provers.base import ProofRejected
from provers.gkr import verifier, zk_prover
from provers.gkr.adapter import _zk_layouts
from provers.gkr.backends import get as get_backend
from provers.gkr.circuit import (
    Add,
    AddBias,
    Circuit,
    Hadamard,
    MatMul,
    Rearrange,
    Scale,
    TensorInfo,
)
from provers.gkr.pcs import ligero
from provers.gkr.pcs.params import DEFAULT
from zkbench.cell import tamper_check
from zkbench.testing import prepare


def _circuit() -> tuple[Circuit, dict[str, np.ndarray]]:
    """x (4 x 8) @ w1 -> h; a = h + bias; a3 = 3 a; p = a3 * a (a has two claims: a merge);
    q = p + h; t = q transposed; y = t @ w2 (public)."""
    rng = np.random.default_rng(5)
    x = rng.integers(-8, 8, (4, 8))
    w1, w2 = rng.integers(-8, 8, (8, 4)), rng.integers(-8, 8, (4, 4))
    bias = rng.integers(-8, 8, 4)
    h = x @ w1
    a = h + bias
    a3 = 3 * a
    p = a3 * a
    q = p + h
    index = np.array([[j * 4 + i for j in range(4)] for i in range(4)]).reshape(-1)
    t = q.reshape(-1)[index].reshape(4, 4)
    y = t @ w2
    values = {"x": x, "w1": w1, "w2": w2, "bias": bias, "h": h, "a": a, "a3": a3, "p": p,
              "q": q, "t": t, "y": y}
    roles = {"x": "input", "w1": "weight", "w2": "weight", "bias": "weight"}
    tensors = {n: TensorInfo(n, v.shape, roles.get(n, "derived")) for n, v in values.items()}
    layers = (MatMul("h", ("x", "w1")), AddBias("a", ("h", "bias"), rows=4),
              Scale("a3", ("a",), c=3), Hadamard("p", ("a3", "a")), Add("q", ("p", "h")),
              Rearrange("t", ("q",), index=index), MatMul("y", ("t", "w2")))
    weights = {n: values[n] for n in ("w1", "w2", "bias")}
    return Circuit(tensors, layers, "x", "y", weights), values


@pytest.fixture(scope="module")
def proven():
    circuit, values = _circuit()
    layout, _, masks = _zk_layouts(circuit)
    matrix = ligero.commit(layout.vector(circuit.weights), layout.cols, DEFAULT, hiding=True,
                           mask_rows=0)
    public = dataclasses.replace(circuit, weights={})
    channel = zk_prover.prove(public, values, layout, matrix, masks)
    return public, values, layout, matrix, masks, channel


def _verify(proven, proof: bytes, y=None) -> bool:
    public, values, layout, matrix, masks, _ = proven
    return verifier.verify_zk(public, values["x"], values["y"] if y is None else y, proof,
                              layout, matrix.commitment, masks)


def test_every_masked_layer_kind_proves_and_verifies(proven) -> None:
    channel = proven[-1]
    assert _verify(proven, channel.proof_bytes()) is True
    labels = {name.split("/")[0] for name, _, _ in channel.layout}
    assert {"matmul", "hadamard", "rearrange", "merge", "add", "add_bias",
            "zk-opening"} <= labels


def test_a_flipped_byte_in_any_message_is_rejected(proven) -> None:
    channel = proven[-1]
    proof = channel.proof_bytes()
    seen = set()
    for name, start, end in channel.layout:
        kind = name.split("/")[0] + "/" + name.split("/")[-1]
        if kind in seen or end == start:
            continue
        seen.add(kind)
        tampered = bytearray(proof)
        tampered[(start + end) // 2] ^= 1
        with pytest.raises(ProofRejected):
            _verify(proven, bytes(tampered))
    assert len(seen) > 10


def test_a_wrong_output_is_rejected(proven) -> None:
    y = proven[1]["y"].copy()
    y[0, 0] += 1
    with pytest.raises(ProofRejected):
        _verify(proven, proven[-1].proof_bytes(), y)


def test_proofs_are_randomised(proven) -> None:
    public, values, layout, matrix, masks, channel = proven
    again = zk_prover.prove(public, values, layout, matrix, masks)
    assert again.proof_bytes() != channel.proof_bytes()
    assert _verify(proven, again.proof_bytes()) is True


REQUANT_WORKLOADS = [("mlp", "depth-small-3"), ("decision_tree", "tree-d4"), ("cnn", "digits"),
                     ("chess", "tiny")]


@pytest.mark.parametrize(("workload", "size"), [("matmul", "n=16"), *REQUANT_WORKLOADS])
def test_gkr_zk_on_every_workload(workload, size, tmp_path) -> None:
    case = prepare("gkr-zk", workload, size, workdir=tmp_path)
    assert case.prover.capabilities().zk is True
    assert case.prover.verify(case.artifact, case.keys, case.proof) is True
    rejected, reason = tamper_check(case.prover, case.artifact, case.keys, case.proof, seed=0)
    assert rejected is True, reason
    assert case.prover.security_bits(case.artifact) >= 100


@pytest.mark.parametrize(("workload", "size"), REQUANT_WORKLOADS)
def test_requant_reductions_leave_claims_on_masked_tensors(workload, size) -> None:
    """Every requant layer of a workload (ReLU and sign modes), reduced alone: from a claim on
    its masked output, the masked sumchecks leave claims equal to the masked extensions of
    X, Q, S and the limbs, mask claims equal to their functionals of the mask vector, and
    the verifier returns the same claims; a tampered message is rejected."""
    from provers.gkr import field as F
    from provers.gkr import tensor as T
    from provers.gkr.channel import ProverChannel, VerifierChannel, new_transcript
    from provers.gkr.circuit import Requant
    from provers.gkr.claim import Claim
    from provers.gkr.compile import compile_model, tensor_values
    from provers.gkr.layers import requant
    from provers.gkr.masks import MaskPlan
    from provers.gkr.zk import MaskLayout, ZkVerifier, extra_claims, virtual_tensors
    from provers.gkr.zk_prover import ZkProver
    from zkbench import registry
    from zkbench.testing.conformance import build

    w = registry.create_workload(workload)
    _, x, qmodel = build(w, size, 0)
    circuit = compile_model(qmodel)
    values = tensor_values(qmodel, circuit, qmodel.quantize_input(x))
    plan = MaskPlan.build(circuit, extra_claims=extra_claims(circuit),
                          virtual=virtual_tensors(circuit))
    rng = np.random.default_rng(3)
    layers = [layer for layer in circuit.layers if isinstance(layer, Requant)]
    assert layers
    for layer in layers:
        shapes = requant.zk_shapes(layer, circuit.tensors, plan)
        layout = MaskLayout.build(plan, [*shapes, shapes[-1]], 512)
        vector = plan.random_vector(rng)
        vector = np.concatenate([vector, F.random(rng, (layout.size - vector.size,))])
        out = circuit.tensors[layer.out]
        z = F.ext_random(rng, (out.num_vars,))

        def masked(name, point, vector=vector):
            value = T.evaluate(values[name], point) if name in values else None
            return F.ext_add(value, plan.evaluate(vector, name, point))

        claim = Claim(layer.out, z, masked(layer.out, z))
        channel = ProverChannel(new_transcript())
        zk = ZkProver(layout, vector)
        made = requant.prove(layer, claim, values, circuit.tensors, channel,
                                get_backend("cpu"), zk)
        for c in made:
            assert F.ext_eq(c.value, masked(c.tensor, c.point)), (layer.out, c.tensor)
        for mc in zk.cursor.claims:
            total = F.ext_zero()
            for idx, coef in mc.functional.items():
                total = F.ext_add(total, F.ext_mul_base(coef, vector[idx]))
            assert F.ext_eq(total, mc.value)
        proof = channel.proof_bytes()
        vc = VerifierChannel(new_transcript(), proof)
        checked = requant.verify(layer, claim, circuit.tensors, vc, ZkVerifier(layout))
        assert [(c.tensor, F.ext_to_bytes(c.value)) for c in checked] == [
            (c.tensor, F.ext_to_bytes(c.value)) for c in made]
        tampered = bytearray(proof)
        tampered[len(proof) // 2] ^= 1
        with pytest.raises(ProofRejected):
            requant.verify(layer, claim, circuit.tensors,
                              VerifierChannel(new_transcript(), bytes(tampered)),
                              ZkVerifier(layout))

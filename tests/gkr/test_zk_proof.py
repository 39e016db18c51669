"""Whole zero-knowledge proofs (gkr-zk; PROTOCOL.md, "Zero knowledge"): honest proofs verify
on a circuit with every masked layer kind (matmul, Hadamard, rearrangement, the free layers,
a merge) and on the matmul workload through the adapter; every part of a proof is bound (a
flipped byte anywhere is rejected); proofs are randomised; circuits with layers not masked
yet are refused with the reason."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from provers.base import ProofRejected, Unsupported
from provers.gkr import verifier, zk_prover
from provers.gkr.adapter import _zk_layouts
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
    layout, masks = _zk_layouts(circuit)
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


def test_gkr_zk_on_the_matmul_workload(tmp_path) -> None:
    case = prepare("gkr-zk", "matmul", "n=16", workdir=tmp_path)
    assert case.prover.capabilities().zk is True
    assert case.prover.verify(case.artifact, case.keys, case.proof) is True
    rejected, reason = tamper_check(case.prover, case.artifact, case.keys, case.proof, seed=0)
    assert rejected is True, reason
    assert case.prover.security_bits(case.artifact) >= 100


def test_circuits_with_unmasked_layers_are_refused(tmp_path) -> None:
    with pytest.raises(Unsupported, match="zk: requant layers .* are not masked yet"):
        prepare("gkr-zk", "mlp", "depth-small-3", workdir=tmp_path)

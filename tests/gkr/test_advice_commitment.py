"""Committed advice (PROTOCOL.md, "Committed advice"): the requant layers' advice is committed
with Ligero at the start of every proof and opened with the weights, never sent in the clear.

Each soundness test changes one thing a prover controls and asserts the specific rejection.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from provers.base import MalformedProof, ProofRejected
from provers.gkr import committed_prover
from provers.gkr import field as F
from provers.gkr import prover as gkr_prover
from provers.gkr import tensor as T
from provers.gkr.adapter import GkrCommittedAdviceProver, GkrCommittedProver, GkrProver
from provers.gkr.channel import MAGIC
from provers.gkr.errors import ClaimMismatch, SumcheckFailed
from provers.gkr.pcs import merkle
from provers.gkr.pcs.errors import ColumnMismatch, CommitmentMismatch, MerklePathInvalid
from tests.onnx_models import mlp_model
from zkbench.quantize import quantize
from zkbench.testing import ProverConformance
from zkbench.types import Proof


class TestGkrCommittedAdviceConformance(ProverConformance):
    prover_name = "gkr-ca"


@pytest.fixture(scope="module", params=["committed-weights", "public"])
def case(request, tmp_path_factory):
    """An MLP with requant layers, proven with committed advice (and, for committed-weights,
    committed weights), plus the prover's inputs to replay or alter the proof."""
    rng = np.random.default_rng(5)
    model = mlp_model(rng, dims=(32, 48, 48, 10))
    xs = rng.normal(0, 1, (16, 1, 32)).astype(np.float32)
    q = quantize(model, xs[:8], output_kind="scores")
    cls = GkrCommittedProver if request.param == "committed-weights" else \
        GkrCommittedAdviceProver
    prover = cls()
    artifact = prover.compile(q, Path(tmp_path_factory.mktemp("advice")))
    keys = prover.setup(artifact)
    witness = prover.witness(artifact, q.quantize_input(xs[8]))
    return prover, artifact, keys, witness, prover.prove(artifact, keys, witness)


def _prove(prover, artifact, keys, values, **kwargs):
    """The proof as the adapter makes it, with its channel (message layout)."""
    k = keys.data
    if prover.committed:
        return gkr_prover.prove(k.vk.circuit, values, committed=(k.vk.layout, k.matrix),
                                advice=k.vk.advice, **kwargs)
    return gkr_prover.prove(artifact.data[1], values, advice=k.vk.advice, **kwargs)


def _span(channel, label: str, nth: int = 0) -> tuple[int, int]:
    spans = [(s, e) for name, s, e in channel.layout if name == label]
    return spans[nth]


def _verify(prover, artifact, keys, proof, data: bytes) -> bool:
    return prover.verify(artifact, keys, proof.with_data(data))


def test_honest_advice_verifies_and_is_not_in_the_proof(case):
    prover, artifact, keys, witness, proof = case
    circuit = artifact.data[1]
    assert keys.data.vk.advice is not None
    assert prover.verify(artifact, keys, proof) is True
    assert prover.security_bits(artifact) >= 100
    channel = _prove(prover, artifact, keys, witness.data)
    assert channel.proof_bytes() == proof.data
    labels = [name for name, _, _ in channel.layout]
    assert "advice/root" in labels
    assert not any(name.startswith("advice/") and name != "advice/root" for name in labels)
    for name in circuit.advice():  # no advice tensor's encoding appears in the proof
        encoded = T.encode(witness.data[name]).astype("<u4").tobytes()
        if len(encoded) >= 256:
            assert encoded not in proof.data, name


def test_advice_changed_after_commitment_is_rejected(case):
    """The prover commits to advice, then runs GKR on other advice (here: the honest one, the
    commitment having one quotient changed): the claims GKR leaves on the advice are not the
    committed tensors' evaluations, and the column sumcheck of the opening fails."""
    prover, artifact, keys, witness, proof = case
    circuit = artifact.data[1]
    name = next(n for n in circuit.advice() if n.endswith("#q"))
    committed_values = {k: v.copy() for k, v in witness.data.items()}
    committed_values[name].reshape(-1)[0] += 1
    matrix = committed_prover.commit(keys.data.vk.advice, committed_values)
    forged = _prove(prover, artifact, keys, witness.data, advice_matrix=matrix)
    with pytest.raises(SumcheckFailed, match="column sumcheck"):
        _verify(prover, artifact, keys, proof, forged.proof_bytes())


def test_wrong_advice_opening_is_rejected(case):
    prover, artifact, keys, witness, proof = case
    channel = _prove(prover, artifact, keys, witness.data)
    data = proof.data
    # A claimed evaluation of the committed advice.
    start, end = _span(channel, "committed/evals")
    bad = bytearray(data)
    bad[end - 16] ^= 1
    with pytest.raises(SumcheckFailed, match="column sumcheck"):
        _verify(prover, artifact, keys, proof, bytes(bad))
    # An opened column of the advice matrix (the last matrix opened).
    start, _ = _span(channel, "pcs/columns", -1)
    bad = bytearray(data)
    bad[start] ^= 1
    with pytest.raises(MerklePathInvalid):
        _verify(prover, artifact, keys, proof, bytes(bad))


def test_advice_row_combination_inconsistent_with_its_columns_is_rejected(case):
    """A prover whose advice matrix answers the opening's row combination with one entry
    changed (everything after it derived honestly from the lie) is caught at the opened
    columns."""
    prover, artifact, keys, witness, proof = case
    matrix = committed_prover.commit(keys.data.vk.advice, witness.data)
    honest = matrix.combine_many

    def lying_combine_many(ws, row0=0):
        out = [u.copy() for u in honest(ws, row0)]
        # The opening's call covers every row: the proximity row first, then w.
        if len(ws) == 2 and ws[0].shape[1] == matrix.commitment.rows:
            out[1][0, 3] = (out[1][0, 3] + 1) % np.uint64(F.P)
        return out

    object.__setattr__(matrix, "combine_many", lying_combine_many)
    forged = _prove(prover, artifact, keys, witness.data, advice_matrix=matrix)
    with pytest.raises(ColumnMismatch):
        _verify(prover, artifact, keys, proof, forged.proof_bytes())


def test_swapped_advice_root_is_rejected(case):
    prover, artifact, keys, witness, proof = case
    channel = _prove(prover, artifact, keys, witness.data)
    other = b"\x5a" * merkle.DIGEST_BYTES
    # The opening names another commitment than the one the proof began with.
    start, end = _span(channel, "pcs/root", -1)
    bad = proof.data[:start] + other + proof.data[end:]
    with pytest.raises(CommitmentMismatch):
        _verify(prover, artifact, keys, proof, bad)
    # The proof begins with another root: every challenge changes, and the top layer's
    # check (here the output's bias addition) fails.
    start, end = _span(channel, "advice/root")
    bad = proof.data[:start] + other + proof.data[end:]
    with pytest.raises(ClaimMismatch):
        _verify(prover, artifact, keys, proof, bad)


def test_advice_in_the_clear_is_rejected(case):
    prover, artifact, keys, witness, proof = case
    circuit = artifact.data[1]
    # A proof in the old format (advice in the clear) for the same statement.
    k = keys.data
    clear = gkr_prover.prove(k.vk.circuit if prover.committed else circuit, witness.data,
                             committed=(k.vk.layout, k.matrix) if prover.committed else None)
    assert clear.proof_bytes().startswith(MAGIC)
    with pytest.raises(MalformedProof, match="in the clear"):
        _verify(prover, artifact, keys, proof, clear.proof_bytes())
    # The clear advice re-added to the committed proof, where the old format had it (right
    # after the statement) or at the end.
    advice = b"".join(clear.proof_bytes()[s:e] for name, s, e in clear.layout
                      if name.startswith("advice/"))
    channel = _prove(prover, artifact, keys, witness.data)
    _, end = _span(channel, "advice/root")
    with pytest.raises(ProofRejected):
        _verify(prover, artifact, keys, proof, proof.data[:end] + advice + proof.data[end:])
    with pytest.raises(MalformedProof, match="trailing bytes"):
        _verify(prover, artifact, keys, proof, proof.data + advice)


def test_advice_modes():
    assert GkrProver().advice == "clear"
    assert GkrCommittedProver().advice == "committed"
    assert GkrCommittedAdviceProver().advice == "committed"
    assert GkrCommittedAdviceProver().capabilities().statement == "public"
    with pytest.raises(ValueError, match="unknown advice mode"):
        GkrProver(advice="hidden")


def test_clear_and_committed_advice_prove_the_same_statement(case):
    """The same witness proven both ways: both verify under their own keys, and the committed
    proof is not accepted by a verifier expecting clear advice."""
    prover, artifact, keys, witness, proof = case
    clear_prover = GkrProver(statement=prover.statement, advice="clear")
    clear_keys = clear_prover.setup(artifact)
    clear_proof = clear_prover.prove(artifact, clear_keys, witness)
    assert clear_prover.verify(artifact, clear_keys, clear_proof)
    with pytest.raises(MalformedProof, match="committed advice"):
        clear_prover.verify(artifact, clear_keys, Proof(proof.data, proof.statement))

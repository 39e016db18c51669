"""The GKR verifier. It imports nothing from provers/gkr/prover.py (a test checks this).

Replays the transcript from the statement, checks every layer's reduction (layers/*.verify),
merges multiple claims, and finally checks the claims left on leaves: public ones (input,
public weights, advice sent in the clear) by evaluating them itself, in time linear in their
size (PROTOCOL.md, Flow step 5), and committed ones (weights committed in setup, advice
committed by the proof) by one opening of every commitment (committed.verify_claims). Every
failure raises a ProofRejected subclass naming the check and the layer.
"""

from __future__ import annotations

import numpy as np

from provers.base import ProofRejected
from provers.gkr import field as F
from provers.gkr import logup, zk_opening
from provers.gkr import tensor as T
from provers.gkr.channel import MAGIC, MAGIC_COMMITTED_ADVICE, MAGIC_ZK, VerifierChannel
from provers.gkr.circuit import Circuit, lookup_mult
from provers.gkr.claim import Claim, verify_merge
from provers.gkr.committed import Layout, Opening, verify_claims
from provers.gkr.errors import LeafMismatch
from provers.gkr.layers import REDUCTIONS
from provers.gkr.pcs import merkle
from provers.gkr.pcs.params import DEFAULT, Commitment
from provers.gkr.statement import (
    absorb_advice_commitment,
    absorb_mask_commitment,
    absorb_output,
    bind_prefix,
)
from provers.gkr.zk import LABEL_ROOT, MaskLayout, ZkVerifier, claims_of


def _padded(circuit: Circuit, name: str, value: np.ndarray, what: str) -> np.ndarray:
    info = circuit.tensors[name]
    value = np.asarray(value)
    if value.shape != info.shape:
        raise ProofRejected(f"{what} has shape {value.shape}, the circuit's is {info.shape}")
    if value.size and int(np.abs(value.astype(np.int64)).max()) >= F.P // 2:
        raise ProofRejected(f"{what} has entries outside the field's signed range")
    return T.pad(value.astype(np.int64), info.padded)


def _advice(circuit: Circuit, name: str, channel: VerifierChannel) -> np.ndarray:
    """Advice from the proof as signed integers; its padding must be zero."""
    info = circuit.tensors[name]
    values = F.decode(channel.recv_base(f"advice/{name}", info.size)).reshape(info.padded)
    if not np.array_equal(T.pad(values[tuple(slice(0, s) for s in info.shape)], info.padded),
                          values):
        raise ProofRejected(f"advice {name!r} is nonzero on padding entries")
    return values


def verify(circuit: Circuit, x: np.ndarray, y: np.ndarray, proof: bytes,
           omit: frozenset[str] = frozenset(), committed=None,
           advice: Layout | None = None) -> bool:
    """True, or raises ProofRejected (MalformedProof, SumcheckFailed, ClaimMismatch,
    LeafMismatch, and the pcs errors). ``omit`` weakens the transcript for Fiat-Shamir
    attack tests only. ``committed`` = (committed.Layout, pcs Commitment) for the
    committed-weights statement: the circuit then carries no weights, and the claims on
    them are checked against the commitment (committed.verify_claims). ``advice``: the
    advice's layout when the proof commits to it (PROTOCOL.md, "Committed advice"); None
    when it carries the advice in the clear."""
    xp = _padded(circuit, circuit.input, x, "public input")
    yp = _padded(circuit, circuit.output, y, "public output")
    commitment = None if committed is None else committed[1].to_bytes()
    transcript = bind_prefix(circuit, xp, omit, commitment)
    clear: dict[str, np.ndarray] = {}
    if advice is None:
        channel = VerifierChannel(transcript, proof, MAGIC)
        clear = {name: _advice(circuit, name, channel) for name in circuit.advice()}
    else:
        channel = VerifierChannel(transcript, proof, MAGIC_COMMITTED_ADVICE)
        advice_commitment = advice.commitment(
            channel.recv_bytes("advice/root", merkle.DIGEST_BYTES), DEFAULT)
        absorb_advice_commitment(transcript, advice_commitment.to_bytes())
    absorb_output(channel.transcript, yp, omit)
    out = circuit.tensors[circuit.output]
    z = channel.challenges("output/point", out.num_vars)
    claims: dict[str, list[Claim]] = {out.name: [Claim(out.name, z, T.evaluate(yp, z))]}
    for layer in reversed(circuit.layers):
        pending = claims.pop(layer.out)
        claim = (pending[0] if len(pending) == 1 else
                 verify_merge(pending, circuit.tensors[layer.out].num_vars, channel))
        for new in REDUCTIONS[layer.kind].verify(layer, claim, circuit.tensors, channel):
            claims.setdefault(new.tensor, []).append(new)
    for bits, names in circuit.lookups().items():
        mult = lookup_mult(bits)
        made, (zm, ym) = logup.verify([circuit.tensors[n].size for n in names], bits,
                                      f"lookup/{bits}", channel)
        for name, (z, y) in zip(names, made, strict=True):
            claims.setdefault(name, []).append(Claim(name, z, y))
        claims.setdefault(mult, []).append(Claim(mult, zm, ym))
    parts = []
    if committed is not None:
        parts.append(_opening(committed[0], committed[1], claims))
    if advice is not None:
        parts.append(_opening(advice, advice_commitment, claims))
    verify_claims(parts, channel)
    channel.finish()
    leaves = {circuit.input: xp, **circuit.weights, **clear}
    for name, pending in claims.items():
        if name not in leaves:
            raise ProofRejected(f"claims left on tensor {name!r}, which is not a public leaf")
        for claim in pending:
            if not F.ext_eq(T.evaluate(leaves[name], claim.point), claim.value):
                raise LeafMismatch(name)
    return True


def _opening(layout: Layout, commitment: Commitment, claims: dict[str, list[Claim]]
             ) -> Opening:
    """The claims on ``layout``'s tensors, taken out of ``claims`` (left: public leaves)."""
    mine = [name for name in claims if name in layout.slots]
    return Opening(layout, commitment, [c for name in mine for c in claims.pop(name)])


def verify_zk(circuit: Circuit, x: np.ndarray, y: np.ndarray, proof: bytes, weights: Layout,
              commitment: Commitment, layout: MaskLayout, advice: Layout | None = None
              ) -> bool:
    """A zero-knowledge proof (zk_prover.prove): True, or raises ProofRejected. The circuit
    carries no weights; ``commitment`` is their hiding commitment, ``layout`` the mask
    vector's (from the circuit, zk.schedule), ``advice`` the advice's layout (its
    commitment comes with the proof)."""
    xp = _padded(circuit, circuit.input, x, "public input")
    yp = _padded(circuit, circuit.output, y, "public output")
    transcript = bind_prefix(circuit, xp, commitment=commitment.to_bytes())
    channel = VerifierChannel(transcript, proof, MAGIC_ZK)
    committed = [(weights, commitment)]
    if advice is not None:
        root = channel.recv_bytes("advice/root", merkle.DIGEST_BYTES)
        advice_commitment = Commitment(root, advice.rows, advice.cols, DEFAULT, hiding=True,
                                       mask_rows=0)
        absorb_advice_commitment(transcript, advice_commitment.to_bytes())
        committed.append((advice, advice_commitment))
    masks = Commitment(channel.recv_bytes(LABEL_ROOT, merkle.DIGEST_BYTES), layout.rows,
                       layout.cols, DEFAULT, hiding=True, mask_rows=3)
    absorb_mask_commitment(transcript, masks.to_bytes())
    absorb_output(transcript, yp)
    out = circuit.tensors[circuit.output]
    z = channel.challenges("output/point", out.num_vars)
    claims: dict[str, list[Claim]] = {out.name: [Claim(out.name, z, T.evaluate(yp, z))]}
    zk = ZkVerifier(layout)
    for layer in reversed(circuit.layers):
        pending = claims.pop(layer.out)
        claim = (pending[0] if len(pending) == 1 else
                 verify_merge(pending, circuit.tensors[layer.out].num_vars, channel, zk))
        for new in REDUCTIONS[layer.kind].verify(layer, claim, circuit.tensors, channel, zk):
            claims.setdefault(new.tensor, []).append(new)
    for bits, names in circuit.lookups().items():
        mult = lookup_mult(bits)
        made, (zm, ym) = logup.verify_zk([circuit.tensors[n].size for n in names], bits,
                                         f"lookup/{bits}", channel, zk)
        for name, (point, value) in zip(names, made, strict=True):
            claims.setdefault(name, []).append(Claim(name, point, value))
        claims.setdefault(mult, []).append(Claim(mult, zm, ym))
    opening = claims_of(layout, [lay for lay, _ in committed], claims, zk.cursor.claims)
    zk.cursor.next(layout.shapes[-1])
    zk.cursor.done()
    zk_opening.verify([masks] + [c for _, c in committed], opening, (layout.opening_row, 0),
                      channel)
    channel.finish()
    for name, pending in claims.items():
        if name != circuit.input:
            raise ProofRejected(f"claims left on tensor {name!r}, which is not a public leaf")
        for claim in pending:
            if not F.ext_eq(T.evaluate(xp, claim.point), claim.value):
                raise LeafMismatch(name)
    return True

"""The GKR prover: reduce the output claim layer by layer, in reverse topological order.

PROTOCOL.md, "Flow". Tensors with several claims are merged first (claim.prove_merge);
each layer's reduction lives in provers/gkr/layers. Claims left on public leaves (input,
public weights, advice sent in the clear) need no message: the verifier evaluates those
tensors itself. Claims on committed tensors (weights committed in setup, advice committed
here before the first challenge) are opened at the end, all with one set of Ligero queries
(committed_prover).
"""

from __future__ import annotations

import numpy as np

from provers.gkr import committed_prover, logup
from provers.gkr import tensor as T
from provers.gkr.backends import Backend
from provers.gkr.backends import get as get_backend
from provers.gkr.channel import MAGIC, MAGIC_COMMITTED_ADVICE, ProverChannel
from provers.gkr.circuit import Circuit, lookup_mult
from provers.gkr.claim import Claim, prove_merge
from provers.gkr.committed import Layout
from provers.gkr.layers import REDUCTIONS
from provers.gkr.pcs import ligero
from provers.gkr.statement import absorb_advice_commitment, absorb_output, bind_prefix


def prove(circuit: Circuit, values: dict[str, np.ndarray],
          omit: frozenset[str] = frozenset(), committed=None,
          advice: Layout | None = None,
          advice_matrix: ligero.CommittedMatrix | None = None,
          backend: Backend | None = None) -> ProverChannel:
    """The proof of the circuit on ``values`` (every tensor and advice, zero-padded int64),
    as the channel that wrote it (``.proof_bytes()``; ``.layout`` names each message's
    bytes). ``omit`` weakens the transcript: tests use it to play a forging prover.
    ``committed`` = (committed.Layout, ligero.CommittedMatrix) for the committed-weights
    statement: the claims left on those tensors are opened (committed_prover).
    ``advice``: the advice's layout to commit it (PROTOCOL.md, "Committed advice"); None
    sends it in the clear. ``advice_matrix`` replaces the commitment made from ``values``
    (tests use it to play a prover that changes its advice after committing).
    ``backend`` runs the arithmetic (provers/gkr/backends; default ``cpu``); the proof bytes
    do not depend on it."""
    backend = backend or get_backend("cpu")
    commitment = None if committed is None else committed[1].commitment.to_bytes()
    transcript = bind_prefix(circuit, values[circuit.input], omit, commitment)
    if advice is None:
        channel = ProverChannel(transcript, MAGIC)
        for name in circuit.advice():
            channel.send_base(f"advice/{name}", T.encode(values[name]))
    else:
        channel = ProverChannel(transcript, MAGIC_COMMITTED_ADVICE)
        if advice_matrix is None:
            advice_matrix = committed_prover.commit(advice, values)
        channel.send_bytes("advice/root", advice_matrix.commitment.root)
        absorb_advice_commitment(transcript, advice_matrix.commitment.to_bytes())
    absorb_output(transcript, values[circuit.output], omit)
    out = circuit.tensors[circuit.output]
    z = channel.challenges("output/point", out.num_vars)
    claims: dict[str, list[Claim]] = {
        out.name: [Claim(out.name, z, backend.evaluate(values[out.name], z))]
    }
    for layer in reversed(circuit.layers):
        pending = claims.pop(layer.out)
        claim = pending[0] if len(pending) == 1 else prove_merge(pending, values[layer.out],
                                                                 channel, backend)
        for new in REDUCTIONS[layer.kind].prove(layer, claim, values, circuit.tensors,
                                                channel, backend):
            claims.setdefault(new.tensor, []).append(new)
    for bits, names in circuit.lookups().items():
        mult = lookup_mult(bits)
        made, (zm, ym) = logup.prove([values[n] for n in names], values[mult], bits,
                                     f"lookup/{bits}", channel, backend)
        for name, (z, y) in zip(names, made, strict=True):
            claims.setdefault(name, []).append(Claim(name, z, y))
        claims.setdefault(mult, []).append(Claim(mult, zm, ym))
    parts = []
    if committed is not None:
        parts.append(_opening(committed[0], committed[1], claims))
    if advice is not None:
        parts.append(_opening(advice, advice_matrix, claims))
    committed_prover.prove_claims(parts, channel)
    return channel


def _opening(layout: Layout, matrix: ligero.CommittedMatrix,
             claims: dict[str, list[Claim]]) -> committed_prover.Opening:
    return committed_prover.Opening(layout, matrix, [c for name, pending in claims.items()
                                                     if name in layout.slots for c in pending])

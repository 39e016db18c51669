"""The GKR prover: reduce the output claim layer by layer, in reverse topological order.

PROTOCOL.md, "Flow". Tensors with several claims are merged first (claim.prove_merge);
each layer's reduction lives in provers/gkr/layers. Claims left on leaves (input, weights)
need no message: the verifier evaluates those public tensors itself.
"""

from __future__ import annotations

import numpy as np

from provers.gkr import committed_prover
from provers.gkr import tensor as T
from provers.gkr.backends import Backend
from provers.gkr.backends import get as get_backend
from provers.gkr.channel import ProverChannel
from provers.gkr.circuit import Circuit
from provers.gkr.claim import Claim, prove_merge
from provers.gkr.layers import REDUCTIONS
from provers.gkr.statement import absorb_output, bind_prefix


def prove(circuit: Circuit, values: dict[str, np.ndarray],
          omit: frozenset[str] = frozenset(), committed=None,
          backend: Backend | None = None) -> ProverChannel:
    """The proof of the circuit on ``values`` (every tensor and advice, zero-padded int64),
    as the channel that wrote it (``.proof_bytes()``; ``.layout`` names each message's
    bytes). ``omit`` weakens the transcript: tests use it to play a forging prover.
    ``committed`` = (committed.Layout, ligero.CommittedMatrix) for the committed-weights
    statement: the claims left on those tensors are opened (committed_prover).
    ``backend`` runs the arithmetic (provers/gkr/backends; default ``cpu``); the proof bytes
    do not depend on it."""
    backend = backend or get_backend("cpu")
    commitment = None if committed is None else committed[1].commitment.to_bytes()
    transcript = bind_prefix(circuit, values[circuit.input], omit, commitment)
    channel = ProverChannel(transcript)
    for name in circuit.advice():
        channel.send_base(f"advice/{name}", T.encode(values[name]))
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
    if committed is not None:
        layout, matrix = committed
        opened = [c for name, pending in claims.items() if name in layout.slots
                  for c in pending]
        committed_prover.prove_claims(layout, matrix, opened, channel)
    return channel

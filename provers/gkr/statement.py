"""The public statement's entry into the transcript, shared by prover and verifier.

Absorbed in this order before the first challenge (PROTOCOL.md, Flow step 1): the circuit
digest (layers, shapes, public weights), the weights' commitment (committed-weights), the
public input, the advice (sent through the channel: in the clear, in the circuit's order, or
its commitment's root followed by the commitment's shape), then the public output.

``omit`` exists only so tests can build the weakened verifiers and forging provers that
Fiat-Shamir attacks need; the adapter never passes it.
"""

from __future__ import annotations

import numpy as np

from provers.gkr.channel import new_transcript
from provers.gkr.circuit import Circuit
from provers.gkr.transcript import Transcript


def bind_prefix(circuit: Circuit, x_padded: np.ndarray,
                omit: frozenset[str] = frozenset(), commitment: bytes | None = None
                ) -> Transcript:
    """``commitment``: the committed weights' commitment (root and shape), for the
    committed-weights statement, whose circuit digest then covers no weight values."""
    t = new_transcript()
    if "circuit" not in omit:
        t.absorb_bytes(b"circuit", circuit.digest())
    if commitment is not None and "commitment" not in omit:
        t.absorb_bytes(b"weights-commitment", commitment)
    if "input" not in omit:
        t.absorb_bytes(b"input", _int_bytes(x_padded))
    return t


def absorb_advice_commitment(t: Transcript, commitment: bytes) -> None:
    """The advice commitment's root, shape and parameters (pcs Commitment.to_bytes), after
    its root was sent: the shape is the verifier's own (from its key), absorbed so that
    every challenge depends on the whole commitment."""
    t.absorb_bytes(b"advice-commitment", commitment)


def absorb_mask_commitment(t: Transcript, commitment: bytes) -> None:
    """A zero-knowledge proof's mask commitment (root, shape, parameters), after its root was
    sent (PROTOCOL.md, "Zero knowledge")."""
    t.absorb_bytes(b"mask-commitment", commitment)


def absorb_output(t: Transcript, y_padded: np.ndarray, omit: frozenset[str] = frozenset()
                  ) -> None:
    if "output" not in omit:
        t.absorb_bytes(b"output", _int_bytes(y_padded))


def _int_bytes(values: np.ndarray) -> bytes:
    """Shape and int64 little-endian entries: injective on tensors, and both sides reject
    entries outside the field's signed range, so it binds the field tensor too. Cheaper than
    encoding into the field first."""
    values = np.ascontiguousarray(values, dtype="<i8")
    return repr(values.shape).encode() + b"\0" + values.tobytes()

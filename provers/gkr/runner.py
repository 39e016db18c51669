"""How a layer's reduction runs its sumchecks: plainly, or masked in a zero-knowledge proof.

Each layer module has one ``prove`` and one ``verify``; they run every sumcheck through a
runner. The plain runners here call the sumcheck itself (``sumcheck.prove`` / ``prove_terms``
on the backend, ``sumcheck.verify``) and ignore what only a masked run needs; the masked
ones, with the same methods, are ``zk_prover.ZkProver`` and ``zk.ZkVerifier`` (PROTOCOL.md,
"Zero knowledge"). What a reduction tells a runner besides its tables:

* ``masked``: the tables that stand for tensors (``MaskedTable``: the tensor and the fixed
  coordinates around the sumcheck's variables), which a masked run replaces by their masked
  extensions in the last round;
* ``outputs``: the claims the sumcheck proves on tensors, (coefficient, tensor, point), whose
  masks a masked run moves into the sum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from provers.gkr import sumcheck


@dataclass(frozen=True)
class MaskedTable:
    """Sumcheck table ``table`` stands for the tensor ``tensor`` on the points
    prefix || b || suffix, b the sumcheck's variables (MSB first)."""

    table: int
    tensor: str
    prefix: np.ndarray
    suffix: np.ndarray

    @property
    def prefix_len(self) -> int:
        return int(np.shape(self.prefix)[1])


class PlainProver:
    """Runs a reduction's sumchecks as they are."""

    masked = False

    def sumcheck(self, label: str, channel, backend, tables, terms, claim: np.ndarray,
                 masked: list[MaskedTable], outputs) -> tuple[np.ndarray, list[np.ndarray]]:
        """Prove and send one sumcheck (``terms`` None: the product of the tables); returns
        (r, the tables' values at r)."""
        if terms is None:
            proof, r, finals = backend.prove_sumcheck(tables, claim, channel.transcript)
        else:
            proof, r, finals = backend.prove_terms(tables, terms, claim, channel.transcript)
        channel.send_sumcheck(label, proof)
        return r, finals

    def evaluate(self, name: str, value: np.ndarray, point: np.ndarray) -> np.ndarray:
        """A tensor's value as the proof states it: T~(point) itself."""
        return value


class PlainVerifier:
    """Checks a reduction's sumchecks as they are."""

    masked = False

    def sumcheck(self, label: str, channel, claim: np.ndarray, num_vars: int, terms,
                 masked: list[MaskedTable], outputs) -> tuple[np.ndarray, np.ndarray]:
        """Check one sumcheck of ``terms``; returns (r, the value they must take at r)."""
        degree = sumcheck.terms_degree(list(terms))
        proof = channel.recv_sumcheck(label, num_vars, degree)
        return sumcheck.verify(claim, num_vars, degree, proof, channel.transcript)


PLAIN_PROVER = PlainProver()
PLAIN_VERIFIER = PlainVerifier()

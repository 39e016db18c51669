"""The committed-weights statement: ``gkr-cw`` and ``gkr-ca`` on whole models, and the Ligero
commitment (``provers.gkr.pcs``) on its own.

Whole models. ``gkr-cw`` commits the weights in setup and the range-check advice in every
proof; ``gkr-ca`` keeps the weights public and commits only the advice (README, "What each gkr
variant proves"). The cells are the models whose targets the committed statement is held to
(ANCHORS.md; zkCNN published 88.3 s to prove VGG-16 CIFAR): ``cnn/vgg16`` (prove <= 60 s,
verify <= 2 s, proof <= 2 MiB on the 2-core reference machine) and ``chess/leela`` (prove
<= 15 s), after ``cnn/digits``, a small CNN that keeps the suite's smoke test
(tests/test_benchmarks.py runs the first cell) short. Each cell is prepared once per benchmark
with ``zkbench.testing.conformance.prepare`` exactly as ``benchmarks/provers.py`` does, so the
stage times, memory and proof size mean the same as there. Preparing VGG-16 (compile, the
weights' commitment, witness, one prove) takes about a minute on two cores, hence the timeout.

Ligero on its own. ``LigeroCommit`` times committing 2^log_n int8-range entries (the
Reed-Solomon encoding of every row at rate 1/4 and the Merkle tree over the encoded columns),
with the column count ``choose_cols`` picks; ``LigeroOpen`` times proving and verifying one
evaluation of the committed vector at a random extension point (a row combination, the
proximity row and 148 column openings) and tracks its size in bytes.

Run from the repository root:

    asv run --python=same --quick --bench committed
    asv run --python=same --bench "committed.CommittedStages.time_prove"
"""

from __future__ import annotations

import numpy as np

from benchmarks import provers
from provers.gkr import field as F
from provers.gkr.channel import ProverChannel, VerifierChannel
from provers.gkr.pcs import ligero, ligero_verifier
from provers.gkr.pcs.params import DEFAULT, choose_cols
from provers.gkr.transcript import Transcript

COMMITTED_PROVERS = ["gkr-cw", "gkr-ca"]
CELLS = ["cnn/digits", "chess/leela", "cnn/vgg16"]
MODEL_TIMEOUT_S = 900.0
DOMAIN = b"zkbench/benchmarks/committed"
SEED = 0


class _CommittedCell:
    """Parameters and the cell naming shared by the whole-model benchmarks: a ``size``
    parameter here is "workload/size"."""

    version = "1"
    timeout = MODEL_TIMEOUT_S
    params = [COMMITTED_PROVERS, CELLS]
    param_names = ["prover", "size"]

    def _cell(self, size: str) -> tuple[str, str]:
        workload, _, name = size.partition("/")
        return workload, name


class CommittedStages(_CommittedCell, provers.ProverStages):
    """Wall time of witness, prove and verify for the committed statements."""


class CommittedMemory(_CommittedCell, provers.ProveMemory):
    """Peak RSS during one prove (the high-water mark reset after setup)."""


class CommittedProofSize(_CommittedCell, provers.ProofSize):
    """Proof bytes: the GKR messages plus one Ligero opening of weights and advice."""


class CommittedSecurityBits(_CommittedCell, provers.SecurityBits):
    """The circuit's soundness with the commitment's error included, in bits."""


class _LigeroCase:
    """2^log_n random int8-range entries and the column count an opening of them uses."""

    version = "1"
    timeout = provers.COLD_COMPILE_TIMEOUT_S
    params = [16, 20, 22]
    param_names = ["log_n"]

    def setup(self, log_n: int) -> None:
        ligero.warmup()
        self.values = np.random.default_rng(SEED).integers(-128, 128, size=1 << log_n,
                                                           dtype=np.int64)
        self.cols = choose_cols(self.values.size, DEFAULT, opened_rows=2)


class LigeroCommit(_LigeroCase):
    """Committing 2^log_n entries: encoding and Merkle hashing."""

    def time_commit(self, log_n: int) -> None:
        ligero.commit(self.values, self.cols)


class LigeroOpen(_LigeroCase):
    """Proving and verifying one evaluation of a committed vector of 2^log_n entries."""

    def setup(self, log_n: int) -> None:
        super().setup(log_n)
        self.matrix = ligero.commit(self.values, self.cols)
        c = self.matrix.commitment
        rng = np.random.default_rng(SEED + 1)
        self.point = rng.integers(0, F.P, size=(F.EXT_DEGREE, c.row_vars + c.col_vars),
                                  dtype=np.uint64)
        channel = self._open()
        self.proof = channel.proof_bytes()
        self.value = self.values_sent

    def _open(self) -> ProverChannel:
        channel = ProverChannel(Transcript(DOMAIN))
        (self.values_sent,) = ligero.open_evaluations(self.matrix, [self.point], channel)
        return channel

    def time_open(self, log_n: int) -> None:
        self._open()

    def time_verify(self, log_n: int) -> None:
        channel = VerifierChannel(Transcript(DOMAIN), self.proof)
        ligero_verifier.verify_evaluations(self.matrix.commitment, [self.point], [self.value],
                                           channel)
        channel.finish()

    def track_opening_bytes(self, log_n: int) -> int:
        return len(self.proof)

    track_opening_bytes.unit = "bytes"

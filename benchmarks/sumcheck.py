"""GKR sumcheck (``provers.gkr.sumcheck``): prover and verifier for a product of two tables.

What is measured: wall time of ``sumcheck.prove`` for sum_b A(b) B(b) = claim with two
extension tables of 2^v entries, v in {12, 16, 20} (the shape of Thaler 2013's matmul
reduction, degree 2), called as the GKR layers call it (default options), including the
Fiat-Shamir transcript it absorbs into; and of ``sumcheck.verify`` plus ``check_final`` on the
proof it produced. A fresh ``Transcript`` is built inside each timed call
(one SHA-256 of a short string), because a transcript is consumed by the proof.

One round on its own is not public API (it is internal to ``prove``). ``SumcheckRound`` times
``prove`` at v = 1, which is exactly one round on a 2-entry table: the fixed cost every round
pays (transcript hashing, interpolation, kernel dispatch) on top of its linear work. The
linear work of the first round at size 2^v is about prove(v) - prove(v - 1), since the rounds
halve.

Tables are uniform extension elements from a seeded ``np.random.default_rng`` and the claim is
computed in ``setup``; ``setup`` also compiles (or loads from numba's cache) the kernels.

Run from the repository root:

    asv run --python=same --quick --bench sumcheck    # each benchmark once
    asv run --python=same --bench "sumcheck.SumcheckProve"
"""

from __future__ import annotations

import numpy as np

from provers.gkr import field as F
from provers.gkr import sumcheck
from provers.gkr.transcript import Transcript

DOMAIN = b"zkbench/benchmarks/sumcheck"
DEGREE = 2
SEED = 0
COLD_COMPILE_TIMEOUT_S = 300.0


def _product_instance(v: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Two random extension tables of 2^v entries and the sum of their product."""
    sumcheck.warmup()
    rng = np.random.default_rng(SEED)
    tables = [F.ext_random(rng, 1 << v) for _ in range(DEGREE)]
    claim = F.ext_sum_all(F.ext_mul(*tables))
    return tables, claim


class SumcheckProve:
    """``sumcheck.prove`` with two extension factors of 2^v entries."""

    version = "1"  # bump only when what is measured changes
    timeout = COLD_COMPILE_TIMEOUT_S
    params = [[12, 16, 20]]
    param_names = ["v"]

    def setup(self, v: int) -> None:
        self.tables, self.claim = _product_instance(v)

    def time_prove(self, v: int) -> None:
        sumcheck.prove(self.tables, self.claim, Transcript(DOMAIN))


class SumcheckVerify:
    """``sumcheck.verify`` and ``check_final`` for the proof of ``SumcheckProve`` at the same v."""

    version = "1"
    timeout = COLD_COMPILE_TIMEOUT_S
    params = [[12, 16, 20]]
    param_names = ["v"]

    def setup(self, v: int) -> None:
        tables, self.claim = _product_instance(v)
        self.proof, _, self.finals = sumcheck.prove(tables, self.claim, Transcript(DOMAIN))

    def time_verify(self, v: int) -> None:
        _, final = sumcheck.verify(self.claim, v, DEGREE, self.proof, Transcript(DOMAIN))
        if not sumcheck.check_final(final, self.finals):
            raise AssertionError(f"sumcheck at v={v}: an honest proof was rejected")


class SumcheckRound:
    """One sumcheck round: ``sumcheck.prove`` at v = 1 (two 2-entry extension tables)."""

    version = "1"
    timeout = COLD_COMPILE_TIMEOUT_S

    def setup(self) -> None:
        self.tables, self.claim = _product_instance(1)

    def time_prove_one_round(self) -> None:
        sumcheck.prove(self.tables, self.claim, Transcript(DOMAIN))

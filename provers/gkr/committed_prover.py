"""Committed leaf tensors, the prover's side: commit in setup, open GKR's final claims.

The steps are those of committed.py (PROTOCOL.md, "Committed weights"): the column sumcheck
over u_i = a_i^T U (each computed from the slot's own rows only, so all of them cost O(N) in
total, plus O(k) per small tensor), then one Ligero opening of sum_i beta^i a_i.
"""

from __future__ import annotations

import numpy as np

from provers.gkr import mle, sumcheck
from provers.gkr.claim import Claim
from provers.gkr.committed import Layout, combined_rows, powers, scatter, segment, weighted_sum
from provers.gkr.pcs import ligero
from provers.gkr.pcs.params import DEFAULT, LigeroParams


def commit(layout: Layout, values: dict[str, np.ndarray],
           params: LigeroParams = DEFAULT) -> ligero.CommittedMatrix:
    return ligero.commit(layout.vector(values), layout.cols, params)


def prove_claims(layout: Layout, matrix: ligero.CommittedMatrix, claims: list[Claim],
                 channel) -> None:
    if not claims:
        return
    cols = layout.cols
    segments = [segment(layout, cl) for cl in claims]
    alphas = powers(channel.challenge("committed/alpha"), len(claims))
    tables: list[np.ndarray] = []
    for seg in segments:
        eq_rows = mle.eq_table(seg.row_point)
        tables.append(matrix.combine(eq_rows, row0=seg.row0))
    for seg in segments:
        tables.append(scatter(mle.eq_table(seg.col_point), seg.col0, cols))
    m = len(claims)
    terms = [(alphas[i], (i, m + i)) for i in range(m)]
    claim = weighted_sum([cl.value for cl in claims], alphas)
    proof, rho, finals = sumcheck.prove_terms(tables, terms, claim, channel.transcript)
    channel.send_sumcheck("committed/sumcheck", proof)
    channel.send_ext("committed/evals", np.stack(finals[:m], axis=1) if m > 1 else finals[0])
    betas = powers(channel.challenge("committed/beta"), m)
    w = combined_rows(layout, matrix.commitment.rows, segments, betas)
    ligero.open_combinations([matrix], [[w]], channel)

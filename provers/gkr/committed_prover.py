"""Committed leaf tensors, the prover's side: commit (the weights in setup, the advice at the
start of each proof), and open GKR's final claims on every committed matrix at once.

The steps are those of committed.py (PROTOCOL.md, "Committed weights", "Committed advice"):
the column sumcheck over u_i = a_i^T U (each computed from its slot's own rows only, so all of
them cost O(N) in total, plus O(k) per small tensor), then one Ligero opening of
sum_i beta^i a_i per matrix with one set of queries.

Memory: claims whose column weights e_i coincide (same slot columns and point, as the claims a
requant layer leaves on Q and S at one point) share one table sum_i alpha^i u_i, so the
sumcheck holds two k-entry tables per distinct e_i rather than per claim; the u_i~(rho) the
verifier needs come afterwards from the single product U eq(rho).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from provers.gkr import field as F
from provers.gkr import mle, sumcheck
from provers.gkr.claim import Claim
from provers.gkr.committed import Layout, combined_rows, powers, scatter, segment, weighted_sum
from provers.gkr.pcs import ligero
from provers.gkr.pcs.params import DEFAULT, LigeroParams


@dataclass(frozen=True)
class Opening:
    """One committed matrix's part in an opening, as the prover holds it."""

    layout: Layout
    matrix: ligero.CommittedMatrix
    claims: list[Claim]


def commit(layout: Layout, values: dict[str, np.ndarray],
           params: LigeroParams = DEFAULT) -> ligero.CommittedMatrix:
    return ligero.commit(layout.vector(values), layout.cols, params)


def prove_claims(parts: list[Opening], channel) -> None:
    parts = [p for p in parts if p.claims]
    if not parts:
        return
    cols = parts[0].layout.cols
    segments = [[segment(p.layout, cl) for cl in p.claims] for p in parts]
    m = sum(len(p.claims) for p in parts)
    alphas = powers(channel.challenge("committed/alpha"), m)

    # sum_i alpha^i u_i(col) e_i(col), with the u_i of claims sharing e_i added up.
    groups: dict[tuple, int] = {}
    u_tables: list[np.ndarray] = []
    e_tables: list[np.ndarray] = []
    index = 0
    for p, segs in zip(parts, segments, strict=True):
        by_rows: dict[int, list[int]] = {}
        for j, seg in enumerate(segs):
            by_rows.setdefault(seg.row0, []).append(j)
        for row0, members in by_rows.items():
            rows = p.matrix.combine_many([mle.eq_table(segs[j].row_point) for j in members],
                                         row0=row0)
            for j, u in zip(members, rows, strict=True):
                seg = segs[j]
                key = (seg.col0, seg.col_point.shape[1], seg.col_point.tobytes())
                g = groups.get(key)
                if g is None:
                    g = groups[key] = len(u_tables)
                    u_tables.append(F.ext_zero((cols,)))
                    e_tables.append(scatter(mle.eq_table(seg.col_point), seg.col0, cols))
                u_tables[g] = F.ext_add(u_tables[g], F.ext_mul(u, alphas[index + j]))
        index += len(segs)
    count = len(u_tables)
    terms = [(F.ext_one(), (g, count + g)) for g in range(count)]
    claim = weighted_sum([cl.value for p in parts for cl in p.claims], alphas)
    proof, rho, _ = sumcheck.prove_terms(u_tables + e_tables, terms, claim, channel.transcript)
    del u_tables, e_tables
    channel.send_sumcheck("committed/sumcheck", proof)

    # u_i~(rho) = <a_i, U eq(rho)> on the slot's rows.
    evals = []
    eq_rho = mle.eq_table(rho)
    for p, segs in zip(parts, segments, strict=True):
        column = p.matrix.apply(eq_rho)
        for seg in segs:
            a = mle.eq_table(seg.row_point)
            evals.append(F.ext_dot(a, column[:, seg.row0:seg.row0 + a.shape[1]]))
    channel.send_ext("committed/evals", np.stack(evals, axis=1) if m > 1 else evals[0])

    betas = powers(channel.challenge("committed/beta"), m)
    weights, start = [], 0
    for p, segs in zip(parts, segments, strict=True):
        weights.append(combined_rows(p.layout, p.matrix.commitment.rows, segs,
                                     betas[start:start + len(segs)]))
        start += len(segs)
    ligero.open_combinations([p.matrix for p in parts], [weights], channel)

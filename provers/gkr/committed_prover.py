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
from provers.gkr.committed import Layout, combined_rows, powers, segment, weighted_sum
from provers.gkr.pcs import ligero
from provers.gkr.pcs.params import DEFAULT, LigeroParams


@dataclass(frozen=True)
class Opening:
    """One committed matrix's part in an opening, as the prover holds it."""

    layout: Layout
    matrix: ligero.CommittedMatrix
    claims: list[Claim]


def _add_mod(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a + b for canonical extension arrays, in numpy: these (4, k) sums are too small for a
    parallel kernel launch to pay."""
    return (a + b) % np.uint64(F.P)


def _col_point(seg, c: int) -> np.ndarray:
    """The point z' in K^c with e = eq(z', .) on all k columns: a segment's column weights
    eq(col_point, col - col0) on its aligned range are eq(bits of col0 above the range,
    col_high) eq(col_point, col_low) (committed.col_weights_at)."""
    high = c - seg.col_point.shape[1]
    bits = np.array([(seg.col0 >> (c - 1 - i)) & 1 for i in range(high)], np.uint64)
    return np.concatenate([F.ext_from_base(bits).reshape(F.EXT_DEGREE, high),
                           np.asarray(seg.col_point, np.uint64)], axis=1)


_EQ_BATCH = 32


def _eq_tables(points: list[np.ndarray]) -> list[np.ndarray]:
    """eq(z, .) over {0,1}^c for every point z (4, c), each the outer product of its two
    halves' tables, a batch of them per extension product."""
    out = []
    for start in range(0, len(points), _EQ_BATCH):
        batch = points[start:start + _EQ_BATCH]
        half = batch[0].shape[1] // 2
        hi = np.stack([mle.eq_table(z[:, :half]) for z in batch], axis=1)
        lo = np.stack([mle.eq_table(z[:, half:]) for z in batch], axis=1)
        table = F.ext_mul(hi[:, :, :, None], lo[:, :, None, :])
        table = np.ascontiguousarray(table.reshape(F.EXT_DEGREE, len(batch), -1)
                                     .transpose(1, 0, 2))
        out.extend(table[i] for i in range(len(batch)))
    return out


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

    # sum_i alpha^i u_i(col) e_i(col), with the u_i of claims sharing e_i added up: per
    # block of rows, one product for every group that has claims there.
    c = cols.bit_length() - 1
    groups: dict[tuple, int] = {}
    points: list[np.ndarray] = []
    u_tables: list[np.ndarray | None] = []
    index = 0
    for p, segs in zip(parts, segments, strict=True):
        by_rows: dict[int, list[int]] = {}
        for j, seg in enumerate(segs):
            by_rows.setdefault(seg.row0, []).append(j)
        for row0, members in by_rows.items():
            weights: dict[int, np.ndarray] = {}
            for j in members:
                seg = segs[j]
                key = (seg.col0, seg.col_point.shape[1], seg.col_point.tobytes())
                if key not in groups:
                    groups[key] = len(points)
                    points.append(_col_point(seg, c))
                    u_tables.append(None)
                g = groups[key]
                a = F.ext_mul(mle.eq_table(seg.row_point), alphas[index + j])
                weights[g] = a if g not in weights else _add_mod(weights[g], a)
            for g, u in zip(weights, p.matrix.combine_many(list(weights.values()), row0),
                            strict=True):
                u_tables[g] = u if u_tables[g] is None else _add_mod(u_tables[g], u)
        index += len(segs)
    e_tables = _eq_tables(points)
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

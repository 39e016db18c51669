"""The zero-knowledge opening of claims on committed vectors, the prover's side.

Steps and messages: zk_opening.py (PROTOCOL.md, "The zero-knowledge opening of committed
claims"). Before committing, the caller writes g_col's coefficients into a row of the mask
matrix (``zk_opening.write_mask``): the mask is then fixed by the mask matrix's root, sent
before the sumcheck draws its mask weight.

Cost: one row combination a_j^T U_M per distinct (matrix, row weights), over the 2k-entry
messages (ligero.combine_rows: one BLAS product per block of rows for every combination
starting at the same row), two 2k-entry tables per combination in the column sumcheck
(c + 1 rounds), and the hiding Ligero opening of two products.
"""

from __future__ import annotations

import numpy as np

from provers.gkr import field as F
from provers.gkr import zk_sumcheck
from provers.gkr.committed import powers
from provers.gkr.pcs import ligero
from provers.gkr.zk_opening import (
    LABEL_ALPHA,
    LABEL_BETA,
    LABEL_EVALS,
    LABEL_ROOTS,
    LABEL_SUMCHECK,
    Claim,
    RowCombination,
    bind_statement,
    check_commitments,
    check_mask_place,
    claimed_sum,
    column_table,
    data_product,
    mask_degrees,
    mask_product,
    row_combinations,
)


def _u_tables(messages: list[np.ndarray], combinations: list[RowCombination]
              ) -> list[np.ndarray]:
    """u_j = a_j^T (message rows) over all 2k entries, combinations on the same matrix and
    rows computed together."""
    batches: dict[tuple[int, int, int], list[int]] = {}
    for j, comb in enumerate(combinations):
        batches.setdefault((comb.matrix, comb.row0, comb.rows.shape[1]), []).append(j)
    out: list[np.ndarray | None] = [None] * len(combinations)
    for (matrix, row0, _), members in batches.items():
        tables = ligero.combine_rows(messages[matrix], [combinations[j].rows for j in members],
                                     row0)
        for j, u in zip(members, tables, strict=True):
            out[j] = u
    return out  # type: ignore[return-value]


def _e_table(combination: RowCombination, alphas: list[np.ndarray], cols: int) -> np.ndarray:
    """E = sum over the parts of alpha^i e on the data half, zero on the random half."""
    out = F.ext_zero((2 * cols,))
    for i, columns in combination.parts:
        out[:, :cols] = F.ext_add(out[:, :cols], F.ext_mul(column_table(columns, cols),
                                                           alphas[i]))
    return out


def column_sumcheck(messages: list[np.ndarray], claims: list[Claim],
                    combinations: list[RowCombination], g_col: zk_sumcheck.SumcheckMask,
                    channel) -> tuple[np.ndarray, list[np.ndarray]]:
    """Steps 1 and 2 on the data rows' messages (every matrix's (R_M, 2k) signed entries,
    data then random half): alpha, the masked column sumcheck, u_j~(r). Returns (r, the
    u_j~(r)). A pure function of the messages, g_col and the challenges."""
    cols = messages[0].shape[1] // 2
    alphas = powers(channel.challenge(LABEL_ALPHA), len(claims))
    u_tables = _u_tables(messages, combinations)
    e_tables = [_e_table(comb, alphas, cols) for comb in combinations]
    count = len(combinations)
    terms = [(F.ext_one(), (j, count + j)) for j in range(count)]
    proof, r, finals, _, _ = zk_sumcheck.prove(u_tables + e_tables, terms,
                                               claimed_sum(claims, alphas),
                                               channel.transcript, g_col)
    channel.send_sumcheck(LABEL_SUMCHECK, proof)
    evals = finals[:count]
    channel.send_ext(LABEL_EVALS, np.stack(evals, axis=1) if count > 1 else evals[0])
    return r, evals


def prove(matrices: list[ligero.CommittedMatrix], claims: list[Claim],
          g_col: zk_sumcheck.SumcheckMask, g_row: tuple[int, int], channel) -> None:
    """Open ``claims`` in zero knowledge on hiding matrices (the mask matrix first, holding
    g_col's coefficients at g_row = (row, column offset): ``zk_opening.write_mask`` before
    commit). The claimed values are taken as given: a false one gives a proof the verifier
    rejects. ValueError for malformed input, for a mask of the wrong degrees, and for fewer
    than t + 4 columns (t opened symbols of a data row and the 4 base coordinates of its
    share of u_j~(r) must be independent functions of the row's random half)."""
    if not claims:
        return
    commitments = [m.commitment for m in matrices]
    cols = check_commitments(commitments)
    params = commitments[0].params
    if cols < params.queries + F.EXT_DEGREE:
        raise ValueError(f"zk opening: {cols} columns; zero knowledge needs at least "
                         f"queries + 4 = {params.queries + F.EXT_DEGREE}")
    if g_col.degrees != mask_degrees(cols):
        raise ValueError(f"zk opening: g_col has round degrees {g_col.degrees}, the column "
                         f"sumcheck's are {mask_degrees(cols)}")
    rows = [c.rows for c in commitments]
    check_mask_place(rows, cols, g_row)
    combinations = row_combinations(claims, rows, cols)
    for c in commitments:
        channel.send_bytes(LABEL_ROOTS, c.root)
    bind_statement(channel.transcript, claims)
    messages = [m.message[:m.commitment.rows] for m in matrices]
    r, _ = column_sumcheck(messages, claims, combinations, g_col, channel)
    betas = powers(channel.challenge(LABEL_BETA), len(combinations))
    products = [data_product(combinations, betas, rows, r), mask_product(rows, cols, g_row, r)]
    ligero.open_products(matrices, products, channel)


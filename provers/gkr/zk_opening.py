"""The zero-knowledge opening of claims on committed vectors, the verifier's side, and the
pure helpers both sides share. Imports nothing from ``zk_opening_prover`` (a test checks).

PROTOCOL.md, "Zero knowledge", "The zero-knowledge opening of committed claims". Every matrix
is a hiding Ligero matrix (pcs/ligero.py, "Hiding mode") with the same k = 2^c columns: each
data row's message is its k entries followed by k random ones. A claim is a value y_i with one
or more components (M, a, e): y_i = sum over its components of a^T U_M e, a row weights over
some data rows of matrix M and e column weights over its k data columns (an explicit vector,
or eq(z, .) placed at a column offset). Only the y_i are public.

Components with the same matrix and row weights share one row combination u_j = a_j^T U_M,
taken over the WHOLE message row (2k entries, random half included); E_j is the alpha-weighted
sum of their column weights on the data half, zero on the random half. Messages, in order:

    "zk-opening/roots"      every matrix's Merkle root (checked against the commitments held,
                            then absorbed with the claims' values)
    (challenge)             alpha, "zk-opening/alpha"
    "zk-opening/sumcheck"   the masked sumcheck (zk_sumcheck.py, mask g_col of c + 1 rounds
                            of degree 2) of sum_j sum_{col < 2k} u_j(col) E_j(col)
                            = sum_i alpha^i y_i; its first variable selects the random half;
                            it ends at r in K^(c+1) and carries g_col(r)
    "zk-opening/evals"      u_j~(r) for every row combination j
    (challenge)             beta, "zk-opening/beta"
    ligero.open_products    two products, the mask matrix (commitments[0]) first:
                            sum_M (sum_{j on M} beta^j a_j)^T U_M eq(r, .) over all 2k entries,
                            and g_col(r) from the mask matrix's row that holds g_col's
                            coefficients (``mask_functional``)

The verifier computes every E_j~(r) itself (O(c) per eq-structured component, O(k) per
explicit one) and checks the sumcheck's final value against sum_j u_j~(r) E_j~(r)
(SumcheckFailed), then the first product against sum_j beta^j u_j~(r) and the second against
the g_col(r) the sumcheck returned (OpeningMismatch). Ligero's own rejections (pcs/errors.py)
and malformed proofs come from the opening.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from provers.gkr import field as F
from provers.gkr import mle, zk_sumcheck
from provers.gkr.committed import Layout, Segment, col_weights_at, powers, scatter, weighted_sum
from provers.gkr.errors import SumcheckFailed
from provers.gkr.pcs import ligero_verifier
from provers.gkr.pcs.errors import CommitmentMismatch, OpeningMismatch
from provers.gkr.pcs.merkle import DIGEST_BYTES
from provers.gkr.pcs.params import DEFAULT, K_BITS, Commitment, LigeroParams

DEGREE = 2
"""Degree of every round of the column sumcheck (u_j times E_j)."""
PRODUCTS = 2
"""Ligero products of the opening: the row combinations' and g_col(r)'s; the mask matrix
needs one mask row per product and one more."""
LABEL_ROOTS = "zk-opening/roots"
LABEL_CLAIMS = "zk-opening/claims"
LABEL_ALPHA = "zk-opening/alpha"
LABEL_SUMCHECK = "zk-opening/sumcheck"
LABEL_EVALS = "zk-opening/evals"
LABEL_BETA = "zk-opening/beta"


@dataclass(frozen=True, eq=False)
class EqColumns:
    """Column weights eq(point, .) on the 2^w columns offset.. offset + 2^w - 1 (offset a
    multiple of 2^w), zero on the others: an evaluation of a tensor inside a row, or of the
    low variables of one that fills whole rows (committed.Segment's column part)."""

    point: np.ndarray
    """(4, w)."""
    offset: int = 0


Columns = np.ndarray | EqColumns
"""Column weights over the k data columns: an explicit extension vector (4, k) or EqColumns."""


@dataclass(frozen=True, eq=False)
class Component:
    """sum over rows row0.. of a(row) sum_col U_M[row, col] e(col): matrix ``matrix`` (an index
    into the commitments), row weights ``rows`` (4, count) on data rows row0..row0 + count - 1
    (the others weigh zero), column weights ``columns`` on the data columns."""

    matrix: int
    rows: np.ndarray
    columns: Columns
    row0: int = 0


@dataclass(frozen=True, eq=False)
class Claim:
    """y = the sum of the components' values; ``value`` (4,) is public."""

    value: np.ndarray
    components: tuple[Component, ...]


@dataclass(eq=False)
class RowCombination:
    """Components sharing a matrix and row weights: one table u = a^T U_M (the whole message
    row) in the column sumcheck. ``parts`` lists (claim index, column weights)."""

    matrix: int
    row0: int
    rows: np.ndarray
    parts: list[tuple[int, Columns]]


# --------------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------------


def _check_columns(columns: Columns, cols: int, where: str) -> None:
    if isinstance(columns, EqColumns):
        point = np.asarray(columns.point)
        width = point.shape[1] if point.ndim == 2 else -1
        if (point.ndim != 2 or point.shape[0] != F.EXT_DEGREE or not 0 <= width
                or (1 << width) > cols or columns.offset % (1 << width)
                or not 0 <= columns.offset < cols):
            raise ValueError(f"zk opening: {where}: eq column weights of shape {point.shape} "
                             f"at offset {columns.offset} do not fit {cols} columns aligned")
        return
    e = np.asarray(columns)
    if e.shape != (F.EXT_DEGREE, cols) or e.dtype != np.uint64 or int(e.max()) >= F.P:
        raise ValueError(f"zk opening: {where}: column weights of shape {e.shape} "
                         f"({e.dtype}), expected canonical uint64 {(F.EXT_DEGREE, cols)}")


def row_combinations(claims: list[Claim], rows: list[int], cols: int) -> list[RowCombination]:
    """The distinct row combinations of the claims' components, in order of first use
    (``rows``: every matrix's data rows). Raises ValueError naming a malformed component."""
    out: list[RowCombination] = []
    index: dict[tuple, int] = {}
    for i, claim in enumerate(claims):
        if np.shape(claim.value) != (F.EXT_DEGREE,):
            raise ValueError(f"zk opening: claim {i} has a value of shape "
                             f"{np.shape(claim.value)}, expected {(F.EXT_DEGREE,)}")
        if not claim.components:
            raise ValueError(f"zk opening: claim {i} has no components")
        for n, comp in enumerate(claim.components):
            where = f"claim {i}, component {n}"
            if not 0 <= comp.matrix < len(rows):
                raise ValueError(f"zk opening: {where} names matrix {comp.matrix} of "
                                 f"{len(rows)}")
            a = np.ascontiguousarray(comp.rows, np.uint64)
            if (a.ndim != 2 or a.shape[0] != F.EXT_DEGREE or comp.row0 < 0
                    or comp.row0 + a.shape[1] > rows[comp.matrix] or a.shape[1] == 0):
                raise ValueError(f"zk opening: {where}: row weights of shape "
                                 f"{np.shape(comp.rows)} from row {comp.row0} do not fit "
                                 f"matrix {comp.matrix}'s {rows[comp.matrix]} rows")
            _check_columns(comp.columns, cols, where)
            key = (comp.matrix, comp.row0, a.shape[1], a.tobytes())
            if key not in index:
                index[key] = len(out)
                out.append(RowCombination(comp.matrix, comp.row0, a, []))
            out[index[key]].parts.append((i, comp.columns))
    return out


def column_table(columns: Columns, cols: int) -> np.ndarray:
    """The column weights as an extension vector (4, k) over the data columns."""
    if isinstance(columns, EqColumns):
        return scatter(mle.eq_table(columns.point), columns.offset, cols)
    return np.asarray(columns, np.uint64)


def column_value(columns: Columns, cols: int, r: np.ndarray) -> np.ndarray:
    """The MLE at r (4, c + 1) of the column weights over the whole message: e on the data
    half, zero on the random half, so (1 - r_0) e~(r_1..r_c). O(c) for EqColumns
    (committed.col_weights_at), O(k) for an explicit vector."""
    rest = np.ascontiguousarray(r[:, 1:])
    if isinstance(columns, EqColumns):
        seg = Segment(0, F.ext_zero((0,)), columns.offset, np.asarray(columns.point, np.uint64))
        value = col_weights_at(Layout({}, cols, 0), seg, rest)
    else:
        value = mle.evaluate(columns, rest)
    return F.ext_mul(F.ext_sub(F.ext_one(), np.ascontiguousarray(r[:, 0])), value)


def combined_value(combination: RowCombination, alphas: list[np.ndarray], cols: int,
                   r: np.ndarray) -> np.ndarray:
    """E~(r) for E = sum over the combination's parts of alpha^i e."""
    return weighted_sum([column_value(e, cols, r) for _, e in combination.parts],
                        [alphas[i] for i, _ in combination.parts])


def claimed_sum(claims: list[Claim], alphas: list[np.ndarray]) -> np.ndarray:
    """sum_i alpha^i y_i: the column sumcheck's claim."""
    return weighted_sum([np.asarray(c.value, np.uint64) for c in claims], alphas)


def mask_degrees(cols: int) -> tuple[int, ...]:
    """g_col's round degrees: c + 1 rounds of degree 2."""
    return (DEGREE,) * (cols.bit_length() - 1 + 1)


def mask_count(degrees: tuple[int, ...]) -> int:
    """Base entries holding a mask with these round degrees: 4 per coefficient in K."""
    return F.EXT_DEGREE * sum(d + 1 for d in degrees)


def mask_entries(mask: zk_sumcheck.SumcheckMask) -> np.ndarray:
    """The mask's coefficients as signed base entries (int64, |x| < p/2), round by round,
    coefficient by coefficient (low to high), the four coordinates of each in order: entry
    4 (sum_{i'<i} (deg_i' + 1) + e) + l is coordinate l of g_i's coefficient of X^e."""
    return np.concatenate([F.decode(np.asarray(c, np.uint64).T.reshape(-1))
                           for c in mask.coeffs])


def write_mask(values: np.ndarray, start: int, mask: zk_sumcheck.SumcheckMask) -> np.ndarray:
    """A copy of the signed base vector ``values`` with the mask's entries (``mask_entries``)
    at start.. (for the mask matrix's row g_row: start = row * k + column offset)."""
    entries = mask_entries(mask)
    out = np.array(values, np.int64).reshape(-1)
    if not 0 <= start <= out.size - entries.size:
        raise ValueError(f"zk opening: {entries.size} mask entries at {start} do not fit a "
                         f"vector of {out.size}")
    out[start:start + entries.size] = entries
    return out


def mask_functional(degrees: tuple[int, ...], r: np.ndarray) -> np.ndarray:
    """(4, mask_count(degrees)): the weight of every base entry of ``mask_entries`` in
    g(r) = sum_i sum_e g_{i,e} r_i^e, that is x^l r_i^e for coordinate l (x^l the basis of K
    over F_p), so that <functional, entries> = g(r)."""
    basis = np.eye(F.EXT_DEGREE, dtype=np.uint64)
    parts = []
    for i, deg in enumerate(degrees):
        ri = np.ascontiguousarray(r[:, i])
        power = F.ext_one()
        for _ in range(deg + 1):
            parts.append(F.ext_mul(power.reshape(F.EXT_DEGREE, 1), basis))
            power = F.ext_mul(power, ri)
    return np.concatenate(parts, axis=1)


def data_product(combinations: list[RowCombination], betas: list[np.ndarray],
                 rows: list[int], r: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The first product: row weights sum_{j on M} beta^j a_j per matrix, column weights
    eq(r, .) over all 2k message entries; its value is sum_j beta^j u_j~(r)."""
    weights = [F.ext_zero((n,)) for n in rows]
    for comb, beta in zip(combinations, betas, strict=True):
        w = weights[comb.matrix]
        end = comb.row0 + comb.rows.shape[1]
        w[:, comb.row0:end] = F.ext_add(w[:, comb.row0:end], F.ext_mul(comb.rows, beta))
    return weights, mle.eq_table(r)


def mask_product(rows: list[int], cols: int, g_row: tuple[int, int], r: np.ndarray
                 ) -> tuple[list[np.ndarray], np.ndarray]:
    """The second product: row weights one-hot on the mask matrix's (commitments[0]) row
    g_row[0], column weights ``mask_functional`` at column g_row[1]; its value is g_col(r)."""
    check_mask_place(rows, cols, g_row)
    row, offset = g_row
    weights = [F.ext_zero((n,)) for n in rows]
    weights[0][:, row] = F.ext_one()
    return weights, scatter(mask_functional(mask_degrees(cols), r), offset, cols)


def check_mask_place(rows: list[int], cols: int, g_row: tuple[int, int]) -> None:
    """ValueError unless g_col's entries fit row g_row[0] of the mask matrix from column
    g_row[1]."""
    row, offset = g_row
    count = mask_count(mask_degrees(cols))
    if not (0 <= row < rows[0] and 0 <= offset and offset + count <= cols):
        raise ValueError(f"zk opening: g_col's {count} entries at row {row}, column {offset} "
                         f"do not fit the mask matrix ({rows[0]} rows of {cols})")


def check_commitments(commitments: list[Commitment]) -> int:
    """The common column count k; ValueError unless every matrix is hiding with the same k
    and parameters and the first (the mask matrix) has a mask row per product and one more."""
    if not commitments:
        raise ValueError("zk opening: no commitments")
    first = commitments[0]
    for i, c in enumerate(commitments):
        if not c.hiding:
            raise ValueError(f"zk opening: commitment {i} is not hiding")
        if c.cols != first.cols or c.params != first.params:
            raise ValueError(f"zk opening: commitment {i} has {c.cols} columns and "
                             f"{c.params}; commitment 0 has {first.cols} and {first.params}")
    if first.mask_rows < PRODUCTS + 1:
        raise ValueError(f"zk opening: the mask matrix (commitment 0) has {first.mask_rows} "
                         f"mask rows; the opening needs {PRODUCTS + 1}")
    return first.cols


def bind_statement(transcript, claims: list[Claim]) -> None:
    """Absorb the claims' values (public, not sent) before alpha is drawn."""
    values = np.stack([np.asarray(c.value, np.uint64) for c in claims], axis=1)
    transcript.absorb_ext(LABEL_CLAIMS.encode(), values)


def split_evals(values: np.ndarray, count: int) -> list[np.ndarray]:
    """recv_ext's (4,) or (4, count) as a list of scalars."""
    if count == 1:
        return [np.asarray(values, np.uint64)]
    return [np.ascontiguousarray(values[:, j]) for j in range(count)]


# --------------------------------------------------------------------------------------------
# verifier
# --------------------------------------------------------------------------------------------


def verify(commitments: list[Commitment], claims: list[Claim], g_row: tuple[int, int],
           channel) -> None:
    """Check the zero-knowledge opening of ``claims`` on the hiding matrices ``commitments``
    (the mask matrix first; g_row = (row, column offset) of g_col's coefficients in it).
    Raises CommitmentMismatch, SumcheckFailed, OpeningMismatch, another pcs error or
    MalformedProof; ValueError for malformed claims. No claims: nothing to check."""
    if not claims:
        return
    cols = check_commitments(commitments)
    rows = [c.rows for c in commitments]
    check_mask_place(rows, cols, g_row)
    combinations = row_combinations(claims, rows, cols)
    v = cols.bit_length() - 1 + 1
    for i, c in enumerate(commitments):
        root = channel.recv_bytes(LABEL_ROOTS, DIGEST_BYTES)
        if root != c.root:
            raise CommitmentMismatch(f"zk opening: matrix {i}'s root {root.hex()[:16]}... is "
                                     f"not the commitment held, {c.root.hex()[:16]}...")
    bind_statement(channel.transcript, claims)
    alphas = powers(channel.challenge(LABEL_ALPHA), len(claims))
    proof = channel.recv_zk_sumcheck(LABEL_SUMCHECK, v, DEGREE, DEGREE)
    r, value, g_at_r, _ = zk_sumcheck.verify(claimed_sum(claims, alphas), v, DEGREE, DEGREE,
                                             proof, channel.transcript)
    evals = split_evals(channel.recv_ext(LABEL_EVALS, len(combinations)), len(combinations))
    expected = weighted_sum([combined_value(comb, alphas, cols, r) for comb in combinations],
                            evals)
    if not F.ext_eq(expected, value):
        raise SumcheckFailed("the zero-knowledge opening's column sumcheck")
    betas = powers(channel.challenge(LABEL_BETA), len(combinations))
    products = [data_product(combinations, betas, rows, r), mask_product(rows, cols, g_row, r)]
    proven = ligero_verifier.verify_products(commitments, products, channel)
    if not F.ext_eq(proven[0], weighted_sum(evals, betas)):
        raise OpeningMismatch("zk opening: the opened product does not give the row "
                              "combinations' values u_j~(r)")
    if not F.ext_eq(proven[1], g_at_r):
        raise OpeningMismatch("zk opening: the mask matrix does not give the column "
                              "sumcheck's mask value g_col(r)")


def error_terms(cols: int, claims: int, combinations: int) -> int:
    """The opening's soundness error besides Ligero's, in units of 1/|K|: alpha (claims - 1),
    the masked sumcheck (1 for its mask weight, 2 per round over c + 1 rounds), beta
    (combinations - 1)."""
    v = cols.bit_length() - 1 + 1
    return max(claims - 1, 0) + 1 + DEGREE * v + max(combinations - 1, 0)


def security_error(cols: int, claims: int, combinations: int,
                   params: LigeroParams = DEFAULT) -> float:
    """The probability bound the opening adds: ``error_terms`` over |K| plus the hiding
    Ligero opening's error for its two products (one set of queries for every matrix)."""
    return (error_terms(cols, claims, combinations) / 2.0**K_BITS
            + params.hiding_error(2 * cols * params.blowup, PRODUCTS))


def security_bits(cols: int, claims: int, combinations: int,
                  params: LigeroParams = DEFAULT) -> int:
    return math.floor(-math.log2(security_error(cols, claims, combinations, params)))

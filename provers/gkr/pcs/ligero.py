"""Ligero commitment, the prover's side: commit to a matrix, open row combinations.

PROTOCOL.md, "Committed tensors (Ligero)"; parameters and the soundness argument in
``params``. A committed vector of N field elements is laid out row-major as R x k (k a power
of two, R = ceil(N / k)); each row is Reed-Solomon encoded at rate 1 / blowup (``ntt``) and
the encoded columns are the leaves of a SHA-256 Merkle tree (``merkle``) whose root is the
commitment.

An opening of several committed matrices with the same k (their rows stacked) proves row
combinations w^T U for weight vectors w the verifier can compute itself, all with one set of
column queries. Messages, each absorbed as it is written (channel.py):

    "pcs/root"            every matrix's root (32 bytes each)
    (challenge)           gamma in K^(rows), "pcs/proximity"
    "pcs/proximity-row"   v = gamma^T U (k extension elements)
    "pcs/row/j"           u_j = w_j^T U for every requested combination j
    (challenge)           t column indices, "pcs/queries"
    "pcs/columns"         per matrix, the distinct opened encoded columns (R base elements)
    "pcs/merkle"          per matrix, the Merkle multiproof of those columns

An evaluation of the committed MLE at (r_rows, r_cols) is the combination w = eq(r_rows)
(the first R entries) followed by the inner product <u, eq(r_cols)>: ``open_evaluations``.

Hiding mode (``commit(..., hiding=True)``; PROTOCOL.md, "Hiding mode"). Each data row's
message is its k entries and then k uniform ones, so n = 2k * blowup; ``mask_rows`` uniform
extension rows (four base rows each, coefficient l of row i in base row R + 4 i + l) follow
the data rows (extension rows, because the combinations they mask are extension vectors: a
base row would hide one coordinate in four); every leaf is salted. Why t <= k opened symbols
of a data row are uniform whatever its data: the symbol at the evaluation point x_q = omega^q
is A(x_q) + x_q^k P(x_q), A the data's polynomial and P the random half's (degree < k). For s <= k
distinct points the map from P's k coefficients to (x_q^k P(x_q))_q is diag(x_q^k) times an
s x k Vandermonde matrix: the points are distinct, so the Vandermonde matrix has rank s, and
none is zero, so the diagonal is invertible; the map is onto F_p^s and the s symbols are
uniform and independent of A. ``commit`` therefore requires k >= t.

``open_products`` proves products y_j = sum_M w_{j,M}^T U_M e_j (row weights per matrix,
column weights e_j (4, k)). In hiding mode, messages in order:

    "pcs/root"              every matrix's root
    (challenge)             gamma over every committed row, "pcs/proximity" (the first
                            matrix's mask row 0 is weighted by 1 instead: params.proximity_weights)
    "pcs/proximity-row"     v = gamma^T U + m_0 (2k extension elements)
    for each product j:
      "pcs/mask-value/j"    mu_j = <m_{j+1}[:k], e_j>
      (challenge)           zeta_j, "pcs/mask-weight/j"
      "pcs/row/j"           u_j = sum_M w_{j,M}^T U_M + zeta_j m_{j+1} (2k entries)
    (challenge)             t column indices, "pcs/queries"
    per matrix: "pcs/columns" (every committed row), "pcs/salts", "pcs/merkle"

and y_j = <u_j[:k], e_j> - zeta_j mu_j (the m_i are the first matrix's mask rows). Without
hiding, ``open_products`` is ``open_combinations`` (the messages above) and
y_j = <u_j, e_j>. ``product_messages`` computes the hiding messages for given challenges: the
prover's view as a function of the matrices (data and randomness) alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from provers.gkr import field as F
from provers.gkr.field import _serial
from provers.gkr.pcs import ntt
from provers.gkr.pcs.merkle import SALT_BYTES, MerkleTree, hash_columns
from provers.gkr.pcs.params import (
    DEFAULT,
    Commitment,
    LigeroParams,
    proximity_weights,
    query_indices,
)

_LIMB = 1 << 15


@dataclass(frozen=True, eq=False)
class CommittedMatrix:
    """The prover's side of a commitment: the matrix (as signed integers, |entry| < p/2),
    its encoded columns and its Merkle tree."""

    commitment: Commitment
    values: np.ndarray
    """(R, k) int32 (every entry is below p/2 < 2^31 in magnitude): the data."""
    columns: np.ndarray
    """(n, committed rows) uint32: encoded column j is row j (contiguous: a Merkle leaf)."""
    tree: MerkleTree
    message: np.ndarray | None = None
    """Hiding only: (committed rows, 2k) int32, every committed row's Reed-Solomon message
    (data rows with their random halves, then the mask rows); ``values`` is a view of it."""
    salts: np.ndarray | None = None
    """Hiding only: (n, SALT_BYTES) uint8, the salt of every leaf."""

    def mask_row(self, index: int) -> np.ndarray:
        """Mask row ``index`` as an extension vector (4, 2k) (hiding only)."""
        if self.message is None:
            raise ValueError("ligero: a non-hiding commitment has no mask rows")
        return F.encode(self.message[self.commitment.mask_slice(index)])

    def combine(self, weights: np.ndarray, row0: int = 0) -> np.ndarray:
        """w^T U for an extension vector w (4, R): (4, k); with ``row0``, w covers only the
        rows row0, row0 + 1, ... (the others weigh zero)."""
        return self.combine_many([weights], row0)[0]

    def combine_many(self, weights: list[np.ndarray], row0: int = 0) -> list[np.ndarray]:
        """w_j^T U for several extension vectors w_j (4, count) over the same data rows
        row0..row0 + count - 1 (``combine_rows``)."""
        return combine_rows(self.values, weights, row0)

    def apply(self, col_weights: np.ndarray) -> np.ndarray:
        """U e for an extension vector e (4, k): (4, R), one entry per row."""
        e = F._as_ext(col_weights)
        if e.shape != (F.EXT_DEGREE, self.commitment.cols):
            raise ValueError(f"ligero: column weights {e.shape} for {self.commitment.cols} "
                             "columns")
        parts = []
        step = max(1, _BLOCK // self.commitment.cols)
        for start in range(0, self.commitment.rows, step):
            block = self.values[start:start + step]
            parts.append(_small_product(block, lambda m: F.ext_small_matvec(m, e,
                                                                            check=False)))
        return np.concatenate(parts, axis=1)


def combine_rows(values: np.ndarray, weights: list[np.ndarray], row0: int = 0
                 ) -> list[np.ndarray]:
    """w_j^T values for a signed integer matrix (entries below p/2 in magnitude) and several
    extension vectors w_j (4, count) over the same rows row0..row0 + count - 1, in one BLAS
    product per block of rows for all of them (exact: see _limb_rows) and one reduction at
    the end; blocks bound the temporary float copy."""
    ws = [F._as_ext(w) for w in weights]
    count = ws[0].shape[1] if ws else 0
    rows, k = values.shape
    if (any(w.ndim != 2 or w.shape[1] != count for w in ws) or row0 < 0
            or row0 + count > rows):
        raise ValueError(f"ligero: row weights {[w.shape for w in ws]} from row {row0} "
                         f"for {rows} rows")
    if not ws:
        return []
    if count >= _MAX_ROWS:
        raise ValueError(f"ligero: {count} rows in one combination; sums over at most "
                         f"{_MAX_ROWS} rows are exact in float64")
    acc: list[np.ndarray | None] = [None, None]
    step = max(1, _BLOCK // k)
    for start in range(0, count, step):
        block = values[row0 + start:row0 + min(start + step, count)]
        limbs = np.concatenate([_limb_rows(w[:, start:start + block.shape[0]])
                                for w in ws])
        for part, m in enumerate(_value_limbs(block)):
            if m is not None:
                product = limbs @ m
                acc[part] = product if acc[part] is None else acc[part] + product
    return _reduce_limb_sums(acc, len(ws), k)


_BLOCK = 1 << 21
"""Matrix entries converted to float64 at a time (16 MiB)."""
_MAX_ROWS = 1 << 21
"""Products of 16-bit limbs and 15-bit values summed over fewer rows stay below 2^53."""


def _limb_rows(w: np.ndarray) -> np.ndarray:
    """(4, r) canonical extension weights -> (8, r) float64: low then high 16-bit limbs of
    each coefficient. Times integers below 2^15 in magnitude, a sum over r < 2^22 rows of
    such products stays below 2^53 in magnitude: exact in float64."""
    return np.concatenate([(w & np.uint64(0xFFFF)).astype(np.float64),
                           (w >> np.uint64(16)).astype(np.float64)])


def _value_limbs(block: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """An integer block (entries below p/2 < 2^30 in magnitude) as float64 limbs below 2^15:
    (lo, hi) with block = lo + 2^15 hi, hi None when every entry is already small."""
    if not block.size or int(np.abs(block).max()) < _LIMB:
        return block.astype(np.float64), None
    hi, lo = np.divmod(block.astype(np.int64), _LIMB)
    return lo.astype(np.float64), hi.astype(np.float64)


@_serial
def _reduce_sums(lo, hi, out):
    """out[4 j + l] = (lo-part + 2^15 hi-part) mod p for combination j, coefficient l, where
    a part's value is its low-limb sum (row 8 j + l) + 2^16 its high-limb sum (8 j + 4 + l).
    Sums are exact integers below 2^53 in float64; hi has no rows when absent."""
    count = out.shape[0] // 4
    k = out.shape[1]
    p = np.int64(F.P)
    for j in range(count):
        for c in range(4):
            for col in range(k):
                a = np.int64(lo[8 * j + c, col]) % p
                b = np.int64(lo[8 * j + 4 + c, col]) % p
                v = (a + b * 65536) % p
                if hi.shape[0]:
                    a = np.int64(hi[8 * j + c, col]) % p
                    b = np.int64(hi[8 * j + 4 + c, col]) % p
                    v = (v + ((a + b * 65536) % p) * 32768) % p
                out[4 * j + c, col] = np.uint64(v)


def _reduce_limb_sums(acc: list[np.ndarray | None], count: int, k: int) -> list[np.ndarray]:
    """acc = [lo-part sums, hi-part sums or None], each (8 count, k): -> count canonical
    (4, k) vectors (_reduce_sums)."""
    lo = acc[0] if acc[0] is not None else np.zeros((8 * count, k))
    hi = acc[1] if acc[1] is not None else np.zeros((0, k))
    out = np.empty((F.EXT_DEGREE * count, k), np.uint64)
    if F.BACKEND == "numba":
        _reduce_sums(np.ascontiguousarray(lo), np.ascontiguousarray(hi), out)
    else:  # the same arithmetic, vectorised
        p = np.int64(F.P)
        total = np.zeros((count, F.EXT_DEGREE, k), np.int64)
        for part, sums in enumerate((lo, hi)):
            if sums.shape[0]:
                r = np.mod(sums.astype(np.int64), p).reshape(count, 2, F.EXT_DEGREE, k)
                coef = (r[:, 0] + r[:, 1] * 65536) % p
                total = (total + coef * (1 << (15 * part))) % p
        out[:] = total.reshape(F.EXT_DEGREE * count, k)
    return [out[F.EXT_DEGREE * j:F.EXT_DEGREE * (j + 1)] for j in range(count)]


def _small_product(block: np.ndarray, product) -> np.ndarray:
    """``product`` (a linear map of a small-integer float64 matrix to an extension vector)
    applied to an integer block whose entries may exceed 2^15: split into 15-bit limbs."""
    lo, hi = _value_limbs(block)
    if hi is None:
        return product(lo)
    return F.ext_add(F.ext_mul_base(product(hi), np.uint64(_LIMB)), product(lo))


def _data_matrix(values: np.ndarray, cols: int) -> np.ndarray:
    """The signed integer vector ``values`` zero-padded to a multiple of ``cols``, as an
    (R, cols) int32 matrix (R >= 1)."""
    flat = np.asarray(values, dtype=np.int64).reshape(-1)
    if cols <= 0 or cols & (cols - 1):
        raise ValueError(f"ligero: {cols} columns is not a power of two")
    if flat.size and int(np.abs(flat).max()) >= F.P // 2:
        raise ValueError("ligero: entries outside the field's signed range")
    rows = max(-(-flat.size // cols), 1)
    matrix = np.zeros(rows * cols, np.int32)
    matrix[: flat.size] = flat
    return matrix.reshape(rows, cols)


def commit(values: np.ndarray, cols: int, params: LigeroParams = DEFAULT, *,
           hiding: bool = False, mask_rows: int = 2,
           rng: np.random.Generator | None = None) -> CommittedMatrix:
    """Commit to the signed integer vector ``values`` (zero-padded to a multiple of ``cols``)
    as a matrix with ``cols`` columns. With ``hiding``, every row's message gets ``cols``
    random entries, ``mask_rows`` random extension rows follow (mask row 0 masks the
    proximity row, each other one a product: ``open_products``) and the leaves are salted;
    the randomness comes from the operating system, or from ``rng`` (for reproducible
    tests only: a seeded generator hides nothing)."""
    matrix = _data_matrix(values, cols)
    if hiding:
        randomness = HidingRandomness.draw(matrix.shape[0], cols, mask_rows, params, rng)
        return commit_hiding(values, cols, params, randomness)
    columns = ntt.rs_encode_columns(matrix, params.blowup)
    tree = MerkleTree(hash_columns(columns))
    return CommittedMatrix(Commitment(tree.root, matrix.shape[0], cols, params), matrix,
                           columns, tree)


def _uniform_signed(shape: tuple[int, ...], rng: np.random.Generator | None) -> np.ndarray:
    """Uniform field elements as int32 in [-(p-1)/2, (p-1)/2] (every residue once). Without
    ``rng``, from os.urandom: 32-bit words below 2p (each residue twice) reduced mod p."""
    count = int(np.prod(shape, dtype=np.int64))
    if rng is not None:
        out = rng.integers(-(F.P // 2), F.P // 2 + 1, count, dtype=np.int64)
        return out.astype(np.int32).reshape(shape)
    return F.decode(F.secure_random(count)).astype(np.int32).reshape(shape)


@dataclass(frozen=True, eq=False)
class HidingRandomness:
    """The secret randomness of a hiding commitment: field elements as signed integers in
    [-(p-1)/2, (p-1)/2], and the leaves' salts."""

    pads: np.ndarray
    """(R, k): the random second half of every data row's message."""
    masks: np.ndarray
    """(4 mask_rows, 2k): the mask rows, coefficient l of mask row i in base row 4 i + l."""
    salts: np.ndarray
    """(2k * blowup, SALT_BYTES) uint8."""

    @classmethod
    def draw(cls, rows: int, cols: int, mask_rows: int, params: LigeroParams = DEFAULT,
             rng: np.random.Generator | None = None) -> HidingRandomness:
        """Fresh randomness for a hiding commitment of ``rows`` x ``cols`` data."""
        leaves = 2 * cols * params.blowup
        if rng is None:
            salts = np.frombuffer(os.urandom(leaves * SALT_BYTES), np.uint8)
        else:
            salts = rng.integers(0, 256, leaves * SALT_BYTES, dtype=np.uint8)
        return cls(_uniform_signed((rows, cols), rng),
                   _uniform_signed((F.EXT_DEGREE * max(mask_rows, 0), 2 * cols), rng),
                   salts.reshape(leaves, SALT_BYTES))


def commit_hiding(values: np.ndarray, cols: int, params: LigeroParams,
                  randomness: HidingRandomness) -> CommittedMatrix:
    """The hiding commitment of ``values`` with the given randomness (``commit`` draws it):
    data rows [data | pad], then the mask rows, encoded at message length 2k, salted
    leaves."""
    matrix = _data_matrix(values, cols)
    rows = matrix.shape[0]
    if cols < params.queries:
        raise ValueError(f"ligero: a hiding commitment needs at least as many columns as "
                         f"column queries (cols={cols}, queries={params.queries}): t opened "
                         "symbols of a row are uniform only when t <= cols")
    pads, masks = randomness.pads, randomness.masks
    if (pads.shape != (rows, cols) or masks.ndim != 2 or masks.shape[1] != 2 * cols
            or masks.shape[0] % F.EXT_DEGREE):
        raise ValueError(f"ligero: hiding randomness pads {pads.shape}, masks {masks.shape} "
                         f"for {rows} rows of {cols} columns")
    for name, a in (("pads", pads), ("masks", masks)):
        if a.size and int(np.abs(a.astype(np.int64)).max()) > F.P // 2:
            raise ValueError(f"ligero: hiding {name} outside the field's signed range")
    mask_rows = masks.shape[0] // F.EXT_DEGREE
    message = np.empty((rows + masks.shape[0], 2 * cols), np.int32)
    message[:rows, :cols] = matrix
    message[:rows, cols:] = pads
    message[rows:] = masks
    columns = ntt.rs_encode_columns(message, params.blowup)
    tree = MerkleTree(hash_columns(columns, randomness.salts))
    commitment = Commitment(tree.root, rows, cols, params, hiding=True, mask_rows=mask_rows)
    return CommittedMatrix(commitment, message[:rows, :cols], columns, tree,
                           message=message, salts=np.asarray(randomness.salts, np.uint8))


def _check_same_shape(matrices: list[CommittedMatrix]) -> tuple[int, LigeroParams]:
    first = matrices[0].commitment
    for m in matrices[1:]:
        if m.commitment.cols != first.cols or m.commitment.params != first.params:
            raise ValueError("ligero: matrices opened together need the same columns and "
                             "parameters")
        if m.commitment.hiding != first.hiding:
            raise ValueError("ligero: matrices opened together are all hiding or none")
    return first.cols, first.params


def open_combinations(matrices: list[CommittedMatrix], combinations: list[list[np.ndarray]],
                      channel) -> list[np.ndarray]:
    """Prove u_j = sum_m w_{j,m}^T U_m for every combination j (one (4, R_m) weight vector
    per matrix) with one set of column queries. Returns the u_j (4, k) it sent."""
    cols, params = _check_same_shape(matrices)
    if matrices[0].commitment.hiding:
        raise ValueError("ligero: hiding commitments are opened with open_products")
    for m in matrices:
        channel.send_bytes("pcs/root", m.commitment.root)
    total_rows = sum(m.commitment.rows for m in matrices)
    gamma = channel.challenges("pcs/proximity", total_rows)
    for j, weights in enumerate(combinations):
        if len(weights) != len(matrices):
            raise ValueError(f"ligero: combination {j} has {len(weights)} weight vectors for "
                             f"{len(matrices)} matrices")
    # One pass over each matrix gives its share of the proximity row and of every
    # combination.
    proximity = F.ext_zero((cols,))
    rows_sent = [F.ext_zero((cols,)) for _ in combinations]
    pos = 0
    for i, m in enumerate(matrices):
        ws = [w[i] for w in combinations]
        for j, w in enumerate(ws):
            if np.shape(w) != (F.EXT_DEGREE, m.commitment.rows):
                raise ValueError(f"ligero: combination {j} has weights of shape "
                                 f"{np.shape(w)} for {m.commitment.rows} rows")
        parts = m.combine_many([gamma[:, pos:pos + m.commitment.rows], *ws])
        pos += m.commitment.rows
        proximity = F.ext_add(proximity, parts[0])
        rows_sent = [F.ext_add(u, part) for u, part in zip(rows_sent, parts[1:], strict=True)]
    channel.send_ext("pcs/proximity-row", proximity)
    for j, u in enumerate(rows_sent):
        channel.send_ext(f"pcs/row/{j}", u)
    n = cols * params.blowup
    opened = sorted(set(query_indices(channel, params.queries, n)))
    for m in matrices:
        channel.send_base("pcs/columns", m.columns[opened].reshape(-1))
        channel.send_bytes("pcs/merkle", b"".join(m.tree.open(opened)))
    return rows_sent


Product = tuple[list[np.ndarray], np.ndarray]
"""A product sum_M w_M^T U_M e: (row weights w_M, one (4, R_M) per matrix; column weights e,
(4, k), or for hiding matrices (4, k) or (4, 2k): over the whole message, random half
included, which then masks the product's value itself)."""


def _check_products(matrices: list[CommittedMatrix], products: list[Product]) -> None:
    first = matrices[0].commitment
    for j, (weights, e) in enumerate(products):
        if len(weights) != len(matrices):
            raise ValueError(f"ligero: product {j} has {len(weights)} weight vectors for "
                             f"{len(matrices)} matrices")
        for m, w in zip(matrices, weights, strict=True):
            if np.shape(w) != (F.EXT_DEGREE, m.commitment.rows):
                raise ValueError(f"ligero: product {j} has row weights of shape "
                                 f"{np.shape(w)} for {m.commitment.rows} rows")
        lengths = (first.cols, first.message_len) if first.hiding else (first.cols,)
        if np.ndim(e) != 2 or np.shape(e)[0] != F.EXT_DEGREE or np.shape(e)[1] not in lengths:
            raise ValueError(f"ligero: product {j} has column weights of shape {np.shape(e)} "
                             f"for {first.cols} columns")
    if first.hiding and len(products) > first.mask_rows - 1:
        raise ValueError(f"ligero: {len(products)} products need {len(products) + 1} mask "
                         f"rows (one for the proximity row); the first matrix has "
                         f"{first.mask_rows}")


def _padded(weights: np.ndarray, rows: int) -> np.ndarray:
    """Data-row weights (4, R) extended by zeros to ``rows`` committed rows."""
    out = F.ext_zero((rows,))
    out[:, :weights.shape[1]] = weights
    return out


def _hiding_combinations(matrices: list[CommittedMatrix], products: list[Product],
                         gamma: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """The proximity row v = gamma^T U + m_0 (params.proximity_weights) and the unmasked
    sum_M w_{j,M}^T U_M over the full messages (2k entries), in one pass over each
    matrix."""
    gammas = proximity_weights([m.commitment for m in matrices], gamma)
    length = 2 * matrices[0].commitment.cols
    proximity = F.ext_zero((length,))
    partial = [F.ext_zero((length,)) for _ in products]
    for i, m in enumerate(matrices):
        rows = m.commitment.committed_rows
        ws = [_padded(F._as_ext(weights[i]), rows) for weights, _ in products]
        parts = combine_rows(m.message, [gammas[i], *ws])
        proximity = F.ext_add(proximity, parts[0])
        partial = [F.ext_add(u, part) for u, part in zip(partial, parts[1:], strict=True)]
    return proximity, partial


def _mask_value(mask: np.ndarray, col_weights: np.ndarray) -> np.ndarray:
    """mu = <m[:k], e>: the mask row's share of a product, sent before zeta is drawn."""
    return F.ext_dot(col_weights, mask[:, :col_weights.shape[1]])


def _masked_row(partial: np.ndarray, zeta: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """u = sum_M w_M^T U_M + zeta m."""
    return F.ext_add(partial, F.ext_mul(zeta, mask))


@dataclass(frozen=True, eq=False)
class ProductMessages:
    """The field elements a hiding products opening sends (besides roots, salts and Merkle
    nodes), in ``open_products``'s order."""

    proximity: np.ndarray
    """v (4, 2k)."""
    mask_values: list[np.ndarray]
    """mu_j (4,)."""
    rows: list[np.ndarray]
    """u_j (4, 2k)."""
    columns: list[np.ndarray]
    """Per matrix, the distinct opened encoded columns (q, committed rows) uint32."""


def product_messages(matrices: list[CommittedMatrix], products: list[Product],
                     gamma: np.ndarray, zetas: list[np.ndarray], opened: list[int]
                     ) -> ProductMessages:
    """The messages of a hiding ``open_products`` for given challenges (gamma (4, committed
    rows of all matrices), one zeta_j (4,) per product, the sorted distinct opened columns):
    the prover's view as a pure function of the committed matrices (data and randomness).
    ``open_products`` sends exactly these, its challenges drawn from the transcript."""
    _check_same_shape(matrices)
    _check_products(matrices, products)
    if not matrices[0].commitment.hiding:
        raise ValueError("ligero: product_messages describes a hiding opening")
    proximity, partial = _hiding_combinations(matrices, products, gamma)
    mus, rows = [], []
    for j, ((_, e), zeta) in enumerate(zip(products, zetas, strict=True)):
        mask = matrices[0].mask_row(j + 1)
        mus.append(_mask_value(mask, e))
        rows.append(_masked_row(partial[j], zeta, mask))
    return ProductMessages(proximity, mus, rows, [m.columns[opened] for m in matrices])


def open_products(matrices: list[CommittedMatrix], products: list[Product], channel
                  ) -> list[np.ndarray]:
    """Prove y_j = sum_M w_{j,M}^T U_M e_j for every product j with one set of column
    queries; returns the y_j (4,). Hiding matrices (all or none of them) are opened in zero
    knowledge: only the y_j are revealed (module docstring); the first matrix needs one mask
    row per product and one more. Non-hiding ones through ``open_combinations``."""
    cols, params = _check_same_shape(matrices)
    _check_products(matrices, products)
    if not matrices[0].commitment.hiding:
        rows = open_combinations(matrices, [weights for weights, _ in products], channel)
        return [F.ext_dot(e, u) for (_, e), u in zip(products, rows, strict=True)]
    for m in matrices:
        channel.send_bytes("pcs/root", m.commitment.root)
    gamma = channel.challenges("pcs/proximity",
                               sum(m.commitment.committed_rows for m in matrices))
    proximity, partial = _hiding_combinations(matrices, products, gamma)
    channel.send_ext("pcs/proximity-row", proximity)
    values = []
    for j, (_, e) in enumerate(products):
        mask = matrices[0].mask_row(j + 1)
        channel.send_ext(f"pcs/mask-value/{j}", _mask_value(mask, e))
        zeta = channel.challenge(f"pcs/mask-weight/{j}")
        channel.send_ext(f"pcs/row/{j}", _masked_row(partial[j], zeta, mask))
        values.append(F.ext_dot(e, partial[j][:, :e.shape[1]]))
    n = matrices[0].commitment.encoded_len
    opened = sorted(set(query_indices(channel, params.queries, n)))
    for m in matrices:
        channel.send_base("pcs/columns", m.columns[opened].reshape(-1))
        channel.send_bytes("pcs/salts", m.salts[opened].tobytes())
        channel.send_bytes("pcs/merkle", b"".join(m.tree.open(opened)))
    return values


def open_evaluations(matrix: CommittedMatrix, points: list[np.ndarray], channel
                     ) -> list[np.ndarray]:
    """Prove the committed MLE's values at ``points`` (each (4, row_vars + col_vars)), all
    with one set of column queries; returns the values (the caller's claims). A hiding
    matrix is opened with ``open_products`` (one mask row per point, and one more)."""
    c = matrix.commitment
    if c.hiding:
        return open_products([matrix], [([c.row_weights(p)], c.col_weights(p))
                                        for p in points], channel)
    combos = [[c.row_weights(p)] for p in points]
    rows = open_combinations([matrix], combos, channel)
    return [F.ext_dot(c.col_weights(p), u)
            for p, u in zip(points, rows, strict=True)]


def warmup() -> None:
    """Compile (or load from numba's cache) the encoder and the reduction outside timed
    stages."""
    ntt.warmup()
    _reduce_limb_sums([np.zeros((8, 4)), np.zeros((8, 4))], 1, 4)

"""Ligero's parameters: code rate, number of column openings, matrix shape, and the security
calculation that fixes them. Shared by the prover (``ligero``) and the verifier.

The argument (Ligero, Ames-Hazay-Ishai-Venkitasubramaniam, CCS 2017, section 4; as a
polynomial commitment in Brakedown, Golovnev-Lee-Setty-Thaler-Wahby, CRYPTO 2023, section 4).
The committed matrix U (R rows of k coefficients) is encoded row by row with the Reed-Solomon
code RS[n = k / rho, k] (minimum distance d = n - k + 1), and the encoded columns are Merkle
leaves. The verifier draws gamma in K^R; the prover sends v = gamma^T U. For every row
combination w the verifier asks about, the prover sends u = w^T U. The verifier opens t
columns j drawn uniformly (with replacement) and checks Enc(v)_j = gamma^T col_j and
Enc(u)_j = w^T col_j.

Soundness, for e = floor((n - k) / 2) (unique decoding radius, delta = e / n = (1 - rho) / 2
when n - k is even, as it is here):

1. If the encoded matrix is more than e-far from every matrix of codewords, gamma^T U_enc is
   e-far from the code except with probability at most n / |K| (proximity gaps for
   Reed-Solomon codes in the unique decoding regime: Ben-Sasson-Carmon-Ishai-Kopparty-Saraf,
   FOCS 2020, Theorem 1.2 and its extension to affine spaces, Theorem 1.6/4.1; the generic
   bound for any linear code, e < d/3 with error (e + 1) / |K|, is Ligero's Lemma 4.2 as
   revised in ePrint 2022/1608, used by Brakedown). Then Enc(v) and gamma^T U_enc differ on
   more than e of the n columns, and t uniform openings all miss them with probability at
   most (1 - delta)^t.
2. Otherwise U_enc decodes uniquely to U'. If u != w^T U', Enc(u) and w^T U'_enc are distinct
   codewords (d apart) and w^T U_enc is within e of the latter, so Enc(u) and w^T U_enc differ
   on at least d - e > e columns: again missed with probability at most (1 - delta)^t.

So the error is at most n / |K| + (1 - delta)^t. At rate 1/4 (delta = 3/8) and t = 148,
(5/8)^148 = 2^-100.35, and n / |K| = n / 2^123.6 adds little for the encoded lengths used
here (n <= 2^21 keeps the sum below 2^-100; ``security_bits`` computes it exactly); at
rate 1/2 (delta = 1/4) 100 bits need t = 241. The default takes t = 150, (5/8)^150 = 2^-101.7,
so that the circuit's own error fits beside it within 100 bits: LogUp's range checks add one
term over |K| per looked-up limb (2^22.4 of them for the 128-tree forest, 2^-101.3).
We use rate 1/4: its 150 openings give smaller
proofs than 241 at rate 1/2 for the cost of a twice longer encoding (done once, in setup).
``conservative()`` is the alternative that assumes only the generic bound (delta = (1 - rho)/3:
t = 241 at rate 1/4). The query indices are drawn from the transcript (Fiat-Shamir), after
every row message is absorbed.

Hiding mode (``ligero.commit(..., hiding=True)``; PROTOCOL.md, "Hiding mode"). Each data row's
message is its k entries followed by k random ones (message length 2k, encoded length
n = 2k / rho), and ``mask_rows`` random extension rows (four committed base rows each) are
appended. The proximity row gets mask row 0 with fixed coefficients (the basis 1, x, x^2, x^3
of K over F_p, i.e. the extension row itself with weight 1) and a random gamma on every other
committed row: the combinations form an affine space, to which the proximity gap of BCIKS20
Theorem 1.6 applies with the same n / |K|, so step 1 above is unchanged. A product
y_j = <w_j^T U, e_j> is opened with mask row j: the prover sends mu_j = <m_j[:k], e_j>, the
verifier then draws zeta_j and receives u_j = w_j^T U + zeta_j m_j, and takes
y_j = <u_j[:k], e_j> - zeta_j mu_j. Step 2 makes u_j the decoded combination; if mu_j is not
the decoded mask row's value, y_j is a non-constant affine function of zeta_j, drawn after
mu_j and after the claim is fixed, so it hits the claim with probability at most 1 / |K|.
``hiding_error`` adds these terms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from provers.gkr import field as F
from provers.gkr import mle

K_BITS = F.EXT_DEGREE * math.log2(F.P)


@dataclass(frozen=True)
class LigeroParams:
    blowup: int = 4
    """1 / rate of the Reed-Solomon code."""
    queries: int = 150
    """Column openings t (148 reach 100 bits alone; see the module for the 2 more)."""
    radius_divisor: int = 2
    """delta = (1 - rate) / radius_divisor: 2 for RS codes' unique decoding radius (BCIKS20),
    3 for the generic bound of Ligero / Brakedown."""

    @property
    def delta(self) -> float:
        return (1 - 1 / self.blowup) / self.radius_divisor

    def query_error_bits(self) -> float:
        """-log2 (1 - delta)^t: the column-opening part of the error."""
        return -self.queries * math.log2(1 - self.delta)

    def error(self, encoded_len: int) -> float:
        """The commitment's soundness error, n / |K| + (1 - delta)^t (see the module)."""
        return encoded_len / 2.0**K_BITS + 2.0 ** -self.query_error_bits()

    def security_bits(self, encoded_len: int) -> int:
        return math.floor(-math.log2(self.error(encoded_len)))

    def hiding_error(self, encoded_len: int, products: int) -> float:
        """The soundness error of a hiding opening of ``products`` products: the
        commitment's error (the masked proximity row changes nothing in it) plus 1 / |K| per
        product for its mask challenge zeta_j (see the module)."""
        return self.error(encoded_len) + products / 2.0**K_BITS

    @classmethod
    def for_bits(cls, bits: int, blowup: int = 4, radius_divisor: int = 2) -> LigeroParams:
        """The fewest openings that reach ``bits`` of query soundness at this rate."""
        delta = (1 - 1 / blowup) / radius_divisor
        queries = math.ceil(bits / -math.log2(1 - delta))
        return cls(blowup=blowup, queries=queries, radius_divisor=radius_divisor)

    @classmethod
    def conservative(cls, bits: int = 100, blowup: int = 4) -> LigeroParams:
        return cls.for_bits(bits, blowup, radius_divisor=3)


DEFAULT = LigeroParams()


def choose_cols(entries: int, params: LigeroParams = DEFAULT, opened_rows: int = 2) -> int:
    """The number of columns (a power of two) that minimises the estimated opening size for a
    matrix of ``entries`` field elements: t columns of R base elements (4 bytes each) against
    ``opened_rows`` extension rows of k entries (16 bytes each) and the Merkle multiproof."""
    best, best_bytes = 1, None
    for log_cols in range(0, 27 - max(params.blowup.bit_length() - 1, 0) + 1):
        cols = 1 << log_cols
        rows = -(-entries // cols)
        depth = log_cols + params.blowup.bit_length() - 1
        merkle = params.queries * max(depth - int(math.log2(params.queries)), 0) * 32
        size = 4 * params.queries * rows + 16 * opened_rows * cols + merkle
        if best_bytes is None or size < best_bytes:
            best, best_bytes = cols, size
        if cols >= entries:
            break
    return best


@dataclass(frozen=True)
class Commitment:
    """What the verifier holds about a committed matrix: the Merkle root of its encoded
    columns and its shape. ``rows`` need not be a power of two: the committed vector has
    rows * cols entries, and its MLE has ceil(log2 rows) + log2 cols variables, rows
    beyond ``rows`` being zero."""

    root: bytes
    rows: int
    cols: int
    params: LigeroParams = DEFAULT
    hiding: bool = False
    """Whether every data row's message carries ``cols`` random entries after its data, and
    ``mask_rows`` random extension rows follow the data rows (PROTOCOL.md, "Hiding mode")."""
    mask_rows: int = 0
    """Random extension rows after the data rows (hiding only), four base rows each."""

    @property
    def message_len(self) -> int:
        """Entries of each committed row's Reed-Solomon message: k, or 2k when hiding."""
        return 2 * self.cols if self.hiding else self.cols

    @property
    def committed_rows(self) -> int:
        """Base rows in the Merkle leaves: the data rows, then four per mask row."""
        return self.rows + F.EXT_DEGREE * self.mask_rows

    @property
    def encoded_len(self) -> int:
        return self.message_len * self.params.blowup

    def mask_slice(self, index: int) -> slice:
        """The four committed base rows of mask row ``index``: coefficient l of the extension
        row is base row l of the slice (hiding only)."""
        if not 0 <= index < self.mask_rows:
            raise ValueError(f"ligero: mask row {index} of a commitment with {self.mask_rows}")
        start = self.rows + F.EXT_DEGREE * index
        return slice(start, start + F.EXT_DEGREE)

    @property
    def row_vars(self) -> int:
        return max(self.rows - 1, 0).bit_length()

    @property
    def col_vars(self) -> int:
        return self.cols.bit_length() - 1

    def row_weights(self, point: np.ndarray) -> np.ndarray:
        """eq(r_rows, i) for the R rows: the row combination of an evaluation at ``point``
        (4, row_vars + col_vars)."""
        r_rows = np.asarray(point, np.uint64)[:, : self.row_vars]
        return np.ascontiguousarray(mle.eq_table(r_rows)[:, : self.rows])

    def col_weights(self, point: np.ndarray) -> np.ndarray:
        """eq(r_cols, j) for the k columns: an evaluation is <u, col_weights>."""
        return mle.eq_table(np.asarray(point, np.uint64)[:, self.row_vars:])

    def to_bytes(self) -> bytes:
        """Absorbed into the transcript before any challenge that depends on it. A hiding
        commitment appends its flag and mask rows (a non-hiding one's bytes are those of the
        format without them)."""
        p = self.params
        fields = [self.rows, self.cols, p.blowup, p.queries, p.radius_divisor]
        if self.hiding:
            fields += [1, self.mask_rows]
        return self.root + b"".join(int(x).to_bytes(8, "little") for x in fields)


def proximity_weights(commitments: list[Commitment], gamma: np.ndarray) -> list[np.ndarray]:
    """The proximity row's weights on every committed row, per matrix: gamma (4, total
    committed rows) split by matrix, except that a hiding opening's first matrix has its
    mask row 0 weighted by the basis 1, x, x^2, x^3 of K over F_p (its base rows' weights are
    then the 4 x 4 identity): the extension row m_0 enters with coefficient 1 and masks the
    proximity row (PROTOCOL.md, "Hiding mode")."""
    out, pos = [], 0
    for c in commitments:
        out.append(np.array(gamma[:, pos:pos + c.committed_rows], np.uint64))
        pos += c.committed_rows
    if pos != gamma.shape[1]:
        raise ValueError(f"ligero: {gamma.shape[1]} proximity weights for {pos} rows")
    first = commitments[0]
    if first.hiding:
        out[0][:, first.mask_slice(0)] = np.eye(F.EXT_DEGREE, dtype=np.uint64)
    return out


def query_indices(channel, queries: int, encoded_len: int) -> list[int]:
    """``queries`` column indices, uniform in [0, encoded_len) and drawn with replacement,
    from the transcript: the coefficients of extension challenges (uniform in [0, p)) masked
    to log2(encoded_len) bits. p = 1 mod 2^27, so every residue has p // n preimages but
    residue 0, which has one more: statistical distance 1/p per index."""
    coeffs = channel.challenges("pcs/queries", -(-queries // F.EXT_DEGREE))
    flat = coeffs.T.reshape(-1)[:queries]
    return [int(x) & (encoded_len - 1) for x in flat]

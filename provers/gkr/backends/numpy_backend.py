"""The ``cpu`` backend: numpy and the numba kernels of field.py, mle.py and sumcheck.py.

Each method is the prover's CPU code as it is called from the layers (no copies, no extra
conversions), so choosing this backend costs nothing over calling those modules directly.
It is also the reference the other backends are tested against (tests/gkr/test_backend.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from provers.gkr import field as F
from provers.gkr import mle, sumcheck
from provers.gkr import tensor as T
from provers.gkr.transcript import Transcript


class NumpyBackend:
    name = "cpu"

    def table(self, values: np.ndarray) -> np.ndarray:
        return T.encode(values)

    def eq_table(self, point: np.ndarray) -> np.ndarray:
        return mle.eq_table(point)

    def eq_combination(self, points: Sequence[np.ndarray],
                       coeffs: Sequence[np.ndarray]) -> np.ndarray:
        weight = None
        for z, c in zip(points, coeffs, strict=True):
            term = F.ext_mul(c, mle.eq_table(z))
            weight = term if weight is None else F.ext_add(weight, term)
        return weight

    def scatter(self, weights: np.ndarray, targets: np.ndarray, sources: np.ndarray,
                size: int) -> np.ndarray:
        w = np.empty((F.EXT_DEGREE, size), np.uint64)
        for k in range(F.EXT_DEGREE):
            # Exact: each weight < 2^31 and far fewer than 2^22 targets share a source.
            sums = np.bincount(sources, weights=weights[k, targets].astype(np.float64),
                               minlength=size)
            w[k] = np.mod(sums.astype(np.uint64), np.uint64(F.P))
        return w

    def row_combination(self, m: np.ndarray, e: np.ndarray) -> np.ndarray:
        if m.size and int(np.abs(m).max()) < T.SMALL:
            return F.ext_matvec_small(m.astype(np.float64), e, check=False)
        return F.ext_matvec(F.encode(m.T.reshape(-1)).reshape(m.shape[1], m.shape[0]), e)

    def col_combination(self, m: np.ndarray, e: np.ndarray) -> np.ndarray:
        if m.size and int(np.abs(m).max()) < T.SMALL:
            return F.ext_small_matvec(m.astype(np.float64), e, check=False)
        return F.ext_matvec(F.encode(m.reshape(-1)).reshape(m.shape), e)

    def size(self, t: np.ndarray) -> int:
        return int(t.shape[-1])

    def to_host_ext(self, t: np.ndarray) -> np.ndarray:
        return F.ext_from_base(t) if t.ndim == 1 else t

    def alpha_minus(self, alpha: np.ndarray, t: np.ndarray) -> np.ndarray:
        out = np.empty((F.EXT_DEGREE, t.shape[-1]), np.uint64)
        out[0] = F.sub(np.full(t.shape[-1], alpha[0], np.uint64), t)
        out[1:] = np.asarray(alpha, np.uint64)[1:, None]
        return out

    def fraction_level(self, p, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = q.shape[-1] // 2
        ql, qr = np.ascontiguousarray(q[:, :h]), np.ascontiguousarray(q[:, h:])
        if p is None:
            return F.ext_add(ql, qr), F.ext_mul(ql, qr)
        pl, pr = np.ascontiguousarray(p[..., :h]), np.ascontiguousarray(p[..., h:])
        mul = F.ext_mul_base if p.ndim == 1 else F.ext_mul
        return F.ext_add(mul(qr, pl), mul(ql, pr)), F.ext_mul(ql, qr)

    def evaluate(self, values: np.ndarray, point: np.ndarray) -> np.ndarray:
        return T.evaluate(values, point)

    def prove_sumcheck(self, tables, claim: np.ndarray, transcript: Transcript, *,
                       round_hook=None, stop_before_last: bool = False):
        return sumcheck.prove(tables, claim, transcript, round_hook=round_hook,
                              stop_before_last=stop_before_last)

    def prove_terms(self, tables, terms: list, claim: np.ndarray, transcript: Transcript, *,
                    round_hook=None, stop_before_last: bool = False):
        return sumcheck.prove_terms(tables, terms, claim, transcript, round_hook=round_hook,
                                    stop_before_last=stop_before_last)

    def warmup(self) -> None:
        F.warmup()
        mle.warmup()
        sumcheck.warmup()

"""The ``cuda`` and ``torch-cpu`` backends: the GKR prover's kernels as PyTorch tensor
programs (field arithmetic in torchfield.py), one code path for both devices.

Sumchecks. ``prove_terms`` proves sum_b sum_t c_t prod_{j in t} T_j(b) with the transcript
protocol of sumcheck.prove_terms, and ``prove_sumcheck`` (a product of up to three tables) is
its one-term case. The sum is first factored exactly as the numba prover factors it
(sumcheck._terms_form: f = prod(prefix) * (c + sum_g prod(g)), each factor a table or a linear
form of tables); linear forms become tables once, before round 1. Each round evaluates the
factored form at t = 0, 2, ..., d on all rows at once (a leading dimension of the line
tensors), one column chunk at a time; only the round polynomial (4 x d elements) goes to the
host, which absorbs it and draws r; r comes back as a 4-element tensor and every table the
form reads is folded on the device. Tables that occur only inside linear forms are never
folded: each is evaluated at the final point once, against one eq table.

Host-device traffic: tensor values go up once per use, as the narrowest integer type that
holds them (int8 for most activations and bits, 4-8x less than int64); eq tables and folded
tables never come down.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from provers.gkr import field as F
from provers.gkr import sumcheck
from provers.gkr.backends import torchfield as tf
from provers.gkr.transcript import Transcript

_ONE4 = (1, 0, 0, 0)


class TorchBackend:
    def __init__(self, name: str, device: str) -> None:
        self.name = name
        self.device = torch.device(device)

    # ------------------------------------------------------------------ host to device

    def _upload(self, values: np.ndarray) -> torch.Tensor:
        """Signed integers to an int64 tensor on the device, sent in the narrowest type."""
        a = np.asarray(values)
        dtype = np.int64
        if a.size:
            magnitude = max(abs(int(a.min())), abs(int(a.max())))
            for narrow in (np.int8, np.int16, np.int32):
                if magnitude <= np.iinfo(narrow).max:
                    dtype = narrow
                    break
        host = torch.from_numpy(np.ascontiguousarray(a, dtype=dtype))
        return host.to(self.device).to(torch.int64)

    def _tensor(self, t) -> torch.Tensor:
        """A table given as a tensor of this backend, or as canonical numpy values."""
        if isinstance(t, torch.Tensor):
            return t.to(self.device)
        return tf.to_device(np.asarray(t, dtype=np.uint64), self.device)

    # ------------------------------------------------------------------ tables

    def table(self, values: np.ndarray) -> torch.Tensor:
        return tf.encode(self._upload(values).reshape(-1))

    def eq_table(self, point: np.ndarray) -> torch.Tensor:
        return tf.eq_table(point, self.device)

    def eq_combination(self, points: Sequence[np.ndarray],
                       coeffs: Sequence[np.ndarray]) -> torch.Tensor:
        weight = None
        for z, c in zip(points, coeffs, strict=True):
            term = tf.ext_mul(self.eq_table(z), tf.ext_const(c, self.device, 1))
            weight = term if weight is None else tf.add(weight, term)
        return weight

    def scatter(self, weights: torch.Tensor, targets: np.ndarray, sources: np.ndarray,
                size: int) -> torch.Tensor:
        t = torch.from_numpy(np.ascontiguousarray(targets, dtype=np.int64)).to(self.device)
        s = torch.from_numpy(np.ascontiguousarray(sources, dtype=np.int64)).to(self.device)
        out = torch.zeros((F.EXT_DEGREE, size), dtype=torch.int64, device=self.device)
        # integer sums: exact and independent of the order of the (atomic) additions
        out.index_add_(1, s, weights[:, t])
        return torch.remainder(out, tf.P)

    def row_combination(self, m: np.ndarray, e: torch.Tensor) -> torch.Tensor:
        return tf.limb_vecmat(e, self._upload(m))

    def col_combination(self, m: np.ndarray, e: torch.Tensor) -> torch.Tensor:
        return tf.limb_matvec(self._upload(m), e)

    def size(self, t: torch.Tensor) -> int:
        return int(t.shape[-1])

    def to_host_ext(self, t: torch.Tensor) -> np.ndarray:
        return tf.to_host(tf.ext_from_base(t) if t.ndim == 1 else t)

    def alpha_minus(self, alpha: np.ndarray, t: torch.Tensor) -> torch.Tensor:
        a = tf.ext_const(alpha, self.device, 1)
        out = a.expand(F.EXT_DEGREE, t.shape[-1]).clone()
        out[0] = tf.sub(out[0], t)
        return out

    def fraction_level(self, p, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = q.shape[-1] // 2
        ql, qr = q[:, :h], q[:, h:]
        if p is None:
            return tf.add(ql, qr), tf.ext_mul(ql, qr)
        pl, pr = p[..., :h], p[..., h:]
        mul = tf.ext_mul_base if p.ndim == 1 else tf.ext_mul
        return tf.add(mul(qr, pl), mul(ql, pr)), tf.ext_mul(ql, qr)

    def evaluate(self, values: np.ndarray, point: np.ndarray) -> np.ndarray:
        """tensor.evaluate's split: eq rows times the matrix (limbs), dotted with eq columns."""
        point = np.asarray(point, dtype=np.uint64).reshape(F.EXT_DEGREE, -1)
        v = point.shape[1]
        if values.size != 1 << v:
            raise ValueError(f"tensor of {values.size} entries evaluated at a {v}-variable point")
        col_vars = (v + 1) // 2
        m = self._upload(values).reshape(1 << (v - col_vars), 1 << col_vars)
        row = tf.limb_vecmat(self.eq_table(point[:, : v - col_vars]), m)
        return tf.to_host(tf.ext_dot(row, self.eq_table(point[:, v - col_vars:])))

    # ------------------------------------------------------------------ sumchecks

    def prove_sumcheck(self, tables: Sequence, claim: np.ndarray, transcript: Transcript, *,
                       round_hook=None, stop_before_last: bool = False):
        if not 1 <= len(tables) <= sumcheck.MAX_DEGREE:
            raise ValueError(f"sumcheck: 1 to {sumcheck.MAX_DEGREE} factor tables, "
                             f"got {len(tables)}")
        term = (F.ext_one(), tuple(range(len(tables))))
        return self.prove_terms(tables, [term], claim, transcript, round_hook=round_hook,
                                stop_before_last=stop_before_last)

    def prove_terms(self, tables: Sequence, terms: list, claim: np.ndarray,
                    transcript: Transcript, *, round_hook=None, stop_before_last: bool = False):
        """round_hook and stop_before_last as in sumcheck.prove: the hook sees each round's
        message on the host; stopping returns every table bound in all but its last variable
        ((4, 2) on the host), folded rows as they are and the other tables from their even
        and odd entries against one eq table."""
        d = sumcheck.terms_degree(terms)
        if not 1 <= d <= sumcheck.MAX_DEGREE:
            raise ValueError(f"sumcheck terms: degree 1 to {sumcheck.MAX_DEGREE}, got {d}")
        tabs = [self._tensor(t) for t in tables]
        n = tabs[0].shape[-1]
        v = max(n.bit_length() - 1, 0)
        if n != 1 << v or any(t.shape[-1] != n for t in tabs):
            raise ValueError(f"sumcheck terms: tables must share a power-of-two length, got "
                             f"{[t.shape[-1] for t in tabs]}")
        num_rounds = sumcheck._rounds_to_run(v, False, round_hook, stop_before_last)
        sumcheck._absorb_header(transcript, np.asarray(claim, np.uint64), v, d)
        rounds = np.empty((F.EXT_DEGREE, num_rounds, d), np.uint64)
        r_all = np.empty((F.EXT_DEGREE, num_rounds), np.uint64)
        if v == 0:
            return sumcheck.SumcheckProof(rounds), r_all, [_first(t) for t in tabs]
        prefix, groups, cst = sumcheck._terms_form(terms)
        factors = list(dict.fromkeys([*prefix, *(f for g in groups for f in g)]))
        rows = {f: tabs[f] if isinstance(f, int) else self._linear_form(f, tabs)
                for f in factors}
        xs = torch.tensor([0, *range(2, d + 1)], dtype=torch.int64, device=self.device)
        constant = None if cst == (0, 0, 0, 0) else tf.ext_const(np.array(cst), self.device, 2)
        unit = cst == _ONE4
        for i in range(num_rounds):
            h = n >> (i + 1)
            msg = tf.to_host(self._round(rows, prefix, groups, constant, unit, h, xs))
            if round_hook is not None:
                msg = sumcheck._hooked(round_hook, i, msg, r_all)
            rounds[:, i, :] = msg
            transcript.absorb_ext(sumcheck._LABEL_ROUND, msg)
            r = transcript.challenge_ext(sumcheck._LABEL_R)
            r_all[:, i] = r
            r_dev = tf.ext_const(r, self.device, 1)
            rows = {f: tf.fold(t, h, r_dev) for f, t in rows.items()}
        if stop_before_last:
            return sumcheck.SumcheckProof(rounds), r_all, self._last_variable_tables(
                tabs, rows, r_all)
        finals: list[np.ndarray | None] = [
            tf.to_host(rows[j][:, 0]) if j in rows else None for j in range(len(tabs))]
        rest = [j for j in range(len(tabs)) if finals[j] is None]
        if rest:
            eq = self.eq_table(r_all)
            base = [j for j in rest if tabs[j].ndim == 1]
            if base:
                at_r = tf.limb_matvec(torch.stack([tabs[j] for j in base]), eq, canonical=True)
                for k, j in enumerate(base):
                    finals[j] = tf.to_host(at_r[:, k])
            for j in rest:
                if tabs[j].ndim == 2:
                    finals[j] = tf.to_host(tf.ext_dot(tabs[j], eq))
        return sumcheck.SumcheckProof(rounds), r_all, finals

    def _last_variable_tables(self, tabs: list[torch.Tensor], rows: dict,
                              r: np.ndarray) -> list[np.ndarray]:
        """Every table bound to r in all but its last variable, (4, 2) on the host."""
        out = []
        eq = self.eq_table(r) if any(j not in rows for j in range(len(tabs))) else None
        for j, t in enumerate(tabs):
            if j in rows:
                pair = rows[j][..., :2]
                out.append(tf.to_host(tf.ext_from_base(pair) if pair.ndim == 1 else pair))
                continue
            halves = [t[..., bit::2] for bit in (0, 1)]
            if t.ndim == 1:
                at_r = tf.limb_matvec(torch.stack(halves), eq, canonical=True)
            else:
                at_r = torch.stack([tf.ext_dot(half, eq) for half in halves], dim=1)
            out.append(tf.to_host(at_r))
        return out

    def _linear_form(self, form, tabs: list[torch.Tensor]) -> torch.Tensor:
        """c + sum_j a_j T_j as one table: base when c, every a_j and every T_j are."""
        c, lin = form
        is_base = not any(c[1:]) and all(tabs[j].ndim == 1 and not any(a[1:]) for j, a in lin)
        n = tabs[0].shape[-1]
        if is_base:
            out = torch.full((n,), c[0], dtype=torch.int64, device=self.device)
            for j, a in lin:
                out = tf.add(out, tf.mul(tabs[j], torch.tensor(a[0], device=self.device)))
            return out
        out = tf.ext_const(np.array(c), self.device, 1).expand(F.EXT_DEGREE, n).clone()
        for j, a in lin:
            coeff = tf.ext_const(np.array(a), self.device, 1)
            t = tabs[j]
            part = tf.ext_mul_base(coeff, t) if t.ndim == 1 else tf.ext_mul(t, coeff)
            out = tf.add(out, part)
        return out

    def _round(self, rows: dict, prefix: list, groups: list, constant, unit: bool, h: int,
               xs: torch.Tensor) -> torch.Tensor:
        """The factored form summed over rows 0..h at each t in xs: (4, len(xs)); ``unit``
        says the form's constant is 1."""
        acc = torch.zeros((F.EXT_DEGREE, xs.shape[0]), dtype=torch.int64, device=self.device)
        step = max(1, tf.CHUNK // xs.shape[0])
        for j0 in range(0, h, step):
            j1 = min(h, j0 + step)
            lines = {f: _lines(t, h, j0, j1, xs) for f, t in rows.items()}
            inner = None if constant is None else (constant, True)
            for g in groups:
                inner = _add(inner, _product([lines[f] for f in g]))
            outer = _product([lines[f] for f in prefix]) if prefix else None
            if outer is None:
                value = inner
            elif inner is None:
                value = None  # f = prod(prefix) * 0
            elif inner[0] is constant and not groups:
                value = outer if unit else _mul(outer, inner)
            else:
                value = _mul(outer, inner)
            if value is None:
                continue
            t, is_ext = value
            if not is_ext:
                t = tf.ext_from_base(t)
            t = t.expand(F.EXT_DEGREE, xs.shape[0], j1 - j0)
            acc += torch.remainder(t.sum(dim=-1), tf.P)
        return torch.remainder(acc, tf.P)

    def warmup(self) -> None:
        """Initialise the device (CUDA context, cuBLAS, kernels) outside any timed stage."""
        rng = np.random.default_rng(0)
        x = rng.integers(-100, 100, 64)
        tables = [self.eq_table(F.ext_random(rng, (6,))), self.table(x), self.table(x)]
        self.prove_terms(tables, [(F.ext_one(), (0, 1, 2)), (F.ext_one(), (0, 1))],
                         F.ext_zero(), Transcript("torch warmup"))
        self.col_combination(x.reshape(8, 8), self.eq_table(F.ext_random(rng, (3,))))
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def _first(t: torch.Tensor) -> np.ndarray:
    value = tf.to_host(t[..., 0])
    return F.ext_from_base(value) if t.ndim == 1 else value


def _lines(t: torch.Tensor, h: int, j0: int, j1: int, xs: torch.Tensor):
    """The table's line T[j] + x (T[h + j] - T[j]) at every x in xs, rows j0..j1:
    base (len(xs), m) or extension (4, len(xs), m), with whether it is extension."""
    lo, hi = t[..., j0:j1], t[..., h + j0:h + j1]
    d = tf.sub(hi, lo)
    if t.ndim == 1:
        return torch.remainder(lo.unsqueeze(0) + xs.unsqueeze(1) * d.unsqueeze(0), tf.P), False
    line = lo.unsqueeze(1) + xs.reshape(1, -1, 1) * d.unsqueeze(1)
    return torch.remainder(line, tf.P), True


def _mul(a, b):
    (x, x_ext), (y, y_ext) = a, b
    if x_ext and y_ext:
        return tf.ext_mul(x, y), True
    if x_ext:
        return tf.ext_mul_base(x, y), True
    if y_ext:
        return tf.ext_mul_base(y, x), True
    return tf.mul(x, y), False


def _add(a, b):
    if a is None:
        return b
    (x, x_ext), (y, y_ext) = a, b
    if not x_ext and not y_ext:
        return tf.add(x, y), False
    if not x_ext:
        x = tf.ext_from_base(x)
    if not y_ext:
        y = tf.ext_from_base(y)
    return tf.add(x, y), True


def _product(factors: list):
    out = factors[0]
    for f in factors[1:]:
        out = _mul(out, f)
    return out

"""LogUp-GKR range check: every entry of several tensors a^(1), a^(2), ... (2^v_i entries each)
lies in [0, 2^L), in one argument with one multiplicity vector.

PROTOCOL.md, "LogUp-GKR range checks" (Haboeck, ePrint 2022/1530; Papini-Haboeck, ePrint
2023/1284). With the table t_j = j (j < 2^L) and the prover's multiplicities m (advice, 2^L
entries, counting every tensor's entries), the entries are all in the table iff, for a
random alpha in K,

    sum_tensors sum_i 1 / (alpha - a_i)  =  sum_j m_j / (alpha - t_j).

Each side is summed by binary trees of fraction additions (p1, q1) + (p2, q2) =
(p1 q2 + p2 q1, q1 q2) over leaves (1, alpha - a_i) and (m_j, alpha - t_j); level k of a tree
holds 2^k fractions, the children of node x being x and x + 2^k of level k + 1 (the most
significant variable splits them). The values side has one tree per binary digit of the
total size (``chunks``): the tensors, largest first, side by side, each at a multiple of its
size, so no leaf is padding and a tree's leaf MLE is sum_i eq(z_high, offset_i / size_i)
a^(i)~(z_low). The prover sends every root; the verifier checks every Q != 0 and that the
values' roots add up to the table's (``RangeCheckFailed`` otherwise), then each tree is
proved from the root down, one sumcheck per level: a claim (P_k~(z), Q_k~(z)) = (c_p, c_q)
and a fresh lambda give

    c_p + lambda c_q = sum_x eq(z, x) (pL qR + pR qL + lambda qL qR)(x)     (degree 3),

pL, pR, qL, qR the two halves of level k + 1. The prover sends their values at the final
point r; the verifier checks the final claim, draws mu, and the claim on level k + 1 is at
(mu, r) with values (1 - mu) pL + mu pR and (1 - mu) qL + mu qR. At the leaves the halves are
the base tables themselves, alpha enters the terms (p = 1, q = alpha - a; p = m, q = alpha - t),
and the level ends in a claim on the tree's leaves, which the prover splits into each
tensor's value at z_low (sent; the verifier checks that the selectors combine them into the
leaf claim, ``ClaimMismatch``), and one on ``m``; the verifier evaluates t~ itself,
t~(z) = sum_i 2^(L-1-i) z_i (MSB first). Every root, every level's values and the tensors'
values are absorbed before the next challenge (a transcript that skips the roots is
forgeable: the tests show it).

Soundness error over |K|: (N + 2^L) for the rational identity (N = sum 2^v_i; its numerator,
over the common denominator of at most N + 2^L distinct linear factors, has lower degree; a
pole at alpha makes a root's Q zero, which is rejected), plus per tree of w levels
sum_k (3k + 2) (each sumcheck, lambda and mu); the tensors' split is exact. Prover cost: the
trees (about 3 extension products per leaf) and one degree-3 sumcheck per level, about the
size of the leaves in all, one evaluation per tensor; the proof has per tree sum_k (3k + 4)
extension elements, so one argument for many tensors costs far less than one each.
"""

from __future__ import annotations

import numpy as np

from provers.gkr import field as F
from provers.gkr import mle, sumcheck
from provers.gkr.errors import ClaimMismatch, RangeCheckFailed, SumcheckFailed

MAX_BITS = 16
"""The largest table, 2^16 entries: a check wider than this is split into limbs."""


def table_eval(point: np.ndarray) -> np.ndarray:
    """t~(z) for t_j = j over {0,1}^L, MSB first: sum_i 2^(L-1-i) z_i, O(L)."""
    point = np.asarray(point, np.uint64)
    bits = point.shape[1]
    total = F.ext_zero()
    for i in range(bits):
        weight = np.uint64((1 << (bits - 1 - i)) % F.P)
        total = F.ext_add(total, F.ext_mul_base(point[:, i], weight))
    return total


def multiplicities(values: list[np.ndarray], bits: int) -> np.ndarray:
    """The honest multiplicities: how often each t_j = j (j < 2^bits) occurs among all the
    entries of ``values`` (every entry in range)."""
    counts = np.zeros(1 << bits, np.int64)
    for v in values:
        counts += np.bincount(np.asarray(v).reshape(-1), minlength=1 << bits)
    return counts


def chunks(sizes: list[int]) -> list[list[tuple[int, int]]]:
    """The values' trees for tensors of ``sizes`` (powers of two): the tensors sorted by size,
    largest first (ties in the given order), cut into runs whose sizes sum to a power of two
    (the binary digits of the total, largest first). Each run is one tree whose leaves are
    its tensors side by side, each at an offset that is a multiple of its size; returns each
    run as [(tensor index, offset)]. No leaf is padding."""
    order = sorted(range(len(sizes)), key=lambda i: -sizes[i])
    out: list[list[tuple[int, int]]] = []
    total = sum(sizes)
    pos = 0
    for bit in range(total.bit_length() - 1, -1, -1):
        if not total >> bit & 1:
            continue
        run, filled = [], 0
        while filled < 1 << bit:
            i = order[pos]
            run.append((i, filled))
            filled += sizes[i]
            pos += 1
        out.append(run)
    return out


def error_terms(sizes: list[int], bits: int) -> int:
    """This check's soundness error in units of 1/|K| (the module docstring)."""
    def tree(levels: int) -> int:
        return sum(3 * k + 2 for k in range(levels))
    trees = sum(tree(mle.log2_exact(sum(sizes[i] for i, _ in run))) for run in chunks(sizes))
    return sum(sizes) + (1 << bits) + trees + tree(bits)


def _e(v: int) -> np.ndarray:
    return F.ext_from_base(F.encode(np.array(v, dtype=np.int64)))


def _lerp(lo: np.ndarray, hi: np.ndarray, mu: np.ndarray) -> np.ndarray:
    return F.ext_add(lo, F.ext_mul(mu, F.ext_sub(hi, lo)))


def _inner_terms(lam: np.ndarray) -> list[sumcheck.Term]:
    """Tables: 0 eq, 1 pL, 2 pR, 3 qL, 4 qR."""
    one = F.ext_one()
    return [(one, (0, 1, 4)), (one, (0, 2, 3)), (lam, (0, 3, 4))]


def _values_leaf_terms(alpha: np.ndarray, lam: np.ndarray) -> list[sumcheck.Term]:
    """Tables: 0 eq, 1 aL, 2 aR (leaves (1, alpha - a)):
    P + lambda Q = 2 alpha - aL - aR + lambda (alpha^2 - alpha (aL + aR) + aL aR)."""
    lin = F.ext_neg(F.ext_add(F.ext_one(), F.ext_mul(lam, alpha)))
    cst = F.ext_add(F.ext_add(alpha, alpha), F.ext_mul(lam, F.ext_mul(alpha, alpha)))
    return [(cst, (0,)), (lin, (0, 1)), (lin, (0, 2)), (lam, (0, 1, 2))]


def _table_leaf_terms(alpha: np.ndarray, lam: np.ndarray) -> list[sumcheck.Term]:
    """Tables: 0 eq, 1 mL, 2 mR, 3 tL, 4 tR (leaves (m, alpha - t)):
    P = mL (alpha - tR) + mR (alpha - tL), Q = (alpha - tL)(alpha - tR)."""
    minus, la = _e(-1), F.ext_mul(lam, alpha)
    return [(alpha, (0, 1)), (minus, (0, 1, 4)), (alpha, (0, 2)), (minus, (0, 2, 3)),
            (F.ext_mul(la, alpha), (0,)), (F.ext_neg(la), (0, 3)), (F.ext_neg(la), (0, 4)),
            (lam, (0, 3, 4))]


def _halves(t, h: int) -> tuple:
    return t[..., :h], t[..., h:]


def _levels(backend, p, q, num_vars: int) -> list[tuple]:
    """levels[k] = (P_k, Q_k), 2^k fractions each, for k = 0..num_vars - 1, from the leaves
    (p None meaning all ones)."""
    out: list[tuple] = [None] * num_vars
    for k in range(num_vars - 1, -1, -1):
        p, q = backend.fraction_level(p, q)
        out[k] = (p, q)
    return out


def _root(backend, levels: list[tuple], leaf_p, leaf_q) -> tuple[np.ndarray, np.ndarray]:
    if levels:
        p, q = levels[0]
        return backend.to_host_ext(p)[:, 0], backend.to_host_ext(q)[:, 0]
    p = F.ext_one() if leaf_p is None else backend.to_host_ext(leaf_p)[:, 0]
    return p, backend.to_host_ext(leaf_q)[:, 0]


def _prove_tree(levels: list[tuple], leaves: list, leaf_terms, root: tuple, label: str,
                channel, backend) -> tuple[np.ndarray, np.ndarray]:
    """The levels' sumchecks from the root down; returns the leaf point and the values the
    leaf level's final evaluations give (see prove)."""
    cp, cq = root
    z = np.zeros((F.EXT_DEGREE, 0), np.uint64)
    t = channel.transcript
    num_vars = len(levels)
    for k in range(num_vars):
        lam = channel.challenge(f"{label}/lambda")
        h = 1 << k
        if k + 1 < num_vars:
            p, q = levels[k + 1]
            tables = [backend.eq_table(z), *_halves(p, h), *_halves(q, h)]
            terms = _inner_terms(lam)
        else:
            tables = [backend.eq_table(z)] + [half for leaf in leaves
                                               for half in _halves(leaf, h)]
            terms = leaf_terms(lam)
        proof, r, ev = backend.prove_terms(tables, terms, F.ext_add(cp, F.ext_mul(lam, cq)), t)
        channel.send_sumcheck(f"{label}/level-sumcheck", proof)
        sent = ev[1:] if k + 1 < num_vars else ev[1:3]
        channel.send_ext(f"{label}/level-evals", np.stack(sent, axis=1))
        mu = channel.challenge(f"{label}/mu")
        z = np.concatenate([mu.reshape(F.EXT_DEGREE, 1), r], axis=1)
        cp, cq = _lerp(ev[1], ev[2], mu), (_lerp(ev[3], ev[4], mu) if len(ev) > 3 else None)
    return z, cp, cq


def _members(sizes: list[int], run: list[tuple[int, int]], point: np.ndarray
             ) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """For each tensor of a run: (index, selector eq(point_high, offset / size), point_low),
    point_high the first coordinates of the run's leaf point (MSB first), point_low the rest:
    the run's values~(point) = sum of selector * tensor~(point_low)."""
    out = []
    width = point.shape[1]
    for i, offset in run:
        v = mle.log2_exact(sizes[i])
        high = width - v
        bits = [(offset >> (width - 1 - j)) & 1 for j in range(high)]
        sel = F.ext_one()
        for j, bit in enumerate(bits):
            zj = point[:, j]
            sel = F.ext_mul(sel, zj if bit else F.ext_sub(F.ext_one(), zj))
        out.append((i, sel, point[:, high:]))
    return out


def prove(values: list[np.ndarray], mult: np.ndarray, bits: int, label: str, channel, backend
          ) -> tuple[list[tuple[np.ndarray, np.ndarray]], tuple[np.ndarray, np.ndarray]]:
    """Prove every entry of every tensor of ``values`` (signed int64, each of 2^v entries,
    padding included) lies in [0, 2^bits), with ``mult`` (2^bits entries) the multiplicity of
    each table entry among them all. Returns the claims it leaves: one (point, value) per
    tensor of ``values``, in their order, and one on ``mult``. An entry out of range still
    yields a proof (rejected)."""
    flat = [np.asarray(v, np.int64).reshape(-1) for v in values]
    sizes = [v.size for v in flat]
    runs = chunks(sizes)
    alpha = channel.challenge(f"{label}/alpha")
    table = backend.table(np.arange(1 << bits, dtype=np.int64))
    trees = []
    for run in runs:
        leaves = backend.table(np.concatenate([flat[i] for i, _ in run]))
        q = backend.alpha_minus(alpha, leaves)
        levels = _levels(backend, None, q, mle.log2_exact(backend.size(leaves)))
        trees.append((leaves, levels, _root(backend, levels, None, q)))
        del q
    mult_t = backend.table(np.asarray(mult, np.int64))
    t_q = backend.alpha_minus(alpha, table)
    t_levels = _levels(backend, mult_t, t_q, bits)
    t_root = _root(backend, t_levels, mult_t, t_q)
    del t_q
    roots = [part for _, _, root in trees for part in root] + list(t_root)
    channel.send_ext(f"{label}/roots", np.stack(roots, axis=1))
    claims: list = [None] * len(flat)
    for run, (leaves, levels, root) in zip(runs, trees, strict=True):
        z, cp, _ = _prove_tree(levels, [leaves], lambda lam: _values_leaf_terms(alpha, lam),
                               root, f"{label}/values", channel, backend)
        if not levels:  # a single leaf: the root is the leaf (1, alpha - a)
            cp = F.ext_sub(alpha, root[1])
        if len(run) == 1:
            claims[run[0][0]] = (z, cp)
            continue
        members = _members(sizes, run, z)
        evals = [backend.evaluate(flat[i], low) for i, _, low in members]
        channel.send_ext(f"{label}/values/members", np.stack(evals, axis=1))
        for (i, _, low), e in zip(members, evals, strict=True):
            claims[i] = (low, e)
    z_t, cm, _ = _prove_tree(t_levels, [mult_t, table],
                             lambda lam: _table_leaf_terms(alpha, lam), t_root,
                             f"{label}/table", channel, backend)
    return claims, (z_t, cm)


def _verify_tree(num_vars: int, root: tuple, leaf_terms, leaf_evals, label: str,
                 channel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cp, cq = root
    z = np.zeros((F.EXT_DEGREE, 0), np.uint64)
    t = channel.transcript
    for k in range(num_vars):
        lam = channel.challenge(f"{label}/lambda")
        proof = channel.recv_sumcheck(f"{label}/level-sumcheck", k, 3)
        r, final = sumcheck.verify(F.ext_add(cp, F.ext_mul(lam, cq)), k, 3, proof, t)
        leaf = k + 1 == num_vars
        got = channel.recv_ext(f"{label}/level-evals", 2 if leaf else 4)
        ev = [got[:, i].copy() for i in range(got.shape[1])]
        if leaf:
            ev = ev + leaf_evals(r)
            terms = leaf_terms(lam)
        else:
            terms = _inner_terms(lam)
        if not F.ext_eq(final, sumcheck.terms_final_value(terms, [mle.eq_eval(z, r), *ev])):
            raise SumcheckFailed(f"{label} (fraction level {k})")
        mu = channel.challenge(f"{label}/mu")
        z = np.concatenate([mu.reshape(F.EXT_DEGREE, 1), r], axis=1)
        cp = _lerp(ev[0], ev[1], mu)
        cq = _lerp(ev[2], ev[3], mu) if len(ev) > 2 else None
    return z, cp, cq


def verify(sizes: list[int], bits: int, label: str, channel
           ) -> tuple[list[tuple[np.ndarray, np.ndarray]], tuple[np.ndarray, np.ndarray]]:
    """The verifier's side of ``prove`` for tensors of ``sizes`` entries: the claims left on
    each of them and on the multiplicities, for the caller to check; raises
    RangeCheckFailed or SumcheckFailed."""
    runs = chunks(sizes)
    alpha = channel.challenge(f"{label}/alpha")
    roots = channel.recv_ext(f"{label}/roots", 2 * len(runs) + 2)
    fractions = [(roots[:, 2 * c].copy(), roots[:, 2 * c + 1].copy())
                 for c in range(len(runs) + 1)]
    zero = F.ext_zero()
    if any(F.ext_eq(q, zero) for _, q in fractions):
        raise RangeCheckFailed(f"{label} (a root denominator is zero)")
    pa, qa = fractions[0]
    for p, q in fractions[1:-1]:
        pa, qa = F.ext_add(F.ext_mul(pa, q), F.ext_mul(p, qa)), F.ext_mul(qa, q)
    pt, qt = fractions[-1]
    if not F.ext_eq(F.ext_mul(pa, qt), F.ext_mul(pt, qa)):
        raise RangeCheckFailed(f"{label} (the values' and the table's sums differ)")
    claims: list = [None] * len(sizes)
    for c, run in enumerate(runs):
        width = mle.log2_exact(sum(sizes[i] for i, _ in run))
        p_root, q_root = fractions[c]
        z, cp, _ = _verify_tree(width, (p_root, q_root),
                                lambda lam: _values_leaf_terms(alpha, lam), lambda r: [],
                                f"{label}/values", channel)
        if width == 0:
            if not F.ext_eq(p_root, F.ext_one()):
                raise RangeCheckFailed(f"{label} (a single value's numerator is not 1)")
            cp = F.ext_sub(alpha, q_root)
        if len(run) == 1:
            claims[run[0][0]] = (z, cp)
            continue
        members = _members(sizes, run, z)
        got = channel.recv_ext(f"{label}/values/members", len(members))
        total = F.ext_zero()
        for k, (i, sel, low) in enumerate(members):
            claims[i] = (low, got[:, k].copy())
            total = F.ext_add(total, F.ext_mul(sel, claims[i][1]))
        if not F.ext_eq(total, cp):
            raise ClaimMismatch(f"{label} (the tensors of values tree {c})")

    def table_at(r: np.ndarray) -> list[np.ndarray]:
        return [table_eval(np.concatenate([_e(b).reshape(F.EXT_DEGREE, 1), r], axis=1))
                for b in (0, 1)]

    z_t, cm, _ = _verify_tree(bits, (pt, qt), lambda lam: _table_leaf_terms(alpha, lam),
                              table_at, f"{label}/table", channel)
    return claims, (z_t, cm)


# ------------------------------------------------------------------- zero knowledge (zk.py)
# PROTOCOL.md, "LogUp in zero knowledge". One tree over every leaf: each tensor's entries
# (1, alpha - a), the table (-m_j, alpha - t_j) and padding (0, alpha), placed by
# ``zk_regions``; the root is (0, Q) exactly when the statement holds, and Q != 0 because
# alpha is drawn outside the base field. Nothing about the root is sent: a one-variable
# "top" sumcheck proves P_root = 0 from the two level-1 nodes, extended by an auxiliary
# variable d on which they are constant, so that their masks, Z(d) times a line in the node
# index, hide them. Every level from 2 to w - 1 is a virtual tensor with a fresh mask linear
# in its first variable; the leaves' masks are derived from the tensors' and m's masks.


def _zk_name(bits: int, what: str) -> str:
    return f"lookup/{bits}/{what}"


def zk_level_name(bits: int, level: int | str, side: str) -> str:
    """The virtual tensor of one side (``p`` or ``q``) of a tree level: ``level`` is an
    index 2..w-1, "top" (level 1 with the auxiliary variable) or "leaf"."""
    where = level if isinstance(level, str) else f"level{level}"
    return _zk_name(bits, f"{where}/{side}")


def zk_regions(sizes: list[int], bits: int) -> tuple[int, list[tuple[int, int]]]:
    """The one tree's leaves: (its variables w, [(region, offset)]) for the tensors of
    ``sizes`` (region i) and the table (region len(sizes)), largest first (ties in order),
    each at an offset that is a multiple of its size; the rest is padding."""
    all_sizes = [*sizes, 1 << bits]
    order = sorted(range(len(all_sizes)), key=lambda i: -all_sizes[i])
    placed, pos = [], 0
    for i in order:
        placed.append((i, pos))
        pos += all_sizes[i]
    width = max(pos - 1, 1).bit_length()
    return width, placed


def _check_sizes(sizes: list[int]) -> None:
    for s in sizes:
        if s < 2 or s & (s - 1):
            raise ValueError(f"logup zk: a tensor of {s} entries; needs a power of two >= 2 "
                             "(its mask needs a variable)")


def _selector_parts(source: str, coef: int, width: int, size: int, offset: int
                    ) -> tuple:
    """coef * eq(x_high, offset / size) * mask_source(x_low) as masks.Part terms (one-row
    selector = S(rows = j + 1) - S(rows = j))."""
    from provers.gkr.masks import Part

    v = mle.log2_exact(size)
    high, row = width - v, offset // size
    parts = [Part(source, coef % F.P, high, row + 1)]
    if row:
        parts.append(Part(source, (F.P - coef) % F.P, high, row))
    return tuple(parts)


def _linear_parts(name: str) -> tuple:
    """A level's mask (1 - b) Z(x) delta_A(x_1) + b Z(x) delta_B(x_1), b its first variable:
    zero wherever a variable of x is boolean, linear in b, so that its halves b = 0, 1 stay
    masked and its value at (mu, r) is the line through them."""
    from provers.gkr.masks import Part

    a, b = f"{name}#0", f"{name}#1"
    return (Part(a, 1, 1, 1), Part(b, 1, 1, 2), Part(b, F.P - 1, 1, 1)), (a, b)


def zk_virtual(names: list[str], sizes: list[int], bits: int, mult: str) -> dict:
    """The virtual quantities of one range check for ``MaskPlan.build(virtual=...)``: the top
    (2 variables) and levels 2..w-1, each with its own linear masks over fresh sources, and
    the leaves, whose masks are derived: -sum_i sel_i mask_{a_i} for q and -sel_m mask_m for
    p. ``names``: the tensors' names (their masks are the plan's own), ``mult`` the
    multiplicities' name."""
    _check_sizes(sizes)
    width, placed = zk_regions(sizes, bits)
    out: dict = {}
    levels = [("top", 2)] + [(k, k) for k in range(2, width)]
    for level, nv in levels:
        for side in ("p", "q"):
            name = zk_level_name(bits, level, side)
            parts, sources = _linear_parts(name)
            for s in sources:
                out[s] = (nv - 1, ())
            out[name] = (nv, parts)
    all_sizes = [*sizes, 1 << bits]
    leaf_p, leaf_q = (), ()
    for i, offset in placed:
        if i == len(sizes):
            leaf_p += _selector_parts(mult, -1, width, all_sizes[i], offset)
        else:
            leaf_q += _selector_parts(names[i], -1, width, all_sizes[i], offset)
    out[zk_level_name(bits, "leaf", "p")] = (width, leaf_p)
    out[zk_level_name(bits, "leaf", "q")] = (width, leaf_q)
    return out


def _top_terms() -> list[sumcheck.Term]:
    """Tables: 0 eq, 1 pL, 2 pR, 3 qL, 4 qR: P = pL qR + pR qL (no lambda: Q is not claimed)."""
    one = F.ext_one()
    return [(one, (0, 1, 4)), (one, (0, 2, 3))]


def _zk_masked(name_p: str, name_q: str) -> list:
    """Tables 1..4 are the halves (first variable 0, 1) of the level named."""
    from provers.gkr.zk import MaskedTable

    empty = F.ext_zero((0,))
    zero, one = F.ext_zero((1,)), F.ext_one((1,))
    return [MaskedTable(1, name_p, zero, empty), MaskedTable(2, name_p, one, empty),
            MaskedTable(3, name_q, zero, empty), MaskedTable(4, name_q, one, empty)]


def _zk_level_names(bits: int, width: int, k: int) -> tuple[str, str]:
    """The names of level k + 1, whose halves level k's sumcheck takes."""
    level = "leaf" if k + 1 == width else k + 1
    return zk_level_name(bits, level, "p"), zk_level_name(bits, level, "q")


def _zk_sumchecks(bits: int, width: int) -> list[tuple]:
    """(label suffix, variables, terms, masked) of every sumcheck, in proof order."""
    top = zk_level_name(bits, "top", "p"), zk_level_name(bits, "top", "q")
    out = [("top", 1, _top_terms(), _zk_masked(*top))]
    for k in range(1, width):
        out.append((f"level{k}", k, _inner_terms(F.ext_one()),
                    _zk_masked(*_zk_level_names(bits, width, k))))
    return out


def zk_shapes(sizes: list[int], bits: int, plan, label: str) -> list:
    """The masked sumchecks of ``prove_zk``, in its order, for zk.schedule."""
    from provers.gkr.zk import shape_of

    width, _ = zk_regions(sizes, bits)
    return [shape_of(f"{label}/{suffix}/sumcheck", plan, terms, masked, nv)
            for suffix, nv, terms, masked in _zk_sumchecks(bits, width)]


def zk_error_terms(sizes: list[int], bits: int, plan, label: str = "lookup") -> int:
    """This check's soundness error in units of 1/|K| in zero knowledge: the rational
    identity (N + 2^L), per masked sumcheck rho, its rounds and its last round's degree,
    per level lambda and mu (the top: mu)."""
    total = sum(sizes) + (1 << bits)
    for shape in zk_shapes(sizes, bits, plan, label):
        total += 1 + sum(shape.degrees) + 2
    return total - 1  # the top has no lambda


def _alpha(channel, label: str) -> np.ndarray:
    """alpha, drawn again while it lies in the base field: then no leaf's alpha - a (a in
    the base field) is zero, and neither is the root's Q."""
    alpha = channel.challenge(f"{label}/alpha")
    while not np.any(np.asarray(alpha)[1:]):
        alpha = channel.challenge(f"{label}/alpha")
    return alpha


def _zk_members(sizes: list[int], bits: int, point: np.ndarray) -> list:
    """(region, selector, point_low) of every tensor and the table at the leaf point."""
    width, placed = zk_regions(sizes, bits)
    return _members([*sizes, 1 << bits], placed, point)


def _const_line(value: np.ndarray) -> np.ndarray:
    """A table over the auxiliary variable d, constant: (4, 2)."""
    return np.stack([value, value], axis=1)


def prove_zk(values: list[np.ndarray], mult: np.ndarray, bits: int, label: str, channel,
             backend, zk, names: list[str], mult_name: str) -> tuple[list, tuple]:
    """``prove`` in zero knowledge (zk: a zk_prover.ZkProver whose plan holds ``zk_virtual``
    of these tensors): returns the claims on the masked tensors, one (point, T'(point)) per
    tensor of ``values`` (named ``names``) and one on the multiplicities (``mult_name``),
    the caller's to prove. Sends no root; every value it sends is masked."""
    flat = [np.asarray(v, np.int64).reshape(-1) for v in values]
    sizes = [v.size for v in flat]
    _check_sizes(sizes)
    width, placed = zk_regions(sizes, bits)
    alpha = _alpha(channel, label)
    leaf_v = np.zeros(1 << width, np.int64)
    leaf_p = np.zeros(1 << width, np.int64)
    all_sizes = [*sizes, 1 << bits]
    for i, offset in placed:
        end = offset + all_sizes[i]
        if i == len(sizes):
            leaf_v[offset:end] = np.arange(1 << bits)
            leaf_p[offset:end] = -np.asarray(mult, np.int64).reshape(-1)
        else:
            leaf_v[offset:end] = flat[i]
            leaf_p[offset:end] = 1
    p = backend.table(leaf_p)
    q = backend.alpha_minus(alpha, backend.table(leaf_v))
    levels = _levels(backend, p, q, width) + [(p, q)]
    # the top: sum_d eq(0, d) (pL qR + pR qL)(d) = P_root = 0, the level-1 nodes constant in d
    p1, q1 = (backend.to_host_ext(t) for t in levels[1])
    tables = [backend.eq_table(F.ext_zero((1,))), _const_line(p1[:, 0]), _const_line(p1[:, 1]),
              _const_line(q1[:, 0]), _const_line(q1[:, 1])]
    suffix, nv, terms, masked = _zk_sumchecks(bits, width)[0]
    r, ev = zk.sumcheck(f"{label}/{suffix}/sumcheck", channel, backend, tables, terms,
                        F.ext_zero(), masked, [])
    channel.send_ext(f"{label}/{suffix}/evals", np.stack(ev[1:], axis=1))
    mu = channel.challenge(f"{label}/mu")
    z = mu.reshape(F.EXT_DEGREE, 1)
    out_point = np.concatenate([z, r], axis=1)
    top_p, top_q = zk_level_name(bits, "top", "p"), zk_level_name(bits, "top", "q")
    outputs_of = (top_p, top_q)
    cp, cq = _lerp(ev[1], ev[2], mu), _lerp(ev[3], ev[4], mu)
    for suffix, k, _, masked in _zk_sumchecks(bits, width)[1:]:
        lam = channel.challenge(f"{label}/lambda")
        h = 1 << k
        lp, lq = levels[k + 1]
        tables = [backend.eq_table(z), *_halves(lp, h), *_halves(lq, h)]
        outputs = [(F.ext_one(), outputs_of[0], out_point), (lam, outputs_of[1], out_point)]
        r, ev = zk.sumcheck(f"{label}/{suffix}/sumcheck", channel, backend, tables,
                            _inner_terms(lam), F.ext_add(cp, F.ext_mul(lam, cq)), masked,
                            outputs)
        channel.send_ext(f"{label}/{suffix}/evals", np.stack(ev[1:], axis=1))
        mu = channel.challenge(f"{label}/mu")
        z = np.concatenate([mu.reshape(F.EXT_DEGREE, 1), r], axis=1)
        out_point = z
        outputs_of = _zk_level_names(bits, width, k)
        cp, cq = _lerp(ev[1], ev[2], mu), _lerp(ev[3], ev[4], mu)
    members = _zk_members(sizes, bits, z)
    evals = []
    for i, _, low in members:
        if i == len(sizes):
            evals.append(zk.evaluate(mult_name, backend.evaluate(np.asarray(mult, np.int64),
                                                                 low), low))
        else:
            evals.append(zk.evaluate(names[i], backend.evaluate(flat[i], low), low))
    channel.send_ext(f"{label}/members", np.stack(evals, axis=1))
    claims: list = [None] * len(sizes)
    mult_claim = None
    for (i, _, low), e in zip(members, evals, strict=True):
        if i == len(sizes):
            mult_claim = (low, e)
        else:
            claims[i] = (low, e)
    return claims, mult_claim


def verify_zk(sizes: list[int], bits: int, label: str, channel, zk) -> tuple[list, tuple]:
    """The verifier's side of ``prove_zk`` (zk: a zk.ZkVerifier over the same plan): the
    claims left on the masked tensors and multiplicities (the caller's to check) and, in
    ``zk``, the mask claims; raises SumcheckFailed or ClaimMismatch."""
    _check_sizes(sizes)
    width, _ = zk_regions(sizes, bits)
    alpha = _alpha(channel, label)
    suffix, nv, terms, masked = _zk_sumchecks(bits, width)[0]
    r, value = zk.sumcheck(f"{label}/{suffix}/sumcheck", channel, F.ext_zero(), nv, terms,
                           masked, [])
    got = channel.recv_ext(f"{label}/{suffix}/evals", 4)
    ev = [got[:, i].copy() for i in range(4)]
    eq_r = mle.eq_eval(F.ext_zero((1,)), r)
    if not F.ext_eq(value, sumcheck.terms_final_value(terms, [eq_r, *ev])):
        raise SumcheckFailed(f"{label} (the root's numerator is not zero)")
    mu = channel.challenge(f"{label}/mu")
    z = mu.reshape(F.EXT_DEGREE, 1)
    out_point = np.concatenate([z, r], axis=1)
    outputs_of = (zk_level_name(bits, "top", "p"), zk_level_name(bits, "top", "q"))
    cp, cq = _lerp(ev[0], ev[1], mu), _lerp(ev[2], ev[3], mu)
    for suffix, k, _, masked in _zk_sumchecks(bits, width)[1:]:
        lam = channel.challenge(f"{label}/lambda")
        outputs = [(F.ext_one(), outputs_of[0], out_point), (lam, outputs_of[1], out_point)]
        terms = _inner_terms(lam)
        r, value = zk.sumcheck(f"{label}/{suffix}/sumcheck", channel,
                               F.ext_add(cp, F.ext_mul(lam, cq)), k, terms, masked, outputs)
        got = channel.recv_ext(f"{label}/{suffix}/evals", 4)
        ev = [got[:, i].copy() for i in range(4)]
        if not F.ext_eq(value, sumcheck.terms_final_value(terms, [mle.eq_eval(z, r), *ev])):
            raise SumcheckFailed(f"{label} (fraction level {k})")
        mu = channel.challenge(f"{label}/mu")
        z = np.concatenate([mu.reshape(F.EXT_DEGREE, 1), r], axis=1)
        out_point = z
        outputs_of = _zk_level_names(bits, width, k)
        cp, cq = _lerp(ev[0], ev[1], mu), _lerp(ev[2], ev[3], mu)
    members = _zk_members(sizes, bits, z)
    got = channel.recv_ext(f"{label}/members", len(members))
    claims: list = [None] * len(sizes)
    mult_claim = None
    p_leaf, v_leaf = F.ext_zero(), F.ext_zero()
    for k, (i, sel, low) in enumerate(members):
        e = got[:, k].copy()
        if i == len(sizes):
            mult_claim = (low, e)
            p_leaf = F.ext_sub(p_leaf, F.ext_mul(sel, e))
            v_leaf = F.ext_add(v_leaf, F.ext_mul(sel, table_eval(low)))
        else:
            claims[i] = (low, e)
            p_leaf = F.ext_add(p_leaf, sel)
            v_leaf = F.ext_add(v_leaf, F.ext_mul(sel, e))
    if not (F.ext_eq(cp, p_leaf) and F.ext_eq(cq, F.ext_sub(alpha, v_leaf))):
        raise ClaimMismatch(f"{label} (the tensors' values and the leaves)")
    return claims, mult_claim

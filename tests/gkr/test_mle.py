"""Multilinear extensions: eq tables, evaluation, folding, MSB-first variable order."""

from __future__ import annotations

import numpy as np
import pytest

from provers.gkr import field as F
from provers.gkr import mle

P = F.P


def bits_point(b: int, v: int) -> np.ndarray:
    """The Boolean point of index b, MSB first, as an extension point (4, v)."""
    bits = np.array([(b >> (v - 1 - i)) & 1 for i in range(v)], dtype=np.uint64)
    return F.ext_from_base(bits).reshape(4, v)


def eq_ref(z: np.ndarray, b: int) -> np.ndarray:
    """eq(z, b) straight from the definition."""
    v = z.shape[1]
    acc = F.ext_one()
    for i in range(v):
        bit = (b >> (v - 1 - i)) & 1
        acc = F.ext_mul(acc, z[:, i] if bit else F.ext_sub(F.ext_one(), z[:, i]))
    return acc


@pytest.mark.parametrize("v", [0, 1, 2, 5])
def test_eq_table_matches_definition(v):
    z = F.ext_random(np.random.default_rng(v), (v,))
    table = mle.eq_table(z)
    assert table.shape == (4, 1 << v)
    for b in range(1 << v):
        assert F.ext_eq(table[:, b], eq_ref(z, b))
    assert F.ext_eq(F.ext_sum_all(table), F.ext_one())  # sum_b eq(z, b) = 1


def test_eq_table_large_uses_the_parallel_path():
    v = mle.log2_exact(F.PARALLEL_MIN) + 2
    z = F.ext_random(np.random.default_rng(1), (v,))
    table = mle.eq_table(z)
    for b in (0, 1, 12345, (1 << v) - 1):
        assert F.ext_eq(table[:, b], eq_ref(z, b))


def test_eq_eval_matches_table_and_is_symmetric():
    rng = np.random.default_rng(2)
    z = F.ext_random(rng, (6,))
    r = F.ext_random(rng, (6,))
    for b in (0, 7, 63):
        assert F.ext_eq(mle.eq_eval(z, bits_point(b, 6)), mle.eq_table(z)[:, b])
    assert F.ext_eq(mle.eq_eval(z, r), mle.eq_eval(r, z))
    # eq(z, r) = sum_b eq(z, b) eq(r, b)
    assert F.ext_eq(mle.eq_eval(z, r), F.ext_dot(mle.eq_table(z), mle.eq_table(r)))
    assert F.ext_eq(mle.eq_eval(z[:, :0], r[:, :0]), F.ext_one())
    with pytest.raises(ValueError):
        mle.eq_eval(z, r[:, :5])


@pytest.mark.parametrize("v", [0, 1, 3, 6, 9])
@pytest.mark.parametrize("kind", ["base", "ext"])
def test_evaluate_matches_eq_sum_and_boolean_points(v, kind):
    rng = np.random.default_rng(10 * v + (kind == "ext"))
    table = F.random(rng, (1 << v,)) if kind == "base" else F.ext_random(rng, (1 << v,))
    z = F.ext_random(rng, (v,))
    assert F.ext_eq(mle.evaluate(table, z), F.ext_dot(mle.eq_table(z), table))
    for b in {0, (1 << v) - 1, (1 << v) // 3}:
        want = F.ext_from_base(table[b]) if kind == "base" else table[:, b]
        assert F.ext_eq(mle.evaluate(table, bits_point(b, v)), want)


def test_evaluate_large_base_table():
    rng = np.random.default_rng(3)
    v = 16
    table = F.random(rng, (1 << v,))
    z = F.ext_random(rng, (v,))
    assert F.ext_eq(mle.evaluate(table, z), F._np_matvec(table[None, :], mle.eq_table(z))[:, 0])


def test_evaluate_short_table_is_zero_padded():
    rng = np.random.default_rng(4)
    table = F.random(rng, (11,))
    z = F.ext_random(rng, (5,))
    padded = np.concatenate([table, np.zeros(21, np.uint64)])
    assert F.ext_eq(mle.evaluate(table, z), mle.evaluate(padded, z))
    etable = F.ext_random(rng, (5,))
    epadded = np.concatenate([etable, np.zeros((4, 27), np.uint64)], axis=1)
    assert F.ext_eq(mle.evaluate(etable, z), mle.evaluate(epadded, z))
    assert F.ext_eq(mle.evaluate(np.zeros(0, np.uint64), z), F.ext_zero())
    with pytest.raises(ValueError):
        mle.evaluate(F.random(rng, (33,)), z)
    with pytest.raises(ValueError):
        mle.evaluate(F.random(rng, (2, 8)), z)  # base matrices must be flattened


@pytest.mark.parametrize("shape", [(4, 8), (1, 16), (16, 1), (3, 5), (8, 7), (1, 1)])
def test_evaluate_matrix_is_row_major_evaluate(shape):
    rng = np.random.default_rng(sum(shape))
    rows, cols = shape
    a, b = mle.num_vars(rows), mle.num_vars(cols)
    m = F.random(rng, shape)
    z_row = F.ext_random(rng, (a,))
    z_col = F.ext_random(rng, (b,))
    padded = mle.pad_to_pow2(m)
    want = mle.evaluate(padded.reshape(-1), np.concatenate([z_row, z_col], axis=1))
    assert F.ext_eq(mle.evaluate_matrix(m, z_row, z_col), want)
    me = F.ext_random(rng, shape)
    epadded = mle.ext_pad_to_pow2(me)
    want = mle.evaluate(epadded.reshape(4, -1), np.concatenate([z_row, z_col], axis=1))
    assert F.ext_eq(mle.evaluate_matrix(me, z_row, z_col), want)


def test_evaluate_matrix_rejects_oversized():
    rng = np.random.default_rng(5)
    with pytest.raises(ValueError):
        mle.evaluate_matrix(F.random(rng, (5, 2)), F.ext_random(rng, (2,)), F.ext_random(rng, (1,)))


@pytest.mark.parametrize("v", [1, 2, 7, 16])
@pytest.mark.parametrize("kind", ["base", "ext"])
def test_fold_binds_the_most_significant_variable(v, kind):
    rng = np.random.default_rng(v)
    table = F.random(rng, (1 << v,)) if kind == "base" else F.ext_random(rng, (1 << v,))
    z = F.ext_random(rng, (v,))
    folded = mle.fold(table, z[:, 0])
    assert folded.shape == (4, 1 << (v - 1))
    assert F.ext_eq(mle.evaluate(folded, z[:, 1:]), mle.evaluate(table, z))
    # definition: T[:h] + r (T[h:] - T[:h])
    h = 1 << (v - 1)
    te = table if kind == "ext" else F.ext_from_base(table)
    want = F.ext_add(te[:, :h], F.ext_mul(z[:, 0], F.ext_sub(te[:, h:], te[:, :h])))
    assert F.ext_eq(folded, want)


def test_fold_down_to_a_point_evaluates():
    rng = np.random.default_rng(6)
    table = F.random(rng, (64,))
    z = F.ext_random(rng, (6,))
    t = table
    for i in range(6):
        t = mle.fold(t, z[:, i])
    assert F.ext_eq(t[:, 0], mle.evaluate(table, z))


def test_fold_in_place_buffer():
    rng = np.random.default_rng(7)
    table = F.ext_random(rng, (1 << 15,))
    r = F.ext_random(rng)
    want = mle.fold(table, r)
    buf = table.copy()
    mle.fold_buffer(buf, 1 << 14, r, buf)
    assert F.ext_eq(buf[:, : 1 << 14], want)


def test_fold_rejects_odd_lengths():
    with pytest.raises(ValueError):
        mle.fold(np.zeros(3, np.uint64), F.ext_one())
    with pytest.raises(ValueError):
        mle.fold(np.zeros(1, np.uint64), F.ext_one())


def test_size_helpers():
    assert [mle.next_pow2(n) for n in (0, 1, 2, 3, 4, 5, 1000)] == [1, 1, 2, 4, 4, 8, 1024]
    assert [mle.num_vars(n) for n in (1, 2, 3, 4, 5)] == [0, 1, 2, 2, 3]
    assert mle.log2_exact(1024) == 10
    with pytest.raises(ValueError):
        mle.log2_exact(12)
    a = np.arange(15, dtype=np.uint64).reshape(3, 5)
    p = mle.pad_to_pow2(a)
    assert p.shape == (4, 8) and np.array_equal(p[:3, :5], a) and p[3:].sum() == 0
    assert mle.ext_pad_to_pow2(F.ext_one((3,))).shape == (4, 4)


def test_numpy_fallback_agrees_with_numba(monkeypatch):
    rng = np.random.default_rng(8)
    z = F.ext_random(rng, (15,))
    tb = F.random(rng, (1 << 15,))
    te = F.ext_random(rng, (1 << 15,))
    ops = [
        lambda: mle.eq_table(z),
        lambda: mle.evaluate(tb, z),
        lambda: mle.evaluate(te, z),
        lambda: mle.fold(tb, z[:, 3]),
        lambda: mle.fold(te, z[:, 3]),
        lambda: mle.evaluate_matrix(tb[:600].reshape(20, 30), z[:, :5], z[:, 5:10]),
    ]
    fast = [op() for op in ops]
    monkeypatch.setattr(F, "_numba", None)
    monkeypatch.setattr(F, "BACKEND", "numpy")
    for op, want in zip(ops, fast, strict=True):
        assert F.ext_eq(op(), want)

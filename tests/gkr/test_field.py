"""BabyBear and its quartic extension: known answers, field axioms, kernels vs references."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provers.gkr import field as F

P = F.P
# Scalar field operations take microseconds, but a loaded 2-core machine (or the first call's
# load of compiled kernels) can stall an example past hypothesis's default 200 ms deadline.
no_deadline = settings(deadline=None)
KAT = json.loads((Path(__file__).parent / "vectors" / "field_kat.json").read_text())

elem = st.integers(0, P - 1)
nonzero = st.integers(1, P - 1)
ext_elem = st.tuples(elem, elem, elem, elem)
ext_nonzero = ext_elem.filter(any)


def u(x) -> np.ndarray:
    return np.asarray(x, dtype=np.uint64)


def ext(x) -> np.ndarray:
    return np.asarray(x, dtype=np.uint64).reshape(4)


def ext_mul_ref(a, b) -> list[int]:
    full = [0] * 7
    for i in range(4):
        for j in range(4):
            full[i + j] += int(a[i]) * int(b[j])
    return [(full[k] + (F.W * full[k + 4] if k < 3 else 0)) % P for k in range(4)]


# ------------------------------------------------------------------ known answers


def test_constants():
    assert P == 2**31 - 2**27 + 1 == KAT["p"]
    assert F.W == 11 == KAT["w"]
    assert F.EXT_DEGREE == 4


@pytest.mark.parametrize("op", ["add", "sub", "mul"])
def test_base_binary_kat(op):
    cases = np.array(KAT["base"][op], dtype=np.uint64)
    got = getattr(F, op)(cases[:, 0], cases[:, 1])
    assert np.array_equal(got, cases[:, 2])
    for a, b, c in cases[:5]:  # scalar (0-d) inputs too
        assert int(getattr(F, op)(a, b)) == int(c)


def test_base_inv_kat():
    cases = np.array(KAT["base"]["inv"], dtype=np.uint64)
    assert np.array_equal(F.inv(cases[:, 0]), cases[:, 1])
    assert np.array_equal(F.batch_inv(cases[:, 0]), cases[:, 1])
    for a, c in cases[:5]:
        assert int(F.inv(a)) == int(c)


def test_base_pow_kat():
    for a, e, c in KAT["base"]["pow"]:
        assert int(F.pow(u(a), e)) == c


def test_ext_mul_kat():
    a = np.array([c[0] for c in KAT["ext"]["mul"]], dtype=np.uint64).T
    b = np.array([c[1] for c in KAT["ext"]["mul"]], dtype=np.uint64).T
    want = np.array([c[2] for c in KAT["ext"]["mul"]], dtype=np.uint64).T
    assert np.array_equal(F.ext_mul(a, b), want)
    assert np.array_equal(F._np_ext_mul(a, b), want)
    for i in range(5):
        assert np.array_equal(F.ext_mul(a[:, i], b[:, i]), want[:, i])


def test_ext_inv_kat():
    a = np.array([c[0] for c in KAT["ext"]["inv"]], dtype=np.uint64).T
    want = np.array([c[1] for c in KAT["ext"]["inv"]], dtype=np.uint64).T
    assert np.array_equal(F.ext_inv(a), want)
    assert np.array_equal(F.ext_batch_inv(a), want)
    assert np.array_equal(F.ext_inv(a[:, 3]), want[:, 3])


def test_extension_polynomial_is_irreducible():
    # x^4 - a is irreducible over F_p iff a is a non-square and 4 | p - 1 (Lidl and
    # Niederreiter, Finite Fields, Theorem 3.75). make_field_kat.py also checks it with galois.
    assert (P - 1) % 4 == 0
    assert pow(F.W, (P - 1) // 2, P) == P - 1
    assert KAT["x4_minus_w_irreducible"] in (True, None)


# ------------------------------------------------------------------ base field axioms


@no_deadline
@given(elem, elem, elem)
def test_base_ring_axioms(a, b, c):
    a, b, c = u(a), u(b), u(c)
    assert F.add(a, b) == F.add(b, a)
    assert F.mul(a, b) == F.mul(b, a)
    assert F.add(F.add(a, b), c) == F.add(a, F.add(b, c))
    assert F.mul(F.mul(a, b), c) == F.mul(a, F.mul(b, c))
    assert F.mul(a, F.add(b, c)) == F.add(F.mul(a, b), F.mul(a, c))
    assert F.sub(F.add(a, b), b) == a
    assert F.add(a, F.neg(a)) == 0
    assert F.square(a) == F.mul(a, a)
    assert int(F.mul(a, b)) == int(a) * int(b) % P


@no_deadline
@given(nonzero, st.integers(-(2**70), 2**70))
def test_base_inverse_and_pow(a, e):
    a = u(a)
    assert F.mul(a, F.inv(a)) == 1
    assert int(F.pow(a, e)) == pow(int(a), e, P)


def test_base_zero_inverse_raises():
    with pytest.raises(ZeroDivisionError):
        F.inv(u(0))
    with pytest.raises(ZeroDivisionError):
        F.batch_inv(u([3, 0, 5]))
    with pytest.raises(ZeroDivisionError):
        F.inv(u(list(range(20))))


@pytest.mark.parametrize("n", [1, 2, 3, 7, 64, 1000, 4097])
def test_batch_inv_matches_inv(n):
    rng = np.random.default_rng(n)
    a = rng.integers(1, P, size=n, dtype=np.uint64)
    got = F.batch_inv(a)
    assert np.array_equal(got, F.pow(a, P - 2))
    assert np.all(F.mul(a, got) == 1)
    assert np.array_equal(F.batch_inv(a.reshape(1, n)), got.reshape(1, n))


def test_large_arrays_take_the_same_values_on_every_path():
    # Same-shape arrays above the numba threshold go through the kernels; broadcasting ones
    # through numpy. Both must agree with Python integers.
    rng = np.random.default_rng(1)
    a = F.random(rng, (1 << 13,))
    b = F.random(rng, (1 << 13,))
    a[:4] = [0, P - 1, P - 1, 1 << 30]
    b[:4] = [P - 1, P - 1, 0, 1 << 30]
    ai, bi = a.astype(object), b.astype(object)
    assert np.array_equal(F.add(a, b), ((ai + bi) % P).astype(np.uint64))
    assert np.array_equal(F.sub(a, b), ((ai - bi) % P).astype(np.uint64))
    assert np.array_equal(F.mul(a, b), ((ai * bi) % P).astype(np.uint64))
    assert np.array_equal(F.mul(a, b[:1]), ((ai * bi[0]) % P).astype(np.uint64))


def test_reduction_kernel_on_extreme_words():
    if F.BACKEND != "numba":
        pytest.skip("numba kernels not in use")
    rng = np.random.default_rng(2)
    special = [0, 1, P - 1, P, P + 1, 2 * P - 1, 2 * P, (P - 1) ** 2, 4 * (P - 1) ** 2]
    special += [2**62, 2**63, 2**64 - 1, 2**64 - P, (2**64 // P) * P, (2**64 // P) * P - 1]
    special += [k * P + d for k in (2**31, 2**32, 2**33 - 1) for d in (-1, 0, 1)]
    x = np.concatenate([u(special), rng.integers(0, 2**64 - 1, 5000, dtype=np.uint64)])
    out = np.empty_like(x)
    F._s_reduce(x, out)
    assert [int(v) for v in out] == [int(v) % P for v in x]


def test_encode_decode():
    v = np.array([0, 1, -1, 5, -5, (P - 1) // 2, -(P - 1) // 2, 2**40, -(2**40)], np.int64)
    enc = F.encode(v)
    assert enc.dtype == np.uint64 and np.all(enc < P)
    assert [int(x) for x in enc] == [int(x) % P for x in v]
    small = v[np.abs(v) <= (P - 1) // 2]
    assert np.array_equal(F.decode(F.encode(small)), small)
    # decode's range is (-p/2, p/2]
    assert int(F.decode(u((P - 1) // 2))) == (P - 1) // 2
    assert int(F.decode(u((P + 1) // 2))) == -((P - 1) // 2)
    assert int(F.decode(u(P - 1))) == -1
    assert F.encode(np.int64(-3)).shape == ()


def test_base_bytes_roundtrip_and_canonical_check():
    rng = np.random.default_rng(3)
    a = F.random(rng, (3, 5))
    data = F.to_bytes(a)
    assert len(data) == 60
    assert data[:4] == int(a[0, 0]).to_bytes(4, "little")
    assert np.array_equal(F.from_bytes(data, (3, 5)), a)
    assert np.array_equal(F.from_bytes(data), a.reshape(-1))
    with pytest.raises(ValueError):
        F.from_bytes(P.to_bytes(4, "little"))
    with pytest.raises(ValueError):
        F.from_bytes(b"\x00" * 5)
    with pytest.raises(ValueError):
        F.from_bytes(data, (4, 4))
    with pytest.raises(ValueError):
        F.to_bytes(u([P]))


def test_random_is_seeded_and_in_range():
    a = F.random(np.random.default_rng(9), (1000,))
    b = F.random(np.random.default_rng(9), (1000,))
    assert np.array_equal(a, b) and a.dtype == np.uint64 and np.all(a < P)
    e = F.ext_random(np.random.default_rng(9), (2, 3))
    assert e.shape == (4, 2, 3) and np.all(e < P)


# ------------------------------------------------------------------ extension field


@no_deadline
@given(ext_elem, ext_elem, ext_elem)
def test_ext_field_axioms(a, b, c):
    a, b, c = ext(a), ext(b), ext(c)
    assert F.ext_eq(F.ext_mul(a, b), F.ext_mul(b, a))
    assert F.ext_eq(F.ext_add(a, b), F.ext_add(b, a))
    assert F.ext_eq(F.ext_mul(F.ext_mul(a, b), c), F.ext_mul(a, F.ext_mul(b, c)))
    assert F.ext_eq(F.ext_add(F.ext_add(a, b), c), F.ext_add(a, F.ext_add(b, c)))
    lhs = F.ext_mul(a, F.ext_add(b, c))
    assert F.ext_eq(lhs, F.ext_add(F.ext_mul(a, b), F.ext_mul(a, c)))
    assert F.ext_eq(F.ext_sub(F.ext_add(a, b), b), a)
    assert F.ext_eq(F.ext_add(a, F.ext_neg(a)), F.ext_zero())
    assert F.ext_eq(F.ext_mul(a, F.ext_one()), a)
    assert F.ext_eq(F.ext_square(a), F.ext_mul(a, a))
    assert [int(x) for x in F.ext_mul(a, b)] == ext_mul_ref(a, b)


@no_deadline
@given(ext_nonzero, st.integers(-40, 40))
def test_ext_inverse_and_pow(a, e):
    a = ext(a)
    assert F.ext_eq(F.ext_mul(a, F.ext_inv(a)), F.ext_one())
    want = F.ext_one()
    step = a if e >= 0 else F.ext_inv(a)
    for _ in range(abs(e)):
        want = F.ext_mul(want, step)
    assert F.ext_eq(F.ext_pow(a, e), want)


@no_deadline
@given(ext_elem, elem)
def test_ext_base_embedding(a, x):
    a, x = ext(a), u(x)
    assert F.ext_eq(F.ext_mul_base(a, x), F.ext_mul(a, F.ext_from_base(x)))
    xe = F.ext_from_base(x)
    assert F.ext_eq(F.ext_mul(xe, xe), F.ext_from_base(F.mul(x, x)))


def test_ext_zero_inverse_raises():
    with pytest.raises(ZeroDivisionError):
        F.ext_inv(F.ext_zero())
    e = F.ext_random(np.random.default_rng(4), (5,))
    e[:, 2] = 0
    with pytest.raises(ZeroDivisionError):
        F.ext_batch_inv(e)


def test_ext_batch_inv_matches_scalar_inverses():
    e = F.ext_random(np.random.default_rng(5), (33,))
    inv = F.ext_batch_inv(e)
    for i in range(33):
        assert F.ext_eq(inv[:, i], F.ext_pow(e[:, i], P**4 - 2))


def test_ext_broadcasting():
    rng = np.random.default_rng(6)
    vec = F.ext_random(rng, (2, 5))
    s = F.ext_random(rng)
    col = F.ext_random(rng, (2, 1))
    base = F.random(rng, (2, 5))
    loop = np.stack([F.ext_mul(vec[:, i, j], s) for i in range(2) for j in range(5)], 1)
    assert F.ext_eq(F.ext_mul(vec, s), loop.reshape(4, 2, 5))
    assert F.ext_eq(F.ext_mul(s, vec), loop.reshape(4, 2, 5))
    assert F.ext_eq(F.ext_mul(vec, col), F.ext_mul(vec, np.broadcast_to(col, (4, 2, 5))))
    assert F.ext_eq(F.ext_add(vec, s)[:, 1, 3], F.ext_add(vec[:, 1, 3], s))
    assert F.ext_eq(F.ext_sub(s, vec)[:, 1, 3], F.ext_sub(s, vec[:, 1, 3]))
    assert F.ext_eq(F.ext_mul_base(s, base)[:, 1, 2], F.ext_mul_base(s, base[1, 2]))
    want = F.ext_mul_base(vec[:, 1, 2], base[0, 0])
    assert F.ext_eq(F.ext_mul_base(vec, base[0, 0])[:, 1, 2], want)
    assert F.ext_eq(F.ext_mul_base(vec, base)[:, 1, 2], F.ext_mul_base(vec[:, 1, 2], base[1, 2]))


def test_ext_mul_kernel_matches_numpy_on_large_arrays():
    rng = np.random.default_rng(7)
    a = F.ext_random(rng, (5000,))
    b = F.ext_random(rng, (5000,))
    a[:, :3] = P - 1
    b[:, :3] = P - 1
    want = F._np_ext_mul(a, b)
    assert F.ext_eq(F.ext_mul(a, b), want)
    assert F.ext_eq(F.ext_mul(a, b[:, 0]), F._np_ext_mul(a, b[:, :1]))


def test_ext_bytes_roundtrip_and_canonical_check():
    e = F.ext_random(np.random.default_rng(8), (2, 3))
    data = F.ext_to_bytes(e)
    assert len(data) == 16 * 6
    # element-major: the first 16 bytes are element (0, 0)'s four coefficients
    assert data[:16] == b"".join(int(c).to_bytes(4, "little") for c in e[:, 0, 0])
    assert F.ext_eq(F.ext_from_bytes(data, (2, 3)), e)
    assert F.ext_from_bytes(data).shape == (4, 6)
    assert F.ext_eq(F.ext_from_bytes(F.ext_to_bytes(e[:, 1, 2]), ()), e[:, 1, 2])
    bad = bytearray(data)
    bad[4:8] = P.to_bytes(4, "little")
    with pytest.raises(ValueError):
        F.ext_from_bytes(bytes(bad))
    with pytest.raises(ValueError):
        F.ext_from_bytes(data[:-1])
    with pytest.raises(ValueError):
        F.ext_from_bytes(data, (5,))


def test_sum_and_product_helpers():
    rng = np.random.default_rng(10)
    e = F.ext_random(rng, (3, 7))
    want_sum, want_prod = F.ext_zero(), F.ext_one()
    for i in range(3):
        for j in range(7):
            want_sum = F.ext_add(want_sum, e[:, i, j])
            want_prod = F.ext_mul(want_prod, e[:, i, j])
    assert F.ext_eq(F.ext_sum_all(e), want_sum)
    assert F.ext_eq(F.ext_prod_all(e), want_prod)
    assert F.ext_eq(F.ext_prod_all(F.ext_zero((0,))), F.ext_one())
    a = F.random(rng, (100,))
    assert int(F.sum_all(a)) == sum(int(x) for x in a) % P


# ------------------------------------------------------------------ matrix-vector products


def ext_matvec_ref(m, e):
    """out[:, r] = sum_j m[r, j] e[:, j], with Python integers."""
    rows, cols = m.shape[-2], m.shape[-1]
    out = np.zeros((4, rows), dtype=np.uint64)
    for r in range(rows):
        acc = [0, 0, 0, 0]
        for j in range(cols):
            if m.ndim == 2:
                term = [int(c) * int(m[r, j]) for c in e[:, j]]
            else:
                term = ext_mul_ref(m[:, r, j], e[:, j])
            acc = [(x + y) % P for x, y in zip(acc, term, strict=True)]
        out[:, r] = acc
    return out


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (1, 5000), (20, 33), (0, 4)])
def test_ext_matvec_matches_reference(shape):
    rng = np.random.default_rng(sum(shape))
    m = F.random(rng, shape)
    me = F.ext_random(rng, shape)
    e = F.ext_random(rng, (shape[1],))
    if m.size:
        m[0, 0] = P - 1
        e[:, 0] = P - 1
    assert F.ext_eq(F.ext_matvec(m, e), ext_matvec_ref(m, e))
    assert F.ext_eq(F.ext_matvec(me, e), ext_matvec_ref(me, e))
    assert F.ext_eq(F._np_matvec(m, e), ext_matvec_ref(m, e))
    if shape[0] == 1:
        assert F.ext_eq(F.ext_dot(e, m[0]), ext_matvec_ref(m, e)[:, 0])
        assert F.ext_eq(F.ext_dot(e, me[:, 0]), ext_matvec_ref(me, e)[:, 0])


def small_ref(m_int, e, transpose):
    """sum_i e[:, i] M[i, :] (or sum_j M[:, j] e[:, j]) with Python integers."""
    mat = m_int.T if transpose else m_int
    out = np.zeros((4, mat.shape[1]), np.uint64)
    for col in range(mat.shape[1]):
        for k in range(4):
            out[k, col] = sum(int(e[k, i]) * int(mat[i, col]) for i in range(mat.shape[0])) % P
    return out


@pytest.mark.parametrize("dtype", [np.int64, np.float64])
def test_ext_matvec_small_matches_reference(dtype):
    rng = np.random.default_rng(11)
    m = rng.integers(-(2**15) + 1, 2**15, size=(37, 9)).astype(dtype)
    m[0, 0], m[1, 1] = 2**15 - 1, -(2**15) + 1
    e = F.ext_random(rng, (37,))
    e[:, 0] = P - 1
    assert F.ext_eq(F.ext_matvec_small(m, e), small_ref(m.astype(np.int64), e, False))
    e2 = F.ext_random(rng, (9,))
    assert F.ext_eq(F.ext_small_matvec(m, e2), small_ref(m.astype(np.int64), e2, True))
    # the small path agrees with the general one on the encoded matrix
    enc = F.encode(m.astype(np.int64))
    assert F.ext_eq(F.ext_small_matvec(m, e2), F.ext_matvec(enc, e2))


def test_ext_matvec_small_chunks_long_sums(monkeypatch):
    monkeypatch.setattr(F, "_SMALL_CHUNK", 8)
    rng = np.random.default_rng(12)
    m = rng.integers(-(2**15) + 1, 2**15, size=(29, 3))
    e = F.ext_random(rng, (29,))
    assert F.ext_eq(F.ext_matvec_small(m, e), small_ref(m, e, False))
    assert F.ext_eq(F.ext_small_matvec(m.T, e), small_ref(m.T, e, True))


def test_ext_matvec_small_rejects_large_entries():
    e = F.ext_random(np.random.default_rng(13), (2,))
    with pytest.raises(ValueError, match="2\\^15"):
        F.ext_matvec_small(np.array([[2**15], [0]]), e)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 40), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_ext_matvec_small_property(m_rows, n_cols, seed):
    rng = np.random.default_rng(seed)
    m = rng.integers(-(2**15) + 1, 2**15, size=(m_rows, n_cols))
    e = F.ext_random(rng, (m_rows,))
    assert F.ext_eq(F.ext_matvec_small(m, e), F.ext_matvec(F.encode(m.T), e))


# ------------------------------------------------------------------ numpy fallback


def test_numpy_fallback_agrees_with_numba(monkeypatch):
    rng = np.random.default_rng(14)
    a = F.ext_random(rng, (1 << 13,))
    b = F.ext_random(rng, (1 << 13,))
    x = F.random(rng, (1 << 13,))
    m = F.random(rng, (8, 64))
    ops = [
        lambda: F.ext_mul(a, b),
        lambda: F.ext_mul(a, b[:, 5]),
        lambda: F.ext_mul_base(a, x),
        lambda: F.ext_mul_base(b[:, 1], x),
        lambda: F.ext_add(a, b),
        lambda: F.ext_sub(a, b),
        lambda: F.mul(x, x),
        lambda: F.ext_matvec(m, a[:, :64]),
        lambda: F.ext_dot(a, x),
        lambda: F.ext_inv(a[:, :100]),
    ]
    fast = [op() for op in ops]
    monkeypatch.setattr(F, "_numba", None)
    monkeypatch.setattr(F, "BACKEND", "numpy")
    for op, want in zip(ops, fast, strict=True):
        assert F.ext_eq(op(), want)

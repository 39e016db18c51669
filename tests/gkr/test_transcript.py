"""Fiat-Shamir transcript: determinism, domain separation, uniform challenges in K."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from provers.gkr import field as F
from provers.gkr.transcript import Transcript


def run(steps, domain="test") -> np.ndarray:
    """Apply (method, *args) steps and return the challenge drawn at the end."""
    t = Transcript(domain)
    for name, *args in steps:
        getattr(t, name)(*args)
    return t.challenge_ext("final")


BASE = [("absorb_bytes", "a", b"hello"), ("absorb_base", "b", np.arange(6, dtype=np.uint64))]


def test_deterministic():
    assert F.ext_eq(run(BASE), run(BASE))
    t1, t2 = Transcript(b"x"), Transcript("x")  # str and bytes tags are the same tag
    assert F.ext_eq(t1.challenge_ext_vector("v", 5), t2.challenge_ext_vector("v", 5))


@pytest.mark.parametrize(
    "other",
    [
        [("absorb_bytes", "a", b"hellp"), BASE[1]],  # data
        [("absorb_bytes", "c", b"hello"), BASE[1]],  # label
        [BASE[1], BASE[0]],  # order
        [BASE[0]],  # omission
        [BASE[0], ("absorb_base", "b", np.arange(6, dtype=np.uint64).reshape(2, 3))],  # shape
        [BASE[0], ("absorb_ext", "b", np.arange(4, dtype=np.uint64))],  # field
        # length framing: moving bytes between label and data changes the result
        [("absorb_bytes", "ah", b"ello"), BASE[1]],
        [("absorb_bytes", "a", b"hello"), ("absorb_bytes", "b", b""), BASE[1]],
    ],
)
def test_every_change_changes_the_challenge(other):
    assert not F.ext_eq(run(BASE), run(other))


def test_domain_separates():
    assert not F.ext_eq(run(BASE, "one"), run(BASE, "two"))


def test_challenges_chain():
    t1, t2 = Transcript("d"), Transcript("d")
    a = t1.challenge_ext("c")
    b = t1.challenge_ext("c")
    assert not F.ext_eq(a, b)  # a second challenge depends on the first
    t2.challenge_ext("other label")
    assert not F.ext_eq(t2.challenge_ext("c"), b)


def test_challenges_are_canonical_and_shaped():
    t = Transcript("shape")
    c = t.challenge_ext("c")
    assert c.shape == (4,) and c.dtype == np.uint64
    v = t.challenge_ext_vector("v", 1000)
    assert v.shape == (4, 1000) and v.dtype == np.uint64
    assert np.all(v < F.P) and np.all(c < F.P)
    assert t.challenge_ext_vector("empty", 0).shape == (4, 0)
    # roughly uniform: the mean of 4000 uniform values in [0, p) is p/2 within a few percent
    assert abs(v.mean() / F.P - 0.5) < 0.03


def test_rejection_sampling_drops_values_at_or_above_p():
    # Reproduce the squeeze by hand: 31-bit chunks, values >= p skipped, not reduced.
    t = Transcript("rs")
    probe = t.copy()
    got = t.challenge_ext_vector("x", 64)
    h = hashlib.sha256(probe._state + b"\x02" + (1).to_bytes(8, "little") + b"x")
    h.update((256).to_bytes(8, "little"))
    state = h.digest()
    chunks = []
    block = 0
    while len(chunks) < 256:
        stream = hashlib.sha256(state + b"\x03" + block.to_bytes(8, "little")).digest()
        for i in range(8):
            w = int.from_bytes(stream[4 * i : 4 * i + 4], "little") & 0x7FFFFFFF
            if w < F.P:
                chunks.append(w)
        block += 1
    want = np.array(chunks[:256], np.uint64).reshape(64, 4).T
    assert np.array_equal(got, want)


def test_absorb_rejects_non_canonical():
    t = Transcript("c")
    with pytest.raises(ValueError):
        t.absorb_base("x", np.array([F.P], np.uint64))
    with pytest.raises(ValueError):
        t.absorb_ext("x", np.array([0, 0, F.P, 0], np.uint64))
    with pytest.raises(ValueError):
        t.absorb_ext("x", np.zeros((3, 2), np.uint64))  # not an extension array


def test_copy_is_independent():
    t = Transcript("copy")
    t.absorb_bytes("a", b"1")
    u = t.copy()
    assert F.ext_eq(t.challenge_ext("c"), u.challenge_ext("c"))
    t.absorb_bytes("b", b"2")
    assert not F.ext_eq(t.challenge_ext("c"), u.challenge_ext("c"))

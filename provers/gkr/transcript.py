"""Fiat-Shamir transcript over SHA-256, domain-separated, drawing challenges in K.

Protocol step: turns the interactive GKR protocol and its sumchecks (Lund et al. 1992;
Thaler 2013) into a non-interactive proof by the Fiat-Shamir transform. PROTOCOL.md,
"Flow": every prover message is absorbed before the next challenge is drawn; prover and
verifier each build their own Transcript and make the same calls in the same order.

Construction. The state is a 32-byte SHA-256 chaining value:

    state_0     = H("zkbench/gkr/transcript/v1" || frame(domain))
    absorb:       state <- H(state || 0x01 || frame(label) || frame(data))
    challenge:    state <- H(state || 0x02 || frame(label) || u64(count))
                  output block i = H(state || 0x03 || u64(i))

frame(x) = u64_le(len(x)) || x, so no two distinct call sequences produce the same hash
input. Each challenge therefore depends on the domain, on everything absorbed before it and,
through the chaining, on every earlier challenge. Field arrays are absorbed with a type byte and
their shape, so equal bytes with different shapes or fields differ too.

Challenges are uniform in K: each coefficient comes from a 4-byte little-endian chunk of the
output stream masked to 31 bits and accepted only if below p (rejection sampling; acceptance
p / 2^31 = 15/16), rather than reduced mod p, which would bias small residues.
"""

from __future__ import annotations

import hashlib
import struct

import numpy as np
from numpy.typing import ArrayLike

from provers.gkr import field as F

_INIT = b"zkbench/gkr/transcript/v1"
_OP_ABSORB = b"\x01"
_OP_CHALLENGE = b"\x02"
_OP_SQUEEZE = b"\x03"
_TAG_BASE = b"F"
_TAG_EXT = b"K"


def _u64(n: int) -> bytes:
    return struct.pack("<Q", n)


def _as_bytes(x: bytes | str) -> bytes:
    if isinstance(x, str):
        return x.encode("utf-8")
    return bytes(x)


def _frame(x: bytes) -> bytes:
    return _u64(len(x)) + x


def _shape_bytes(shape: tuple[int, ...]) -> bytes:
    return _u64(len(shape)) + b"".join(_u64(s) for s in shape)


class Transcript:
    """A Fiat-Shamir transcript; see the module docstring for the exact hashing."""

    def __init__(self, domain: bytes | str) -> None:
        self._state = hashlib.sha256(_INIT + _frame(_as_bytes(domain))).digest()

    def copy(self) -> Transcript:
        """An independent transcript in the same state (e.g. to try a step without
        committing to it)."""
        other = object.__new__(Transcript)
        other._state = self._state
        return other

    def absorb_bytes(self, label: bytes | str, data: bytes) -> None:
        """Absorb raw bytes under a label."""
        h = hashlib.sha256(self._state)
        h.update(_OP_ABSORB)
        h.update(_frame(_as_bytes(label)))
        h.update(_frame(bytes(data)))
        self._state = h.digest()

    def absorb_base(self, label: bytes | str, array: ArrayLike) -> None:
        """Absorb a base-field array (canonical bytes and shape). ValueError if not
        canonical."""
        a = np.asarray(array, dtype=np.uint64)
        self.absorb_bytes(label, _TAG_BASE + _shape_bytes(a.shape) + F.to_bytes(a))

    def absorb_ext(self, label: bytes | str, array: ArrayLike) -> None:
        """Absorb an extension array (4, *shape): canonical bytes and element shape."""
        e = F._as_ext(array)
        self.absorb_bytes(label, _TAG_EXT + _shape_bytes(e.shape[1:]) + F.ext_to_bytes(e))

    def _squeeze_coefficients(self, label: bytes | str, count: int) -> np.ndarray:
        h = hashlib.sha256(self._state)
        h.update(_OP_CHALLENGE)
        h.update(_frame(_as_bytes(label)))
        h.update(_u64(count))
        self._state = h.digest()
        out = np.empty(count, np.uint64)
        filled = 0
        block = 0
        while filled < count:
            # 8 chunks per 32-byte block at 15/16 acceptance: 7.5 expected coefficients; ask
            # for 9/64 blocks per coefficient (7.1) so one batch nearly always suffices.
            blocks = max(1, -(-(count - filled) * 9 // 64))
            stream = b"".join(
                hashlib.sha256(self._state + _OP_SQUEEZE + _u64(block + i)).digest()
                for i in range(blocks)
            )
            block += blocks
            chunks = np.frombuffer(stream, dtype="<u4") & np.uint32(0x7FFFFFFF)
            accepted = chunks[chunks < np.uint32(F.P)][: count - filled]
            out[filled : filled + accepted.size] = accepted
            filled += accepted.size
        return out

    def challenge_ext(self, label: bytes | str) -> np.ndarray:
        """A challenge uniform in K, shape (4,)."""
        return self._squeeze_coefficients(label, F.EXT_DEGREE)

    def challenge_ext_vector(self, label: bytes | str, n: int) -> np.ndarray:
        """n independent challenges uniform in K, shape (4, n) (element i uses coefficients
        4i..4i+3 of the stream)."""
        n = int(n)
        if n < 0:
            raise ValueError("challenge_ext_vector: n must be >= 0")
        coeffs = self._squeeze_coefficients(label, F.EXT_DEGREE * n)
        return np.ascontiguousarray(coeffs.reshape(n, F.EXT_DEGREE).T)

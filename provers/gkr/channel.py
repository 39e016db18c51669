"""The proof as a Fiat-Shamir channel: every prover message is absorbed as it is sent.

Prover and verifier talk through the same object shape, so a message can never be written to
the proof without entering the transcript, nor read without it: the omission behind Frozen
Heart (2022) and the unabsorbed-evaluation forgeries of 2025 cannot be expressed.

Byte format (little endian): MAGIC, then the messages in protocol order, each a run of
canonical field elements (4 bytes per base element, 16 per extension element), with no lengths
(the circuit fixes every count), so a proof with any byte added, removed or changed is either
malformed or carries a different message.
"""

from __future__ import annotations

import numpy as np

from provers.gkr import field as F
from provers.gkr.errors import MalformedProof
from provers.gkr.sumcheck import SumcheckProof
from provers.gkr.transcript import Transcript
from provers.gkr.zk_sumcheck import ZkSumcheckProof

MAGIC = b"ZKBGKR\x00\x01"
"""A proof that carries the prover's advice in the clear."""
MAGIC_COMMITTED_ADVICE = b"ZKBGKR\x00\x02"
"""A proof that commits to the advice (PROTOCOL.md, "Committed advice")."""
MAGIC_ZK = b"ZKBGKR\x00\x03"
"""A zero-knowledge proof (PROTOCOL.md, "Zero knowledge")."""
_FORMATS = {MAGIC: "its advice in the clear", MAGIC_COMMITTED_ADVICE: "committed advice",
            MAGIC_ZK: "zero knowledge"}
PROTOCOL_VERSION = 1
DOMAIN = b"zkbench/gkr/v1"


def new_transcript() -> Transcript:
    t = Transcript(DOMAIN)
    t.absorb_bytes(b"protocol-version", PROTOCOL_VERSION.to_bytes(4, "little"))
    return t


def _absorbed(label: str, omit: frozenset[str]) -> bool:
    """Whether a message enters the transcript: always, unless a test names its kind (the
    label's last part) in ``omit`` to play a weakened transcript."""
    return not omit or label.rsplit("/", 1)[-1] not in omit


class ProverChannel:
    def __init__(self, transcript: Transcript, magic: bytes = MAGIC,
                 omit: frozenset[str] = frozenset()) -> None:
        self.transcript = transcript
        self.omit = omit
        self.parts: list[bytes] = [magic]
        self.size = len(magic)
        self.layout: list[tuple[str, int, int]] = []
        """(label, start, end) of every message in the proof bytes, for tests and tools."""

    def _append(self, label: str, data: bytes) -> None:
        self.parts.append(data)
        self.layout.append((label, self.size, self.size + len(data)))
        self.size += len(data)

    def send_ext(self, label: str, values: np.ndarray) -> None:
        values = np.ascontiguousarray(values, dtype=np.uint64)
        if _absorbed(label, self.omit):
            self.transcript.absorb_ext(label.encode(), values)
        self._append(label, F.ext_to_bytes(values))

    def send_base(self, label: str, values: np.ndarray) -> None:
        values = np.ascontiguousarray(values, dtype=np.uint64).reshape(-1)
        self.transcript.absorb_base(label.encode(), values)
        self._append(label, F.to_bytes(values))

    def send_bytes(self, label: str, data: bytes) -> None:
        """Raw bytes whose length the verifier knows (Merkle roots and nodes)."""
        self.transcript.absorb_bytes(label.encode(), data)
        self._append(label, bytes(data))

    def send_sumcheck(self, label: str, proof: SumcheckProof | ZkSumcheckProof) -> None:
        """Sumcheck messages were absorbed round by round by sumcheck.prove (or
        zk_sumcheck.prove)."""
        self._append(label, proof.to_bytes())

    def challenge(self, label: str) -> np.ndarray:
        return self.transcript.challenge_ext(label.encode())

    def challenges(self, label: str, n: int) -> np.ndarray:
        return self.transcript.challenge_ext_vector(label.encode(), n)

    def proof_bytes(self) -> bytes:
        return b"".join(self.parts)


class VerifierChannel:
    def __init__(self, transcript: Transcript, data: bytes, magic: bytes = MAGIC,
                 omit: frozenset[str] = frozenset()) -> None:
        if not data.startswith(magic):
            other = next((f for m, f in _FORMATS.items() if data.startswith(m)), None)
            if other is not None:
                raise MalformedProof(f"gkr proof carries {other}; this verifier expects "
                                     f"{_FORMATS[magic]}")
            raise MalformedProof("gkr proof: wrong magic or protocol version")
        self.transcript = transcript
        self.omit = omit
        self.data = data
        self.pos = len(magic)

    def _take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.data):
            raise MalformedProof(f"gkr proof truncated while reading {what}")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def recv_ext(self, label: str, count: int = 1) -> np.ndarray:
        """``count`` extension elements, as (4,) when count == 1 else (4, count)."""
        raw = self._take(16 * count, label)
        try:
            values = F.ext_from_bytes(raw, () if count == 1 else (count,))
        except ValueError as exc:
            raise MalformedProof(f"gkr proof: {label}: {exc}") from None
        if _absorbed(label, self.omit):
            self.transcript.absorb_ext(label.encode(), values)
        return values

    def recv_base(self, label: str, count: int) -> np.ndarray:
        raw = self._take(4 * count, label)
        try:
            values = F.from_bytes(raw, (count,))
        except ValueError as exc:
            raise MalformedProof(f"gkr proof: {label}: {exc}") from None
        self.transcript.absorb_base(label.encode(), values)
        return values

    def recv_bytes(self, label: str, count: int) -> bytes:
        raw = self._take(count, label)
        self.transcript.absorb_bytes(label.encode(), raw)
        return raw

    def recv_sumcheck(self, label: str, num_vars: int, degree: int) -> SumcheckProof:
        raw = self._take(16 * num_vars * degree, label)
        try:
            return SumcheckProof.from_bytes(raw, num_vars, degree)
        except ValueError as exc:
            raise MalformedProof(f"gkr proof: {label}: {exc}") from None

    def recv_zk_sumcheck(self, label: str, num_vars: int, degree: int, last_degree: int,
                         has_output: bool = False) -> ZkSumcheckProof:
        """A masked sumcheck's messages (zk_sumcheck.py), absorbed by its verifier."""
        size = ZkSumcheckProof.size_bytes(num_vars, degree, last_degree, has_output)
        raw = self._take(size, label)
        try:
            return ZkSumcheckProof.from_bytes(raw, num_vars, degree, last_degree, has_output)
        except ValueError as exc:
            raise MalformedProof(f"gkr proof: {label}: {exc}") from None

    def challenge(self, label: str) -> np.ndarray:
        return self.transcript.challenge_ext(label.encode())

    def challenges(self, label: str, n: int) -> np.ndarray:
        return self.transcript.challenge_ext_vector(label.encode(), n)

    def finish(self) -> None:
        if self.pos != len(self.data):
            raise MalformedProof(f"gkr proof has {len(self.data) - self.pos} trailing bytes")

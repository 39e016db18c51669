"""The canonical bytes of a Groth16 proof over BN254, and their parsing.

A proof is three affine points, A and C in G1 and B in G2, written as eight 32-byte big-endian
base-field coordinates: A.x A.y B.x.c0 B.x.c1 B.y.c0 B.y.c1 C.x C.y (256 bytes). The public
signals are not in the proof: they are the statement (output, then input), which the verifier
takes from the claim it is asked about. Parsing is strict: exactly 256 bytes, every coordinate
below q, every point on its curve, so a flipped bit fails here (``MalformedProof``) or, in the
rare case it lands on the curve again, in the pairing check.
"""

from __future__ import annotations

from typing import Any

from provers.base import MalformedProof

Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583
"""The BN254 base field."""
COORD_BYTES = 32
PROOF_BYTES = 8 * COORD_BYTES
G1_B = 3
_INV82 = pow(82, Q - 2, Q)
G2_B = (27 * _INV82 % Q, -3 * _INV82 % Q)
"""The twist's b = 3 / (9 + u) in Fq2 = Fq[u] / (u^2 + 1), as (c0, c1)."""


def _f2_mul(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return ((a[0] * b[0] - a[1] * b[1]) % Q, (a[0] * b[1] + a[1] * b[0]) % Q)


def on_g1(x: int, y: int) -> bool:
    return (y * y - x * x * x - G1_B) % Q == 0


def on_g2(x: tuple[int, int], y: tuple[int, int]) -> bool:
    lhs = _f2_mul(y, y)
    x3 = _f2_mul(_f2_mul(x, x), x)
    return lhs == ((x3[0] + G2_B[0]) % Q, (x3[1] + G2_B[1]) % Q)


def encode(proof: dict[str, Any]) -> bytes:
    """snarkjs's proof JSON (projective, z = 1) -> 256 canonical bytes."""
    a, b, c = proof["pi_a"], proof["pi_b"], proof["pi_c"]
    if [int(v) for v in a[2:]] != [1] or [int(v) for v in c[2:]] != [1] or \
            [int(v) for v in b[2]] != [1, 0]:
        raise ValueError("snarkjs proof is not in affine form (z != 1)")
    coords = [a[0], a[1], b[0][0], b[0][1], b[1][0], b[1][1], c[0], c[1]]
    return b"".join(int(v).to_bytes(COORD_BYTES, "big") for v in coords)


def decode(data: bytes) -> dict[str, Any]:
    """256 bytes -> snarkjs's proof JSON; MalformedProof unless canonical and on the curves."""
    if len(data) != PROOF_BYTES:
        raise MalformedProof(f"groth16 proof: {len(data)} bytes, expected {PROOF_BYTES}")
    v = [int.from_bytes(data[i:i + COORD_BYTES], "big") for i in range(0, PROOF_BYTES,
                                                                      COORD_BYTES)]
    for i, coord in enumerate(v):
        if coord >= Q:
            raise MalformedProof(f"groth16 proof: coordinate {i} is not below the field modulus")
    if not on_g1(v[0], v[1]):
        raise MalformedProof("groth16 proof: A is not on the G1 curve")
    if not on_g2((v[2], v[3]), (v[4], v[5])):
        raise MalformedProof("groth16 proof: B is not on the G2 twist")
    if not on_g1(v[6], v[7]):
        raise MalformedProof("groth16 proof: C is not on the G1 curve")
    s = [str(x) for x in v]
    return {"pi_a": [s[0], s[1], "1"], "pi_b": [[s[2], s[3]], [s[4], s[5]], ["1", "0"]],
            "pi_c": [s[6], s[7], "1"], "protocol": "groth16", "curve": "bn128"}

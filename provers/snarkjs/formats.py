"""Readers for the two iden3 binary files the adapter needs to look into: .r1cs and .wtns.

Both are "binfiles": a 4-byte magic, a u32 version, a u32 section count, then sections of
(u32 type, u64 size, payload), little-endian throughout.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class R1csHeader:
    n_wires: int
    n_outputs: int
    n_public_inputs: int
    n_private_inputs: int
    n_constraints: int

    @property
    def power(self) -> int:
        """The smallest power of tau snarkjs's groth16 setup accepts for this circuit."""
        return (self.n_constraints + self.n_public_inputs + self.n_outputs).bit_length()


def _sections(data: bytes, magic: bytes, path: Path) -> dict[int, bytes]:
    if data[:4] != magic or len(data) < 12:
        raise ValueError(f"{path}: not a {magic.decode()} file")
    (count,) = struct.unpack_from("<I", data, 8)
    pos, sections = 12, {}
    for _ in range(count):
        kind, size = struct.unpack_from("<IQ", data, pos)
        pos += 12
        sections.setdefault(kind, data[pos:pos + size])
        pos += size
    return sections


def read_r1cs_header(path: Path) -> R1csHeader:
    """The header section (type 1), found by skipping over the others without reading them."""
    with open(path, "rb") as f:
        head = f.read(12)
        if head[:4] != b"r1cs" or len(head) < 12:
            raise ValueError(f"{path}: not a r1cs file")
        (count,) = struct.unpack_from("<I", head, 8)
        for _ in range(count):
            kind, size = struct.unpack("<IQ", f.read(12))
            if kind == 1:
                header = f.read(size)
                break
            f.seek(size, 1)
        else:
            raise ValueError(f"{path}: no header section")
    (n8,) = struct.unpack_from("<I", header, 0)
    wires, outputs, pub, prv = struct.unpack_from("<IIII", header, 4 + n8)
    (constraints,) = struct.unpack_from("<I", header, 4 + n8 + 16 + 8)
    return R1csHeader(wires, outputs, pub, prv, constraints)


def read_wtns(path: Path, first: int, count: int) -> list[int]:
    """Witness values ``first .. first + count - 1`` (wire 0 is the constant 1)."""
    sections = _sections(path.read_bytes(), b"wtns", path)
    (n8,) = struct.unpack_from("<I", sections[1], 0)
    (n_witness,) = struct.unpack_from("<I", sections[1], 4 + n8)
    if first + count > n_witness:
        raise ValueError(f"{path}: {n_witness} witness values, asked for {first + count}")
    values = sections[2]
    return [int.from_bytes(values[i * n8:(i + 1) * n8], "little")
            for i in range(first, first + count)]

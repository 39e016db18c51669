"""SHA-256 Merkle tree over the columns of an encoded matrix, and batched openings.

Leaves are byte strings of equal length (one encoded column: its entries as 4-byte
little-endian canonical field elements). Domain separation keeps a leaf from posing as an
inner node: leaf = H(0x00 || column bytes), node = H(0x01 || left || right). The number of
leaves is a power of two; the root commits to every column. A hiding commitment salts each
leaf, leaf = H(0x00 || salt || column bytes) with a fresh random ``SALT_BYTES`` salt per
column, so that a leaf (or a node above unopened leaves) says nothing about its column; an
opened column is sent with its salt.

An opening of a set of leaf indices is a *multiproof*: the sibling hashes a verifier cannot
compute itself, level by level, in increasing index order. Shared upper levels are sent once,
so t random openings out of 2^h leaves cost about t * (h - log2 t) hashes instead of t * h.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

DIGEST_BYTES = 32
SALT_BYTES = 32
_LEAF = b"\x00"
_NODE = b"\x01"


def hash_leaf(data: bytes) -> bytes:
    return hashlib.sha256(_LEAF + data).digest()


def hash_node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE + left + right).digest()


def _hash_rows(rows: np.ndarray, salts: np.ndarray | None = None) -> list[bytes]:
    out = []
    for i, row in enumerate(rows):
        h = hashlib.sha256(_LEAF)
        if salts is not None:
            h.update(salts[i])
        h.update(row)  # the buffer itself: no copy
        out.append(h.digest())
    return out


_THREAD_MIN_BYTES = 1 << 22


def hash_columns(columns: np.ndarray, salts: np.ndarray | None = None) -> list[bytes]:
    """Leaf hashes of the rows of ``columns`` (n_leaves, leaf_len), canonical elements
    stored as any unsigned dtype; each row is hashed as little-endian u32, after its salt
    (a row of ``salts``, (n_leaves, SALT_BYTES) uint8) when salts are given. Large inputs
    are hashed by one thread per core (hashlib releases the GIL on long inputs)."""
    cols = np.ascontiguousarray(columns, dtype="<u4")
    if salts is not None:
        salts = np.ascontiguousarray(salts, dtype=np.uint8)
        if salts.shape != (len(cols), SALT_BYTES):
            raise ValueError(f"merkle: salts of shape {salts.shape} for {len(cols)} leaves "
                             f"(expected ({len(cols)}, {SALT_BYTES}))")
    workers = min(os.cpu_count() or 1, 8)
    if cols.nbytes < _THREAD_MIN_BYTES or workers == 1 or len(cols) < 2 * workers:
        return _hash_rows(cols, salts)
    edges = np.linspace(0, len(cols), 4 * workers + 1).astype(np.int64)

    def chunk(a: int, b: int) -> list[bytes]:
        return _hash_rows(cols[a:b], None if salts is None else salts[a:b])

    with ThreadPoolExecutor(workers) as pool:
        parts = pool.map(chunk, edges[:-1], edges[1:])
        return [digest for part in parts for digest in part]


class MerkleTree:
    """Every level of the tree, leaves first; ``root`` is the single top node."""

    def __init__(self, leaf_hashes: list[bytes]) -> None:
        n = len(leaf_hashes)
        if n == 0 or n & (n - 1):
            raise ValueError(f"merkle: {n} leaves is not a power of two")
        self.levels: list[list[bytes]] = [list(leaf_hashes)]
        while len(self.levels[-1]) > 1:
            below = self.levels[-1]
            self.levels.append([hash_node(below[i], below[i + 1])
                                for i in range(0, len(below), 2)])

    @property
    def root(self) -> bytes:
        return self.levels[-1][0]

    @property
    def depth(self) -> int:
        return len(self.levels) - 1

    def open(self, indices: list[int]) -> list[bytes]:
        """The multiproof of the sorted distinct leaf ``indices`` (see the module)."""
        proof: list[bytes] = []
        known = sorted(set(indices))
        for level in self.levels[:-1]:
            have = set(known)
            for i in known:
                if i ^ 1 not in have:
                    proof.append(level[i ^ 1])
            known = sorted({i >> 1 for i in known})
        return proof


def multiproof_size(indices: list[int], depth: int) -> int:
    """How many sibling hashes the multiproof of ``indices`` holds (what a verifier reads)."""
    count = 0
    known = sorted(set(indices))
    for _ in range(depth):
        have = set(known)
        count += sum(1 for i in known if i ^ 1 not in have)
        known = sorted({i >> 1 for i in known})
    return count


def root_from_multiproof(indices: list[int], leaf_hashes: list[bytes], proof: list[bytes],
                         depth: int) -> bytes | None:
    """The root that ``leaf_hashes`` (of the sorted distinct ``indices``) and ``proof`` hash
    up to, or None when the proof has the wrong number of nodes or an index is out of range.
    The caller compares it with the committed root."""
    if len(indices) != len(leaf_hashes) or sorted(set(indices)) != list(indices):
        return None
    if indices and (indices[0] < 0 or indices[-1] >= 1 << depth):
        return None
    nodes = dict(zip(indices, leaf_hashes, strict=True))
    pos = 0
    for _ in range(depth):
        parents: dict[int, bytes] = {}
        for i in sorted(nodes):
            if i & 1 and i ^ 1 in nodes:
                continue  # done with its left sibling
            sibling = nodes.get(i ^ 1)
            if sibling is None:
                if pos >= len(proof):
                    return None
                sibling = proof[pos]
                pos += 1
            left, right = (nodes[i], sibling) if i % 2 == 0 else (sibling, nodes[i])
            parents[i >> 1] = hash_node(left, right)
        nodes = parents
    if pos != len(proof) or len(nodes) != 1:
        return None
    return nodes[0]

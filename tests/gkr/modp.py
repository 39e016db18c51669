"""Exact linear algebra over BabyBear's base field, for the hiding tests.

A prover's view under fixed challenges is an affine function of its secret randomness (the
masks), and of the witness. Hiding is then a statement of linear algebra: for two witnesses
with the same public values, the difference of their views (at the same randomness) must lie
in the image of the randomness map, so that some other randomness explains the second
witness's view exactly. ``affine_map`` probes such a function on the unit vectors;
``in_column_space`` decides the membership by Gaussian elimination mod p.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from provers.gkr import field as F

P = F.P


def affine_map(fn: Callable[[np.ndarray], np.ndarray], dim: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """(offset, matrix) with fn(x) = offset + matrix @ x mod p for an affine ``fn`` from
    F_p^dim (int64 vectors) to flat vectors of canonical field elements. Probes fn at 0 and
    at every unit vector; ``is_affine`` checks the claim at random points."""
    zero = np.zeros(dim, np.int64)
    offset = np.asarray(fn(zero), np.int64).reshape(-1) % P
    cols = []
    for i in range(dim):
        e = zero.copy()
        e[i] = 1
        cols.append((np.asarray(fn(e), np.int64).reshape(-1) - offset) % P)
    matrix = np.stack(cols, axis=1) if cols else np.zeros((offset.size, 0), np.int64)
    return offset, matrix


def is_affine(fn: Callable[[np.ndarray], np.ndarray], offset: np.ndarray,
              matrix: np.ndarray, rng: np.random.Generator, trials: int = 2) -> bool:
    """Whether fn(x) = offset + matrix @ x mod p at ``trials`` random points: the check
    that ``affine_map``'s probes describe fn (a non-affine fn fails it with probability
    close to 1)."""
    for _ in range(trials):
        x = random_vector(rng, matrix.shape[1])
        got = np.asarray(fn(x), np.int64).reshape(-1) % P
        if not np.array_equal(got, apply(offset, matrix, x)):
            return False
    return True


def apply(offset: np.ndarray, matrix: np.ndarray, x: np.ndarray) -> np.ndarray:
    """offset + matrix @ x mod p, exact (products below 2^62, summed in Python ints when
    the row is long)."""
    x = np.asarray(x, np.int64) % P
    out = offset.astype(object).copy()
    for j in range(matrix.shape[1]):
        if x[j]:
            out = out + matrix[:, j].astype(object) * int(x[j])
    return np.array([int(v) % P for v in out], np.int64)


def _reduce_rows(a: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Row echelon form of an int64 matrix mod p; returns it and its pivot columns."""
    a = a.copy() % P
    pivots: list[int] = []
    row = 0
    for col in range(a.shape[1]):
        if row == a.shape[0]:
            break
        nz = np.nonzero(a[row:, col])[0]
        if not nz.size:
            continue
        pr = row + int(nz[0])
        if pr != row:
            a[[row, pr]] = a[[pr, row]]
        inv = pow(int(a[row, col]), P - 2, P)
        a[row] = a[row] * inv % P
        below = a[row + 1:, col].copy()
        if below.any():
            # (x * y) stays below 2^62 for x, y < 2^31: exact in int64.
            a[row + 1:] = (a[row + 1:] - (below[:, None] * a[row][None, :]) % P) % P
        pivots.append(col)
        row += 1
    return a, pivots


def rank(matrix: np.ndarray) -> int:
    return len(_reduce_rows(np.asarray(matrix, np.int64))[1])


def in_column_space(matrix: np.ndarray, vector: np.ndarray) -> bool:
    """Whether ``vector`` = matrix @ x mod p for some x."""
    matrix = np.asarray(matrix, np.int64) % P
    vector = np.asarray(vector, np.int64).reshape(-1, 1) % P
    return rank(np.concatenate([matrix, vector], axis=1)) == rank(matrix)


def kernel_vector(matrix: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random x with matrix @ x = 0 mod p (free variables uniform, pivots solved by back
    substitution on the row echelon form); raises ValueError when the kernel is {0}."""
    a, pivots = _reduce_rows(np.asarray(matrix, np.int64))
    n = a.shape[1]
    free = [c for c in range(n) if c not in set(pivots)]
    if not free:
        raise ValueError(f"modp: a rank-{n} matrix with {n} columns has no kernel")
    x = [0] * n
    for c in free:
        x[c] = int(rng.integers(0, P))
    for row in range(len(pivots) - 1, -1, -1):
        c = pivots[row]
        x[c] = -sum(int(a[row, j]) * x[j] for j in range(c + 1, n)) % P
    return np.array(x, np.int64)


def random_vector(rng: np.random.Generator, dim: int) -> np.ndarray:
    return rng.integers(0, P, dim, dtype=np.int64)

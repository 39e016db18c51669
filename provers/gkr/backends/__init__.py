"""Array backends of the GKR prover: where its heavy arithmetic runs.

A backend holds the prover's tables (tensor values encoded in BabyBear, eq tables, folded
tables) in its own array type and runs the hot kernels on them: base and extension field
arithmetic, eq tables, MLE folds and evaluations, the sumcheck round evaluations (products of
up to three tables and the factored sums of products of the constraint layers), the matmul
layer's table preparation, the requant layer's limb-matrix contraction and the LogUp
fraction trees. Everything that
enters the Fiat-Shamir transcript (round polynomials, claimed evaluations) comes back to the
host as numpy arrays, and the transcript is hashed there, so every backend writes the same
proof bytes for the same statement: field arithmetic is exact, so there is nothing to differ.

Backends (``NAMES``):

* ``cpu``: numpy and the numba kernels of field.py, mle.py and sumcheck.py (numpy_backend.py).
* ``cuda``: PyTorch on an NVIDIA GPU (torch_backend.py, torchfield.py).
* ``torch-cpu``: the very same PyTorch code on torch's CPU device. It exists so that the GPU
  path runs, and is compared byte for byte with ``cpu``, on machines without a GPU (CI).

Why PyTorch, over CuPy, numba-cuda or Triton: (1) testability without a GPU: torch's CPU
device runs the identical tensor program, exactly (int64 and float64 arithmetic are exact on
both devices), with no simulator; numba's CUDA simulator runs kernels one Python thread per
GPU thread (far too slow for a whole proof), Triton's interpreter is similar, and CuPy has no
CPU device. (2) Speed: the prover's kernels are bandwidth-bound elementwise passes and
reductions, which torch's fused CUDA kernels run near memory speed, and the float64 limb
contractions go to cuBLAS. (3) Install weight: one wheel, the CPU build of which CI installs
anyway; CuPy or numba-cuda need a CUDA toolkit matching the driver. What it costs: about 5-10
microseconds per tensor operation, so small layers are slower than the numba path (irrelevant
for the large workloads a GPU is for), and every intermediate is a full array (bounded by
column chunks, see torchfield.py).

``get(name)`` returns a backend or raises ``BackendUnavailable`` with the reason, so that
asking for ``cuda`` without a GPU is never silently run on the CPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from provers.gkr.transcript import Transcript

NAMES: tuple[str, ...] = ("cpu", "torch-cpu", "cuda")

Table = Any
"""A backend's array: a base table (n,) or an extension table (4, n) of canonical elements."""


class BackendUnavailable(RuntimeError):
    """The backend cannot run here (torch missing, no GPU); the message says why."""


class Backend(Protocol):
    """The operations the GKR prover's layers call (see each method's numpy reference in
    numpy_backend.py). Inputs from the host are int64 numpy tensors and numpy extension
    points (4, v); anything the transcript absorbs comes back as numpy uint64."""

    name: str

    def table(self, values: np.ndarray) -> Table:
        """Signed integers (any shape, flattened row-major) as a base table."""
        ...

    def eq_table(self, point: np.ndarray) -> Table: ...

    def eq_combination(self, points: Sequence[np.ndarray],
                       coeffs: Sequence[np.ndarray]) -> Table:
        """sum_j coeffs[j] eq(points[j], .), all points of one length."""
        ...

    def scatter(self, weights: Table, targets: np.ndarray, sources: np.ndarray,
                size: int) -> Table:
        """w[s] = sum over t with sources[t] = s of weights[:, targets[t]], length ``size``."""
        ...

    def row_combination(self, m: np.ndarray, e: Table) -> Table:
        """sum_i e[:, i] M[i, :] for a signed integer matrix M (rows, cols): (4, cols)."""
        ...

    def col_combination(self, m: np.ndarray, e: Table) -> Table:
        """sum_l M[:, l] e[:, l] for a signed integer matrix M (rows, cols): (4, rows)."""
        ...

    def size(self, t: Table) -> int:
        """A table's length."""
        ...

    def to_host_ext(self, t: Table) -> np.ndarray:
        """A table as a numpy extension array (4, n) on the host."""
        ...

    def alpha_minus(self, alpha: np.ndarray, t: Table) -> Table:
        """alpha - t for an extension scalar alpha and a base table t: (4, n)."""
        ...

    def fraction_level(self, p: Table | None, q: Table) -> tuple[Table, Table]:
        """One level of a LogUp fraction tree (provers/gkr/logup.py): for halves L, R of
        length n of the 2n-entry tables p (None: all ones; base or extension) and q
        (extension), (pL qR + pR qL, qL qR)."""
        ...

    def evaluate(self, values: np.ndarray, point: np.ndarray) -> np.ndarray:
        """The MLE of a padded signed integer tensor at ``point``: (4,) on the host."""
        ...

    def prove_sumcheck(self, tables: Sequence[Table], claim: np.ndarray,
                       transcript: Transcript, *, round_hook: Any = None,
                       stop_before_last: bool = False
                       ) -> tuple[Any, np.ndarray, list[np.ndarray]]:
        """sumcheck.prove on this backend's tables (round_hook, stop_before_last: the masked
        sumcheck's keywords, see sumcheck.prove)."""
        ...

    def prove_terms(self, tables: Sequence[Table], terms: list, claim: np.ndarray,
                    transcript: Transcript, *, round_hook: Any = None,
                    stop_before_last: bool = False
                    ) -> tuple[Any, np.ndarray, list[np.ndarray]]:
        """sumcheck.prove_terms on this backend's tables (keywords as prove_sumcheck's)."""
        ...

    def warmup(self) -> None:
        """Compile or initialise whatever the first proof would otherwise pay for."""
        ...


_TORCH_DEVICES = {"torch-cpu": "cpu", "cuda": "cuda"}
_CACHE: dict[str, Backend] = {}


def unavailable(name: str) -> str | None:
    """None when backend ``name`` can run here, else the reason it cannot."""
    if name not in NAMES:
        return f"unknown gkr backend {name!r} (known: {', '.join(NAMES)})"
    if name == "cpu":
        return None
    try:
        import torch
    except ImportError:
        return (f"backend {name!r} needs PyTorch, which is not installed "
                f"(pip install 'zkbench[gpu]')")
    if name == "cuda" and not torch.cuda.is_available():
        return f"no CUDA GPU is visible to PyTorch {torch.__version__} on this machine"
    return None


def gpu_name() -> str | None:
    """The CUDA device torch would use, or None (no torch, or no GPU)."""
    if unavailable("cuda"):
        return None
    import torch

    return torch.cuda.get_device_name(0)


def get(name: str) -> Backend:
    """The backend called ``name``; BackendUnavailable with the reason where it cannot run."""
    reason = unavailable(name)
    if reason:
        raise BackendUnavailable(reason)
    if name not in _CACHE:
        if name == "cpu":
            from provers.gkr.backends.numpy_backend import NumpyBackend

            _CACHE[name] = NumpyBackend()
        else:
            from provers.gkr.backends.torch_backend import TorchBackend

            _CACHE[name] = TorchBackend(name, _TORCH_DEVICES[name])
    return _CACHE[name]

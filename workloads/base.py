"""The workload protocol: a named family of deterministic float ONNX models and their inputs."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np
import onnx

from zkbench.types import Size


class UnknownSize(ValueError):
    """A size the workload does not define; the message lists the ones it does."""


@runtime_checkable
class Workload(Protocol):
    name: ClassVar[str]
    output_kind: ClassVar[str]
    """``scores`` for class-score outputs (top-1 agreement applies), else ``values``."""

    def sizes(self) -> Sequence[Size]: ...

    def quick_sizes(self) -> Sequence[Size]:
        """The sizes of the ``quick`` suite: a few seconds per prover."""
        ...

    def model(self, size: Size) -> onnx.ModelProto:
        """The float model for ``size``; the same bytes on every call and every machine."""
        ...

    def inputs(self, size: Size, rng: np.random.Generator) -> np.ndarray:
        """One float input for the model, drawn from ``rng`` (or real data a package ships)."""
        ...

    # Optional: ``suites(self) -> dict[str, list[Size]]`` names the sizes this workload
    # contributes to named suites such as "paper" or "coi-params" (zkbench.suites).


def check_size(workload: Workload, size: Size) -> None:
    if size not in workload.sizes():
        raise UnknownSize(
            f"workload {workload.name!r} has no size {size!r}; sizes: {', '.join(workload.sizes())}"
        )


def weight_rng(workload: str, size: Size, tensor: str) -> np.random.Generator:
    """A generator seeded by (workload, size, tensor) alone, so model weights never drift."""
    digest = hashlib.sha256(f"{workload}/{size}/{tensor}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))

"""The nouns every prover, workload and the runner share.

A *cell* is one (prover, workload, size, backend, repeat, seed) run; it passes through the stages
`compile`, `setup`, `witness`, `prove` and `verify`, always named the same (the stage vocabulary of
zk-Harness). Provers only do work; the runner owns every timer and memory reading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

Size = str
"""A workload's named size, e.g. ``"n=256"`` or ``"leela-10x128"``."""


class Stage(StrEnum):
    COMPILE = "compile"
    SETUP = "setup"
    WITNESS = "witness"
    PROVE = "prove"
    VERIFY = "verify"


STAGES: tuple[Stage, ...] = tuple(Stage)


class Status(StrEnum):
    OK = "ok"
    SKIP = "skip"
    ERROR = "error"
    TIMEOUT = "timeout"
    OOM = "oom"


@dataclass(frozen=True)
class Capabilities:
    """What a prover proves and how; recorded in every row so comparisons pair like with like.

    ``statement`` names what the verifier learns: ``public`` (weights, input and output are
    public), ``committed-weights`` or ``zk``. ``sound`` is False only for the baselines that prove
    nothing (``null``); the tamper check is then not applicable rather than failed.
    """

    field: str
    security_bits: int | None
    zk: bool
    statement: str = "public"
    backends: tuple[str, ...] = ("cpu",)
    ops: frozenset[str] = frozenset()
    sound: bool = True
    deterministic: bool = True
    """Same statement and seed give byte-identical proofs (False for randomised SNARKs)."""


@dataclass(frozen=True)
class Statement:
    """The public values a proof is about: the quantized input and the claimed quantized output."""

    input: np.ndarray
    output: np.ndarray

    def with_output(self, output: np.ndarray) -> Statement:
        return Statement(input=self.input, output=np.asarray(output))


@dataclass(frozen=True)
class Artifact:
    """What `compile` produced: the prover's own circuit or program, plus its working directory."""

    workdir: Path
    data: Any
    digest: str = ""


@dataclass(frozen=True)
class Keys:
    """What `setup` produced. Sizes in bytes of the serialised proving and verifying keys."""

    data: Any = None
    pk_bytes: int | None = None
    vk_bytes: int | None = None


@dataclass(frozen=True)
class Witness:
    """Everything the prover computed from the input: at least the quantized output."""

    statement: Statement
    data: Any = None


@dataclass(frozen=True)
class Proof:
    """A proof's bytes and the statement it claims. ``proof_bytes`` is ``len(data)``."""

    data: bytes
    statement: Statement
    meta: dict[str, Any] = field(default_factory=dict)

    def with_data(self, data: bytes) -> Proof:
        return Proof(data=data, statement=self.statement, meta=self.meta)

    def with_output(self, output: np.ndarray) -> Proof:
        return Proof(data=self.data, statement=self.statement.with_output(output), meta=self.meta)


@dataclass(frozen=True)
class Cell:
    """One unit of a sweep, run in its own subprocess."""

    prover: str
    workload: str
    size: Size
    backend: str = "cpu"
    repeat: int = 0
    seed: int = 0

    @property
    def cell_id(self) -> str:
        return (
            f"{self.prover}|{self.workload}|{self.size}|{self.backend}|r{self.repeat}|s{self.seed}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "prover": self.prover,
            "workload": self.workload,
            "size": self.size,
            "backend": self.backend,
            "repeat": self.repeat,
            "seed": self.seed,
        }

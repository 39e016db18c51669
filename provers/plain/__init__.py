"""``plain``: quantized integer inference with no proof, the baseline of every overhead ratio.

Its "proof" is the claimed output itself and its verifier re-executes the model, so it is
trivially sound and exactly as fast as the integer inference: float64 BLAS wherever the value
bounds keep every partial sum an exact integer (see ``zkbench.qmodel.matmul_exact``).
"""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import ClassVar

import numpy as np

from provers.base import BaseProver, MalformedProof, ProofRejected
from zkbench.qmodel import OPS, QuantizedModel
from zkbench.types import Artifact, Capabilities, Keys, Proof, Statement, Witness

MAGIC = b"ZKBPLAIN1"


def encode_output(y: np.ndarray) -> bytes:
    y = np.ascontiguousarray(y, dtype="<i8")
    header = MAGIC + struct.pack("<B", y.ndim) + struct.pack(f"<{y.ndim}Q", *y.shape)
    return header + y.tobytes()


def decode_output(data: bytes) -> np.ndarray:
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 1:
        raise MalformedProof("plain proof: bad magic/version")
    pos = len(MAGIC)
    ndim = data[pos]
    pos += 1
    if ndim > 8:
        raise MalformedProof(f"plain proof: {ndim} dimensions")
    if len(data) < pos + 8 * ndim:
        raise MalformedProof("plain proof: truncated shape")
    shape = struct.unpack_from(f"<{ndim}Q", data, pos)
    pos += 8 * ndim
    count = math.prod(shape)  # Python ints: a corrupt shape cannot overflow
    if len(data) != pos + 8 * count:
        raise MalformedProof(f"plain proof: {len(data) - pos} payload bytes for shape {shape}")
    return np.frombuffer(data, dtype="<i8", offset=pos).reshape(shape).astype(np.int64)


class PlainProver(BaseProver):
    name: ClassVar[str] = "plain"

    def capabilities(self) -> Capabilities:
        return Capabilities(field="int64", security_bits=None, zk=False, statement="public",
                            ops=OPS)

    def compile(self, model: QuantizedModel, workdir: Path) -> Artifact:
        return Artifact(workdir=workdir, data=model, digest=model.digest())

    def setup(self, artifact: Artifact) -> Keys:
        return Keys(pk_bytes=0, vk_bytes=0)

    def witness(self, artifact: Artifact, x: np.ndarray) -> Witness:
        model: QuantizedModel = artifact.data
        return Witness(Statement(input=x, output=model.output(x)))

    def prove(self, artifact: Artifact, keys: Keys, witness: Witness) -> Proof:
        return Proof(data=encode_output(witness.statement.output), statement=witness.statement)

    def verify(self, artifact: Artifact, keys: Keys, proof: Proof) -> bool:
        model: QuantizedModel = artifact.data
        claimed = decode_output(proof.data)
        stated = np.asarray(proof.statement.output)
        if claimed.shape != stated.shape or not np.array_equal(claimed, stated):
            raise ProofRejected("plain: proof's output differs from the statement's output")
        if not np.array_equal(model.output(proof.statement.input), stated):
            raise ProofRejected("plain: re-executing the model gives a different output")
        return True

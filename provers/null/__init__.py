"""``null``: does nothing at every stage, so its times are the harness's own cost per cell.

Like MLPerf loadgen's null system under test. It proves nothing (``sound=False``): the runner
records its tamper check as not applicable rather than as a failure.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from provers.base import BaseProver
from zkbench.qmodel import OPS, QuantizedModel
from zkbench.types import Artifact, Capabilities, Keys, Proof, Statement, Witness


class NullProver(BaseProver):
    name: ClassVar[str] = "null"

    def capabilities(self) -> Capabilities:
        return Capabilities(field="none", security_bits=None, zk=False, statement="none",
                            ops=OPS, sound=False)

    def compile(self, model: QuantizedModel, workdir: Path) -> Artifact:
        return Artifact(workdir=workdir, data=model.input_shape)

    def setup(self, artifact: Artifact) -> Keys:
        return Keys(pk_bytes=0, vk_bytes=0)

    def witness(self, artifact: Artifact, x: np.ndarray) -> Witness:
        if tuple(np.shape(x)) != artifact.data:
            raise ValueError(f"null: input shape {np.shape(x)} is not the model's {artifact.data}")
        return Witness(Statement(input=x, output=np.zeros(0, dtype=np.int64)))

    def prove(self, artifact: Artifact, keys: Keys, witness: Witness) -> Proof:
        return Proof(data=b"", statement=witness.statement)

    def verify(self, artifact: Artifact, keys: Keys, proof: Proof) -> bool:
        return True

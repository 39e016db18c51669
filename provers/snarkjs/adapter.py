"""``snarkjs-groth16``: circom 2 + snarkjs Groth16 over BN254, run for real through node.

Statement (v1, as ``gkr``'s): inference with public weights (constants of the circuit, bound by
the verifying key), public input and public output (the circuit's public signals). Stages:

- ``compile``: write the circom source (``circuit.generate``), compile it with circom2 to R1CS
  and a wasm witness calculator;
- ``setup``: powers of tau for the circuit's size (from the cache, or one local ceremony that is
  then cached), the circuit's zkey with one random phase-2 contribution, the verifying key;
- ``witness``: the circuit's own wasm witness calculator; the output is read from the witness;
- ``prove`` / ``verify``: snarkjs's groth16 prover and verifier.

Every node stage is one node process (``driver.mjs``), so node start-up and loading snarkjs
(a fraction of a second) are part of each stage's time, as they are for any snarkjs user.

``snarkjs-groth16-cw`` (``SnarkjsGroth16CommittedProver``) proves the committed-weights
statement: the weights are private signals hashed in the circuit (see its docstring).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from provers.base import BaseProver, ProofRejected, RecordedWeightsDigest, Unsupported
from provers.snarkjs import circuit as C
from provers.snarkjs import encoding, formats, tools
from zkbench.qmodel import QuantizedModel
from zkbench.types import Artifact, Capabilities, Keys, Proof, Statement, Witness

DIGEST_BYTES = 32
"""The weights digest recorded at setup: one BN254 scalar."""
SECURITY_BITS = 100
"""BN254 after the exTNFS attacks on its pairing: about 100 bits."""
INLINE_POWER_DEFAULT = 12
"""Largest powers-of-tau ceremony ``setup`` runs itself when the cache lacks it (override with
ZKBENCH_SNARKJS_MAX_POWER). snarkjs's phase-2 preparation grows faster than 2x per power: on a
busy 2-core machine 2^12 took 6 minutes and 2^14 17, so a larger ceremony inside a cell would
eat its time limit and, killed, never reach the cache. Larger ones are generated once, outside
any cell, with ``python -m provers.snarkjs.tools ptau POWER``; a circuit beyond every cached
power gets a skip row naming the power and that command."""


def ceremony_limit() -> int:
    inline = int(os.environ.get("ZKBENCH_SNARKJS_MAX_POWER", INLINE_POWER_DEFAULT))
    return max([inline, *tools.cached_powers()])


def _too_big(power: int, what: str) -> Unsupported:
    return Unsupported(f"{what} needs powers of tau 2^{power}, above the 2^{ceremony_limit()} "
                       f"available; generate it once with `python -m provers.snarkjs.tools "
                       f"ptau {power}` (slow) or raise ZKBENCH_SNARKJS_MAX_POWER")


@dataclass(frozen=True)
class Compiled:
    workdir: Path
    circuit: C.CircomCircuit
    r1cs: Path
    wasm: Path
    header: formats.R1csHeader
    salt: int | None = None
    """Committed circuits: the private salt of the weights digest (the prover's)."""


class SnarkjsGroth16Prover(BaseProver):
    name: ClassVar[str] = "snarkjs-groth16"
    peer: ClassVar[bool] = True
    """An adapter over external tools: the conformance kit runs in tests/test_peer_snarkjs*.py
    on models that fit the ceremonies it makes itself."""
    statement_kind: ClassVar[str] = "public"
    simplify: ClassVar[str] = "--O1"
    """circom's simplification level (``tools.circom``)."""

    def version(self) -> str:
        lock = json.loads(tools.LOCK.read_text())["packages"]
        return (f"snarkjs {lock['node_modules/snarkjs']['version']}, "
                f"circom2 {lock['node_modules/circom2']['version']}")

    def capabilities(self) -> Capabilities:
        return Capabilities(field="BN254", security_bits=SECURITY_BITS, zk=True,
                            statement=self.statement_kind, backends=("cpu",), ops=C.SUPPORTED_OPS,
                            deterministic=False)

    def available(self) -> str | None:
        return tools.ensure_installed()

    def compile(self, model: QuantizedModel, workdir: Path) -> Artifact:
        try:
            circ = C.generate(model, committed=self.statement_kind == "committed-weights")
        except C.CircuitError as exc:
            raise Unsupported(str(exc)) from None
        if circ.min_power > ceremony_limit():
            hashed = (f", {circ.hash_constraints} constraints hashing {circ.weights.size} "
                      "weights" if circ.committed else "")
            raise _too_big(circ.min_power, f"the circuit ({circ.range_bits} range-check bits, "
                                           f"{circ.product_gates} product gates{hashed})")
        out = workdir / "circom"
        out.mkdir(parents=True, exist_ok=True)
        source = out / "model.circom"
        source.write_text(circ.source)
        tools.circom(source, out, simplify=self.simplify)
        r1cs = out / "model.r1cs"
        header = formats.read_r1cs_header(r1cs)
        if header.power > ceremony_limit():
            raise _too_big(header.power, f"the circuit ({header.n_constraints} constraints)")
        compiled = Compiled(workdir=out, circuit=circ, r1cs=r1cs,
                            wasm=out / "model_js" / "model.wasm", header=header,
                            salt=_salt(out) if circ.committed else None)
        return Artifact(workdir=workdir, data=(model, compiled), digest=model.digest())

    def settings(self, artifact: Artifact, keys: Keys | None = None) -> str:
        """The ``prover_settings`` column: the compiled circuit's size."""
        header: formats.R1csHeader = artifact.data[1].header
        return f"constraints={header.n_constraints} ptau_power={header.power}"

    def setup(self, artifact: Artifact) -> Keys:
        """A fresh zkey and verifying key, unless this folder already holds keys made for this
        exact R1CS (``zkbench verify`` compiles again into the folder ``zkbench prove`` wrote:
        a new random setup there would reject the proof)."""
        compiled: Compiled = artifact.data[1]
        zkey = compiled.workdir / "model.zkey"
        vk = compiled.workdir / "verification_key.json"
        made_for = compiled.workdir / "keys.r1cs-sha256"
        digest = hashlib.sha256(compiled.r1cs.read_bytes()).hexdigest()
        fresh = not (zkey.is_file() and vk.is_file() and made_for.is_file()
                     and made_for.read_text() == digest)
        if fresh:
            made_for.unlink(missing_ok=True)
            ptau = tools.ptau(compiled.header.power)
            tools.driver("setup", compiled.r1cs, ptau, zkey, vk, cwd=compiled.workdir)
            made_for.write_text(digest)
        return Keys(data={"zkey": zkey, "vk": vk}, pk_bytes=zkey.stat().st_size,
                    vk_bytes=vk.stat().st_size)

    def witness(self, artifact: Artifact, x: np.ndarray) -> Witness:
        model, compiled = artifact.data
        x = np.asarray(x)
        if x.shape != tuple(model.input_shape):
            raise ValueError(f"model {model.name!r}: input {model.input_name!r} has shape "
                             f"{tuple(model.input_shape)}, got {x.shape}")
        wtns = calculate_witness(compiled, x, "witness")
        shape = compiled.circuit.output_shape
        y = C.from_field(formats.read_wtns(wtns, 1 + compiled.circuit.digest_signals,
                                           int(np.prod(shape))), shape)
        return Witness(Statement(input=x.astype(np.int64), output=y), data=wtns)

    def prove(self, artifact: Artifact, keys: Keys, witness: Witness) -> Proof:
        compiled: Compiled = artifact.data[1]
        out = compiled.workdir / "proof.json"
        tools.driver("prove", keys.data["zkey"], witness.data, out, cwd=compiled.workdir)
        produced = json.loads(out.read_text())
        expected = self.public_signals(keys, witness.statement)
        if produced["publicSignals"] != expected:
            raise RuntimeError(f"{self.name}: snarkjs's public signals differ from the "
                               "statement's output and input and the keys (circuit or witness "
                               "out of step)")
        return Proof(data=encoding.encode(produced["proof"]), statement=witness.statement)

    def verify(self, artifact: Artifact, keys: Keys, proof: Proof) -> bool:
        model, compiled = artifact.data
        decoded = encoding.decode(proof.data)
        statement = proof.statement
        for what, value, shape in (("input", statement.input, tuple(model.input_shape)),
                                   ("output", statement.output, compiled.circuit.output_shape)):
            if np.asarray(value).shape != shape:
                raise ProofRejected(f"groth16: the statement's {what} has shape "
                                    f"{np.asarray(value).shape}, the circuit's is {shape}")
        claim = compiled.workdir / f"claim-{os.getpid()}-{id(proof)}.json"
        claim.write_text(json.dumps({"proof": decoded,
                                     "publicSignals": self.public_signals(keys, statement)}))
        try:
            result = json.loads(tools.driver("verify", keys.data["vk"], claim,
                                             cwd=compiled.workdir))
        finally:
            claim.unlink(missing_ok=True)
        if result.get("verified") is not True:
            raise ProofRejected("groth16: the pairing check failed for this proof, input and "
                                "output")
        return True

    def public_signals(self, keys: Keys, statement: Statement) -> list[str]:
        """The public signals ``verify`` checks a proof against: output, then input."""
        return public_signals(statement)


class SnarkjsGroth16CommittedProver(RecordedWeightsDigest, SnarkjsGroth16Prover):
    """``snarkjs-groth16`` proving the committed-weights statement: "y = f_W(x) for the W whose
    digest was recorded at setup"; the verifier never sees the weights.

    The circuit (``circuit.generate(model, committed=True)``) takes the weights as the private
    input ``w`` and exposes their salted Poseidon chain ``digest`` as public signal 0, ahead of
    the output and the input; the R1CS, and so the zkey and verifying key, depend on the
    weights' shapes and static bounds only. ``setup`` makes the keys as ``snarkjs-groth16``
    does and records the digest beside the verifying key (``vk_bytes`` counts its 32 bytes),
    taken from a witness on a zero input (the digest depends on the weights and salt only).
    ``verify`` puts that recorded digest into the public signals, never one from the proof, so
    a proof made with other weights, or one claiming another digest, is rejected. The verifier
    reads the verifying key, the digest and the statement: never the weights or the salt.

    Zero-knowledge: snarkjs's Groth16 prover draws fresh random r and s for every proof, so a
    proof reveals nothing beyond its public signals; the salt keeps the digest from revealing
    weights an observer could guess. Cost: one gate per multiply-accumulate with a weight
    (free linear combinations in ``snarkjs-groth16``) plus 40.6 constraints per weight for the
    hash, so the same model needs a larger powers-of-tau ceremony than ``snarkjs-groth16``.
    circom compiles it with --O2, which removes the linear constraints of Poseidon's mixing
    layers (1480 of 2092 per Poseidon(16) under --O1); compiling takes longer (matmul n=16:
    about 47 s instead of 17 s here) but the circuit shrinks from 42k to 15k constraints.
    """

    name: ClassVar[str] = "snarkjs-groth16-cw"
    digest_key: ClassVar[str] = "weights_digest"
    statement_kind: ClassVar[str] = "committed-weights"
    simplify: ClassVar[str] = "--O2"

    def setup(self, artifact: Artifact) -> Keys:
        keys = super().setup(artifact)
        compiled: Compiled = artifact.data[1]
        wtns = calculate_witness(compiled, np.zeros(compiled.circuit.input_shape, np.int64),
                                 "digest")
        (digest,) = formats.read_wtns(wtns, 1, 1)
        wtns.unlink()
        return Keys(data={**keys.data, "weights_digest": str(digest)}, pk_bytes=keys.pk_bytes,
                    vk_bytes=keys.vk_bytes + DIGEST_BYTES)

    def public_signals(self, keys: Keys, statement: Statement) -> list[str]:
        """The weights digest recorded at setup, then the output and the input."""
        return [keys.data["weights_digest"], *public_signals(statement)]

    def settings(self, artifact: Artifact, keys: Keys | None = None) -> str:
        """The ``prover_settings`` column: the circuit's size, the weights count, the hash and
        (after setup) the recorded digest."""
        circuit: C.CircomCircuit = artifact.data[1].circuit
        text = (f"{super().settings(artifact, keys)} weights={circuit.weights.size} "
                f"weights_hash=poseidon{C.POSEIDON_INPUTS}-chain "
                f"hash_constraints={circuit.hash_constraints}")
        if keys is not None:
            text += f" weights_digest={keys.data['weights_digest']}"
        return text


def calculate_witness(compiled: Compiled, x: np.ndarray, stem: str) -> Path:
    """Run the circuit's wasm witness calculator on input ``x`` (and, for a committed circuit,
    the weights and the salt); the path of the ``STEM.wtns`` it wrote."""
    values = {"x": C.to_field(x)}
    if compiled.circuit.committed:
        values["salt"] = str(compiled.salt)
        values["w"] = C.to_field(compiled.circuit.weights)
    inputs = compiled.workdir / f"{stem}-input.json"
    inputs.write_text(json.dumps(values))
    wtns = compiled.workdir / f"{stem}.wtns"
    try:
        tools.driver("witness", compiled.wasm, inputs, wtns, cwd=compiled.workdir)
    finally:
        inputs.unlink(missing_ok=True)
    return wtns


def _salt(folder: Path) -> int:
    """The digest's salt for the circuit compiled into ``folder``: drawn once and kept there,
    so ``zkbench verify`` (which compiles again into the proof's folder) finds the digest the
    proof was made with."""
    path = folder / "weights.salt"
    if not path.is_file():
        path.write_text(str(secrets.randbelow(C.P)))
    return int(path.read_text())


def public_signals(statement: Statement) -> list[str]:
    """circom's order of public signals: every output, then every public input."""
    return C.to_field(statement.output) + C.to_field(statement.input)

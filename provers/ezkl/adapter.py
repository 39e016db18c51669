"""``ezkl``: Halo2 with KZG commitments on BN254, run through the ``ezkl`` package (a peer).

ezkl starts from the same float ONNX model as every other prover (``QuantizedModel.source``)
and quantizes it itself; zkbench's quantized model only fixes the scales: ezkl's input scale is
the model's, and its one weight scale the finest one zkbench gave a weight matrix. The stages:

- ``compile``: ``gen_settings`` (a circuit whose rows alone exceed the row cap is skipped
  here), ``calibrate_settings`` (target ``resources``: the fewest rows, on four seeded inputs
  drawn over the whole quantized input range, wider than the workloads' data) and
  ``compile_circuit``.
- ``setup``: the KZG structured reference string, generated here by ``gen_srs`` at exactly the
  circuit's ``logrows`` (never downloaded) and kept per ``logrows`` in the cache directory like a
  powers-of-tau file, then ``setup`` (verifying and proving keys).
- ``witness``: ``gen_witness``; ``prove``: ``prove``; ``verify``: ``verify``.

Statement (``public``, the one the ``gkr`` cell proves): the input and the output are public
instances and the weights are fixed columns of the circuit, which the verifying key commits to,
so the verifier knows all three. The input instances are exactly zkbench's quantized input
(ezkl's ``input_scale`` is the model's input scale); the output is ezkl's own fixed-point
output, integers at scale ``2**output_scale`` (``prover_settings`` records it). ``verify`` builds
the instances from the proof's statement, never from what the prover wrote, so an edited input
or output is a different statement and is rejected. halo2's verifier ignores bytes after a
complete proof, so ``verify`` also checks that the proof less its last byte fails: the
``verify`` stage's time covers two ``ezkl.verify`` calls.

Fidelity is ezkl's own: ``proven_model`` runs ezkl's witness generation on every sample.

``ezkl-cw`` (``EzklCommittedProver``) is the same pipeline proving the committed-weights
statement: the weights hashed in the circuit, the hash recorded at setup (see its docstring).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from provers.base import (
    BaseProver,
    MalformedProof,
    ProofRejected,
    RecordedWeightsDigest,
    Unsupported,
)
from zkbench.cache import cache_dir as zkbench_cache_dir
from zkbench.qmodel import OPS, QuantizedModel
from zkbench.types import Artifact, Capabilities, Keys, Proof, Size, Statement, Witness

BN254_R = 21888242871839275222246405745257275088548364400416034343698204186575808495617
"""Order of BN254's scalar field: the field of ezkl's circuits."""

ONNX_OPS = frozenset({"MatMul", "Gemm", "Conv", "MaxPool", "Relu", "Add", "Flatten", "Cast",
                      "Equal", "LessOrEqual"})
"""ONNX ops of zkbench's workloads that ezkl was checked to prove (tests/test_peer_ezkl.py)."""

INPUT_VISIBILITY = "public"
OUTPUT_VISIBILITY = "public"
PARAM_VISIBILITY = "fixed"
"""``ezkl``'s weights: fixed columns, committed to by the verifying key (``ezkl-cw``: hashed)."""
DECOMP_BASE = 256
DECOMP_LEGS = 4
"""Range checks by decomposition into 4 base-256 legs (values up to 2**32): a 256-row table
instead of the default 2**14 rows, so small models need far fewer rows."""
SCALE_REBASE_MULTIPLIER = 2
"""ezkl divides an accumulator back to the input scale only once its scale exceeds twice the
input scale; a single product (input scale + param scale) is kept exact."""
CALIBRATION_SAMPLES = 4
MAX_LOGROWS = 17
"""Circuits above 2^17 rows get a ``skip`` row unless ``ZKBENCH_EZKL_MAX_LOGROWS`` raises the
cap: proving time and key size double with every row bit (logrows 15: ~20 s and a 270 MB key
here; chess ``tiny`` needs 21, a ~9 GB key), which would turn the default quick sweep into an
hour. Raise it to measure where ezkl runs out of time or memory."""
WEIGHTS_HASH_BYTES = 32
"""One Poseidon hash: a BN254 field element."""
SECURITY_BITS = 100
"""BN254's pairing groups after the exTNFS attacks on its 254-bit field (about 100 bits;
Barbulescu and Duquesne 2019), not the 128 bits it was designed for."""

_MISSING = "package ezkl missing: pip install -e '.[peers]'"


def max_logrows() -> int:
    text = os.environ.get("ZKBENCH_EZKL_MAX_LOGROWS", "")
    try:
        return int(text) if text else MAX_LOGROWS
    except ValueError:
        raise ValueError(f"ZKBENCH_EZKL_MAX_LOGROWS={text!r} is not an integer") from None


def cache_dir() -> Path:
    """Where ezkl's own files (``EZKL_REPO_PATH``) and the generated SRS files live."""
    return zkbench_cache_dir("ezkl")


def _ezkl() -> Any:
    os.environ.setdefault("EZKL_REPO_PATH", str(cache_dir()))
    import ezkl

    return ezkl


@dataclass(frozen=True)
class Circuit:
    """Paths of one compiled ezkl circuit, and the facts about it that zkbench needs."""

    onnx_path: Path
    settings_path: Path
    compiled_path: Path
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    input_scale: int
    output_scale: int
    logrows: int
    run_args: dict[str, Any]

    def describe(self) -> str:
        ra = self.run_args
        return (f"input_visibility={visibility_text(ra['input_visibility'])} "
                f"output_visibility={visibility_text(ra['output_visibility'])} "
                f"param_visibility={visibility_text(ra['param_visibility'])} "
                f"logrows={self.logrows} "
                f"input_scale={ra['input_scale']} param_scale={ra['param_scale']} "
                f"output_scale={self.output_scale} "
                f"scale_rebase_multiplier={ra['scale_rebase_multiplier']} "
                f"decomp_base={ra['decomp_base']} decomp_legs={ra['decomp_legs']} "
                f"num_inner_cols={ra['num_inner_cols']}")


@dataclass(frozen=True)
class EzklInference:
    """ezkl's own quantized model, shaped like QuantizedModel for fidelity: ``quantize_input``,
    ``output`` (ezkl's witness on a quantized input) and ``dequantize_output``."""

    prover: EzklProver
    artifact: Artifact

    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        return self.artifact.data[0].quantize_input(x)

    def output(self, xq: np.ndarray) -> np.ndarray:
        return self.prover.witness(self.artifact, xq).statement.output

    def dequantize_output(self, y: np.ndarray) -> np.ndarray:
        circuit: Circuit = self.artifact.data[1]
        return np.asarray(y, dtype=np.float64) / 2.0**circuit.output_scale


class EzklProver(BaseProver):
    name: ClassVar[str] = "ezkl"
    peer: ClassVar[bool] = True
    param_visibility: ClassVar[str] = PARAM_VISIBILITY
    statement_kind: ClassVar[str] = "public"

    def version(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return f"ezkl {version('ezkl')}"
        except PackageNotFoundError:
            return "ezkl (not installed)"

    def available(self) -> str | None:
        try:
            _ezkl()
        except ImportError:
            return _MISSING
        return None

    def capabilities(self) -> Capabilities:
        return Capabilities(field="BN254", security_bits=SECURITY_BITS, zk=True,
                            statement=self.statement_kind, backends=("cpu",), ops=OPS,
                            deterministic=False)

    def skip_reason(self, model: QuantizedModel, size: Size, backend: str) -> str | None:
        reason = super().skip_reason(model, size, backend)
        if reason or model.source is None:
            return reason or "ezkl needs the float ONNX model (QuantizedModel.source)"
        missing = sorted({n.op_type for n in model.source.graph.node} - ONNX_OPS)
        if missing:
            return f"ezkl is not checked on ONNX op(s) {', '.join(missing)}"
        return None

    def settings(self, artifact: Artifact, keys: Keys | None = None) -> str:
        """The settings this cell ran with, for the ``prover_settings`` column."""
        text = artifact.data[1].describe()
        if keys is not None:
            text += f" srs_bytes={keys.data['srs_bytes']} srs={keys.data['srs']}"
        return text

    def proven_model(self, artifact: Artifact) -> EzklInference:
        """The quantized model ezkl proves (its own), for fidelity."""
        return EzklInference(self, artifact)

    def compile(self, model: QuantizedModel, workdir: Path) -> Artifact:
        ezkl = _ezkl()
        import onnx

        workdir = Path(workdir)
        onnx_path = workdir / "model.onnx"
        settings_path = workdir / "settings.json"
        compiled_path = workdir / "model.compiled"
        onnx.save(model.source, str(onnx_path))
        args = ezkl.PyRunArgs()
        args.input_visibility = INPUT_VISIBILITY
        args.output_visibility = OUTPUT_VISIBILITY
        args.param_visibility = self.param_visibility
        args.input_scale = model.input_scale_bits
        args.param_scale = param_scale(model)
        args.scale_rebase_multiplier = SCALE_REBASE_MULTIPLIER
        args.decomp_base = DECOMP_BASE
        args.decomp_legs = DECOMP_LEGS
        try:
            ezkl.gen_settings(str(onnx_path), str(settings_path), py_run_args=args)
        except RuntimeError as exc:
            raise Unsupported(f"ezkl gen_settings rejects model {model.name!r}: {exc}") from None
        self._check_rows_before_calibration(model, json.loads(settings_path.read_text()))
        calibration = workdir / "calibration.json"
        rng = np.random.default_rng(0)
        limit = 2 ** (model.bits - 1) - 1
        samples = rng.integers(-limit, limit + 1, (CALIBRATION_SAMPLES, *model.input_shape))
        _write_input(calibration, samples / 2.0**model.input_scale_bits)
        ezkl.calibrate_settings(str(calibration), str(onnx_path), str(settings_path),
                                "resources", lookup_safety_margin=1,
                                scales=[model.input_scale_bits],
                                scale_rebase_multiplier=[SCALE_REBASE_MULTIPLIER])
        # Calibration sets the weight scale to the input scale too: keep only the rows and
        # lookup range it found, and settle the settings again with the chosen weight scale.
        calibrated = json.loads(settings_path.read_text())
        args.logrows = calibrated["run_args"]["logrows"]
        cap = max_logrows()
        if args.logrows > cap:
            raise Unsupported(f"{self.name}: model {model.name!r} needs 2^{args.logrows} rows "
                              f"after calibration, above the cap 2^{cap} (set "
                              "ZKBENCH_EZKL_MAX_LOGROWS to run it)")
        args.lookup_range = tuple(calibrated["run_args"]["lookup_range"])
        ezkl.gen_settings(str(onnx_path), str(settings_path), py_run_args=args)
        settings = json.loads(settings_path.read_text())
        if min_logrows(settings["num_rows"]) > args.logrows:  # the finer weight scale's rows
            raise RuntimeError(f"ezkl: param_scale {args.param_scale} needs "
                               f"{settings['num_rows']} rows, more than logrows "
                               f"{args.logrows} holds")
        ezkl.compile_circuit(str(onnx_path), str(compiled_path), str(settings_path))
        if settings["model_input_scales"] != [model.input_scale_bits]:
            raise RuntimeError(f"ezkl chose input scales {settings['model_input_scales']}, "
                               f"not the model's {model.input_scale_bits}")
        if len(settings["model_output_scales"]) != 1:
            raise Unsupported(f"{self.name}: model {model.name!r} has "
                              f"{len(settings['model_output_scales'])} outputs, zkbench one")
        circuit = Circuit(onnx_path=onnx_path, settings_path=settings_path,
                          compiled_path=compiled_path, input_shape=model.input_shape,
                          output_shape=model.output_shape, input_scale=model.input_scale_bits,
                          output_scale=settings["model_output_scales"][0],
                          logrows=settings["run_args"]["logrows"],
                          run_args=settings["run_args"])
        return Artifact(workdir=workdir, data=(model, circuit), digest=model.digest())

    def _check_rows_before_calibration(self, model: QuantizedModel,
                                       settings: dict[str, Any]) -> None:
        """Skip a circuit too big for the row cap from ``gen_settings`` alone, before the
        calibration, which takes minutes on such circuits (chess ``tiny``) only to skip them.

        ``num_rows`` (the model's layout at zkbench's scales, or the weights hash's rows when
        more) does not change with ``logrows`` or the lookup range, the two things ``compile``
        takes from calibration, and ``compile`` keeps only circuits with
        ``2**logrows > num_rows``: whatever logrows calibration picks, a circuit whose
        ``min_logrows`` is above the cap is never compiled under it. It is a lower bound:
        calibration may pick more (ezkl adds rows reserved for blinding, and the range check
        table needs its own), which the check after calibration catches."""
        need, cap = min_logrows(settings["num_rows"]), max_logrows()
        if need > cap:
            raise Unsupported(f"{self.name}: model {model.name!r} needs at least 2^{need} rows "
                              f"before calibration ({settings['num_rows']} rows), above the "
                              f"cap 2^{cap} (set ZKBENCH_EZKL_MAX_LOGROWS to run it)")

    def setup(self, artifact: Artifact) -> Keys:
        ezkl = _ezkl()
        circuit: Circuit = artifact.data[1]
        srs, how = _srs(ezkl, circuit.logrows)
        vk = artifact.workdir / "vk.key"
        pk = artifact.workdir / "pk.key"
        ezkl.setup(str(circuit.compiled_path), str(vk), str(pk), srs_path=str(srs))
        return Keys(data={"vk": vk, "pk": pk, "srs": how, "srs_path": srs,
                          "srs_bytes": srs.stat().st_size},
                    pk_bytes=pk.stat().st_size, vk_bytes=vk.stat().st_size)

    def witness(self, artifact: Artifact, x: np.ndarray) -> Witness:
        ezkl = _ezkl()
        circuit: Circuit = artifact.data[1]
        xq = np.asarray(x)
        if xq.shape != circuit.input_shape:
            raise ValueError(f"ezkl: input has shape {xq.shape}, the model's is "
                             f"{circuit.input_shape}")
        fd, name = tempfile.mkstemp(prefix="input-", suffix=".json", dir=artifact.workdir)
        os.close(fd)
        data, path = Path(name), Path(name).with_name(Path(name).stem + "-witness.json")
        _write_input(data, xq[None] / 2.0**circuit.input_scale)
        wit = ezkl.gen_witness(str(data), str(circuit.compiled_path), str(path))
        data.unlink()
        got = np.array([felt_to_int(f) for f in wit["inputs"][0]], dtype=np.int64)
        if not np.array_equal(got, xq.reshape(-1)):
            raise RuntimeError("ezkl quantized the input differently from the model's scale "
                               f"2**{circuit.input_scale}")
        y = np.array([felt_to_int(f) for f in wit["outputs"][0]], dtype=np.int64)
        return Witness(Statement(input=xq, output=y.reshape(circuit.output_shape)), data=path)

    def prove(self, artifact: Artifact, keys: Keys, witness: Witness) -> Proof:
        ezkl = _ezkl()
        circuit: Circuit = artifact.data[1]
        path = Path(witness.data).with_name(Path(witness.data).stem + "-proof.json")
        ezkl.prove(str(witness.data), str(circuit.compiled_path), str(keys.data["pk"]),
                   str(path), srs_path=str(keys.data["srs_path"]))
        proof = json.loads(path.read_text())
        if proof["instances"] != [self.public_instances(circuit, keys, witness.statement)]:
            raise RuntimeError(f"{self.name}: ezkl's proof instances differ from the witness's "
                               "statement and the keys")
        return Proof(data=bytes(proof["proof"]), statement=witness.statement)

    def verify(self, artifact: Artifact, keys: Keys, proof: Proof) -> bool:
        ezkl = _ezkl()
        circuit: Circuit = artifact.data[1]
        if not proof.data:
            raise MalformedProof("ezkl proof: empty")
        public = self.public_instances(circuit, keys, proof.statement)
        _ezkl_verify(ezkl, artifact, keys, proof.data, public)
        # halo2's verifier never checks that it read the whole proof, so bytes appended to a
        # valid proof are accepted. A proof is canonical when no proper prefix of it verifies:
        # without its last byte it must fail.
        try:
            _ezkl_verify(ezkl, artifact, keys, proof.data[:-1], public)
        except ProofRejected:
            return True
        raise MalformedProof("ezkl proof: trailing bytes after a complete proof")

    def public_instances(self, circuit: Circuit, keys: Keys, statement: Statement) -> list[str]:
        """The instances ``verify`` checks a proof against: the statement's input and output."""
        return instances(circuit, statement)


class EzklCommittedProver(RecordedWeightsDigest, EzklProver):
    """``ezkl`` proving the committed-weights statement: "y = f_W(x) for the W whose Poseidon
    hash was recorded at setup"; the verifier never sees the weights.

    The weights are ``hashed/public``: private advice cells, hashed in the circuit by ezkl's
    Poseidon chip, the hash a public instance ahead of the input and output. ``setup`` makes
    the keys (which no longer hold the weights) and records the hash, taken from a witness of
    the compiled model (the hash depends on the weights only), next to the verifying key;
    ``vk_bytes`` counts it. ``verify`` builds the instances from that recorded hash and the
    proof's statement, never from the proof, so a proof made with other weights, or one whose
    hash instance was edited, is a different statement and is rejected. The verifier reads
    the settings, the verifying key, the SRS and the hash: never the weights.

    Why ``hashed`` and not ``polycommit`` (KZG commitments to the weight columns): polycommit
    runs in ezkl 23.0.5 and is cheaper (no in-circuit hash; on matmul n=16 one row bit fewer,
    about a third of the prove time), but its commitments sit inside the proof's transcript,
    and ``ezkl.verify`` accepts a proof whatever weights it commits to: binding them needs the
    verifier to splice the expected commitments into the proof bytes (``swap_proof_commitments``)
    and rely on halo2's transcript layout. A hash among the public instances binds the weights
    through the interface this adapter already checks, at the cost of the Poseidon rows.
    """

    name: ClassVar[str] = "ezkl-cw"
    digest_key: ClassVar[str] = "weights_hash"
    param_visibility: ClassVar[str] = "hashed/public"
    statement_kind: ClassVar[str] = "committed-weights"

    def setup(self, artifact: Artifact) -> Keys:
        keys = super().setup(artifact)
        circuit: Circuit = artifact.data[1]
        witness = self.witness(artifact, np.zeros(circuit.input_shape, dtype=np.int64))
        hashes = json.loads(Path(witness.data).read_text())["processed_params"]["poseidon_hash"]
        Path(witness.data).unlink()
        if not hashes:
            raise RuntimeError(f"{self.name}: ezkl's witness has no weights hash "
                               f"(param_visibility {self.param_visibility})")
        return Keys(data={**keys.data, "weights_hash": list(hashes)}, pk_bytes=keys.pk_bytes,
                    vk_bytes=keys.vk_bytes + WEIGHTS_HASH_BYTES * len(hashes))

    def public_instances(self, circuit: Circuit, keys: Keys, statement: Statement) -> list[str]:
        """The weights hash recorded at setup, then the statement's input and output."""
        return [*keys.data["weights_hash"], *instances(circuit, statement)]

    def settings(self, artifact: Artifact, keys: Keys | None = None) -> str:
        text = super().settings(artifact, keys)
        if keys is not None:
            text += f" weights_hash={','.join(keys.data['weights_hash'])}"
        return text


def _ezkl_verify(ezkl: Any, artifact: Artifact, keys: Keys, data: bytes,
                 public: list[str]) -> None:
    """One ``ezkl.verify`` of proof bytes and instances; raises ProofRejected unless accepted."""
    circuit: Circuit = artifact.data[1]
    fd, name = tempfile.mkstemp(prefix="verify-", suffix=".json", dir=artifact.workdir)
    with os.fdopen(fd, "w") as f:
        json.dump({"proof": list(data), "instances": [public]}, f)
    try:
        ok = ezkl.verify(name, str(circuit.settings_path), str(keys.data["vk"]),
                         srs_path=str(keys.data["srs_path"]))
    except RuntimeError as exc:
        raise ProofRejected(f"ezkl verify: {exc}") from None
    finally:
        os.unlink(name)
    if ok is not True:
        raise ProofRejected(f"ezkl verify returned {ok!r}")


def visibility_text(visibility: str | dict[str, Any]) -> str:
    """A visibility as ezkl's settings file writes it (``"Fixed"``, or
    ``{"Hashed": {"hash_is_public": true, ...}}``) in ezkl's command-line spelling
    (``fixed``, ``hashed/public``)."""
    if isinstance(visibility, str):
        return visibility.lower()
    (kind, detail), = visibility.items()
    if kind == "Hashed":
        return "hashed/public" if detail.get("hash_is_public") else "hashed/private"
    return kind.lower()


def min_logrows(num_rows: int) -> int:
    """The fewest row bits of a circuit with ``num_rows`` rows: the least ``logrows`` with
    ``2**logrows > num_rows``, the condition ``compile`` checks."""
    return num_rows.bit_length()


def param_scale(model: QuantizedModel) -> int:
    """ezkl's one weight scale: the finest scale zkbench's quantizer gave a weight matrix (and
    at least the input scale), so no weight is coarser in ezkl's circuit than in zkbench's."""
    weights = [model.scale_bits[name] for node in model.nodes if node.op == "matmul"
               for name in node.inputs if name in model.constants]
    return max([model.input_scale_bits, *weights])


def instances(circuit: Circuit, statement: Statement) -> list[str]:
    """The public instances of ``statement``: input then output, as ezkl's field elements."""
    values = []
    for what, arr, shape in (("input", statement.input, circuit.input_shape),
                             ("output", statement.output, circuit.output_shape)):
        arr = np.asarray(arr)
        if arr.shape != tuple(shape):
            raise ProofRejected(f"ezkl: the statement's {what} has shape {arr.shape}, the "
                                f"circuit's is {tuple(shape)}")
        values.extend(int(v) for v in arr.reshape(-1))
    return [int_to_felt(v) for v in values]


def int_to_felt(value: int) -> str:
    """A signed integer as ezkl writes a field element: 32 bytes little-endian, in hex."""
    if not -BN254_R // 2 < value < BN254_R // 2:
        raise ProofRejected(f"ezkl: instance value {value} outside the signed field range")
    return (value % BN254_R).to_bytes(32, "little").hex()


def felt_to_int(felt: str) -> int:
    """ezkl's field element (hex, little-endian) as a signed integer."""
    value = int.from_bytes(bytes.fromhex(felt), "little")
    return value - BN254_R if value > BN254_R // 2 else value


def _write_input(path: Path, samples: np.ndarray) -> None:
    """ezkl's input file: one flat list of floats, calibration samples concatenated."""
    flat = np.asarray(samples, dtype=np.float64).reshape(-1)
    path.write_text(json.dumps({"input_data": [flat.tolist()]}))


def _srs(ezkl: Any, logrows: int) -> tuple[Path, str]:
    """The SRS file for ``logrows``: generated once (random secret) and then reused.

    Returns (path, ``generated`` or ``cached``). Written to a temporary name and renamed, so
    concurrent cells never read half a file."""
    path = cache_dir() / "srs" / f"kzg{logrows}.srs"
    if path.exists():
        return path, "cached"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, dir=path.parent)
    os.close(fd)
    try:
        ezkl.gen_srs(tmp, logrows)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path, "generated"

"""One cell, run inside its own subprocess: build, quantize, then time every stage.

The parent (``zkbench.runner``) starts ``python -m zkbench.cell FD`` with the cell's spec as JSON
on stdin and reads events, one JSON object per line, from file descriptor FD. Everything a
prover prints goes to the cell's log, never into the event stream.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from provers.base import ProofRejected, Unsupported
from workloads.base import check_size
from zkbench import graph, metrics, registry
from zkbench.quantize import fidelity, quantize
from zkbench.types import STAGES, Cell, Proof

Emit = Callable[[dict[str, Any]], None]


CALIBRATION_SAMPLES = 16
FIDELITY_SAMPLES = 32


def build(workload: Any, size: str, seed: int, bits: int = 8) -> tuple[Any, np.ndarray, Any]:
    """(float model, float input to prove, quantized model) for one statement: the one
    derivation that runs, ``zkbench prove``/``verify`` and the conformance kit share.

    The quantizer is calibrated on a batch of independent draws, so scales are not fitted to
    the inputs whose fidelity is measured."""
    fmodel = workload.model(size)
    x = workload.inputs(size, np.random.default_rng(seed))
    calibration = np.stack([workload.inputs(size, np.random.default_rng([seed, 1, i]))
                            for i in range(CALIBRATION_SAMPLES)])
    qmodel = quantize(fmodel, calibration, bits=bits, output_kind=workload.output_kind)
    return fmodel, x, qmodel


def measure_fidelity(workload: Any, size: str, seed: int, fmodel: Any, qmodel: Any,
                     x: np.ndarray, proven: np.ndarray) -> Any:
    """Fidelity of the proven quantized model against onnxruntime's float model.

    ``qmodel`` is the integer model the prover proves: zkbench's, or a peer's own quantization
    of the float model (anything with ``quantize_input``, ``output`` and ``dequantize_output``).

    Over the proven input and, when the prover proves zkbench's own quantized model (its
    output equals ``qmodel``'s on the proven input), FIDELITY_SAMPLES - 1 further draws
    (held-out data where the workload has it). Top-1 agreement is the fraction that agree.
    """
    xs, outs = [x], [proven]
    if np.array_equal(np.asarray(proven), qmodel.output(qmodel.quantize_input(x))):
        for i in range(FIDELITY_SAMPLES - 1):
            xi = workload.inputs(size, np.random.default_rng([seed, 3, i]))
            xs.append(xi)
            outs.append(qmodel.output(qmodel.quantize_input(xi)))
    refs = np.stack([graph.run_float(fmodel, xi) for xi in xs])
    got = np.stack([qmodel.dequantize_output(o).reshape(refs.shape[1:]) for o in outs])
    return fidelity(refs, got, workload.output_kind)


def tamper_check(prover: Any, artifact: Any, keys: Any, proof: Proof, seed: int
                 ) -> tuple[bool | None, str]:
    """Verify a proof with one flipped byte and one with a wrong public output.

    Returns (True if both were rejected with ProofRejected, reason when not). None when the
    prover proves nothing (``sound=False``) and the check does not apply.
    """
    if not prover.capabilities().sound:
        return None, ""
    rng = np.random.default_rng([seed, 2])
    tampered: list[tuple[str, Proof]] = []
    if proof.data:
        data = bytearray(proof.data)
        pos = int(rng.integers(len(data)))
        data[pos] ^= int(rng.integers(1, 256))
        tampered.append((f"proof with byte {pos} flipped", proof.with_data(bytes(data))))
    out = np.array(proof.statement.output, dtype=np.int64, copy=True)
    if out.size:
        flat = out.reshape(-1)
        flat[int(rng.integers(flat.size))] += 1
        tampered.append(("proof with a wrong public output", proof.with_output(out)))
    if not tampered:
        return False, "nothing to tamper with: empty proof and empty output"
    for what, bad in tampered:
        try:
            accepted = prover.verify(artifact, keys, bad)
        except ProofRejected:
            continue
        except Exception as exc:  # a crash is not a clean rejection: report it
            return False, f"verifier crashed on the {what}: {exc.__class__.__name__}: {exc}"
        if accepted:
            return False, f"SOUNDNESS: the {what} was accepted"
        return False, f"verify returned {accepted!r} on the {what} instead of raising"
    return True, ""


def run(spec: dict[str, Any], emit: Emit) -> None:
    cell = Cell(**spec["cell"])
    bits = int(spec.get("quant_bits", 8))
    workload = registry.create_workload(cell.workload, **spec.get("workload_args", {}))
    check_size(workload, cell.size)
    prover = registry.create_prover(cell.prover, cell.backend)
    caps = prover.capabilities()
    emit({"event": "info", "prover_version": prover.version(), "field": caps.field,
          "security_bits": caps.security_bits, "zk": caps.zk, "statement": caps.statement,
          "backend_used": getattr(prover, "backend_used", cell.backend)})
    reason = prover.available()
    if reason:
        emit({"event": "skip", "reason": reason})
        return
    fmodel, x, qmodel = build(workload, cell.size, cell.seed, bits)
    emit({"event": "info", "n_params": graph.n_params(fmodel), "n_macs": graph.n_macs(fmodel),
          "quant_bits": bits, "input_source": getattr(workload, "input_source", None)})
    reason = prover.skip_reason(qmodel, cell.size, cell.backend)
    if reason:
        emit({"event": "skip", "reason": reason})
        return
    xq = qmodel.quantize_input(x)
    workdir = Path(tempfile.mkdtemp(prefix="zkbench-cell-", dir=spec.get("workdir")))
    try:
        state: dict[str, Any] = {}
        steps = {
            "compile": lambda: prover.compile(qmodel, workdir),
            "setup": lambda: prover.setup(state["compile"]),
            "witness": lambda: prover.witness(state["compile"], xq),
            "prove": lambda: prover.prove(state["compile"], state["setup"], state["witness"]),
            "verify": lambda: _verify(prover, state["compile"], state["setup"], state["prove"]),
        }
        for stage in STAGES:
            emit({"event": "stage_start", "stage": str(stage)})
            try:
                state[stage], m = metrics.measure(steps[stage])
            except Unsupported as exc:
                emit({"event": "skip", "reason": str(exc)})
                return
            emit({"event": "stage_end", "stage": str(stage), "wall_s": m.wall_s,
                  "cpu_s": m.cpu_s, "peak_rss_bytes": m.peak_rss_bytes,
                  "peak_gpu_bytes": m.peak_gpu_bytes})
            if stage == "compile" and hasattr(prover, "security_bits"):
                # The circuit's own soundness figure, finer than the capability's floor.
                emit({"event": "info", "security_bits": prover.security_bits(state[stage])})
            if stage in ("compile", "setup") and hasattr(prover, "settings"):
                # A peer's own settings (ezkl: visibility, logrows, scales; its SRS after setup).
                emit({"event": "info", "prover_settings": prover.settings(
                    state["compile"], state.get("setup"))})
        artifact, keys, proof = state["compile"], state["setup"], state["prove"]
        verified, verify_reason = state["verify"]
        rejected, tamper_reason = tamper_check(prover, artifact, keys, proof, cell.seed)
        fid = None
        if caps.sound:
            # A peer that quantizes the float model itself (ezkl) proves its own integer model.
            proven = prover.proven_model(artifact) if hasattr(prover, "proven_model") else qmodel
            fid = measure_fidelity(workload, cell.size, cell.seed, fmodel, proven, x,
                                   proof.statement.output)
        emit({"event": "done", "proof_bytes": len(proof.data), "vk_bytes": keys.vk_bytes,
              "pk_bytes": keys.pk_bytes, "verified": verified, "verify_reason": verify_reason,
              "tamper_rejected": rejected, "tamper_reason": tamper_reason,
              "fidelity_max_abs_err": fid.max_abs_err if fid else None,
              "fidelity_top1_agree": fid.top1_agree if fid else None,
              "backend_used": getattr(prover, "backend_used", cell.backend)})
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _verify(prover: Any, artifact: Any, keys: Any, proof: Proof) -> tuple[bool, str]:
    try:
        ok = prover.verify(artifact, keys, proof)
    except ProofRejected as exc:
        return False, f"honest proof rejected: {exc}"
    return (True, "") if ok is True else (False, f"verify returned {ok!r} on the honest proof")


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when the runner that started it dies, so a killed
    sweep or Dask worker leaves no cell running on (and skewing timings of) the machine."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def main() -> int:
    _die_with_parent()
    fd = int(sys.argv[1])
    events = os.fdopen(fd, "w", buffering=1)

    def emit(event: dict[str, Any]) -> None:
        events.write(json.dumps(event) + "\n")
        events.flush()

    spec = json.loads(sys.stdin.read())
    try:
        run(spec, emit)
    except MemoryError:
        emit({"event": "error", "status": "oom", "reason": "MemoryError in the cell process"})
    except Exception as exc:
        traceback.print_exc()
        emit({"event": "error", "status": "error",
              "reason": f"{exc.__class__.__name__}: {exc}".strip()})
    return 0


if __name__ == "__main__":
    sys.exit(main())

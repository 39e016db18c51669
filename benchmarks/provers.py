"""Whole provers on the matmul workload: stage times, prove's peak memory, proof size,
security level, and GKR's prove time over plain integer inference.

Provers: ``plain`` (quantized integer inference, no proof: the baseline) and ``gkr`` (the
reference GKR prover); sizes n=256 .. n=2048 of ``workloads/matmul`` (Y = X @ W, n x n).

How it is measured. For each (prover, size) ``setup`` runs
``zkbench.testing.conformance.prepare`` (quantize, compile, set up, witness and one prove, all
untimed; compile also loads or compiles GKR's numba kernels) in a temporary directory that
``teardown`` removes. Then asv measures one stage call, with the same stage vocabulary as
``zkbench.runner``'s sweeps:

* ``ProverStages.time_witness`` / ``time_prove`` / ``time_verify``: wall time of that stage
  (for ``plain`` the witness stage is the integer inference itself);
* ``ProveMemory.peakmem_prove``: the process's peak RSS during one prove. asv reports the
  process's lifetime peak, so ``setup`` resets the kernel's high-water mark after ``prepare``
  (``zkbench.metrics.reset_peak_rss``, Linux ``/proc/self/clear_refs``); the figure is what is
  resident during prove (interpreter, modules, the prepared case and witness) plus what prove
  allocates. Where the reset is not allowed the benchmark is skipped rather than report
  setup's peak;
* ``ProofSize.track_proof_bytes``: ``len(proof.data)``; plain's "proof" is the claimed output
  (8 bytes per entry plus a header), so it grows as n^2 while GKR's grows as log n;
* ``SecurityBits.track_security_bits``: the circuit's soundness in bits from
  ``prover.security_bits(artifact)``; skipped (NotImplementedError in setup) for provers that
  prove nothing (``capabilities().security_bits is None``, i.e. ``plain``);
* ``ProveOverPlain.track_prove_over_plain``: the prover's prove time divided by plain's
  witness (inference) time at the same size, each the median of 3 ``time.perf_counter``
  timings taken inside the track (the same ratio as ``prove_over_plain`` in zkbench reports).

Memory: the largest cell (n=2048) holds about 1 GiB; each combination runs in its own asv
process, so cases never accumulate.

Run from the repository root (``asv machine --yes`` once per machine first):

    asv run --python=same --quick --bench provers      # every benchmark once, current env
    asv run --python=same --bench "provers.ProverStages.time_prove"
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from zkbench import registry
from zkbench.metrics import reset_peak_rss
from zkbench.testing.conformance import Case, prepare

WORKLOAD = "matmul"
PROVERS = ["plain", "gkr"]
SIZES = ["n=256", "n=512", "n=1024", "n=2048"]
BASELINE = "plain"
RATIO_REPEATS = 3
# prepare() compiles GKR's numba kernels on a cold cache: about a minute on 2 cores.
COLD_COMPILE_TIMEOUT_S = 300.0


class _PreparedCase:
    """Shared parameters and setup: one prepared ``Case`` per (prover, size)."""

    version = "1"  # bump only when what is measured changes
    timeout = COLD_COMPILE_TIMEOUT_S
    params = [PROVERS, SIZES]
    param_names = ["prover", "size"]

    def setup(self, prover: str, size: str) -> None:
        self._workdirs: list[tempfile.TemporaryDirectory] = []
        self.case = self._prepare(prover, size)

    def _prepare(self, prover: str, size: str) -> Case:
        workdir = tempfile.TemporaryDirectory(prefix=f"zkbench-asv-{prover}-")
        self._workdirs.append(workdir)
        workload, size = self._cell(size)
        return prepare(prover, workload, size, workdir=Path(workdir.name))

    def _cell(self, size: str) -> tuple[str, str]:
        """The (workload, size) a ``size`` parameter names: here always a matmul size."""
        return WORKLOAD, size

    def teardown(self, prover: str, size: str) -> None:
        # Also reached after a setup that raised NotImplementedError before preparing.
        for workdir in getattr(self, "_workdirs", []):
            workdir.cleanup()


class ProverStages(_PreparedCase):
    """Wall time of the witness, prove and verify stages."""

    def setup(self, prover: str, size: str) -> None:
        super().setup(prover, size)
        self.witness = self.case.prover.witness(self.case.artifact, self.case.x)

    def time_witness(self, prover: str, size: str) -> None:
        self.case.prover.witness(self.case.artifact, self.case.x)

    def time_prove(self, prover: str, size: str) -> None:
        self.case.prover.prove(self.case.artifact, self.case.keys, self.witness)

    def time_verify(self, prover: str, size: str) -> None:
        self.case.prover.verify(self.case.artifact, self.case.keys, self.case.proof)


class ProveMemory(_PreparedCase):
    """Peak RSS of the process during one prove (high-water mark reset after setup)."""

    def setup(self, prover: str, size: str) -> None:
        super().setup(prover, size)
        self.witness = self.case.prover.witness(self.case.artifact, self.case.x)
        if not reset_peak_rss():
            raise NotImplementedError(
                "cannot reset the RSS high-water mark here (/proc/self/clear_refs), so asv's "
                "peak would be setup's, not prove's"
            )

    def peakmem_prove(self, prover: str, size: str) -> None:
        self.case.prover.prove(self.case.artifact, self.case.keys, self.witness)


class ProofSize(_PreparedCase):
    """Size of the proof bytes."""

    def track_proof_bytes(self, prover: str, size: str) -> int:
        return len(self.case.proof.data)

    track_proof_bytes.unit = "bytes"


class SecurityBits(_PreparedCase):
    """The prover's soundness for this circuit, in bits."""

    def setup(self, prover: str, size: str) -> None:
        instance = registry.create_prover(prover)
        if instance.capabilities().security_bits is None:
            raise NotImplementedError(f"{prover} proves nothing: it has no security level")
        if not callable(getattr(instance, "security_bits", None)):
            raise NotImplementedError(f"{prover} reports no per-circuit security_bits(artifact)")
        super().setup(prover, size)

    def track_security_bits(self, prover: str, size: str) -> int:
        return int(self.case.prover.security_bits(self.case.artifact))

    track_security_bits.unit = "bits"


def _median_wall_s(fn, repeats: int = RATIO_REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


class ProveOverPlain(_PreparedCase):
    """The prover's prove time over plain's witness (inference) time at the same size."""

    params = [["gkr"], SIZES]

    def setup(self, prover: str, size: str) -> None:
        super().setup(prover, size)
        self.witness = self.case.prover.witness(self.case.artifact, self.case.x)
        self.baseline = self._prepare(BASELINE, size)

    def track_prove_over_plain(self, prover: str, size: str) -> float:
        case, base = self.case, self.baseline
        prove_s = _median_wall_s(lambda: case.prover.prove(case.artifact, case.keys, self.witness))
        plain_s = _median_wall_s(lambda: base.prover.witness(base.artifact, base.x))
        return prove_s / plain_s

    track_prove_over_plain.unit = "ratio"

"""GKR prove time on the CPU against the GPU: the workloads a GPU is for.

As a script (on a machine with an NVIDIA GPU and ``pip install -e '.[gpu]'``):

    python -m benchmarks.gpu_speedup --out runs/gpu-speedup

runs the ``gkr`` prover on matmul n=4096, chess ``leela`` and the largest ``coi-params`` MLP
with backends ``cpu`` and ``cuda``, each cell a ``zkbench.runner`` cell (own subprocess,
timeout, memory cap), so OUT/results.jsonl holds ordinary result rows (``backend_used``, and
``peak_gpu_bytes`` from torch's allocator for the cuda cells), and prints a table of prove
times and speedups (median over ``--repeat``). ``--backends cpu,torch-cpu`` and ``--sizes``
check the script on a machine without a GPU; a cuda cell there is a skip row, not a CPU run.

For asv, ``ProveOnBackend`` times one prove per (size, backend); the cuda combinations are
skipped where no GPU is visible. Its first size is a small matmul so that the suite's
smoke test stays quick.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from workloads.mlp import COI_PARAMS
from zkbench.testing.conformance import prepare

LARGEST_COI_MLP = max(COI_PARAMS, key=lambda name: COI_PARAMS[name][0])
SIZES = ["matmul:n=4096", "chess:leela", f"mlp:{LARGEST_COI_MLP}"]
BACKENDS = ["cpu", "cuda"]


class ProveOnBackend:
    """Wall time of gkr's prove stage per backend (compile, which warms the device, untimed)."""

    params = (["matmul:n=256", *SIZES], ["cpu", "torch-cpu", "cuda"])
    param_names = ("size", "backend")
    timeout = 3600.0
    number = 1
    repeat = 3

    def setup(self, size: str, backend: str) -> None:
        from provers.gkr import backends

        reason = backends.unavailable(backend)
        if reason:
            raise NotImplementedError(reason)
        workload, name = size.split(":", 1)
        self.tmp = tempfile.TemporaryDirectory(prefix="zkbench-gpu-speedup-")
        self.case = prepare("gkr", workload, name, backend=backend, workdir=Path(self.tmp.name))
        self.witness = self.case.prover.witness(self.case.artifact, self.case.x)

    def teardown(self, size: str, backend: str) -> None:
        tmp = getattr(self, "tmp", None)
        if tmp is not None:
            tmp.cleanup()

    def time_prove(self, size: str, backend: str) -> None:
        self.case.prover.prove(self.case.artifact, self.case.keys, self.witness)


def speedup_table(rows: list[dict], backends: list[str]) -> str:
    """A markdown table: median prove seconds per backend and each backend's speedup over the
    first, per (workload, size); a failed or skipped cell shows its status."""
    cells: dict[tuple[str, str], dict[str, list[float] | str]] = {}
    for row in rows:
        key = (row["workload"], row["size"])
        entry = cells.setdefault(key, {})
        backend = row["backend_requested"]
        if row["status"] != "ok":
            entry[backend] = row["status"]
        elif row["stage"] == "prove":
            times = entry.setdefault(backend, [])
            if isinstance(times, list):
                times.append(float(row["wall_s"]))
    base = backends[0]
    head = ["workload", "size", *(f"prove {b} (s)" for b in backends),
            *(f"{b} speedup" for b in backends[1:])]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (workload, size), entry in cells.items():
        med = {b: statistics.median(v) if isinstance(v, list) and v else None
               for b, v in entry.items()}
        shown = [f"{med[b]:.3f}" if med.get(b) is not None else str(entry.get(b, "-"))
                 for b in backends]
        ratios = [f"{med[base] / med[b]:.1f}x" if med.get(base) and med.get(b) else "-"
                  for b in backends[1:]]
        lines.append("| " + " | ".join([workload, size, *shown, *ratios]) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from zkbench.results import read_rows
    from zkbench.runner import Limits, Sweep, parse_bytes, run_sweep

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="results folder (results.jsonl, logs/)")
    p.add_argument("--backends", default=",".join(BACKENDS),
                   help="comma-separated, the first is the baseline (default: cpu,cuda)")
    p.add_argument("--sizes", default=",".join(SIZES),
                   help=f"comma-separated workload:size (default: {','.join(SIZES)})")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds per cell")
    p.add_argument("--mem-limit", default="96G", help="memory cap per cell")
    p.add_argument("--resume", action="store_true", help="continue a sweep in --out")
    args = p.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    sizes: dict[str, list[str]] = {}
    for spec in (s.strip() for s in args.sizes.split(",") if s.strip()):
        workload, size = spec.split(":", 1)
        sizes.setdefault(workload, []).append(size)
    sweep = Sweep(provers=["gkr"], sizes=sizes, backends=backends, repeat=args.repeat,
                  limits=Limits(timeout_s=args.timeout,
                                mem_limit_bytes=parse_bytes(args.mem_limit)))

    def progress(i: int, n: int, cell, rows) -> None:
        if rows is not None:
            status = next((r["status"] for r in rows if r["status"] != "ok"), "ok")
            print(f"[{i}/{n}] {cell.workload} {cell.size} {cell.backend} r{cell.repeat}: "
                  f"{status}", flush=True)

    out = Path(args.out)
    run_sweep(sweep, out, resume=args.resume, progress=progress)
    rows = read_rows(out / "results.jsonl")
    print(speedup_table(rows, backends))
    print(f"\nrows: {Path(args.out) / 'results.jsonl'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

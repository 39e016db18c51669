"""Sweeps: expand into cells, run each in its own subprocess, append its rows as it finishes.

Each cell is a fresh ``python -m zkbench.cell`` process in its own process group, watched at
20 Hz: past ``timeout_s`` the group is killed and the cell gets a ``timeout`` row; once the
summed RSS of its process tree passes ``mem_limit_bytes`` it is killed and gets an ``oom`` row
(a MemoryError inside the cell, or a kill by the kernel's OOM killer, also reads as ``oom``).
Either way the sweep goes on. A cell's rows are appended in one fsynced write, so an
interrupted sweep keeps every finished cell and ``resume`` runs only the others. Where the
cells run, here or on Dask workers, is up to an executor (``zkbench.executor``); the rows and
the store are the same either way.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zkbench import metrics
from zkbench.results import append_rows, read_rows
from zkbench.results.schema import SCHEMA_VERSION
from zkbench.types import Cell

POLL_S = 0.05
LOG_TAIL_CHARS = 400
MACHINE_KEYS = ("git_sha", "zkbench_version", "python_version", "machine_id", "cpu_model",
                "cores", "ram_bytes", "gpu_model")
"""The fingerprint columns every row takes from the machine that ran its cell."""


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 600.0
    mem_limit_bytes: int = 8 * 2**30


@dataclass
class Sweep:
    provers: list[str]
    sizes: dict[str, list[str]]
    """workload -> sizes"""
    backends: list[str] = field(default_factory=lambda: ["cpu"])
    repeat: int = 1
    seed: int = 0
    quant_bits: int = 8
    limits: Limits = field(default_factory=Limits)
    workload_args: dict[str, dict[str, Any]] = field(default_factory=dict)
    """workload -> arguments that build it (file workloads: ``zkbench run --model``)"""

    def cells(self) -> list[Cell]:
        return [
            Cell(p, w, s, b, r, self.seed)
            for w, sizes in self.sizes.items()
            for s in sizes
            for p in self.provers
            for b in self.backends
            for r in range(self.repeat)
        ]


def parse_bytes(text: str) -> int:
    """'8G', '512M', '1.5GiB', '1000000' -> bytes."""
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    units = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    try:
        if t and t[-1] in units:
            return int(float(t[:-1]) * units[t[-1]])
        return int(float(t))
    except ValueError:
        raise ValueError(f"not a memory size: {text!r} (try 8G or 512M)") from None


def is_terminal(row: dict[str, Any]) -> bool:
    """The last row a finished cell writes: a failure or skip, or its verify stage."""
    return row.get("status") != "ok" or row.get("stage") == "verify"


def finished_cells(path: Path) -> set[str]:
    """Cells with a terminal row. Rows of unfinished cells (a torn multi-line write) are
    dropped from the file so a resumed run writes each cell exactly once."""
    rows = read_rows(path)
    done = {r["cell_id"] for r in rows if is_terminal(r)}
    partial = [r for r in rows if r["cell_id"] not in done]
    if partial:
        keep = [r for r in rows if r["cell_id"] in done]
        tmp = path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in keep))
        os.replace(tmp, path)
    return done


class _Watch:
    """Reads a cell's events while sampling its process tree's memory."""

    def __init__(self, proc: subprocess.Popen, events_fd: int) -> None:
        self.proc = proc
        self.queue: queue.Queue[dict[str, Any]] = queue.Queue()
        self.thread = threading.Thread(target=self._read, args=(events_fd,), daemon=True)
        self.thread.start()

    def _read(self, fd: int) -> None:
        with os.fdopen(fd, "r") as fh:
            for line in fh:
                try:
                    self.queue.put(json.loads(line))
                except ValueError:
                    continue

    def drain(self) -> list[dict[str, Any]]:
        out = []
        while True:
            try:
                out.append(self.queue.get_nowait())
            except queue.Empty:
                return out

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def run_cell(cell: Cell, limits: Limits, quant_bits: int, log_path: Path,
             env: dict[str, str] | None = None,
             workload_args: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Run one cell in a subprocess; return its rows (without the sweep-level columns)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    read_fd, write_fd = os.pipe()
    spec = {"cell": cell.to_dict(), "quant_bits": quant_bits}
    if workload_args:
        spec["workload_args"] = workload_args
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "zkbench.cell", str(write_fd)],
            stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
            pass_fds=(write_fd,), start_new_session=True, env=env,
        )
    os.close(write_fd)
    watch = _Watch(proc, read_fd)
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(spec).encode())
    proc.stdin.close()

    start = time.monotonic()
    events: list[dict[str, Any]] = []
    stage_peaks: dict[str, int] = {}
    stage_starts: dict[str, float] = {}
    current: str | None = None
    killed: tuple[str, str] | None = None

    def take(new: list[dict[str, Any]]) -> None:
        nonlocal current
        for ev in new:
            events.append(ev)
            if ev["event"] == "stage_start":
                current = ev["stage"]
                stage_starts[current] = time.monotonic()
                stage_peaks[current] = 0
            elif ev["event"] == "stage_end":
                current = None

    while proc.poll() is None:
        take(watch.drain())
        rss = metrics.tree_rss_bytes(proc.pid)
        if current is not None:
            stage_peaks[current] = max(stage_peaks[current], rss)
        if rss > limits.mem_limit_bytes:
            killed = ("oom", f"RSS {rss / 2**30:.2f} GiB passed the memory limit of "
                             f"{limits.mem_limit_bytes / 2**30:.2f} GiB")
            watch.kill()
            break
        if time.monotonic() - start > limits.timeout_s:
            killed = ("timeout", f"still running after the {limits.timeout_s:g} s timeout")
            watch.kill()
            break
        time.sleep(POLL_S)
    proc.wait()
    watch.thread.join(timeout=5)
    take(watch.drain())
    return _rows(cell, events, stage_peaks, stage_starts, current, killed, proc.returncode,
                 log_path)


def _log_tail(path: Path) -> str:
    try:
        text = path.read_text(errors="replace").strip()
    except OSError:
        return ""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[-1][-LOG_TAIL_CHARS:] if lines else ""


def _rows(cell: Cell, events: list[dict[str, Any]], stage_peaks: dict[str, int],
          stage_starts: dict[str, float], current: str | None, killed: tuple[str, str] | None,
          returncode: int, log_path: Path) -> list[dict[str, Any]]:
    info: dict[str, Any] = {"backend_used": cell.backend}
    rows: list[dict[str, Any]] = []
    outcome: tuple[str, str] | None = killed
    done: dict[str, Any] | None = None
    for ev in events:
        kind = ev["event"]
        if kind == "info":
            info.update({k: v for k, v in ev.items() if k != "event"})
        elif kind == "stage_end":
            stage = ev["stage"]
            rows.append({"stage": stage, "status": "ok", "wall_s": ev["wall_s"],
                         "cpu_s": ev["cpu_s"],
                         "peak_rss_bytes": max(ev["peak_rss_bytes"], stage_peaks.get(stage, 0)),
                         "peak_gpu_bytes": ev["peak_gpu_bytes"]})
        elif kind == "skip" and outcome is None:
            outcome = ("skip", ev["reason"])
        elif kind == "error" and outcome is None:
            outcome = (ev["status"], ev["reason"])
        elif kind == "done":
            done = ev
    if done is None and outcome is None:
        if returncode == -signal.SIGKILL:
            outcome = ("oom", "cell process was killed by SIGKILL (the kernel's OOM killer?)")
        else:
            tail = _log_tail(log_path)
            outcome = ("error", f"cell process exited with code {returncode}"
                                + (f": {tail}" if tail else ""))
    if outcome is not None:
        status, reason = outcome
        if status == "skip":
            rows = [{"stage": "compile", "status": "skip", "status_reason": reason}]
        elif current is not None or not rows:  # failed inside a stage, or before the first
            stage = current or "compile"
            elapsed = time.monotonic() - stage_starts[stage] if stage in stage_starts else None
            rows.append({"stage": stage, "status": status, "status_reason": reason,
                         "wall_s": elapsed, "peak_rss_bytes": stage_peaks.get(stage) or None})
        else:  # every stage finished; the tamper check or fidelity after them failed
            rows[-1].update(status=status, status_reason=f"after the verify stage: {reason}")
    cell_facts: dict[str, Any] = {}
    if done is not None:
        cell_facts = {k: done.get(k) for k in ("proof_bytes", "vk_bytes", "pk_bytes", "verified",
                                               "tamper_rejected", "fidelity_max_abs_err",
                                               "fidelity_top1_agree")}
        info["backend_used"] = done.get("backend_used", info["backend_used"])
        for row in rows:
            if row["stage"] == "verify" and not done["verified"]:
                row.update(status="error", status_reason=done["verify_reason"])
            elif row["stage"] == "verify" and done.get("tamper_reason"):
                row["status_reason"] = done["tamper_reason"]
    base = {"cell_id": cell.cell_id, "prover": cell.prover, "workload": cell.workload,
            "size": cell.size, "backend_requested": cell.backend, "repeat": cell.repeat,
            "seed": cell.seed}
    for k in ("prover_version", "field", "security_bits", "zk", "statement", "backend_used",
              "n_params", "n_macs", "quant_bits", "input_source",
              "prover_settings"):
        base[k] = info.get(k)
    return [{**base, **cell_facts, **row} for row in rows]


def failed_rows(cell: Cell, reason: str) -> list[dict[str, Any]]:
    """The single ``error`` row of a cell that never reported back (its worker died, say)."""
    return _rows(cell, [], {}, {}, None, ("error", reason), 0, Path(os.devnull))


def cell_log_path(log_dir: Path, cell: Cell) -> Path:
    """Where a cell's captured stdout and stderr are kept: one file per cell id."""
    return Path(log_dir) / (cell.cell_id.replace("|", "_").replace("=", "") + ".log")


ProgressFn = Callable[[int, int, Cell, list[dict[str, Any]] | None], None]


def run_sweep(sweep: Sweep, out_dir: Path, resume: bool = False,
              progress: ProgressFn | None = None,
              env: dict[str, str] | None = None,
              executor: Any = None) -> list[dict[str, Any]]:
    """Run every cell not yet finished; returns the rows written by this call.

    ``executor`` (``zkbench.executor``) decides where cells run: one after another on this
    machine by default, or on Dask workers. Either way only this process writes the store,
    and each row carries the fingerprint of the machine that ran its cell."""
    from zkbench.executor import LocalExecutor

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = out_dir / "results.jsonl"
    if results.exists() and not resume:
        raise FileExistsError(
            f"{results} already holds results: pass --resume to continue that sweep, "
            f"or choose another --out"
        )
    done = finished_cells(results) if resume else set()
    todo = [c for c in sweep.cells() if c.cell_id not in done]
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]
    executor = executor if executor is not None else LocalExecutor()
    written: list[dict[str, Any]] = []
    finished = 0

    def started(cell: Cell) -> None:
        if progress:
            progress(finished, len(todo), cell, None)

    for cell, rows, machine in executor.run(todo, sweep, out_dir / "logs", env, started):
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        rows = [{"schema_version": SCHEMA_VERSION, "run_id": run_id, "timestamp_utc": stamp,
                 **{k: machine.get(k) for k in MACHINE_KEYS}, **row} for row in rows]
        append_rows(results, rows)
        written.extend(rows)
        finished += 1
        if progress:
            progress(finished, len(todo), cell, rows)
    return written

"""Where a sweep's cells run: one after another on this machine, or on Dask workers.

An executor takes the cells still to run and yields ``(cell, rows, machine)`` as each one
finishes: the rows ``zkbench.runner.run_cell`` made of the cell's events, and the fingerprint
(``zkbench.environment``) of the machine that ran it. ``zkbench.runner.run_sweep`` stamps and
appends them; an executor never writes the results store, so with Dask too only the process
that started the sweep writes it.

On a Dask worker a cell still runs through ``run_cell``, in its own subprocess with the sweep's
timeout and memory cap. A worker runs as many cells at once as it has units of the
``zkbench_cell`` resource (``dask worker --resources zkbench_cell=1``; ``--cluster local:N``
gives each worker ``cells_per_worker`` of them), and a worker without that resource gets no
cells. The client hands out no more cells than the cluster has free units, so cells wait in
this process rather than queued on a worker: Dask counts a worker's death against every task
assigned to it, started or not, and a cell that never started must not use up its retry.

A cell whose worker dies is rescheduled by Dask on another worker up to the scheduler's
``distributed.scheduler.allowed-failures`` times (``--cluster local:N`` sets it to 1); after
that, and on any other failure outside the cell's own subprocess, the cell gets one ``error``
row naming the reason (``KilledWorker``, ...) and the sweep goes on.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from zkbench import environment
from zkbench.runner import Limits, Sweep, cell_log_path, failed_rows, run_cell
from zkbench.types import Cell

RESOURCE = "zkbench_cell"
"""The Dask worker resource one running cell takes."""
ALLOWED_FAILURES = 1
"""Worker deaths a cell may see before it is recorded as an error (local clusters)."""
WORKER_WAIT_S = 60.0
"""How long to wait for a worker that takes cells before giving up."""
CONNECT_TIMEOUT_S = 30.0
POLL_S = 0.1
SLOTS_REFRESH_S = 5.0
LOG_MAX_BYTES = 2**20
"""A cell's log comes back from its worker cut to its last MiB."""

StartedFn = Callable[[Cell], None]
Finished = tuple[Cell, list[dict[str, Any]], dict[str, Any]]


class ExecutorError(RuntimeError):
    """The cluster cannot be used (not installed, unreachable, no suitable worker)."""


class LocalExecutor:
    """Today's behaviour: each cell in turn, in a subprocess of this process."""

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def run(self, cells: list[Cell], sweep: Sweep, log_dir: Path,
            env: dict[str, str] | None, started: StartedFn) -> Iterator[Finished]:
        machine = environment.fingerprint()
        for cell in cells:
            started(cell)
            rows = run_cell(cell, sweep.limits, sweep.quant_bits, cell_log_path(log_dir, cell),
                            env=env, workload_args=sweep.workload_args.get(cell.workload))
            yield cell, rows, machine


def run_on_worker(cell: Cell, limits: Limits, quant_bits: int,
                  env: dict[str, str] | None,
                  workload_args: dict[str, Any] | None = None) -> dict[str, Any]:
    """The task a Dask worker runs: one cell through ``run_cell`` (its own subprocess, the same
    limits), with its log in a scratch folder of the worker. The cell inherits the worker's
    environment unless ``env`` (the sweep's, when one is given) replaces it. Returns the rows,
    this machine's fingerprint and the log's bytes, which the client keeps under OUT/logs."""
    with tempfile.TemporaryDirectory(prefix="zkbench-cell-") as tmp:
        log = Path(tmp) / "cell.log"
        rows = run_cell(cell, limits, quant_bits, log, env=env, workload_args=workload_args)
        log_bytes = log.read_bytes()[-LOG_MAX_BYTES:] if log.exists() else b""
    return {"rows": rows, "machine": environment.fingerprint(), "log": log_bytes}


def parse_cluster(text: str) -> int:
    """'local:4' -> 4 worker processes."""
    kind, _, count = text.partition(":")
    if kind != "local" or not count.isdigit() or int(count) < 1:
        raise ValueError(f"--cluster {text!r}: expected local:N with N >= 1 worker processes, "
                         f"e.g. local:4")
    return int(count)


class DaskExecutor:
    """Cells on the workers of a Dask cluster: an existing scheduler (``scheduler``, e.g.
    ``tcp://host:8786``) or a ``distributed.LocalCluster`` of ``local_workers`` processes
    started here, each taking ``cells_per_worker`` cells at a time (one thread per cell).

    Use it as a context manager: entering connects (or starts the local cluster), leaving
    closes the client and any cluster it started."""

    def __init__(self, scheduler: str | None = None, local_workers: int | None = None,
                 cells_per_worker: int = 1) -> None:
        if (scheduler is None) == (local_workers is None):
            raise ValueError("give either a scheduler address or a number of local workers")
        if cells_per_worker < 1:
            raise ValueError(f"cells per worker must be at least 1, got {cells_per_worker}")
        self.scheduler = scheduler
        self.local_workers = local_workers
        self.cells_per_worker = cells_per_worker
        self.client: Any = None
        self.cluster: Any = None

    def __enter__(self) -> DaskExecutor:
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError:
            raise ExecutorError("running on a cluster needs Dask distributed: "
                                "pip install 'zkbench[cluster]'") from None
        if self.local_workers is not None:
            with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}):
                self.cluster = LocalCluster(
                    n_workers=self.local_workers, threads_per_worker=self.cells_per_worker,
                    processes=True, resources={RESOURCE: self.cells_per_worker},
                    memory_limit=0, host="127.0.0.1", dashboard_address=None)
            self.client = Client(self.cluster)
            self.scheduler = self.cluster.scheduler_address
        else:
            try:
                self.client = Client(self.scheduler, timeout=CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError, ValueError) as exc:
                raise ExecutorError(f"cannot reach the Dask scheduler at {self.scheduler}: "
                                    f"{exc}") from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None

    def slots(self) -> tuple[int, int]:
        """(cells the cluster can run at once, number of workers)."""
        workers = self.client.scheduler_info()["workers"]
        free = sum(min(int(w.get("resources", {}).get(RESOURCE, 0)), int(w["nthreads"]))
                   for w in workers.values())
        return free, len(workers)

    def _wait_for_slots(self) -> int:
        deadline = time.monotonic() + WORKER_WAIT_S
        while True:
            slots, workers = self.slots()
            if slots > 0:
                return slots
            if workers:
                raise ExecutorError(
                    f"none of the {workers} Dask workers at {self.scheduler} offers the "
                    f"{RESOURCE} resource; start them with `dask worker {self.scheduler} "
                    f"--nthreads 1 --resources {RESOURCE}=1`")
            if time.monotonic() > deadline:
                raise ExecutorError(f"no Dask worker joined the scheduler at {self.scheduler} "
                                    f"within {WORKER_WAIT_S:g} s")
            time.sleep(1.0)

    def run(self, cells: list[Cell], sweep: Sweep, log_dir: Path,
            env: dict[str, str] | None, started: StartedFn) -> Iterator[Finished]:
        from distributed import as_completed

        if self.client is None:
            raise ExecutorError("DaskExecutor.run outside its `with` block")
        pending = deque(cells)
        running: dict[Any, tuple[Any, Cell]] = {}
        done = as_completed()
        slots, checked = 0, -SLOTS_REFRESH_S
        try:
            while pending or running:
                if time.monotonic() - checked > SLOTS_REFRESH_S:
                    slots, _ = self.slots()
                    checked = time.monotonic()
                if not running and slots <= 0:
                    slots = self._wait_for_slots()
                while pending and len(running) < slots:
                    cell = pending.popleft()
                    future = self.client.submit(
                        run_on_worker, cell, sweep.limits, sweep.quant_bits, env,
                        sweep.workload_args.get(cell.workload),
                        key=f"zkbench-cell-{cell.cell_id}-{uuid.uuid4().hex[:8]}", pure=False,
                        resources={RESOURCE: 1})
                    running[future.key] = (future, cell)
                    done.add(future)
                    started(cell)
                if not done.has_ready():
                    time.sleep(POLL_S)
                    continue
                for future in done.next_batch(block=False):
                    _, cell = running.pop(future.key)
                    yield self._finished(future, cell, log_dir)
                    future.release()
                checked = -SLOTS_REFRESH_S  # a worker may have died or joined meanwhile
        finally:
            if running:  # interrupted: nothing more will be collected
                self.client.cancel([f for f, _ in running.values()])

    @staticmethod
    def _finished(future: Any, cell: Cell, log_dir: Path) -> Finished:
        if future.status == "finished":
            out = future.result()
            log = cell_log_path(log_dir, cell)
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_bytes(out["log"])
            return cell, out["rows"], out["machine"]
        return cell, failed_rows(cell, failure_reason(future)), {}


def failure_reason(future: Any) -> str:
    """One line saying why a cell's task failed outside the cell's own subprocess."""
    from distributed import KilledWorker

    try:
        exc = future.exception()
    except Exception as raised:  # a cancelled future raises instead of returning it
        exc = raised
    if isinstance(exc, KilledWorker):
        last = getattr(exc.last_worker, "address", exc.last_worker)
        return (f"KilledWorker: the Dask worker running this cell died on each of its "
                f"{exc.allowed_failures + 1} tries (the last on {last})")
    return f"{exc.__class__.__name__} on the Dask worker: {exc}".strip()

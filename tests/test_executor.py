"""Sweeps on a real Dask LocalCluster of two worker processes: the same cells as the local
executor, each row stamped by the machine of its worker, and workers killed in the middle of
a cell without losing any finished one."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from zkbench import environment
from zkbench import executor as executor_module
from zkbench.cli import main
from zkbench.executor import DaskExecutor, ExecutorError, parse_cluster
from zkbench.results import load
from zkbench.runner import Limits, Sweep, cell_log_path, run_sweep
from zkbench.types import Cell

KILL_WAIT_S = 90.0


@pytest.fixture(scope="module")
def dask_executor():
    with DaskExecutor(local_workers=2) as executor:
        yield executor


@dataclass
class CellList(Sweep):
    """A sweep of exactly these cells, rather than a full product of names."""

    listed: list[Cell] = field(default_factory=list)

    def cells(self) -> list[Cell]:
        return list(self.listed)


class WorkerKiller(threading.Thread):
    """Watches the napper prover's pid files; for each of the first ``kills`` cells that
    reach ``prove``, SIGKILLs the Dask worker process that started that cell."""

    def __init__(self, marks: Path, kills: int) -> None:
        super().__init__(daemon=True)
        self.marks, self.kills = marks, kills
        self.killed: list[tuple[int, int]] = []  # (cell pid, worker pid)
        self.seen: list[int] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._kill()
        except BaseException as exc:  # reported by the test, not lost in this thread
            self.error = exc

    def _kill(self) -> None:
        deadline = time.monotonic() + KILL_WAIT_S
        while len(self.killed) < self.kills and time.monotonic() < deadline:
            for pid in sorted(int(p.name) for p in self.marks.iterdir()):
                if pid in self.seen:
                    continue
                self.seen.append(pid)
                worker = psutil.Process(pid).parent()
                if worker is None or worker.ppid() != os.getpid():
                    raise AssertionError(f"cell {pid} was not started by a cluster worker")
                os.kill(worker.pid, signal.SIGKILL)
                self.killed.append((pid, worker.pid))
                if len(self.killed) == self.kills:
                    return
            time.sleep(0.05)


def _napping(plugin: dict[str, str], marks: Path, naps: int) -> dict[str, str]:
    """The napper's environment: the first ``naps`` tries sleep (until killed), later ones
    prove at once."""
    marks.mkdir(exist_ok=True)
    return {**plugin, "ZKBENCH_TEST_NAP_DIR": str(marks), "ZKBENCH_TEST_NAPS": str(naps),
            "ZKBENCH_TEST_SLEEP_S": "60"}


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_parse_cluster():
    assert parse_cluster("local:3") == 3
    for bad in ("local", "local:0", "remote:2", "local:x"):
        with pytest.raises(ValueError, match="local:N"):
            parse_cluster(bad)


@pytest.mark.parametrize(("args", "needle"), [
    (["--cluster", "remote:2"], "expected local:N"),
    (["--cells-per-worker", "2"], "--cells-per-worker applies to --cluster"),
    (["--cluster", "local:1", "--cells-per-worker", "0"], "at least 1"),
])
def test_run_bad_cluster_options_are_one_line(tmp_path, capsys, args, needle):
    assert main(["run", "--provers", "null", "--sizes", "n=16", "--out", str(tmp_path),
                 *args]) == 2
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0]


def test_unreachable_scheduler_is_one_clear_error(monkeypatch):
    monkeypatch.setattr(executor_module, "CONNECT_TIMEOUT_S", 1.0)
    with pytest.raises(ExecutorError, match="cannot reach the Dask scheduler at tcp://127"):
        with DaskExecutor(scheduler="tcp://127.0.0.1:9"):
            pass


def test_dask_runs_the_same_cells_as_local_stamped_by_the_worker(dask_executor, tmp_path,
                                                                 monkeypatch):
    sweep = Sweep(provers=["null", "plain"], sizes={"matmul": ["n=16"]})
    real = environment.fingerprint()
    # Only this process sees the patch: rows made here say so, rows from workers do not.
    monkeypatch.setattr(environment, "fingerprint", lambda: {**real, "machine_id": "parent"})
    run_sweep(sweep, tmp_path / "local")
    run_sweep(sweep, tmp_path / "dask", executor=dask_executor)
    here, there = load(tmp_path / "local"), load(tmp_path / "dask")

    def cells(df):
        return sorted(df[["cell_id", "stage", "status"]].itertuples(index=False, name=None))

    assert cells(there) == cells(here)
    assert there["cell_id"].nunique() == 2 and (there["status"] == "ok").all()
    assert (here["machine_id"] == "parent").all()
    assert (there["machine_id"] == real["machine_id"]).all()
    assert (there["cores"] == real["cores"]).all() and (there["git_sha"] == real["git_sha"]).all()
    for cell in sweep.cells():
        assert cell_log_path(tmp_path / "dask" / "logs", cell).exists()


def test_killed_workers_lose_no_finished_cell_and_resume_crosses_executors(
        dask_executor, plugin, tmp_path):
    out, limits = tmp_path / "sweep", Limits(timeout_s=60)
    nulls = [Cell("null", "tiny", "n=4", repeat=r) for r in range(2)]
    doomed = Cell("napper", "tiny", "n=4", repeat=0)

    # A cell whose worker is killed, and then the worker of its retry: an error row.
    killer = WorkerKiller(tmp_path / "marks-a", kills=2)
    env = _napping(plugin, killer.marks, naps=2)
    killer.start()
    run_sweep(CellList([], {}, limits=limits, listed=[doomed, *nulls]), out, env=env,
              executor=dask_executor)
    killer.join()
    assert killer.error is None and len(killer.killed) == 2
    assert killer.killed[0][1] != killer.killed[1][1]  # the retry ran on another worker
    assert all(_gone(cell_pid) for cell_pid, _ in killer.killed)  # died with their workers
    df = load(out)
    failed = df[df["cell_id"] == doomed.cell_id]
    assert list(failed["status"]) == ["error"]
    assert "KilledWorker" in failed["status_reason"].iloc[0]
    done = df[df["cell_id"] != doomed.cell_id]
    assert done["cell_id"].nunique() == len(nulls) and (done["status"] == "ok").all()
    assert (done.groupby("cell_id").size() == 5).all()

    # Resumed on Dask: a new cell's worker is killed once; its retry elsewhere finishes.
    lucky = Cell("napper", "tiny", "n=4", repeat=1)
    killer = WorkerKiller(tmp_path / "marks-b", kills=1)
    env = _napping(plugin, killer.marks, naps=1)
    killer.start()
    rows = run_sweep(CellList([], {}, limits=limits, listed=[doomed, *nulls, lucky]), out,
                     resume=True, env=env, executor=dask_executor)
    killer.join()
    assert killer.error is None and len(killer.killed) == 1
    assert {r["cell_id"] for r in rows} == {lucky.cell_id}
    assert [r["status"] for r in rows] == ["ok"] * 5 and rows[-1]["verified"]
    assert len(list(killer.marks.iterdir())) == 2  # the killed try and the retry

    # Resumed with the local executor: only the cell not yet run runs, here.
    extra = Cell("null", "tiny", "n=4", repeat=2)
    everything = [doomed, *nulls, lucky, extra]
    rows = run_sweep(CellList([], {}, limits=limits, listed=everything), out, resume=True,
                     env=plugin)
    assert {r["cell_id"] for r in rows} == {extra.cell_id}
    df = load(out)
    counts = df.groupby("cell_id").size()
    assert set(counts.index) == {c.cell_id for c in everything}
    assert counts[doomed.cell_id] == 1 and (counts.drop(doomed.cell_id) == 5).all()
    ran = df[df["cell_id"] != doomed.cell_id]
    assert (ran["machine_id"] == environment.fingerprint()["machine_id"]).all()
    assert df.groupby("cell_id")["run_id"].nunique().max() == 1
    assert df["run_id"].nunique() == 3

"""The runner keeps going through timeouts, memory blow-ups and crashes, and resumes exactly."""

import os
import signal
import subprocess
import sys
import time

import pytest

from zkbench import registry
from zkbench.results import load
from zkbench.runner import Limits, Sweep, parse_bytes, run_sweep


def _by_cell(df):
    return {p: g.set_index("stage") for p, g in df.groupby("prover")}


def test_plugin_is_discovered_through_entry_points(plugin):
    assert {"echo", "sleepy", "hungry"} <= set(registry.prover_names())
    assert "tiny" in registry.workload_names()
    assert registry.create_prover("echo").name == "echo"


def test_failures_become_rows_and_the_sweep_goes_on(plugin, tmp_path):
    sweep = Sweep(provers=["sleepy", "hungry", "crashy", "echo"], sizes={"tiny": ["n=4"]},
                  limits=Limits(timeout_s=6, mem_limit_bytes=parse_bytes("600M")))
    run_sweep(sweep, tmp_path, env=plugin)
    cells = _by_cell(load(tmp_path))

    sleepy = cells["sleepy"]
    assert sleepy.loc["prove", "status"] == "timeout"
    assert "timeout" in sleepy.loc["prove", "status_reason"]
    assert sleepy.loc["prove", "wall_s"] > 3
    assert (sleepy.loc[["compile", "setup", "witness"], "status"] == "ok").all()

    hungry = cells["hungry"]
    assert hungry.loc["witness", "status"] == "oom"
    assert "memory limit" in hungry.loc["witness", "status_reason"]
    assert hungry.loc["witness", "peak_rss_bytes"] > parse_bytes("600M")
    assert "prove" not in hungry.index

    crashy = cells["crashy"]
    assert crashy.loc["prove", "status"] == "error"
    assert "code 3" in crashy.loc["prove", "status_reason"]
    assert "about to die" in crashy.loc["prove", "status_reason"]

    echo = cells["echo"]
    assert (echo["status"] == "ok").all() and len(echo) == 5
    assert echo["verified"].all() and echo["tamper_rejected"].all()


def test_accepting_a_tampered_proof_is_recorded(plugin, tmp_path):
    run_sweep(Sweep(provers=["forgiving"], sizes={"tiny": ["n=4"]}), tmp_path, env=plugin)
    df = load(tmp_path)
    assert df["verified"].all()
    assert not df["tamper_rejected"].any()
    verify = df[df["stage"] == "verify"].iloc[0]
    assert "SOUNDNESS" in verify["status_reason"]


def test_unknown_backend_is_a_skip_row(tmp_path):
    run_sweep(Sweep(provers=["plain"], sizes={"matmul": ["n=16"]}, backends=["cuda"]), tmp_path)
    df = load(tmp_path)
    assert list(df["status"]) == ["skip"]
    assert "cuda" in df["status_reason"].iloc[0]


def test_existing_results_need_resume(tmp_path):
    sweep = Sweep(provers=["null"], sizes={"matmul": ["n=16"]})
    run_sweep(sweep, tmp_path)
    with pytest.raises(FileExistsError, match="--resume"):
        run_sweep(sweep, tmp_path)
    assert run_sweep(sweep, tmp_path, resume=True) == []


def test_sigkill_then_resume_runs_every_cell_exactly_once(plugin, tmp_path):
    out = tmp_path / "sweep"
    cmd = [sys.executable, "-m", "zkbench.cli", "run", "--provers", "null,echo", "--workloads",
           "tiny", "--sizes", "n=4,n=8", "--repeat", "2", "--out", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, env=plugin, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    results = out / "results.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if results.exists() and results.read_text().count('"stage": "verify"') >= 2:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished_before = load(results)["cell_id"].nunique()
    assert 2 <= finished_before < 8
    with results.open("a") as fh:  # and a write torn by the kill
        fh.write('{"schema_version": 1, "run_id": "x", "cell_id": "echo|ti')

    rerun = subprocess.run([*cmd, "--resume"], env=plugin, capture_output=True, text=True,
                           timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    df = load(results)
    counts = df.groupby("cell_id").size()
    assert len(counts) == 8
    assert (counts == 5).all()
    assert df.groupby("cell_id")["run_id"].nunique().max() == 1

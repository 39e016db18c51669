"""Results from several machines: the report keeps them apart, and `--machine` picks one."""

from __future__ import annotations

import subprocess
import sys

import pytest

from zkbench import report
from zkbench.cli import main
from zkbench.results import append_rows, load, read_rows
from zkbench.runner import Sweep, failed_rows, run_sweep
from zkbench.types import Cell

OTHER = "feedc0de00000042"


@pytest.fixture(scope="module")
def two_machines(tmp_path_factory):
    """A real sweep, its second repeat relabelled as run on another machine, and the error
    row of a cell whose worker died."""
    out = tmp_path_factory.mktemp("two")
    run_sweep(Sweep(provers=["null", "plain"], sizes={"matmul": ["n=16"]}, repeat=2), out)
    path = out / "results.jsonl"
    rows = read_rows(path)
    for row in rows:
        if row["repeat"] == 1:
            row.update(machine_id=OTHER, cpu_model="Other CPU", cores=128)
    lost = Cell("plain", "matmul", "n=16", repeat=2)
    dead = [{"schema_version": 1, "run_id": rows[0]["run_id"], **r}
            for r in failed_rows(lost, "KilledWorker: every worker that ran it died")]
    path.unlink()
    append_rows(path, rows + dead)
    return out


def test_summary_is_per_machine(two_machines, tmp_path):
    df = load(two_machines)
    here = report.machines(df)[0]
    assert report.machines(df) == [here, OTHER]
    text = report.write_markdown(df, tmp_path).read_text()
    assert f"### Machine `{here}`" in text and f"### Machine `{OTHER}`" in text
    assert f"Machine `{OTHER}` (2 cells): Other CPU, 128 cores" in text
    assert "KilledWorker" in text  # under failed cells, though it ran nowhere
    assert "Machine `<NA>`" not in text
    tables = report.machine_tables(df)
    assert tables.count("| matmul") == 4 and f"Machine {OTHER}:" in tables


def test_select_machine_by_prefix(two_machines):
    df = load(two_machines)
    mine = report.select_machine(df, OTHER[:6])
    assert set(mine["machine_id"]) == {OTHER} and set(mine["repeat"]) == {1}
    with pytest.raises(ValueError, match="matches no machine.*" + OTHER):
        report.select_machine(df, "0123")


def test_report_machine_option(two_machines, tmp_path, capsys):
    r = subprocess.run([sys.executable, "-m", "zkbench.cli", "report", str(two_machines),
                        "--out", str(tmp_path / "one"), "--machine", OTHER],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "one" / "report.md").read_text()
    assert f"Machine `{OTHER}`: Other CPU" in text and "### Machine" not in text
    assert main(["report", str(two_machines), "--out", str(tmp_path / "bad"),
                 "--machine", "nope"]) == 2
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "--machine: machine 'nope' matches no machine" in lines[0]

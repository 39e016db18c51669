"""Figures and the markdown report: every figure renders, failed cells are drawn as markers at
their limit (never dropped), captions name the machine and the statement, only like statements
share a panel, and report.md carries the failed-cells table, the alarms and the figure links."""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from zkbench import cli, plots, report
from zkbench.plots._common import FAILED, count_label, plain_label
from zkbench.plots.pareto import pareto_front
from zkbench.results import append_rows, load, validate

CPU = "Test CPU 9000 (64-core)"
MACHINE = {"machine_id": "m1", "cpu_model": CPU, "cores": 64, "ram_bytes": 256 * 2**30,
           "gpu_model": "", "git_sha": "abc", "zkbench_version": "0.1.0",
           "python_version": "3.11"}
STATEMENT = {"gkr": "public", "plain": "public", "null": "none", "zkp": "zk"}
SPEED = {"gkr": 2e-6, "plain": 1e-8, "null": 1e-9, "zkp": 5e-6}  # prove s per parameter
FIGURE_NAMES = ["prove_time", "prove_time_macs", "peak_memory", "proof_size", "verify_time",
                "overhead", "pareto"]


def cell_rows(prover, workload, size, n_params, repeat=0, *, fail=None, at="prove", wall=None,
              peak=None, reason=None, tamper_rejected=True):
    """One cell's rows as the runner writes them: ok stages up to ``at``, which fails with
    ``fail`` when given (timeout, oom, error, skip)."""
    cell_id = f"{prover}|{workload}|{size}|cpu|r{repeat}|s0"
    base = {"run_id": "r", "cell_id": cell_id, "prover": prover, "workload": workload,
            "size": size, "backend_requested": "cpu", "backend_used": "cpu",
            "repeat": repeat, "seed": 0, "statement": STATEMENT.get(prover, "public"),
            "n_params": n_params, "n_macs": n_params * 4, **MACHINE}
    if fail == "skip":
        return [{**base, "stage": "compile", "status": "skip", "status_reason": reason}]
    base["security_bits"] = None if prover in ("plain", "null") else 100
    done = fail is None or (fail == "error" and at == "after-verify")
    if done:
        base.update(proof_bytes=0 if prover == "null" else int(200 * np.log2(n_params) + 100),
                    verified=True, tamper_rejected=None if prover == "null" else tamper_rejected)
    jitter = 1 + 0.1 * repeat
    rows = []
    for stage in ("compile", "setup", "witness", "prove", "verify"):
        t = {"witness": 1e-8 * n_params, "prove": SPEED.get(prover, 1e-6) * n_params,
             "verify": 1e-7 * n_params}.get(stage, 1e-4) * jitter
        row = {**base, "stage": stage, "status": "ok", "wall_s": t, "cpu_s": t,
               "peak_rss_bytes": int(60 * 2**20 + 40 * n_params * jitter)}
        if fail is not None and stage == at:
            row.update(status=fail, status_reason=reason or f"{fail} here",
                       wall_s=wall, peak_rss_bytes=peak)
            rows.append(row)
            return rows
        rows.append(row)
    if fail == "error" and at == "after-verify":
        rows[-1].update(status="error", status_reason=reason)
    return rows


def frame(rows):
    return validate(pd.DataFrame(rows))


MM_SIZES = {"n=256": 65536, "n=512": 262144, "n=1024": 1048576, "n=2048": 4194304}


@pytest.fixture(scope="module")
def matmul_df():
    """Like a `--workloads matmul --repeat 3` sweep of plain and gkr over four sizes."""
    rows = []
    for size, n in MM_SIZES.items():
        for prover in ("plain", "gkr"):
            for r in range(3):
                rows += cell_rows(prover, "matmul", size, n, r)
    return frame(rows)


@pytest.fixture(scope="module")
def mixed_df():
    """Several workloads, one size each, plus null, like the big and quick example sweeps."""
    rows = []
    for workload, size, n in [("chess", "leela", 4_543_026), ("mlp", "FC_18252933", 18_272_221),
                              ("cnn", "vgg16", 15_245_130), ("matmul", "n=16", 256)]:
        for prover in ("null", "plain", "gkr"):
            rows += cell_rows(prover, workload, size, n)
    return frame(rows)


@pytest.fixture(scope="module")
def failed_df():
    """A sweep with a timeout, an oom (in witness), an error, a skip and a soundness failure."""
    rows = []
    for size, n in [("n=4", 16), ("n=8", 64)]:
        rows += cell_rows("plain", "tiny", size, n)
        rows += cell_rows("gkr", "tiny", size, n)
    rows += cell_rows("gkr", "tiny", "n=16", 256, fail="timeout", at="prove", wall=58.5,
                      peak=90 * 2**20, reason="still running after the 60 s timeout")
    rows += cell_rows("gkr", "tiny", "n=32", 1024, fail="oom", at="witness", wall=2.0,
                      peak=int(1.3 * 2**30), reason="RSS 1.30 GiB passed the memory limit of "
                                                    "1.00 GiB")
    rows += cell_rows("gkr", "tiny", "n=64", 4096, fail="error", at="prove", wall=0.25,
                      peak=None, reason="cell process exited with code 3: boom | bang")
    rows += cell_rows("gkr", "tiny", "n=128", 16384, fail="skip",
                      reason="gkr has no backend 'cuda' (it has cpu)")
    rows += cell_rows("plain", "tiny", "n=16", 256)
    rows += cell_rows("plain", "tiny", "n=32", 1024)
    rows += cell_rows("plain", "tiny", "n=64", 4096)
    rows += cell_rows("forgiving", "tiny", "n=4", 16, fail="error", at="after-verify",
                      tamper_rejected=False, reason="SOUNDNESS: tampered proof accepted")
    return frame(rows)


def offsets(fig, gid):
    """Data-space points of every scatter tagged ``gid`` in the figure."""
    pts = [c.get_offsets() for ax in fig.axes for c in ax.collections if c.get_gid() == gid]
    return np.concatenate(pts) if pts else np.empty((0, 2))


def has_point(pts, x, y):
    return any(np.isclose(px, x, rtol=1e-6) and np.isclose(py, y, rtol=1e-6) for px, py in pts)


def caption(fig):
    """The caption's words, unwrapped."""
    return " ".join(next(t.get_text() for t in fig.texts if t.get_gid() == "caption").split())


def legend_labels(fig):
    return [t.get_text() for ax in fig.axes if ax.get_legend()
            for t in ax.get_legend().get_texts()]


# ----------------------------------------------------------------------------- rendering


@pytest.mark.parametrize("which", ["matmul_df", "mixed_df"])
def test_every_figure_builds_from_the_example_frames(request, which):
    df = request.getfixturevalue(which)
    for name in FIGURE_NAMES:
        fig = plots.build(name, df)
        text = caption(fig)
        assert CPU in text and "64 cores" in text and "256 GiB RAM" in text, name
        assert "no GPU" in text and "Statement: public" in text, name
        assert fig.axes[0].get_xscale() == "log" and fig.axes[0].get_yscale() == "log"
        unit = re.search(r"\((s|MiB|bytes|parameters|\u00d7|multiply-accumulates[^)]*)\)",
                         fig.axes[0].get_ylabel() + fig.axes[0].get_xlabel())
        assert unit, (name, fig.axes[0].get_ylabel())


@pytest.fixture(scope="module")
def written(failed_df, tmp_path_factory):
    """`zkbench report` run once on the frame with failures: (output folder, its stdout)."""
    tmp = tmp_path_factory.mktemp("report")
    results = tmp / "results.jsonl"
    append_rows(results, failed_df.to_dict("records"))
    assert len(load(results)) == len(failed_df)
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert cli.main(["report", str(results), "--out", str(tmp / "rep")]) == 0
    return tmp / "rep", stdout.getvalue()


def test_report_command_writes_every_figure_as_png_and_svg(written):
    out, stdout = written
    assert "figures: " + ", ".join(f"{n}.png" for n in FIGURE_NAMES) in stdout
    for png in (out / f"{name}.png" for name in FIGURE_NAMES):
        image = matplotlib.image.imread(png)
        assert image.shape[0] > 400 and image.shape[1] > 600
        svg = png.with_suffix(".svg").read_text()
        assert svg.startswith("<?xml") and "<svg" in svg


def test_prove_time_lines_are_medians_over_repeats(matmul_df):
    fig = plots.build("prove_time", matmul_df)
    (line,) = [ln for ln in fig.axes[0].lines if ln.get_gid() == "series:gkr:matmul"]
    x, y = line.get_data()
    assert list(x) == sorted(MM_SIZES.values())
    assert np.allclose(y, [2e-6 * n * 1.1 for n in sorted(MM_SIZES.values())])  # repeat 1
    assert "gkr" in legend_labels(fig) and "plain inference (no proof)" in legend_labels(fig)


# ----------------------------------------------------------------------------- failed cells


def test_failed_cells_are_markers_at_their_limits(failed_df):
    fig = plots.build("prove_time", failed_df)
    assert has_point(offsets(fig, "failed:timeout"), 256, 58.5)  # at its wall time
    assert has_point(offsets(fig, "failed:error"), 4096, 0.25)
    assert has_point(offsets(fig, "failed:error"), 16, 1e-6 * 16)  # soundness failure
    # the oom stopped in witness: no prove time, so it sits on the 'no value' line
    (edge,) = [ln for ln in fig.axes[0].lines if ln.get_gid() == "no-value:y"]
    oom = offsets(fig, "failed:oom")
    assert len(oom) == 1 and oom[0][0] == 1024 and np.isclose(oom[0][1], edge.get_ydata()[0])
    assert oom[0][1] > 58.5
    labels = legend_labels(fig)
    for needle in ("timeout (1)", "out of memory (1)", "error (2)", "time limit (60 s)",
                   "failed before a value"):
        assert needle in labels, labels
    text = caption(fig)
    assert "Skipped, not drawn: gkr tiny n=128" in text and "no backend 'cuda'" in text


def test_oom_is_drawn_at_its_peak_memory_with_the_limit(failed_df):
    fig = plots.build("peak_memory", failed_df)
    assert has_point(offsets(fig, "failed:oom"), 1024, 1.3 * 1024)
    assert has_point(offsets(fig, "failed:timeout"), 256, 90)
    assert "memory limit (1 GiB)" in legend_labels(fig)
    assert fig.axes[0].get_ylabel() == "peak resident memory (MiB)"


@pytest.mark.parametrize("name", FIGURE_NAMES)
def test_every_figure_keeps_every_failed_cell(failed_df, name):
    fig = plots.build(name, failed_df)
    drawn = sum(len(offsets(fig, f"failed:{s}")) for s in FAILED)
    # proof size, overhead and Pareto leave out the baselines; none of those failed here
    assert drawn == 4, name
    for x, y in np.concatenate([offsets(fig, f"failed:{s}") for s in FAILED]):
        ax = fig.axes[0]
        assert ax.get_xlim()[0] <= x <= ax.get_xlim()[1] * 1.0001, (name, x)
        assert ax.get_ylim()[0] <= y <= ax.get_ylim()[1] * 1.0001, (name, y)


def test_a_frame_of_failures_only_still_draws():
    rows = cell_rows("gkr", "tiny", "n=16", 256, fail="timeout", wall=9.0,
                     reason="still running after the 10 s timeout")
    fig = plots.build("prove_time", frame(rows))
    assert has_point(offsets(fig, "failed:timeout"), 256, 9.0)
    assert "gkr (every cell failed)" in legend_labels(fig)


# ----------------------------------------------------------------------------- statements


def test_unlike_statements_get_their_own_panels(matmul_df):
    zk = [r for size, n in MM_SIZES.items() for r in cell_rows("zkp", "matmul", size, n)]
    df = frame(pd.concat([matmul_df, pd.DataFrame(zk)], ignore_index=True))
    fig = plots.build("prove_time", df)
    assert [ax.get_title() for ax in fig.axes] == ["statement: public", "statement: zk"]
    gids = [{ln.get_gid() for ln in ax.lines} for ax in fig.axes]
    assert "series:gkr:matmul" in gids[0] and "series:gkr:matmul" not in gids[1]
    assert "series:zkp:matmul" in gids[1] and "series:zkp:matmul" not in gids[0]
    assert all("series:plain:matmul" in g for g in gids)  # the reference in both
    assert "Statement: public, zk" in caption(fig)


def test_mixed_statements_share_one_panel_when_asked(matmul_df, tmp_path):
    zk = [r for size, n in MM_SIZES.items() for r in cell_rows("zkp", "matmul", size, n)]
    df = frame(pd.concat([matmul_df, pd.DataFrame(zk)], ignore_index=True))
    fig = plots.build("prove_time", plots.mixed_statements(df))
    assert len(fig.axes) == 1
    gids = {ln.get_gid() for ln in fig.axes[0].lines}
    assert {"series:gkr:matmul", "series:zkp:matmul", "series:plain:matmul"} <= gids
    assert "Statement: mixed (public, zk)." in caption(fig)
    assert set(df["statement"]) >= {"public", "zk"}  # the caller's frame is left alone
    text = report.write_markdown(df, tmp_path, [], mix_statements=True).read_text()
    assert "### Statement:" not in text and "| zkp " in text and "| gkr " in text


def test_one_statement_kind_is_one_panel(mixed_df):
    fig = plots.build("peak_memory", mixed_df)
    assert len(fig.axes) == 1
    assert "null = the harness alone" in caption(fig)


def test_figures_without_data_are_left_out(tmp_path):
    only_null = frame(cell_rows("null", "matmul", "n=16", 256))
    assert [p.stem for p in plots.all_figures(only_null, tmp_path)] == ["peak_memory"]
    skipped = frame(cell_rows("gkr", "matmul", "n=16", 256, fail="skip", reason="no"))
    assert plots.all_figures(skipped, tmp_path / "s") == []
    with pytest.raises(plots.NoData):
        plots.build("overhead", only_null)


# ----------------------------------------------------------------------------- values


def test_overhead_is_prove_over_plain_inference(mixed_df):
    fig = plots.build("overhead", mixed_df)
    (line,) = [ln for ln in fig.axes[0].lines if ln.get_gid() == "series:gkr:chess"]
    assert np.allclose(line.get_ydata(), [2e-6 / 1e-8])


def test_pareto_rings_the_front_of_each_model(matmul_df):
    zk = [r for size, n in MM_SIZES.items() for r in cell_rows("zkp", "matmul", size, n)]
    df = frame(pd.concat([matmul_df, pd.DataFrame(zk)], ignore_index=True))
    df.loc[df["prover"] == "zkp", "statement"] = "public"
    df.loc[df["prover"] == "zkp", "proof_bytes"] = 50  # slower but smaller: both on the front
    fig = plots.build("pareto", df)
    rings = [ln for ln in fig.axes[0].lines if ln.get_gid() == "pareto-front"]
    assert len(rings) == len(MM_SIZES) and all(len(r.get_xdata()) == 2 for r in rings)
    pts = pd.DataFrame({"x": [1, 2, 3, 2], "y": [3, 2, 1, 3]})
    assert sorted(pareto_front(pts).index) == [0, 1, 2]


def test_tick_labels_read_as_numbers():
    assert [count_label(v) for v in (1, 1e3, 2.5e6, 1e9)] == ["1", "1k", "2.5M", "1G"]
    assert [plain_label(v) for v in (0.001, 1, 600, 10000)] == ["0.001", "1", "600", "10000"]
    assert "10^{-5}" in plain_label(1e-5)


def test_caption_names_a_gpu_and_every_machine(matmul_df):
    df = matmul_df.copy()
    df.loc[df["prover"] == "gkr", ["machine_id", "gpu_model"]] = ["m2", "NVIDIA H100 80GB HBM3"]
    text = caption(plots.build("prove_time", df))
    assert "2 machines" in text and "NVIDIA H100 80GB HBM3" in text and "no GPU" in text


# ----------------------------------------------------------------------------- report


def test_report_has_failures_alarms_and_figure_links(written):
    out, _ = written
    text = (out / "report.md").read_text()
    assert "## Failed and skipped cells" in text
    failures = text.split("## Failed and skipped cells")[1].split("## Figures")[0]
    for needle in ("| gkr ", "timeout", "still running after the 60 s timeout", "oom",
                   "witness", "passed the memory limit", "skip", "no backend 'cuda'",
                   "boom \\| bang"):  # a '|' in a reason must not split the table cell
        assert needle in failures, needle
    assert "TAMPERED PROOF NOT REJECTED: forgiving on tiny n=4" in text
    for name in FIGURE_NAMES:
        assert f"]({name}.png)" in text and f"({name}.svg)" in text
    assert "### Prove time vs parameters" in text and "### Prove time vs proof size" in text
    header = text.split("## Summary")[1].splitlines()[4]
    assert "statement" in header and "prove_spread_s" in header


def test_report_links_figures_relative_to_itself(failed_df, tmp_path):
    figures = [tmp_path / "figures" / "prove_time.png", tmp_path / "figures" / "pareto.png"]
    text = report.write_markdown(failed_df, tmp_path, figures).read_text()
    assert "![Prove time vs parameters](figures/prove_time.png)" in text
    assert "[SVG](figures/pareto.svg)" in text
    assert "Not drawn, for lack of data: Prove time vs multiply-accumulates" in text


def test_report_splits_the_summary_by_statement(matmul_df, tmp_path):
    zk = cell_rows("zkp", "matmul", "n=256", 65536)
    df = frame(pd.concat([matmul_df, pd.DataFrame(zk)], ignore_index=True))
    text = report.write_markdown(df, tmp_path, []).read_text()
    assert "### Statement: public" in text and "### Statement: zk" in text
    assert "None: every cell finished." in text and "No figures." in text


# ----------------------------------------------------------------------------- progress


class _Terminal(io.StringIO):
    def isatty(self):
        return True

    def fileno(self):
        return 2


def test_run_shows_a_bar_on_a_terminal_lines_elsewhere_and_nothing_when_quiet(
        tmp_path, monkeypatch, capsys):
    args = ["run", "--provers", "null", "--workloads", "matmul", "--sizes", "n=16,n=64"]
    assert cli.main([*args, "--out", str(tmp_path / "lines")]) == 0
    err = capsys.readouterr().err
    assert "[1/2] null matmul n=16" in err and "[2/2]" in err and "eta" in err
    assert (tmp_path / "lines" / "peak_memory.png").exists()
    assert "## Figures" in (tmp_path / "lines" / "report.md").read_text()

    assert cli.main([*args, "--quiet", "--out", str(tmp_path / "quiet")]) == 0
    assert capsys.readouterr().err == ""

    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    monkeypatch.setattr(os, "get_terminal_size", lambda fd=None: os.terminal_size((100, 30)))
    assert cli.main([*args, "--out", str(tmp_path / "bar")]) == 0
    bar = term.getvalue()
    assert "2/2 cells" in bar and "100%" in bar and "[1/2]" not in bar

"""Time against model size, log-log, one line per prover and workload (Cost of Intelligence
style): prove time against parameters and against multiply-accumulates, verify time against
parameters. ``plain`` is drawn as a grey reference: its inference (witness stage) in the prove
figures, its re-execution in the verify figure.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from zkbench.plots._common import (
    LIMIT_STYLE,
    Spec,
    cells,
    points,
    render,
    save,
    skipped_cells,
    stage_time,
    time_limits,
)

X_LABELS = {"n_params": "model size (parameters)",
            "n_macs": "model size (multiply-accumulates per inference)"}


def time_figure(df: pd.DataFrame, *, stage: str, x: str, name: str, title: str,
                plain_stage: str, plain_label: str) -> Figure:
    c = cells(df)
    plain = c["prover"] == "plain"
    c = c[(c["role"] == "main") | plain]
    y = stage_time(c, stage)
    plain = c["prover"] == "plain"
    y[plain] = stage_time(c[plain], plain_stage)
    spec = Spec(name=name, title=title, xlabel=X_LABELS[x], ylabel=f"{stage} time (s)",
                note=f"Points: median {stage} wall time over repeats; bars: min to max.",
                baseline_labels={"plain": plain_label},
                hlines=[(v, f"time limit ({v:g} s)", LIMIT_STYLE) for v in time_limits(c)])
    return render(df, points(c, c[x], y), spec, skipped_cells(c))


def build_prove_time(df: pd.DataFrame) -> Figure:
    return time_figure(df, stage="prove", x="n_params", name="prove_time",
                       title="Prove time vs parameters", plain_stage="witness",
                       plain_label="plain inference (no proof)")


def build_prove_time_macs(df: pd.DataFrame) -> Figure:
    return time_figure(df, stage="prove", x="n_macs", name="prove_time_macs",
                       title="Prove time vs multiply-accumulates", plain_stage="witness",
                       plain_label="plain inference (no proof)")


def build_verify_time(df: pd.DataFrame) -> Figure:
    return time_figure(df, stage="verify", x="n_params", name="verify_time",
                       title="Verify time vs parameters", plain_stage="verify",
                       plain_label="plain re-execution")


def prove_time(df: pd.DataFrame, out_dir: Path | str) -> Path:
    """Prove time against parameters; writes prove_time.png and .svg, returns the PNG."""
    return save(build_prove_time(df), out_dir, "prove_time")


def prove_time_macs(df: pd.DataFrame, out_dir: Path | str) -> Path:
    """Prove time against multiply-accumulates per inference."""
    return save(build_prove_time_macs(df), out_dir, "prove_time_macs")


def verify_time(df: pd.DataFrame, out_dir: Path | str) -> Path:
    """Verify time against parameters."""
    return save(build_verify_time(df), out_dir, "verify_time")

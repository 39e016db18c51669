"""Overhead of proving over plain inference: a prover's prove time divided by ``plain``'s
inference time (its witness stage, median over repeats) on the same workload and size, against
parameters. The same ratio as ``prove_over_plain`` in the report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from zkbench.plots._common import (
    NoData,
    Spec,
    _cell_names,
    cells,
    points,
    render,
    save,
    skipped_cells,
    stage_time,
)


def build_overhead(df: pd.DataFrame) -> Figure:
    c = cells(df)
    plain = c[(c["prover"] == "plain") & (c["status"] == "ok")]
    if plain.empty:
        raise NoData("overhead needs plain's inference time, and no plain cell succeeded")
    base = plain.groupby(["workload", "size"])["witness_s"].median()
    c = c[c["role"] == "main"]
    if c.empty:
        raise NoData("no prover besides the baselines")
    keys = pd.MultiIndex.from_frame(c[["workload", "size"]])
    denominator = base.reindex(keys).to_numpy()
    y = stage_time(c, "prove") / denominator
    orphans = c[(c["status"] == "ok") & ~np.isfinite(denominator)]
    note = ("Points: median over repeats of prove time / plain's inference time (its witness "
            "stage, median) on the same workload and size; bars: min to max.")
    if len(orphans):
        note += f" No plain baseline, not drawn: {_cell_names(orphans)}."
    spec = Spec(name="overhead", title="Proving overhead vs plain inference",
                xlabel="model size (parameters)",
                ylabel="prove time / plain inference time (\u00d7)", note=note,
                hlines=[(1.0, "plain inference (1\u00d7)",
                         {"color": "0.35", "linestyle": "--", "linewidth": 1.0})])
    return render(df, points(c, c["n_params"], y), spec, skipped_cells(c, ("main",)))


def overhead(df: pd.DataFrame, out_dir: Path | str) -> Path:
    """Prove time over plain inference against parameters; writes overhead.png and .svg."""
    return save(build_overhead(df), out_dir, "overhead")

"""Prove time against proof size, one point per prover x model (median over repeats).

Both are costs, so better is down and to the left. Points of the same model (workload and size)
proven by different provers are joined by a thin grey line, and those on that model's Pareto
front (no other prover is both faster and smaller) are ringed. Failed cells have no proof; they
sit on the right-hand 'no value' edge at the prove time they reached.
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

RING = {"marker": "o", "markersize": 10, "markerfacecolor": "none", "markeredgecolor": "black",
        "markeredgewidth": 0.8, "linestyle": "none"}


def pareto_front(group: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``group`` (columns x, y) that no other row beats on both."""
    keep = []
    for i, r in group.iterrows():
        dominated = ((group["x"] <= r["x"]) & (group["y"] <= r["y"])
                     & ((group["x"] < r["x"]) | (group["y"] < r["y"]))).any()
        if not dominated:
            keep.append(i)
    return group.loc[keep]


def _fronts(ax, ok: pd.DataFrame, color: dict, marker: dict) -> None:
    med = ok.groupby(["series", "workload", "size"], sort=False)[["x", "y"]].median().reset_index()
    for _, g in med.groupby(["workload", "size"], sort=False):
        if g["series"].nunique() < 2:
            continue
        g = g.sort_values("x")
        ax.plot(g["x"], g["y"], color="0.7", linewidth=0.7, zorder=1, gid="same-model")
        front = pareto_front(g)
        ax.plot(front["x"], front["y"], zorder=4, gid="pareto-front", **RING)


def build_pareto(df: pd.DataFrame) -> Figure:
    c = cells(df)
    c = c[c["role"] == "main"]
    pts = points(c, c["proof_bytes"], stage_time(c, "prove"))
    models = pts.loc[pts["status"] == "ok", ["workload", "size"]].drop_duplicates()
    multi = pts[pts["status"] == "ok"].groupby(["workload", "size"])["series"].nunique()
    spec = Spec(name="pareto", title="Prove time vs proof size", xlabel="proof size (bytes)",
                xfmt="count",
                ylabel="prove time (s)", connect=False, annotate_sizes=len(models) <= 10,
                note="Points: one per prover and model (median over repeats)"
                     + (", labelled with the model size" if len(models) <= 10 else "")
                     + "; lower left is better.",
                hlines=[(v, f"time limit ({v:g} s)", LIMIT_STYLE) for v in time_limits(c)])
    if (multi > 1).any():
        spec.extra_legend = [("Pareto-optimal for its model", RING),
                             ("same model", {"color": "0.7", "linewidth": 0.7})]
    return render(df, pts, spec, skipped_cells(c, ("main",)), draw_extra=_fronts)


def pareto(df: pd.DataFrame, out_dir: Path | str) -> Path:
    """Prove time against proof size; writes pareto.png and .svg, returns the PNG."""
    return save(build_pareto(df), out_dir, "pareto")

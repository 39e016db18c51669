"""What every figure shares: one row per cell, failure placement, faceting, style, captions.

A figure is built in three steps. ``cells`` folds the long results frame into one row per cell
(prover x workload x size x backend x repeat) with each stage's wall time, the cell's peak
memory, proof size and, for a failed cell, its status, stage and reason. A figure module turns
that into *points*: one row per cell with ``x``, ``y``, ``status`` and a ``role`` (``main`` for
provers that make proofs, ``baseline`` for ``plain`` and ``null``). ``render`` draws them.

Failed cells are never dropped. They are drawn with a marker per status (legend entry
included) at the value they reached: a timeout at the wall time it had used (or at the time
limit), an oom at its peak memory (or the memory limit), an error at its last measured value.
A failed cell without any value for the figure's quantity sits on a dotted red line just past
the top (or right) edge of the data. Skipped cells are listed in the caption. Only like
statements share an axes: the figure gets one panel per statement kind of its provers;
baselines (which prove nothing) are drawn in every panel as grey references.

Figures are ``matplotlib.figure.Figure`` objects made without pyplot, so building them touches
no global backend state (a notebook's inline backend keeps working) and saving renders with
Agg (PNG) and the SVG backend.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import LogFormatterSciNotation
from matplotlib.transforms import ScaledTranslation

from zkbench.results.schema import STAGE_NAMES

FAILED = ("timeout", "oom", "error")
BASELINES = ("plain", "null")
MIB = 2**20

# Okabe-Ito: distinguishable with the common colour-vision deficiencies and in greyscale print.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
           "#882255", "#44AA99", "#999933"]
WORKLOAD_MARKERS = ["o", "s", "D", "v", "P", "h", "p", "<", ">", "d", "H", "8"]
BASELINE_ABOUT = {"plain": "plain = quantized integer inference, no proof",
                  "null": "null = the harness alone, no work"}
BASELINE_STYLE = {"plain": {"color": "0.35", "linestyle": "--"},
                  "null": {"color": "0.6", "linestyle": ":"}}
FAIL_COLOR = "#C00000"
LIMIT_STYLE = {"color": FAIL_COLOR, "linestyle": (0, (5, 3)), "linewidth": 0.8}
"""How a timeout or memory limit is drawn."""
FAIL_STYLE = {
    "timeout": {"marker": "^", "label": "timeout"},
    "oom": {"marker": "*", "label": "out of memory"},
    "error": {"marker": "X", "label": "error"},
}

STYLE = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.which": "major",
    "grid.alpha": 0.35,
    "grid.linewidth": 0.6,
    "lines.linewidth": 1.6,
    "lines.markersize": 5,
    "savefig.dpi": 200,
    "svg.hashsalt": "zkbench",  # stable ids, so committed SVGs diff cleanly
    "svg.fonttype": "path",
}

_TIMEOUT_RE = re.compile(r"after the ([0-9.eE+-]+) s timeout")
_MEMORY_RE = re.compile(r"memory limit of ([0-9.eE+-]+) GiB")


class NoData(ValueError):
    """The frame holds nothing this figure can draw."""


# ----------------------------------------------------------------------------- cells


def series_label(prover: str, backend: object) -> str:
    if isinstance(backend, str) and backend and backend != "cpu":
        return f"{prover} ({backend})"
    return prover


def cells(df: pd.DataFrame) -> pd.DataFrame:
    """One row per cell: identity, statement, model size, per-stage wall time, peak memory,
    proof size, and for a failed cell its status, stage and reason."""
    if df.empty:
        raise NoData("the results frame is empty")
    df = df.copy()
    for col in ("n_params", "n_macs"):  # a cell that failed early borrows its model's size
        df[col] = df[col].fillna(df.groupby(["workload", "size"])[col].transform("max"))
    g = df.groupby("cell_id", sort=False)
    first = g[["prover", "workload", "size", "repeat", "statement", "backend_used",
               "backend_requested", "machine_id"]].first()
    bad = df[df["status"] != "ok"].groupby("cell_id", sort=False)[
        ["status", "stage", "status_reason"]].first().reindex(first.index)
    wall = df.pivot_table(index="cell_id", columns="stage", values="wall_s",
                          aggfunc="first").reindex(first.index)
    backend = first["backend_used"].fillna(first["backend_requested"]).fillna("cpu").astype(str)
    prover = first["prover"].astype(str)
    out = pd.DataFrame({
        "cell_id": first.index,
        "prover": prover,
        "series": [series_label(p, b) for p, b in zip(prover, backend, strict=True)],
        "role": np.where(prover.isin(BASELINES), "baseline", "main"),
        "workload": first["workload"].astype(str),
        "size": first["size"].astype(str),
        "backend": backend,
        "repeat": first["repeat"],
        "statement": first["statement"].fillna("unknown").astype(str),
        "n_params": _floats(g["n_params"].max()),
        "n_macs": _floats(g["n_macs"].max()),
        "status": bad["status"].fillna("ok").astype(str),
        "fail_stage": bad["stage"].astype(object).where(bad["stage"].notna(), None),
        "reason": bad["status_reason"].fillna("").astype(str),
        "peak_rss_bytes": _floats(g["peak_rss_bytes"].max()),
        "proof_bytes": _floats(g["proof_bytes"].max()),
        "total_s": _floats(g["wall_s"].sum(min_count=1)),
        "machine_id": first["machine_id"],
    }, index=first.index)
    for stage in STAGE_NAMES:
        out[f"{stage}_s"] = _floats(wall[stage]) if stage in wall.columns else np.nan
    return out.reset_index(drop=True)


def _floats(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s, errors="coerce").astype("float64").to_numpy()


def time_limit_s(reason: str) -> float:
    m = _TIMEOUT_RE.search(reason or "")
    return float(m.group(1)) if m else np.nan


def memory_limit_bytes(reason: str) -> float:
    m = _MEMORY_RE.search(reason or "")
    return float(m.group(1)) * 2**30 if m else np.nan


def stage_time(c: pd.DataFrame, stage: str) -> pd.Series:
    """A stage's wall time per cell; a timeout that never reached the stage sits at its limit."""
    y = c[f"{stage}_s"].astype(float).copy()
    timeout = (c["status"] == "timeout") & y.isna()
    limit = c.loc[timeout, "reason"].map(time_limit_s)
    y[timeout] = limit.fillna(c.loc[timeout, "total_s"])
    return y


def peak_memory_mib(c: pd.DataFrame) -> pd.Series:
    """Peak RSS per cell; an oom without a sampled peak sits at the memory limit."""
    y = c["peak_rss_bytes"].astype(float).copy()
    oom = (c["status"] == "oom") & y.isna()
    y[oom] = c.loc[oom, "reason"].map(memory_limit_bytes)
    return y / MIB


def time_limits(c: pd.DataFrame) -> list[float]:
    return sorted({v for v in c.loc[c["status"] == "timeout", "reason"].map(time_limit_s)
                   if np.isfinite(v)})


def memory_limits_mib(c: pd.DataFrame) -> list[float]:
    return sorted({v / MIB for v in c.loc[c["status"] == "oom", "reason"].map(memory_limit_bytes)
                   if np.isfinite(v)})


def points(c: pd.DataFrame, x: pd.Series, y: pd.Series) -> pd.DataFrame:
    """Drawable rows (skips removed) with ``x`` and ``y``; non-positive values read as missing
    on log axes."""
    out = c.assign(x=x.astype(float), y=y.astype(float))
    out = out[out["status"] != "skip"].copy()
    for col in ("x", "y"):
        out.loc[~(out[col] > 0), col] = np.nan
    return out


# ----------------------------------------------------------------------------- captions


def _gib(value: object) -> str:
    return "? GiB" if value is None or pd.isna(value) else f"{float(value) / 2**30:.0f} GiB"


def machine_text(df: pd.DataFrame) -> str:
    parts = []
    known = df[df["machine_id"].notna()]  # a cell whose worker died has no machine
    for m in (known if len(known) else df).drop_duplicates("machine_id").itertuples(index=False):
        cpu = m.cpu_model if isinstance(m.cpu_model, str) and m.cpu_model else "unknown CPU"
        cores = "?" if pd.isna(m.cores) else int(m.cores)
        gpu = m.gpu_model if isinstance(m.gpu_model, str) and m.gpu_model else "no GPU"
        parts.append(f"{cpu}, {cores} cores, {_gib(m.ram_bytes)} RAM, {gpu}")
    label = "Machine" if len(parts) == 1 else f"{len(parts)} machines"
    return f"{label}: " + "; ".join(parts) + "."


def _cell_names(rows: pd.DataFrame, limit: int = 4) -> str:
    seen: dict[str, str] = {}
    for r in rows.itertuples(index=False):
        seen.setdefault(f"{r.series} {r.workload} {r.size}", _short(r.reason))
    items = [f"{k} ({v})" if v else k for k, v in seen.items()]
    if len(items) > limit:
        items = items[:limit] + [f"{len(items) - limit} more, see report.md"]
    return "; ".join(items)


def _short(text: str, n: int = 70) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= n else text[: n - 1] + "\u2026"


@dataclass
class Spec:
    """What ``render`` needs to know about one figure."""

    name: str
    title: str
    xlabel: str
    ylabel: str
    note: str = ""  # what a point is, in a sentence for the caption
    baseline_labels: dict[str, str] = field(default_factory=dict)
    hlines: list[tuple[float, str, dict]] = field(default_factory=list)
    extra_legend: list[tuple[str, dict]] = field(default_factory=list)  # (label, Line2D kw)
    connect: bool = True
    annotate_sizes: bool = False
    xfmt: str = "count"  # tick labels: "count" (1k, 1M), "plain" (0.01, 600)
    yfmt: str = "plain"


# ----------------------------------------------------------------------------- ticks


def _power(x: float) -> str:
    exp = int(np.floor(np.log10(x)))
    mant = x / 10**exp
    return f"$10^{{{exp}}}$" if np.isclose(mant, 1) else f"${mant:.3g}\\times10^{{{exp}}}$"


def count_label(x: float) -> str:
    """1, 10, 100, 1k, 10k, 1M, 1G, 1T: readable model sizes and byte counts."""
    if x <= 0:
        return ""
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if x >= scale * 0.9999:
            return f"{x / scale:.3g}{suffix}"
    return f"{x:.3g}" if x >= 1e-3 else _power(x)


def plain_label(x: float) -> str:
    """0.001 ... 10000 as decimals, powers of ten beyond."""
    if x <= 0:
        return ""
    if 1 <= x < 1e5:
        return f"{x:.6g}"
    return f"{x:.3g}" if 1e-3 <= x < 1 else _power(x)


class _LogLabels(LogFormatterSciNotation):
    """Matplotlib's choice of which log ticks to label, in readable words."""

    def __init__(self, style: str) -> None:
        super().__init__(labelOnlyBase=False)
        self.style = style

    def __call__(self, x: float, pos: int | None = None) -> str:
        if not super().__call__(x, pos):
            return ""
        return count_label(x) if self.style == "count" else plain_label(x)


def label_log_axis(axis, style: str) -> None:
    axis.set_major_formatter(_LogLabels(style))
    axis.set_minor_formatter(_LogLabels(style))
    # Minor ticks are shorter: pad their labels so they sit on the major labels' baseline.
    major, minor = axis.get_major_ticks(), axis.get_minor_ticks()
    if major and minor:
        extra = major[0].tick1line.get_markersize() - minor[0].tick1line.get_markersize()
        axis.set_tick_params(which="minor", pad=major[0].get_pad() + extra)


# ----------------------------------------------------------------------------- drawing


def colors(series: Iterable[str]) -> dict[str, str]:
    names = sorted(set(series))
    return {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(names)}


def workload_markers(workloads: Iterable[str]) -> dict[str, str]:
    names = sorted(set(workloads))
    return {w: WORKLOAD_MARKERS[i % len(WORKLOAD_MARKERS)] for i, w in enumerate(names)}


def statements_of(pts: pd.DataFrame) -> list[str]:
    main = pts[pts["role"] == "main"]
    if len(main):
        return sorted(set(main["statement"]))
    return [", ".join(sorted(set(pts["statement"]))) or "unknown"]  # baselines only: one panel


def _line_style(row_series: str, prover: str, color: dict[str, str]) -> dict:
    if prover in BASELINE_STYLE:
        return dict(BASELINE_STYLE[prover])
    return {"color": color[row_series], "linestyle": "-"}


def draw_ok(ax, ok: pd.DataFrame, color: dict[str, str], marker: dict[str, str],
            connect: bool, annotate: bool) -> None:
    """Medians over repeats, joined in size order, with min-max bars where repeats differ."""
    if ok.empty:
        return
    agg = (ok.groupby(["series", "prover", "role", "workload", "size"], sort=False)
           .agg(x=("x", "median"), y=("y", "median"), lo=("y", "min"), hi=("y", "max"))
           .reset_index())
    for (series, prover, workload), g in agg.groupby(["series", "prover", "workload"], sort=True):
        g = g.sort_values("x")
        style = _line_style(series, prover, color)
        zorder = 2 if prover in BASELINES else 3
        ax.plot(g["x"], g["y"], marker=marker[workload], markersize=5.5,
                linestyle=style["linestyle"] if connect else "none", color=style["color"],
                markeredgecolor="white", markeredgewidth=0.5, zorder=zorder,
                gid=f"series:{series}:{workload}")
        spread = g[g["hi"] > g["lo"]]
        if len(spread):
            ax.errorbar(spread["x"], spread["y"],
                        yerr=[spread["y"] - spread["lo"], spread["hi"] - spread["y"]],
                        fmt="none", ecolor=style["color"], elinewidth=0.8, capsize=2,
                        zorder=zorder)
    if annotate:  # each model's size once, beside its rightmost point
        for _, g in agg.groupby(["workload", "size"], sort=False):
            r = g.loc[g["x"].idxmax()]
            ax.annotate(r["size"], (r["x"], r["y"]), textcoords="offset points",
                        xytext=(5, 2), fontsize=6.5, color="0.3")


def _edge(ax, axis: str) -> float:
    lo, hi = ax.get_ylim() if axis == "y" else ax.get_xlim()
    log = (ax.get_yscale() if axis == "y" else ax.get_xscale()) == "log"
    if log:
        lo, hi = max(lo, 1e-300), max(hi, 1e-300)
        edge = hi * (hi / lo) ** 0.08
        new = (lo, edge * (hi / lo) ** 0.05)
    else:
        edge = hi + (hi - lo) * 0.08
        new = (lo, edge + (hi - lo) * 0.05)
    (ax.set_ylim if axis == "y" else ax.set_xlim)(*new)
    return edge


EDGE_STYLE = {"color": FAIL_COLOR, "linewidth": 0.7, "linestyle": (0, (1, 2.5))}


def draw_failed(ax, bad: pd.DataFrame, color: dict[str, str]) -> bool:
    """One scatter per failure status (gid ``failed:STATUS``). Cells without a value for an
    axis go on a dotted 'no value' line past the top (or right) edge of the data. Returns
    whether any did."""
    if bad.empty:
        return False
    bad = bad.copy()
    # Known values widen the view first, so nothing lands outside it.
    xs, ys = bad["x"].dropna().to_numpy(), bad["y"].dropna().to_numpy()
    if len(xs):
        ax.dataLim.update_from_data_x(xs, ignore=False)
    if len(ys):
        ax.dataLim.update_from_data_y(ys, ignore=False)
    for axis, lim in (("x", ax.dataLim.intervalx), ("y", ax.dataLim.intervaly)):
        if not np.isfinite(lim).all():  # nothing at all on this axis: a plain decade
            (ax.dataLim.update_from_data_x if axis == "x" else ax.dataLim.update_from_data_y)(
                np.array([0.1, 1.0]), ignore=False)
    ax.autoscale_view()
    edge = False
    # where a cell sits: on its value, on the 'no value' line of y, or on the one of x only
    where = np.where(bad["y"].isna(), "y", np.where(bad["x"].isna(), "x", ""))
    for axis in ("y", "x"):
        if bad[axis].isna().any():
            at = _edge(ax, axis)
            bad[axis] = bad[axis].fillna(at)
            (ax.axhline if axis == "y" else ax.axvline)(at, zorder=1, gid=f"no-value:{axis}",
                                                         **EDGE_STYLE)
            edge = True
    for i, status in enumerate(FAILED):
        style = FAIL_STYLE[status]
        for edge_axis in ("", "y", "x"):
            g = bad[(bad["status"] == status) & (where == edge_axis)]
            if g.empty:
                continue
            # Statuses side by side (a few points apart), so cells of one model that failed
            # in different ways never hide each other; the data coordinates stay exact.
            shift = (i - 1) * 9 / 72
            dx, dy = (0.0, shift) if edge_axis == "x" else (shift, 0.0)
            transform = ax.transData + ScaledTranslation(dx, dy, ax.figure.dpi_scale_trans)
            ax.scatter(g["x"], g["y"], marker=style["marker"],
                       s=110 if style["marker"] == "*" else 60,
                       c=[color.get(s, "0.4") for s in g["series"]], edgecolors=FAIL_COLOR,
                       linewidths=1.3, zorder=5, gid=f"failed:{status}", clip_on=False,
                       transform=transform)
    return edge


def render(df: pd.DataFrame, pts: pd.DataFrame, spec: Spec, skipped: pd.DataFrame,
           draw_extra=None) -> Figure:
    """Draw ``pts`` (see ``points``) as a figure with one panel per statement kind."""
    placeable = pts[pts["x"].notna() | (pts["status"] != "ok")]
    ok = placeable[(placeable["status"] == "ok") & placeable["y"].notna()
                   & placeable["x"].notna()]
    bad = placeable[placeable["status"].isin(FAILED)]
    unplaced = pts[(pts["status"] == "ok") & pts["x"].isna()]
    bad_unplaced = bad[bad["x"].isna()] if spec.name != "pareto" else bad.iloc[0:0]
    bad = bad.drop(bad_unplaced.index)
    if ok.empty and bad.empty:
        raise NoData(f"nothing to draw for {spec.name}")

    kinds = statements_of(pd.concat([ok, bad]))
    # colours from every prover in the frame, so a prover keeps its colour in every figure
    pairs = df[["prover", "backend_used", "backend_requested"]].drop_duplicates()
    color = colors(series_label(p, u if isinstance(u, str) else r)
                   for p, u, r in pairs.itertuples(index=False) if p not in BASELINES)
    marker = workload_markers(pd.concat([ok["workload"], bad["workload"]]))
    n = len(kinds)
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(5.2 * n + 0.6, 4.0))
        axes = list(fig.subplots(1, n, squeeze=False, sharey=True)[0])
        edge = False
        for ax, kind in zip(axes, kinds, strict=True):
            def panel(frame: pd.DataFrame, kind: str = kind) -> pd.DataFrame:
                return frame[(frame["statement"] == kind) | (frame["role"] == "baseline")]
            ax.set_xscale("log")
            ax.set_yscale("log")
            label_log_axis(ax.xaxis, spec.xfmt)
            label_log_axis(ax.yaxis, spec.yfmt)
            draw_ok(ax, panel(ok), color, marker, spec.connect, spec.annotate_sizes)
            if draw_extra is not None:
                draw_extra(ax, panel(ok), color, marker)
            for y, _label, style in spec.hlines:
                ax.axhline(y, zorder=1, **style)
            edge = draw_failed(ax, panel(bad), color) or edge
            ax.set_xlabel(spec.xlabel)
            if n > 1:
                ax.set_title(f"statement: {kind}", fontsize=9)
        axes[0].set_ylabel(spec.ylabel)
        title = spec.title
        workloads = sorted(set(ok["workload"]) | set(bad["workload"]))
        if len(workloads) == 1:
            title += f" \u2014 {workloads[0]}"
        if n > 1:
            fig.suptitle(title, fontsize=11)
        else:
            axes[0].set_title(title, fontsize=11)
        handles = legend_handles(ok, bad, color, marker, spec, edge)
        fig.tight_layout()
        axes[-1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                        borderaxespad=0.0, frameon=False, handlelength=2.2)
        caption = caption_text(df, pts, spec, kinds, skipped, unplaced, bad_unplaced,
                               width_in=fig.get_figwidth() + 1.8)
        fig.text(0.0, -0.01, caption, ha="left", va="top", fontsize=7, color="0.25",
                 gid="caption", linespacing=1.35)
    return fig


def legend_handles(ok: pd.DataFrame, bad: pd.DataFrame, color: dict[str, str],
                   marker: dict[str, str], spec: Spec, edge: bool = False) -> list:
    handles: list = []
    both = pd.concat([ok, bad])
    main = sorted(set(both.loc[both["role"] == "main", "series"]))
    workloads = sorted(set(both["workload"]))
    one = marker[workloads[0]] if len(workloads) == 1 else "none"
    finished = set(ok["series"])
    for s in main:
        if s in finished and spec.connect:
            handles.append(Line2D([], [], color=color[s], marker=one, label=s))
        elif s in finished:  # points only: a marker in the prover's colour
            handles.append(Line2D([], [], color=color[s], marker="o" if one == "none" else one,
                                  linestyle="none", label=s))
        else:  # only failures: its colour is on the failure markers
            handles.append(Line2D([], [], color=color[s], marker="o", linestyle="none",
                                  label=f"{s} (every cell failed)"))
    for prover in BASELINES:
        if prover in set(both["prover"]):
            st = BASELINE_STYLE[prover]
            handles.append(Line2D([], [], color=st["color"], linestyle=st["linestyle"],
                                  label=spec.baseline_labels.get(prover, prover)))
    if len(workloads) > 1:
        for w in workloads:
            handles.append(Line2D([], [], color="0.3", marker=marker[w], linestyle="none",
                                  label=w))
    for _y, label, style in spec.hlines:
        handles.append(Line2D([], [], label=label, **style))
    for label, style in spec.extra_legend:
        handles.append(Line2D([], [], label=label, **style))
    for status in FAILED:
        if status in set(bad["status"]):
            st = FAIL_STYLE[status]
            handles.append(Line2D([], [], marker=st["marker"], linestyle="none",
                                  markerfacecolor="white", markeredgecolor=FAIL_COLOR,
                                  markeredgewidth=1.3,
                                  markersize=10 if st["marker"] == "*" else 7,
                                  label=f"{st['label']} ({int((bad['status'] == status).sum())})"))
    if edge:
        handles.append(Line2D([], [], label="failed before a value", **EDGE_STYLE))
    return handles


def caption_text(df: pd.DataFrame, pts: pd.DataFrame, spec: Spec, kinds: Sequence[str],
                 skipped: pd.DataFrame, unplaced: pd.DataFrame, bad_unplaced: pd.DataFrame,
                 width_in: float) -> str:
    baselines = sorted(set(pts.loc[pts["role"] == "baseline", "prover"]))
    parts = [machine_text(df), "Statement: " + ", ".join(kinds) + "."]
    if baselines:
        parts.append("Grey references: " + "; ".join(BASELINE_ABOUT[b] for b in baselines)
                     + ".")
    parts.append(spec.note)
    if (pts["status"].isin(FAILED)).any():
        parts.append("Failed cells are red-edged markers at the value they reached (timeout: "
                     "its wall time or the time limit; oom: its peak memory or the limit); one "
                     "that stopped before it had a value sits on the dotted red line past the "
                     "edge of the data.")
    if len(skipped):
        parts.append(f"Skipped, not drawn: {_cell_names(skipped)}.")
    lost = pd.concat([unplaced, bad_unplaced])
    if len(lost):
        parts.append(f"Not placed (model size unknown): {_cell_names(lost)}.")
    chars = max(60, int(width_in * 17))
    return "\n".join(textwrap.fill(" ".join(p for p in parts if p), width=chars).splitlines())


def skipped_cells(c: pd.DataFrame, roles: Sequence[str] = ("main", "baseline")) -> pd.DataFrame:
    return c[(c["status"] == "skip") & c["role"].isin(roles)]


def save(fig: Figure, out_dir: Path | str, name: str) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    png = out_dir / f"{name}.png"
    with matplotlib.rc_context(STYLE):
        # the tight box (legend and caption outside the axes included) measured once, for both
        renderer = FigureCanvasAgg(fig).get_renderer()
        fig.draw(renderer)
        box = fig.get_tightbbox(renderer).padded(0.08)
        fig.savefig(png, bbox_inches=box, metadata={"Software": None})
        fig.savefig(out_dir / f"{name}.svg", bbox_inches=box, metadata={"Date": None})
    return png

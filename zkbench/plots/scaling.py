"""Prove time against model size (multiply-accumulates), log-log, one line per prover.

In the style of the Cost of Intelligence figures. Cells that failed (timeout, oom, error) are
drawn as an 'x' at the time they had used when they stopped, so they are never silently missing.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

FAILED = ("timeout", "oom", "error")


def _caption(df: pd.DataFrame) -> str:
    m = df.iloc[0]
    gpu = f", {m.gpu_model}" if isinstance(m.gpu_model, str) and m.gpu_model else ", no GPU"
    statements = ", ".join(sorted(set(df["statement"].dropna()) - {"none"})) or "n/a"
    return (f"{m.cpu_model}, {m.cores} cores, {m.ram_bytes / 2**30:.0f} GiB{gpu}; "
            f"statement: {statements}")


def prove_time(df: pd.DataFrame, out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    prove = df[df["stage"] == "prove"]
    for (prover, workload), group in prove.groupby(["prover", "workload"], sort=True):
        ok = group[group["status"] == "ok"].groupby("n_macs")["wall_s"].median()
        if len(ok):
            ax.plot(ok.index, ok.to_numpy(), marker="o", label=f"{prover} ({workload})")
        bad = group[group["status"].isin(FAILED)]
        if len(bad):
            ax.scatter(bad["n_macs"], bad["wall_s"].fillna(0), marker="x", color="red",
                       zorder=3, label=f"{prover} ({workload}) failed")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("model size (multiply-accumulates per inference)")
    ax.set_ylabel("prove time (s)")
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    ax.set_title("Prove time vs model size", fontsize=11)
    fig.text(0.01, 0.01, _caption(df), fontsize=7, color="0.3")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    png = out_dir / "prove_time.png"
    fig.savefig(png, dpi=120)
    fig.savefig(out_dir / "prove_time.svg")
    plt.close(fig)
    return png

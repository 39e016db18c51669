"""Figures of a results frame. Each function writes PNG and SVG and returns the PNG's path.

``all_figures(df, out_dir)`` writes every figure the frame has data for; ``build(name, df)``
returns one as a matplotlib Figure (for notebooks) without writing it. ``FIGURES`` lists them
with a title and a sentence each, in the order the report shows them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from zkbench.plots._common import NoData, save
from zkbench.plots.memory import build_peak_memory, peak_memory
from zkbench.plots.overhead import build_overhead, overhead
from zkbench.plots.pareto import build_pareto, pareto
from zkbench.plots.scaling import (
    build_prove_time,
    build_prove_time_macs,
    build_verify_time,
    prove_time,
    prove_time_macs,
    verify_time,
)
from zkbench.plots.size import build_proof_size, proof_size


@dataclass(frozen=True)
class FigureInfo:
    name: str
    title: str
    about: str
    build: Callable[[pd.DataFrame], Figure]


FIGURES: dict[str, FigureInfo] = {f.name: f for f in [
    FigureInfo("prove_time", "Prove time vs parameters",
               "Median prove time against the float model's parameter count, log-log, one line "
               "per prover and workload; plain inference is the grey reference.",
               build_prove_time),
    FigureInfo("prove_time_macs", "Prove time vs multiply-accumulates",
               "The same prove times against multiply-accumulates per inference, which tracks "
               "the work in convolutions and batched models better than parameters do.",
               build_prove_time_macs),
    FigureInfo("peak_memory", "Peak memory vs parameters",
               "The largest resident memory of any stage of the cell.", build_peak_memory),
    FigureInfo("proof_size", "Proof size vs parameters",
               "Serialized proof size for provers that make proofs.", build_proof_size),
    FigureInfo("verify_time", "Verify time vs parameters",
               "Median verify time; plain's re-execution is the grey reference.",
               build_verify_time),
    FigureInfo("overhead", "Proving overhead vs plain inference",
               "Prove time divided by plain's integer inference time on the same workload and "
               "size (the report's `prove_over_plain`).", build_overhead),
    FigureInfo("pareto", "Prove time vs proof size",
               "One point per prover and model; lower left is better, and provers on a "
               "model's Pareto front are ringed.", build_pareto),
]}


def build(name: str, df: pd.DataFrame) -> Figure:
    """One figure as a matplotlib Figure, not written anywhere; raises NoData if empty."""
    return FIGURES[name].build(df)


def mixed_statements(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every proving row's statement replaced by one label naming them all, so
    figures draw unlike statements (public, committed-weights, zk) in one panel. Baselines
    (statement ``none``) keep theirs."""
    proving = df["statement"].notna() & (df["statement"] != "none")
    kinds = sorted(set(df.loc[proving, "statement"]))
    if len(kinds) < 2:
        return df
    out = df.copy()
    out.loc[proving, "statement"] = "mixed (" + ", ".join(kinds) + ")"
    return out


def all_figures(df: pd.DataFrame, out_dir: Path | str,
                mix_statements: bool = False) -> list[Path]:
    """Write every figure that has data (PNG and SVG); returns the PNG paths in report order.
    Unlike statements get a panel each unless ``mix_statements``."""
    if mix_statements:
        df = mixed_statements(df)
    paths = []
    for info in FIGURES.values():
        try:
            fig = info.build(df)
        except NoData:
            continue
        paths.append(save(fig, out_dir, info.name))
    return paths


__all__ = [
    "FIGURES",
    "FigureInfo",
    "NoData",
    "all_figures",
    "build",
    "mixed_statements",
    "overhead",
    "pareto",
    "peak_memory",
    "proof_size",
    "prove_time",
    "prove_time_macs",
    "verify_time",
]

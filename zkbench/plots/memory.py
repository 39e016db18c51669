"""Peak memory against parameters: the largest RSS of any stage of the cell (the cell process
or its whole process tree, whichever is larger; see ``zkbench.metrics``). ``plain`` (inference)
and ``null`` (the harness alone) are grey references.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from zkbench.plots._common import (
    LIMIT_STYLE,
    Spec,
    cells,
    memory_limits_mib,
    peak_memory_mib,
    points,
    render,
    save,
    skipped_cells,
)


def build_peak_memory(df: pd.DataFrame) -> Figure:
    c = cells(df)
    spec = Spec(name="peak_memory", title="Peak memory vs parameters",
                xlabel="model size (parameters)", ylabel="peak resident memory (MiB)",
                note="Points: median over repeats of the cell's peak RSS over all stages; "
                     "bars: min to max.",
                baseline_labels={"plain": "plain inference (no proof)",
                                 "null": "null (harness alone)"},
                hlines=[(v, f"memory limit ({v / 1024:g} GiB)", LIMIT_STYLE)
                        for v in memory_limits_mib(c)])
    return render(df, points(c, c["n_params"], peak_memory_mib(c)), spec, skipped_cells(c))


def peak_memory(df: pd.DataFrame, out_dir: Path | str) -> Path:
    """Peak memory against parameters; writes peak_memory.png and .svg, returns the PNG."""
    return save(build_peak_memory(df), out_dir, "peak_memory")

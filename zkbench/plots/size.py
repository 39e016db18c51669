"""Proof size against parameters, for provers that make proofs (``plain`` and ``null`` make
none). A failed cell has no proof; it is drawn on the 'no value' edge."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from zkbench.plots._common import Spec, cells, points, render, save, skipped_cells


def build_proof_size(df: pd.DataFrame) -> Figure:
    c = cells(df)
    c = c[c["role"] == "main"]
    spec = Spec(name="proof_size", title="Proof size vs parameters",
                xlabel="model size (parameters)", ylabel="proof size (bytes)", yfmt="count",
                note="Points: serialized proof size (median over repeats).")
    return render(df, points(c, c["n_params"], c["proof_bytes"]), spec,
                  skipped_cells(c, ("main",)))


def proof_size(df: pd.DataFrame, out_dir: Path | str) -> Path:
    """Proof size against parameters; writes proof_size.png and .svg, returns the PNG."""
    return save(build_proof_size(df), out_dir, "proof_size")

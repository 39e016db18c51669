"""Published numbers for models zkbench also runs, and how a results frame compares with them.

Each ``Anchor`` is one number a paper or a project published for a model that one of zkbench's
workloads rebuilds (same architecture and parameter count; the weights differ, being seeded
here), with the system that produced it, the statement it proved, its hardware and its source.
``compare`` pairs every anchor with the measured cells of the same workload and size and gives
the ratio measured / published. Hardware always differs (the published runs used 12 to 48
cores and up to 128 GB), so a ratio says how far apart two runs are, not which system is
faster; ``like_statement`` says whether the two proved the same kind of statement
(README, "What each gkr variant proves"). Values read off a figure are marked approximate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

METRICS = {"prove_s": ("prove", "wall_s"), "verify_s": ("verify", "wall_s"),
           "proof_bytes": (None, "proof_bytes"), "peak_rss_bytes": ("prove", "peak_rss_bytes")}
"""An anchor's metric -> (the stage whose row holds it or None for a cell fact, the column)."""


@dataclass(frozen=True)
class Anchor:
    system: str
    statement: str
    """``public``, ``committed-weights``, ``zk``, or ``unstated`` where the source does not say."""
    workload: str
    size: str
    metric: str
    value: float
    hardware: str
    source: str
    approximate: bool = False


_ZKCNN = ("zkCNN (GKR + Hyrax, BLS12-381)", "zk", "cnn", "vgg16")
_ZKCNN_HW = "CPU, as in the paper"
_ZKCNN_SRC = "Liu, Xie, Zhang, zkCNN, CCS 2021"
_COI_HW = "AMD EPYC 7R32, 128 GB"
_COI_SRC = "Modulus Labs, The Cost of Intelligence, 2023 (read off its figures)"

ANCHORS: tuple[Anchor, ...] = (
    Anchor(*_ZKCNN, "prove_s", 88.3, _ZKCNN_HW, _ZKCNN_SRC),
    Anchor(*_ZKCNN, "verify_s", 0.0593, _ZKCNN_HW, _ZKCNN_SRC),
    Anchor(*_ZKCNN, "proof_bytes", 341e3, _ZKCNN_HW, _ZKCNN_SRC),
    Anchor("zkPyTorch (Expander GKR, M61)", "unstated", "cnn", "vgg16", "prove_s", 2.2,
           "unstated", "Polyhedra, zkPyTorch, 2025"),
    Anchor("zkCNN", "unstated", "mlp", "FC_18252933", "prove_s", 85.0, _COI_HW, _COI_SRC, True),
    Anchor("zkCNN", "unstated", "mlp", "FC_18252933", "peak_rss_bytes", 21.5e9, _COI_HW,
           _COI_SRC, True),
    Anchor("Plonky2", "unstated", "mlp", "FC_18252933", "prove_s", 63.0, _COI_HW, _COI_SRC,
           True),
    Anchor("Plonky2", "unstated", "mlp", "FC_18252933", "peak_rss_bytes", 56e9, _COI_HW,
           _COI_SRC, True),
    Anchor("Halo2", "unstated", "mlp", "FC_18252933", "prove_s", 313.0, _COI_HW, _COI_SRC,
           True),
    Anchor("Halo2", "unstated", "mlp", "FC_18252933", "peak_rss_bytes", 48e9, _COI_HW,
           _COI_SRC, True),
    Anchor("zkCNN", "unstated", "mlp", "depth-large-500", "prove_s", 52.0, _COI_HW, _COI_SRC,
           True),
    Anchor("zkCNN", "unstated", "mlp", "depth-large-500", "peak_rss_bytes", 12e9, _COI_HW,
           _COI_SRC, True),
    Anchor("Remainder (GKR + Ligero, BN254)", "committed-weights", "decision_tree",
           "forest-128x9-b128", "prove_s", 54.0, "12-core laptop",
           "Modulus, Scaling Intelligence, 2024 (an upper bound: 'under 54 s')"),
    Anchor("Halo2 (Leela vs the World)", "unstated", "chess", "leela", "prove_s", 3600.0,
           "128 GB RAM", "Modulus Labs, Leela vs the World (about an hour per proof)", True),
)


def _measured(df: pd.DataFrame, anchor: Anchor) -> pd.DataFrame:
    """Median of the anchor's metric per (prover, backend) over the ok cells of its model,
    for provers that prove something (a security level: not the plain and null baselines)."""
    stage, column = METRICS[anchor.metric]
    rows = df[(df["workload"] == anchor.workload) & (df["size"] == anchor.size)
              & (df["status"] == "ok") & df["security_bits"].notna()]
    if stage is not None:
        rows = rows[rows["stage"] == stage]
    rows = rows[rows[column].notna()]
    if rows.empty:
        return pd.DataFrame(columns=["prover", "backend_used", "statement", "measured"])
    return (rows.groupby(["prover", "backend_used", "statement"], dropna=False)[column]
            .median().rename("measured").reset_index())


def compare(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (anchor, measured prover): the published value, the measured median, their
    ratio (measured / published) and whether the statements are alike. Empty when no cell
    of the frame runs an anchored model."""
    out = []
    for a in ANCHORS:
        for m in _measured(df, a).itertuples(index=False):
            out.append({
                "workload": a.workload, "size": a.size, "metric": a.metric,
                "published_by": a.system, "published": a.value,
                "approximate": a.approximate, "their_statement": a.statement,
                "their_hardware": a.hardware, "prover": m.prover,
                "backend_used": m.backend_used, "statement": m.statement,
                "measured": float(m.measured),
                "measured_over_published": float(m.measured) / a.value,
                "like_statement": a.statement == m.statement, "source": a.source,
            })
    columns = ["workload", "size", "metric", "published_by", "published", "approximate",
               "their_statement", "their_hardware", "prover", "backend_used", "statement",
               "measured", "measured_over_published", "like_statement", "source"]
    frame = pd.DataFrame(out, columns=columns)
    if not frame.empty:
        frame["measured_over_published"] = frame["measured_over_published"].astype(np.float64)
    return frame

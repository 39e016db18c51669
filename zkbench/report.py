"""Summary tables of a results frame: medians and spread over repeats, soundness flags, the
failed and skipped cells, and the markdown report that embeds the figures."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from tabulate import tabulate

KEYS = ["workload", "size", "prover", "backend_used"]


def _spread(s: pd.Series) -> float:
    s = s.dropna()
    return float(s.max() - s.min()) if len(s) > 1 else 0.0


def cell_status(df: pd.DataFrame) -> pd.Series:
    """One word per (workload, size, prover, backend): ok, or the worst status seen."""
    order = {"ok": 0, "skip": 1, "timeout": 2, "oom": 3, "error": 4}
    worst = df.assign(rank=df["status"].map(order)).groupby(KEYS, dropna=False)["rank"].max()
    inverse = {v: k for k, v in order.items()}
    return worst.map(inverse)


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (workload, size, prover, backend): stage medians (s), spread, memory, sizes."""
    stages = df[df["status"] == "ok"].pivot_table(
        index=KEYS, columns="stage", values="wall_s", aggfunc="median", dropna=False
    )
    spread = df[(df["status"] == "ok") & (df["stage"] == "prove")].groupby(KEYS, dropna=False)[
        "wall_s"].agg(_spread)
    grouped = df.groupby(KEYS, dropna=False)
    out = pd.DataFrame({
        "statement": grouped["statement"].first(),
        "status": cell_status(df),
        "repeats": grouped["repeat"].nunique(),
        "witness_s": stages.get("witness"),
        "prove_s": stages.get("prove"),
        "prove_spread_s": spread,
        "verify_s": stages.get("verify"),
        "peak_rss_mib": grouped["peak_rss_bytes"].max() / 2**20,
        "proof_bytes": grouped["proof_bytes"].max(),
        "security_bits": grouped["security_bits"].max(),
        "verified": grouped["verified"].min(),
        "tamper_rejected": grouped["tamper_rejected"].min(),
        "max_abs_err": grouped["fidelity_max_abs_err"].max(),
        "top1_agree": grouped["fidelity_top1_agree"].min(),
    })
    plain = out.xs("plain", level="prover", drop_level=False) if "plain" in set(
        out.index.get_level_values("prover")) else None
    if plain is not None:
        # one baseline per model, even where plain also has skipped rows on another backend
        base = plain["witness_s"].groupby(level=["workload", "size"], dropna=False).median()
        idx = out.index.droplevel(["prover", "backend_used"])
        out["prove_over_plain"] = out["prove_s"].to_numpy() / base.reindex(idx).to_numpy()
    reasons = df[df["status"] != "ok"].groupby(KEYS, dropna=False)["status_reason"].first()
    out["reason"] = reasons.reindex(out.index)
    # Rows in the order the sweep ran them, not sorted as strings ("n=1024" before "n=16").
    first_seen = pd.MultiIndex.from_frame(df[KEYS].drop_duplicates())
    return out.reindex(first_seen).reset_index()


def _fmt(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    # one table cell: no line breaks, and a '|' (cell ids have them) must not end the cell
    return " ".join(str(value).split()).replace("|", "\\|")


def markdown_table(df: pd.DataFrame) -> str:
    table = summary(df)
    cols = [c for c in ["workload", "size", "prover", "backend_used", "statement", "status",
                        "repeats",
                        "prove_s", "prove_spread_s", "verify_s", "prove_over_plain",
                        "peak_rss_mib", "proof_bytes", "security_bits", "verified",
                        "tamper_rejected", "max_abs_err", "top1_agree", "reason"]
            if c in table.columns]
    body = [[_fmt(v) for v in row] for row in table[cols].itertuples(index=False)]
    return tabulate(body, headers=cols, tablefmt="github", disable_numparse=True)


def _is_false(value: object) -> bool:
    """False, including numpy's and pandas' falses; never for a missing value."""
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return False
    return not bool(value)


def soundness_alarms(df: pd.DataFrame) -> list[str]:
    """Loud lines for honest proofs rejected and tampered proofs accepted."""
    alarms = []
    for row in summary(df).itertuples(index=False):
        where = f"{row.prover} on {row.workload} {row.size}"
        if _is_false(row.verified):
            alarms.append(f"HONEST PROOF REJECTED: {where}")
        if _is_false(row.tamper_rejected):
            alarms.append(f"TAMPERED PROOF NOT REJECTED: {where}")
    return alarms


def failures(df: pd.DataFrame) -> pd.DataFrame:
    """Failed and skipped cells, one row per prover, workload, size, backend, status, stage
    and reason, with the repeats it happened on and what the stage had used when it stopped."""
    cols = ["prover", "workload", "size", "backend", "status", "stage", "repeats", "wall_s",
            "peak_rss_mib", "reason"]
    bad = df[df["status"] != "ok"].copy()
    if bad.empty:
        return pd.DataFrame(columns=cols)
    bad["backend"] = bad["backend_used"].fillna(bad["backend_requested"]).fillna("")
    bad["reason"] = bad["status_reason"].fillna("")
    order = {"timeout": 0, "oom": 1, "error": 2, "skip": 3}
    keys = ["prover", "workload", "size", "backend", "status", "stage", "reason"]
    out = (bad.groupby(keys, sort=False, dropna=False)
           .agg(repeats=("repeat", lambda r: ", ".join(str(v) for v in sorted(r.dropna()))),
                wall_s=("wall_s", "max"),
                peak_rss_mib=("peak_rss_bytes", lambda b: b.max() / 2**20))
           .reset_index())
    out["_order"] = out["status"].map(order)
    out = out.sort_values("_order", kind="stable").drop(columns="_order")
    return out[cols].reset_index(drop=True)


def failures_markdown(df: pd.DataFrame) -> str:
    table = failures(df)
    if table.empty:
        return "None: every cell finished."
    body = [[_fmt(v) for v in row] for row in table.itertuples(index=False)]
    headers = ["prover", "workload", "size", "backend", "status", "stage", "repeats",
               "stage wall_s at stop", "peak_rss_mib", "reason"]
    return tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)


def machines(df: pd.DataFrame) -> list[str]:
    """The machine ids in the results, in the order they first appear. Rows of cells whose
    worker died before reporting back have none."""
    return [str(m) for m in df["machine_id"].dropna().unique()]


def select_machine(df: pd.DataFrame, machine: str) -> pd.DataFrame:
    """The rows run on one machine, named by its id or a unique prefix of it."""
    known = machines(df)
    hits = [m for m in known if m == machine] or [m for m in known if m.startswith(machine)]
    if len(hits) != 1:
        what = "matches no" if not hits else "matches more than one"
        raise ValueError(f"machine {machine!r} {what} machine in the results (machines: "
                         f"{', '.join(known) or 'none recorded'})")
    return df[df["machine_id"] == hits[0]]


def machine_tables(df: pd.DataFrame) -> str:
    """The summary table, one per machine (under its id) when the results span several, so
    medians never mix machines."""
    ids = machines(df)
    if len(ids) <= 1:
        return markdown_table(df)
    return "\n\n".join(f"Machine {m}:\n\n" + markdown_table(df[df["machine_id"] == m])
                        for m in ids)


def _machine_lines(df: pd.DataFrame) -> list[str]:
    lines = []
    several = len(machines(df)) > 1
    for m in df[df["machine_id"].notna()].drop_duplicates("machine_id").itertuples(index=False):
        ram = 0 if pd.isna(m.ram_bytes) else m.ram_bytes
        cells = df.loc[df["machine_id"] == m.machine_id, "cell_id"].nunique()
        lines.append(f"Machine `{m.machine_id}`" + (f" ({cells} cells)" if several else "")
                     + f": {m.cpu_model}, {m.cores} cores, "
                     f"{ram / 2**30:.0f} GiB RAM"
                     + (f", GPU {m.gpu_model}" if isinstance(m.gpu_model, str) and m.gpu_model
                        else ", no GPU")
                     + f"; zkbench {m.zkbench_version} at `{m.git_sha or 'unknown'}`.")
    return lines


def _cell_counts(df: pd.DataFrame) -> str:
    per_cell = df.groupby("cell_id", sort=False)["status"].agg(
        lambda s: next((v for v in s if v != "ok"), "ok"))
    counts = per_cell.value_counts()
    words = [f"{counts[k]} {k}" for k in ("ok", "timeout", "oom", "error", "skip") if k in counts]
    return f"{len(per_cell)} cells: " + ", ".join(words) + "."


def _figure_section(path: Path, out_dir: Path) -> list[str]:
    from zkbench import plots

    info = plots.FIGURES.get(path.stem)
    title = info.title if info else path.stem.replace("_", " ")
    rel = Path(os.path.relpath(path, out_dir)).as_posix()
    svg = Path(os.path.relpath(path.with_suffix(".svg"), out_dir)).as_posix()
    lines = [f"### {title}", ""]
    if info:
        lines += [info.about, ""]
    lines += [f"![{title}]({rel})", "", f"[SVG]({svg})", ""]
    return lines


def _statement_tables(df: pd.DataFrame, heading: str, mix: bool = False) -> list[str]:
    """The summary table, one per statement kind when there are several (unless ``mix``)."""
    lines: list[str] = []
    statements = sorted(set(df["statement"].dropna()) - {"none"})
    # like statements together; baselines ("none") stay with each
    if len(statements) > 1 and not mix:
        for kind in statements:
            part = df[(df["statement"] == kind) | (df["statement"] == "none")
                      | df["statement"].isna()]
            lines += [f"{heading} Statement: {kind}", "", markdown_table(part), ""]
    else:
        lines += [markdown_table(df), ""]
    return lines


def _anchor_lines(df: pd.DataFrame) -> list[str]:
    """The section comparing measured cells with published numbers (zkbench.anchors), or
    nothing when no cell runs an anchored model."""
    from zkbench import anchors

    table = anchors.compare(df)
    if table.empty:
        return []
    shown = table[["workload", "size", "metric", "published_by", "their_statement",
                   "their_hardware", "published", "prover", "statement", "measured",
                   "measured_over_published", "like_statement"]]
    return ["## Against published numbers", "",
            "Published numbers for the models measured here (`zkbench/anchors.py` names each "
            "source; approximate values were read off figures), next to the medians measured "
            "in this run. The hardware differs, so a ratio says how far apart the runs are, "
            "not which system is faster; `like_statement` says whether both proved the same "
            "kind of statement.", "",
            tabulate([[_fmt(v) for v in row] for row in shown.itertuples(index=False)],
                     headers=list(shown.columns), tablefmt="github", disable_numparse=True),
            ""]


def write_markdown(df: pd.DataFrame, out_dir: Path,
                   figures: Sequence[Path] | None = None,
                   mix_statements: bool = False) -> Path:
    """Write OUT_DIR/report.md: machine, summary table (one per statement kind when there are
    several, one for all of them with ``mix_statements``), soundness alarms, failed and
    skipped cells, and a section per figure in ``figures`` (PNG paths, linked relative to the
    report)."""
    from zkbench import plots

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = ["# zkbench report", "", *_machine_lines(df), "", _cell_counts(df), ""]
    lines += ["## Summary", "",
              "Times are medians over repeats (seconds); `prove_spread_s` is max - min of prove "
              "time over repeats. `prove_over_plain` divides prove time by the plain prover's "
              "integer inference (its witness stage) for the same workload and size. "
              "`peak_rss_mib` is the largest resident memory of any stage.", ""]
    ids = machines(df)
    if len(ids) > 1:  # medians and baselines never mix machines
        lines += ["The results span several machines: one summary per machine. Cells whose "
                  "worker died before reporting back belong to none; they are listed under "
                  "failed cells.", ""]
        for m in ids:
            lines += [f"### Machine `{m}`", "",
                      *_statement_tables(df[df["machine_id"] == m], "####",
                                         mix_statements)]
    else:
        lines += _statement_tables(df, "###", mix_statements)
    lines += _anchor_lines(df)
    alarms = soundness_alarms(df)
    lines += ["## Soundness alarms", ""]
    lines += [*[f"- **{a}**" for a in alarms]] if alarms else [
        "None: every honest proof verified and every tampered proof was rejected."]
    lines += ["", "## Failed and skipped cells", "",
              "Failed cells are drawn in the figures as red-edged markers (a triangle for a "
              "timeout, a star for out of memory, a cross for an error); skipped cells are "
              "listed in the figure captions.", "", failures_markdown(df), ""]
    figures = [Path(f) for f in (figures or [])]
    lines += ["## Figures", ""]
    if figures:
        for path in figures:
            lines += _figure_section(path, out_dir)
    else:
        lines += ["No figures.", ""]
    missing = [info.title for name, info in plots.FIGURES.items()
               if name not in {f.stem for f in figures}]
    if figures and missing:
        lines += [f"Not drawn, for lack of data: {', '.join(missing)}.", ""]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines))
    return path


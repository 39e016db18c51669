"""Summary tables of a results frame: medians and spread over repeats, soundness flags."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from tabulate import tabulate

from zkbench import environment

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
        base = plain["witness_s"].droplevel(["prover", "backend_used"])
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
    return str(value)


def markdown_table(df: pd.DataFrame) -> str:
    table = summary(df)
    cols = [c for c in ["workload", "size", "prover", "backend_used", "status", "repeats",
                        "prove_s", "prove_spread_s", "verify_s", "prove_over_plain",
                        "peak_rss_mib", "proof_bytes", "security_bits", "verified",
                        "tamper_rejected", "max_abs_err", "top1_agree", "reason"]
            if c in table.columns]
    body = [[_fmt(v) for v in row] for row in table[cols].itertuples(index=False)]
    return tabulate(body, headers=cols, tablefmt="github", disable_numparse=True)


def soundness_alarms(df: pd.DataFrame) -> list[str]:
    """Loud lines for honest proofs rejected and tampered proofs accepted."""
    alarms = []
    for row in summary(df).itertuples(index=False):
        where = f"{row.prover} on {row.workload} {row.size}"
        if row.verified is False:
            alarms.append(f"HONEST PROOF REJECTED: {where}")
        if row.tamper_rejected is False:
            alarms.append(f"TAMPERED PROOF NOT REJECTED: {where}")
    return alarms


def write_markdown(df: pd.DataFrame, out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    machines = df.drop_duplicates("machine_id")
    lines = ["# zkbench report", ""]
    for m in machines.itertuples(index=False):
        lines.append(f"Machine `{m.machine_id}`: {m.cpu_model}, {m.cores} cores, "
                     f"{(m.ram_bytes or 0) / 2**30:.0f} GiB RAM"
                     + (f", GPU {m.gpu_model}" if m.gpu_model else ", no GPU")
                     + f"; zkbench {m.zkbench_version} at `{m.git_sha or 'unknown'}`.")
    lines += ["", "Times are medians over repeats (seconds); spread is max - min of prove time. "
              "`prove_over_plain` divides prove time by the plain prover's integer inference "
              "(its witness stage) for the same workload and size.", "",
              markdown_table(df), ""]
    alarms = soundness_alarms(df)
    if alarms:
        lines += ["## Soundness alarms", "", *[f"- {a}" for a in alarms], ""]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines))
    return path


def this_machine() -> str:
    fp = environment.fingerprint()
    return f"{fp['cpu_model']}, {fp['cores']} cores, {fp['ram_bytes'] / 2**30:.0f} GiB"

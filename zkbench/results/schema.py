"""The results schema: one row per cell x stage x repeat, units in the column names.

Cell-level facts (sizes of proof and keys, ``verified``, ``tamper_rejected``, fidelity) are
repeated on every stage row of their cell, so any one stage's slice is complete on its own.
A cell that fails has ``ok`` rows for the stages it finished and one row with the failure's
``status`` for the stage it was in; a skipped cell has a single ``skip`` row with stage
``compile``. ``validate`` runs before every write.
"""

from __future__ import annotations

import pandas as pd

SCHEMA_VERSION = 1

STATUSES = ("ok", "skip", "error", "timeout", "oom")
STAGE_NAMES = ("compile", "setup", "witness", "prove", "verify")

# name -> (pandas dtype, meaning)
COLUMNS: dict[str, tuple[str, str]] = {
    "schema_version": ("Int64", "version of this schema"),
    "run_id": ("string", "one `zkbench run` invocation"),
    "cell_id": ("string", "prover|workload|size|backend|repeat|seed: the resume key"),
    "timestamp_utc": ("string", "ISO 8601, when the cell finished"),
    "git_sha": ("string", "zkbench checkout, -dirty when modified"),
    "zkbench_version": ("string", ""),
    "python_version": ("string", ""),
    "machine_id": ("string", "stable hash of the machine that ran the cell"),
    "cpu_model": ("string", ""),
    "cores": ("Int64", "logical CPUs"),
    "ram_bytes": ("Int64", "physical memory"),
    "gpu_model": ("string", "empty when there is no GPU"),
    "prover": ("string", ""),
    "prover_version": ("string", ""),
    "field": ("string", "the proof system's field"),
    "security_bits": ("Int64", "soundness bits claimed for this proof; empty for baselines"),
    "zk": ("boolean", "zero-knowledge"),
    "statement": ("string", "public | committed-weights | zk | none"),
    "prover_settings": ("string", "a peer's own settings, `key=value` separated by spaces "
                                  "(ezkl: visibilities, logrows, scales, decomposition, SRS); "
                                  "empty for in-tree provers"),
    "backend_requested": ("string", ""),
    "backend_used": ("string", "what actually ran; never a silent fallback"),
    "workload": ("string", ""),
    "size": ("string", "the workload's named size"),
    "n_params": ("Int64", "parameters of the float model"),
    "n_macs": ("Int64", "multiply-accumulates of one inference"),
    "quant_bits": ("Int64", "integer width of weights and activations"),
    "input_source": ("string", "the proven input of a model file (`run --model`): `random` "
                               "(seeded, the input's shape) or `file:NAME@SHA256-PREFIX`; "
                               "empty for built-in workloads"),
    "stage": ("string", "compile | setup | witness | prove | verify"),
    "repeat": ("Int64", ""),
    "seed": ("Int64", "input seed"),
    "status": ("string", "ok | skip | error | timeout | oom"),
    "status_reason": ("string", "why, when status is not ok"),
    "wall_s": ("float64", "stage wall-clock time"),
    "cpu_s": ("float64", "stage CPU time, all threads and waited children"),
    "peak_rss_bytes": ("Int64", "peak resident memory during the stage (see zkbench.metrics)"),
    "peak_gpu_bytes": ("Int64", "peak GPU allocator memory during the stage"),
    "proof_bytes": ("Int64", "serialized proof"),
    "vk_bytes": ("Int64", "verifying key"),
    "pk_bytes": ("Int64", "proving key"),
    "verified": ("boolean", "the honest proof verified"),
    "tamper_rejected": ("boolean", "flipped-byte and wrong-output proofs both rejected"),
    "fidelity_max_abs_err": ("float64", "max |float - dequantized output| over the samples"),
    "fidelity_top1_agree": ("float64", "top-1 agreement with the float model over the "
                                       "samples (score outputs only; zkbench.cell)"),
}


class SchemaError(ValueError):
    """A results frame that does not fit the schema; the message names the column."""


def empty() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, (dtype, _) in COLUMNS.items()})


def coerce(df: pd.DataFrame) -> pd.DataFrame:
    """Add missing columns as empty and cast every known column to its dtype."""
    out = df.copy()
    for name, (dtype, _) in COLUMNS.items():
        if name not in out.columns:
            out[name] = pd.Series([None] * len(out), index=out.index, dtype=dtype)
            continue
        try:
            out[name] = out[name].astype(dtype)
        except (TypeError, ValueError) as exc:
            raise SchemaError(f"column {name!r} cannot be read as {dtype}: {exc}") from exc
    extra = [c for c in out.columns if c not in COLUMNS]
    return out[list(COLUMNS) + extra]


def validate(df: pd.DataFrame) -> pd.DataFrame:
    """Coerce and check; returns the typed frame or raises SchemaError naming the problem."""
    df = coerce(df)
    bad = set(df["status"].dropna()) - set(STATUSES)
    if bad or df["status"].isna().any():
        raise SchemaError(f"column 'status' has values outside {STATUSES}: {sorted(bad)}")
    bad = set(df["stage"].dropna()) - set(STAGE_NAMES)
    if bad or df["stage"].isna().any():
        raise SchemaError(f"column 'stage' has values outside {STAGE_NAMES}: {sorted(bad)}")
    for name in ("run_id", "cell_id", "prover", "workload", "size"):
        if df[name].isna().any():
            raise SchemaError(f"column {name!r} has empty values")
    for name, (dtype, _) in COLUMNS.items():
        if dtype in ("Int64", "float64") and (df[name].dropna() < 0).any():
            raise SchemaError(f"column {name!r} has negative values")
    ok = df["status"] == "ok"
    if df.loc[ok, "wall_s"].isna().any():
        raise SchemaError("column 'wall_s' is empty on an 'ok' row")
    failed = df["status"] != "ok"
    if df.loc[failed, "status_reason"].fillna("").eq("").any():
        raise SchemaError("a row whose status is not 'ok' has no 'status_reason'")
    return df

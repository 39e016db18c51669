"""The append-only results store: JSON lines written whole and fsynced, Parquet at the end.

A sweep appends each finished cell's rows in a single write followed by fsync, so a kill loses
at most the cell in flight. A torn last line (a kill during that write) is dropped on reading
with a warning and cut off before the next append; nothing before it is touched.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from zkbench.results.schema import validate


class StoreError(ValueError):
    """An unreadable results file; the message names the file and line."""


def _jsonable(value: Any) -> Any:
    if value is pd.NA or value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Every complete row; a torn final line is skipped with a warning, any other bad line is
    an error naming it."""
    path = Path(path)
    if not path.exists():
        return []
    rows: list[dict[str, Any]] = []
    with path.open("rb") as fh:
        lines = fh.read().split(b"\n")
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
            if not isinstance(row, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            if number == len(lines):  # unterminated last line: a write cut short by a kill
                warnings.warn(f"{path}: ignoring torn last line {number}", stacklevel=2)
                continue
            raise StoreError(f"{path}: line {number} is not a JSON object ({exc})") from exc
        rows.append(row)
    return rows


def _repair_tail(path: Path) -> None:
    """Cut an unterminated last line so the next append starts on a fresh line."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb+") as fh:
        data = fh.read()
        if data.endswith(b"\n"):
            return
        cut = data.rfind(b"\n") + 1
        fh.truncate(cut)


def append_rows(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    rows = list(rows)
    if not rows:
        return
    validate(pd.DataFrame(rows))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _repair_tail(path)
    payload = "".join(
        json.dumps({k: _jsonable(v) for k, v in row.items()}, sort_keys=False) + "\n"
        for row in rows
    ).encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, payload)
        os.fsync(fd)
    finally:
        os.close(fd)


def load(path: Path | str) -> pd.DataFrame:
    """Results as a typed frame, from ``results.jsonl``, ``results.parquet`` or their folder."""
    path = Path(path)
    if path.is_dir():
        jsonl, parquet = path / "results.jsonl", path / "results.parquet"
        path = jsonl if jsonl.exists() else parquet
    if not path.exists():
        raise StoreError(f"{path}: no such results file")
    if path.suffix == ".parquet":
        try:
            return validate(pd.read_parquet(path))
        except Exception as exc:
            raise StoreError(f"{path}: not a readable results Parquet file ({exc})") from exc
    rows = read_rows(path)
    if not rows:
        raise StoreError(f"{path}: holds no results")
    return validate(pd.DataFrame(rows))


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    df = validate(df)
    tmp = Path(path).with_suffix(".parquet.tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)

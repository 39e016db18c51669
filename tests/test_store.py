import json

import pandas as pd
import pytest

from zkbench.results import SchemaError, append_rows, load, read_rows, validate, write_parquet
from zkbench.results.store import StoreError


def _row(cell="a", stage="prove", status="ok", **kw):
    row = {"run_id": "r", "cell_id": cell, "prover": "plain", "workload": "matmul",
           "size": "n=16", "stage": stage, "status": status, "wall_s": 0.5,
           "peak_rss_bytes": 1024, "verified": True}
    if status != "ok":
        row["status_reason"] = "because"
    row.update(kw)
    return row


def test_round_trip_keeps_dtypes(tmp_path):
    path = tmp_path / "results.jsonl"
    append_rows(path, [_row(), _row(cell="b", stage="compile", status="timeout")])
    df = load(path)
    assert list(df["cell_id"]) == ["a", "b"]
    assert str(df["peak_rss_bytes"].dtype) == "Int64"
    assert str(df["verified"].dtype) == "boolean"
    assert df.loc[1, "status_reason"] == "because"
    write_parquet(df, tmp_path / "results.parquet")
    back = load(tmp_path / "results.parquet")
    pd.testing.assert_frame_equal(back, df)


def test_torn_last_line_is_dropped_and_repaired(tmp_path):
    path = tmp_path / "results.jsonl"
    append_rows(path, [_row()])
    with path.open("a") as fh:
        fh.write('{"run_id": "r", "cell_id": "tor')  # a kill in the middle of a write
    with pytest.warns(UserWarning, match="torn last line"):
        assert len(read_rows(path)) == 1
    append_rows(path, [_row(cell="c")])  # the next append cuts the torn tail first
    lines = path.read_text().splitlines()
    assert [json.loads(line)["cell_id"] for line in lines] == ["a", "c"]


def test_corrupt_middle_line_names_the_line(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(_row()) + "\nnot json\n" + json.dumps(_row(cell="b")) + "\n")
    with pytest.raises(StoreError, match="line 2"):
        load(path)


@pytest.mark.parametrize(
    ("change", "column"),
    [({"status": "fine"}, "status"), ({"stage": "lunch"}, "stage"), ({"wall_s": -1.0}, "wall_s"),
     ({"wall_s": None}, "wall_s"), ({"peak_rss_bytes": "lots"}, "peak_rss_bytes")],
)
def test_validate_names_the_bad_column(change, column):
    with pytest.raises(SchemaError, match=column):
        validate(pd.DataFrame([_row(**change)]))


def test_failed_row_needs_a_reason():
    row = _row(status="error")
    del row["status_reason"]
    with pytest.raises(SchemaError, match="status_reason"):
        validate(pd.DataFrame([row]))


def test_bad_rows_are_not_written(tmp_path):
    path = tmp_path / "results.jsonl"
    with pytest.raises(SchemaError):
        append_rows(path, [_row(status="fine")])
    assert not path.exists()

"""Published numbers (zkbench.anchors): every anchor names a model zkbench builds, measured
cells are paired with the anchors of their model only, baselines and failed cells never are,
ratios are measured / published, and the report gains its section only when something pairs."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tests.test_plots import cell_rows, frame
from zkbench import anchors, registry, report


@pytest.mark.parametrize("anchor", anchors.ANCHORS, ids=lambda a: f"{a.system}-{a.size}-{a.metric}")
def test_every_anchor_names_a_size_zkbench_builds(anchor):
    assert anchor.size in registry.create_workload(anchor.workload).sizes()
    assert anchor.metric in anchors.METRICS
    assert anchor.statement in ("public", "committed-weights", "zk", "unstated")
    assert anchor.value > 0 and anchor.source


def _rows(prover, workload, size, statement, prove_s):
    rows = cell_rows(prover, workload, size, 1000)
    for row in rows:
        row["statement"] = statement
        if row["stage"] == "prove":
            row["wall_s"] = prove_s
    return rows


@pytest.fixture
def measured():
    rows = (_rows("gkr-cw", "cnn", "vgg16", "committed-weights", 10.0)
            + _rows("gkr-cw", "decision_tree", "forest-128x9-b128", "committed-weights", 27.0)
            + _rows("plain", "cnn", "vgg16", "public", 1e-4)
            + _rows("gkr", "matmul", "n=256", "public", 0.01)
            + cell_rows("ezkl", "cnn", "vgg16", 1000, fail="timeout", at="setup"))
    return frame(rows)


def test_cells_pair_with_the_anchors_of_their_model(measured):
    table = anchors.compare(measured)
    assert set(table["prover"]) == {"gkr-cw"}  # no baseline, no failed cell, no unanchored model
    vgg = table[(table["size"] == "vgg16") & (table["metric"] == "prove_s")]
    assert sorted(vgg["published"]) == [2.2, 88.3]
    zkcnn = vgg[vgg["published"] == 88.3].iloc[0]
    assert math.isclose(zkcnn["measured_over_published"], 10.0 / 88.3)
    assert not zkcnn["like_statement"]  # zkCNN is zero-knowledge, gkr-cw is not
    forest = table[table["size"] == "forest-128x9-b128"].iloc[0]
    assert forest["like_statement"] and math.isclose(forest["measured_over_published"], 0.5)
    sizes = table[(table["size"] == "vgg16") & (table["metric"] == "proof_bytes")]
    expected = measured[(measured["prover"] == "gkr-cw") & (measured["size"] == "vgg16")][
        "proof_bytes"].max()
    assert sizes.iloc[0]["measured"] == expected


def test_the_median_over_repeats_is_compared():
    rows = []
    for repeat, prove_s in enumerate([3.0, 100.0, 5.0]):
        for row in cell_rows("gkr", "chess", "leela", 1000, repeat=repeat):
            if row["stage"] == "prove":
                row["wall_s"] = prove_s
            rows.append(row)
    table = anchors.compare(frame(rows))
    assert table[table["metric"] == "prove_s"]["measured"].tolist() == [5.0]


def test_report_section_only_when_something_pairs(measured, tmp_path):
    text = report.write_markdown(measured, tmp_path, []).read_text()
    section = text.split("## Against published numbers")[1].split("## Soundness alarms")[0]
    assert "zkCNN (GKR + Hyrax, BLS12-381)" in section and "Remainder" in section
    unanchored = frame(_rows("gkr", "matmul", "n=256", "public", 0.01))
    assert anchors.compare(unanchored).empty
    text = report.write_markdown(unanchored, tmp_path / "u", []).read_text()
    assert "Against published numbers" not in text
    assert isinstance(anchors.compare(pd.DataFrame(columns=unanchored.columns)), pd.DataFrame)

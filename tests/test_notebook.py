"""The analysis notebook executes end to end against a small results set made here, and is
committed without outputs.

Executing it needs the ``notebooks`` extra (nbclient, nbformat, ipykernel): without it the
execution test is skipped with the reason; the stripped-outputs check always runs.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "analysis.ipynb"


def test_notebook_is_committed_without_outputs():
    nb = json.loads(NOTEBOOK.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, "the notebook has no code cells"
    for cell in code:
        assert cell.get("outputs") == [], "strip outputs before committing"
        assert cell.get("execution_count") is None, "strip execution counts before committing"
    source = "".join("".join(c["source"]) for c in code)
    assert "zkbench.results import load" in source and "ZKBENCH_RESULTS" in source


def _needs(module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        pytest.skip(f"{module} is not installed; install the notebooks extra "
                    f"(pip install -e '.[notebooks]') to execute the notebook")


def test_notebook_executes_against_a_fresh_results_set(tmp_path, monkeypatch):
    nbformat = _needs("nbformat")
    nbclient = _needs("nbclient")
    _needs("ipykernel")
    results = tmp_path / "results"
    run = subprocess.run([sys.executable, "-m", "zkbench.cli", "run", "--provers", "null,plain",
                          "--workloads", "matmul", "--sizes", "n=16", "--quiet",
                          "--out", str(results)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    monkeypatch.setenv("ZKBENCH_RESULTS", str(results))
    monkeypatch.setenv("ZKBENCH_FIGURES", str(tmp_path / "figures"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=60, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors, errors
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.outputs)
    assert f"from {results}" in text
    assert (tmp_path / "figures" / "prove_time.png").exists()
    assert (tmp_path / "figures" / "peak_memory.png").exists()
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
                 for o in c.outputs)
    assert images >= 3

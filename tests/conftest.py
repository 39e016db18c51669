"""Shared fixtures: the out-of-tree test plug-in, made importable and discoverable."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

PLUGIN_DIR = Path(__file__).parent / "fixtures" / "plugin"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def plugin(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Put the plug-in's distribution on sys.path (and PYTHONPATH for cell subprocesses)."""
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(PLUGIN_DIR), str(REPO), *filter(None, [env.get("PYTHONPATH")])]
    )
    monkeypatch.setenv("PYTHONPATH", env["PYTHONPATH"])
    return env


@pytest.fixture
def zkbench_cmd() -> list[str]:
    return [sys.executable, "-m", "zkbench.cli"]

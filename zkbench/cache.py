"""The one folder where provers keep what they generate once and reuse across cells: peers'
installed packages, SRS files, powers-of-tau ceremonies.

``$ZKBENCH_CACHE`` when set, else ``$XDG_CACHE_HOME/zkbench``, else ``~/.cache/zkbench``;
each prover takes a subfolder named after itself. Everything in it is generated on this
machine (never downloaded) and can be deleted at any time, at the cost of regenerating it.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(name: str) -> Path:
    root = os.environ.get("ZKBENCH_CACHE")
    if not root:
        root = str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "zkbench")
    return Path(root) / name

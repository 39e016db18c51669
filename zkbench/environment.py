"""The machine fingerprint every result row carries: CPU, cores, RAM, GPU, versions, git sha."""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

import psutil

from zkbench import __version__

REPO_ROOT = Path(__file__).resolve().parent.parent


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_model() -> str:
    """The first NVIDIA GPU's name, or "" where there is none (or no driver)."""
    if shutil.which("nvidia-smi") is None:
        return ""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.strip().splitlines()[0] if out.strip() else ""


def git_sha() -> str:
    """HEAD of the zkbench checkout, with ``-dirty`` if tracked files changed; "" outside git."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=REPO_ROOT, capture_output=True, text=True, timeout=10,
                               check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return sha + ("-dirty" if dirty else "")


def machine_id(cpu: str, cores: int, ram_bytes: int) -> str:
    """A short stable id: the OS machine id where there is one, else host, CPU and size."""
    raw = ""
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            raw = Path(path).read_text().strip()
            break
        except OSError:
            continue
    raw = f"{raw}|{platform.node()}|{cpu}|{cores}|{ram_bytes}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


@functools.cache
def fingerprint() -> dict[str, Any]:
    cpu = cpu_model()
    cores = os.cpu_count() or 1
    ram = int(psutil.virtual_memory().total)
    return {
        "machine_id": machine_id(cpu, cores, ram),
        "cpu_model": cpu,
        "cores": cores,
        "ram_bytes": ram,
        "gpu_model": gpu_model(),
        "git_sha": git_sha(),
        "zkbench_version": __version__,
        "python_version": platform.python_version(),
    }

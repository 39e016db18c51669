"""How a stage is measured. The runner calls these around each prover stage; provers never do.

- ``wall_s``: ``time.perf_counter`` around the stage call.
- ``cpu_s``: process CPU time (every thread) plus the CPU time of child processes the stage
  started and waited for (``os.times``), so work a prover hands to a subprocess is counted.
- ``peak_rss_bytes``: the larger of two readings. (1) The cell process's own high-water mark:
  before the stage the kernel's peak counter is reset (``echo 5 > /proc/self/clear_refs``),
  after it ``VmHWM`` is read from ``/proc/self/status``; this is exact for the Python process.
  Where the reset is not allowed, the lifetime peak (``ru_maxrss``) is used instead and
  ``peak_rss_exact`` is False. (2) The runner's 20 Hz sampling of the summed RSS of the cell's
  whole process tree during the stage, which covers provers that run other programs (node,
  rust binaries); it can miss spikes shorter than 50 ms.
- ``peak_gpu_bytes``: the peak of PyTorch's CUDA caching allocator during the stage when torch
  has initialised CUDA in this process, else empty.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")


@dataclass(frozen=True)
class Measurement:
    wall_s: float
    cpu_s: float
    peak_rss_bytes: int
    peak_gpu_bytes: int | None
    peak_rss_exact: bool


def reset_peak_rss() -> bool:
    """Reset this process's RSS high-water mark; False where the kernel does not allow it."""
    try:
        _CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


def peak_rss_bytes() -> int:
    """This process's RSS high-water mark (VmHWM) in bytes."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def tree_rss_bytes(pid: int) -> int:
    """Summed RSS of a process and all its descendants, 0 once it is gone."""
    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
    return total


def _cpu_now() -> float:
    t = os.times()
    return time.process_time() + t.children_user + t.children_system


def _gpu_reset() -> bool:
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return False
    torch.cuda.reset_peak_memory_stats()
    return True


def _gpu_peak() -> int | None:
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return None
    return int(torch.cuda.max_memory_allocated())


def measure(fn: Callable[[], Any]) -> tuple[Any, Measurement]:
    """Run ``fn`` once and return its result with the stage's measurement."""
    exact = reset_peak_rss()
    _gpu_reset()
    cpu0 = _cpu_now()
    t0 = time.perf_counter()
    result = fn()
    wall = time.perf_counter() - t0
    cpu = _cpu_now() - cpu0
    return result, Measurement(wall, cpu, peak_rss_bytes(), _gpu_peak(), exact)

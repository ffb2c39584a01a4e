"""What a bench ran on, for its first line: the CPU's model and the load average; and `best_of`, the
best time of repeated runs.

Imported by the bench scripts (run as `python bench/….py`, which puts bench/ on the path).
"""

from __future__ import annotations

import platform
import time

__all__ = ["best_of", "cpu", "load_average"]


def cpu() -> str:
    """The CPU's model name (/proc/cpuinfo), else what `platform` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (/proc/loadavg), else `unknown`."""
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def best_of(fn, repeat: int):
    """The shortest wall time of `repeat` calls of `fn` (seconds), and the last call's result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out

"""What a bench ran on, for its first line: the CPU's model and the load average.

Imported by the bench scripts (run as `python bench/….py`, which puts bench/ on the path).
"""

from __future__ import annotations

import platform

__all__ = ["cpu", "load_average"]


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

"""The test suite's time: wall and CPU seconds of one `pytest` run, the whole suite or its quick subset.

Run: python bench/bench_tests.py [--quick] [-n N] [--durations K] [PYTEST_ARGS …]

It runs `python -m pytest` (the README's command, pytest-xdist's `-n` processes, 2 unless told)
with `-m "not slow"` under --quick, and prints the wall time, the CPU seconds of pytest and every
process it waited for (user + system, its workers and the `python -m dagc` they spawn), the load
average before and after, and the wall time those CPU seconds make on N idle cores (CPU / N), the
figure to compare on a machine others share. pytest's own output (its `--durations` list) is
printed first.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

from machine import cpu, load_average

ROOT = Path(__file__).resolve().parent.parent


def children_cpu_s() -> float:
    """User + system CPU seconds of the processes this one has waited for (and theirs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help='the quick subset, -m "not slow"')
    ap.add_argument("-n", dest="processes", default="2", help="pytest-xdist processes (default 2; 0 for one)")
    ap.add_argument("--durations", type=int, default=20, help="the K slowest tests pytest lists (default 20)")
    args, rest = ap.parse_known_args()
    argv = [sys.executable, "-m", "pytest", "-n", args.processes, f"--durations={args.durations}", *rest]
    if args.quick:
        argv += ["-m", "not slow"]
    before_load, before_cpu, t0 = load_average(), children_cpu_s(), time.perf_counter()
    code = subprocess.run(argv, cwd=ROOT, check=False).returncode
    wall, used = time.perf_counter() - t0, children_cpu_s() - before_cpu
    cores = max(1, int(args.processes)) if args.processes.isdigit() else 2
    label = "quick subset" if args.quick else "these tests" if rest else "whole suite"
    print(f"\n{label}: {' '.join(argv[1:])}")
    print(f"machine: {cpu()}; load average {before_load} before, {load_average()} after")
    print(f"wall {wall:.1f} s; CPU {used:.1f} s (user + system, every process); "
          f"{used / cores:.1f} s of wall on {cores} idle core{'s' if cores > 1 else ''}; pytest exited {code}")
    return code


if __name__ == "__main__":
    sys.exit(main())

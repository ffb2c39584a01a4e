"""The test suite's time: wall and CPU seconds of one `pytest` run, the whole suite or its quick subset.

Run: python bench/bench_tests.py [--quick] [-n N] [--durations K] [--cpu-durations K] [--write-costs] [PYTEST_ARGS …]

It runs `python -m pytest` (the README's command, pytest-xdist's `-n` processes, 2 unless told)
with `-m "not slow"` under --quick, and prints the wall time, the CPU seconds of pytest and every
process it waited for (user + system, its workers and the `python -m dagc` they spawn), the load
average before and after, and the wall time those CPU seconds make on N idle cores (CPU / N), the
figure to compare on a machine others share. pytest's own output (its `--durations` list) is
printed first.

--cpu-durations K lists the K tests that took the most CPU seconds (tests/cpu_times.py: user + system of the
test's process and what it spawned, its setup, call and teardown), the list to read on a machine others share,
where `--durations`' wall times are CPU seconds stretched by the load.

--write-costs (a whole run) rewrites tests/file_costs.txt: each file's CPU seconds, its tests' CPU seconds
(`--cpu-durations=0`) summed and scaled to the run's CPU seconds, which tests/conftest.py reads to start the most
expensive groups of tests first.
"""

from __future__ import annotations

import argparse
import collections
import re
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


DURATION = re.compile(r"^ *([0-9.]+) cpu ([^:\s]+)::")          # tests/cpu_times.py's lines
COSTS_HEADER = """\
# CPU seconds of each file's tests in a whole run (their --cpu-durations=0, scaled to the run's CPU
# seconds), most first: tests/conftest.py starts the most expensive groups of tests first.
# Written by `python bench/bench_tests.py --write-costs` ({machine}; load average {load}).
"""


def write_costs(output: str, cpu_s: float, machine: str) -> Path:
    """tests/file_costs.txt from pytest's `--cpu-durations=0` output and the run's CPU seconds."""
    by_file: collections.Counter[str] = collections.Counter()
    for line in output.splitlines():
        if m := DURATION.match(line):
            by_file[m.group(2)] += float(m.group(1))
    scale = cpu_s / max(sum(by_file.values()), 1e-9)
    path = ROOT / "tests" / "file_costs.txt"
    path.write_text(COSTS_HEADER.format(machine=machine, load=load_average())
                    + "".join(f"{s * scale:7.1f} {f}\n" for f, s in by_file.most_common()))
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help='the quick subset, -m "not slow"')
    ap.add_argument("-n", dest="processes", default="2", help="pytest-xdist processes (default 2; 0 for one)")
    ap.add_argument("--durations", type=int, default=20, help="the K slowest tests pytest lists (default 20)")
    ap.add_argument("--cpu-durations", type=int, default=None,
                    help="the K tests that took the most CPU seconds (tests/cpu_times.py; 0 for all)")
    ap.add_argument("--write-costs", action="store_true",
                    help="rewrite tests/file_costs.txt from this run's --cpu-durations=0 (a whole run)")
    args, rest = ap.parse_known_args()
    cpu_durations = 0 if args.write_costs else args.cpu_durations
    argv = [sys.executable, "-m", "pytest", "-n", args.processes, f"--durations={args.durations}",
            *([] if cpu_durations is None else [f"--cpu-durations={cpu_durations}"]), *rest]
    if args.quick:
        argv += ["-m", "not slow"]
    before_load, before_cpu, t0 = load_average(), children_cpu_s(), time.perf_counter()
    if args.write_costs:
        run = subprocess.run(argv, cwd=ROOT, check=False, stdout=subprocess.PIPE, text=True)
        print(run.stdout, end="")
        code = run.returncode
    else:
        code = subprocess.run(argv, cwd=ROOT, check=False).returncode
    wall, used = time.perf_counter() - t0, children_cpu_s() - before_cpu
    cores = max(1, int(args.processes)) if args.processes.isdigit() else 2
    label = "quick subset" if args.quick else "these tests" if rest else "whole suite"
    print(f"\n{label}: {' '.join(argv[1:])}")
    print(f"machine: {cpu()}; load average {before_load} before, {load_average()} after")
    print(f"wall {wall:.1f} s; CPU {used:.1f} s (user + system, every process); "
          f"{used / cores:.1f} s of wall on {cores} idle core{'s' if cores > 1 else ''}; pytest exited {code}")
    if args.write_costs:
        print(f"wrote {write_costs(run.stdout, used, cpu()).relative_to(ROOT)}")
    return code


if __name__ == "__main__":
    sys.exit(main())

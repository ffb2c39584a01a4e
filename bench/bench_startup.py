"""Start-up time of the `dagc` command: wall time of a fresh `python -m dagc …` process, the median
of N runs, for the commands that should answer at once (`--version`, `--help`, `explain`,
`presets`) and for `check` of a small plan (where the real work should dominate).

Run: python bench/bench_startup.py [--repeat N]

Each run is a new interpreter, as a user's shell would start it; the figures include Python's
own start (printed first, `python -c pass`, as the floor). For each command it also prints which
of the heavy libraries (numpy, networkx, pydantic, lark, rich) the command loaded.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SMALL = "examples/qwen3-30b-a3b-4gpu.moe"
HEAVY = ("numpy", "networkx", "pydantic", "lark", "rich")

COMMANDS: list[tuple[str, list[str]]] = [
    ("python -c pass", ["-c", "pass"]),
    ("dagc --version", ["-m", "dagc", "--version"]),
    ("dagc --help", ["-m", "dagc", "--help"]),
    ("dagc explain E202", ["-m", "dagc", "explain", "E202"]),
    ("dagc presets", ["-m", "dagc", "presets"]),
    (f"dagc check {SMALL} --no-search", ["-m", "dagc", "check", SMALL, "--no-search"]),
    (f"dagc check {SMALL}", ["-m", "dagc", "check", SMALL]),
]

# The same command in-process, reporting the heavy libraries it left in sys.modules.
_PROBE = ("import sys, contextlib, io\n"
          "from dagc.cli.main import main\n"
          "with contextlib.redirect_stdout(io.StringIO()):\n"
          "    try:\n        main(sys.argv[1:])\n    except SystemExit:\n        pass\n"
          f"print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})) or '—')\n")


def wall_s(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=False)
    return time.perf_counter() - start


def loaded(args: list[str]) -> str:
    if args[:2] != ["-m", "dagc"]:
        return ""
    done = subprocess.run([sys.executable, "-c", _PROBE, *args[2:]], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7, help="runs per command (the median is printed)")
    args = ap.parse_args()
    print(f"# {platform.python_implementation()} {platform.python_version()} on {platform.machine()}, "
          f"{args.repeat} runs each, median wall time")
    print(f"{'command':<52} {'median':>8} {'min':>8}  heavy libraries loaded")
    for name, argv in COMMANDS:
        times = [wall_s(argv) for _ in range(args.repeat)]
        print(f"{name:<52} {statistics.median(times) * 1e3:>6.0f} ms {min(times) * 1e3:>5.0f} ms  {loaded(argv)}",
              flush=True)


if __name__ == "__main__":
    main()

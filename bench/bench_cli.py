"""Wall time of `dagc check PLAN` as a user runs it — a new process, its imports, the check and the
search for its optimal verdict — static and in flight, on the ladder of plans and every example.

Run: python bench/bench_cli.py [--repeat N]

Each plan is written twice into a temporary directory: as `serving = static` and as `serving =
inflight` (any `serving` or `chunk` it sets removed first), and each is checked `--repeat` times in a
new process; the best time of each and their ratio are printed (target: in flight at most 1.5×).
"""

from __future__ import annotations

import argparse
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from bench_check import LADDER, plan_text  # noqa: E402


def served(text: str, serving: str) -> str:
    """`text` with its workload served so, and the default chunk."""
    text = re.sub(r"\b(serving|chunk)\s*=\s*\w+", "", text)
    return text.replace("workload {", f"workload {{ serving = {serving} ", 1)


def best_of(path: Path, repeat: int) -> float:
    """The best wall time of `dagc check path` in a new process (its exit code is the verdict's)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "dagc", "check", str(path)], cwd=path.parent,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"machine: {platform.machine()} · Python {platform.python_version()} · best of {args.repeat}")
    print(f"{'plan':36} {'static s':>9} {'inflight s':>11} {'ratio':>7}")
    plans = [(name, plan_text(model, gpus, gpu, mb, strategy))
             for name, model, gpus, gpu, mb, strategy in LADDER]
    plans += [(p.stem, p.read_text()) for p in sorted((ROOT / "examples").glob("*.moe"))]
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in plans:
            times = []
            for serving in ("static", "inflight"):
                path = Path(tmp) / f"{serving}.moe"
                path.write_text(served(text, serving))
                times.append(best_of(path, args.repeat))
            print(f"{name:36} {times[0]:9.2f} {times[1]:11.2f} {times[1] / times[0]:6.2f}x")


if __name__ == "__main__":
    main()

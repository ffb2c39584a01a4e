"""Candidates per second of `dagc search` on every example plan (one process, then --jobs 2).

Run: python bench/bench_search.py
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

from dagc.load import load_plan
from dagc.search import search

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    print(f"machine: {platform.machine()} · {os.cpu_count()} cores · Python {platform.python_version()}")
    print(f"{'plan':40} {'evaluated':>9} {'legal':>7} {'s (1 job)':>10} {'cand/s':>8} {'s (2 jobs)':>10} "
          f"{'cand/s':>8}  best")
    for path in sorted((ROOT / "examples").glob("*.moe")):
        plan = load_plan(path)
        one = search(plan)
        two = search(plan, jobs=2)
        best = one.best
        print(f"{path.name:40} {one.evaluated:9d} {one.legal:7d} {one.seconds:10.2f} "
              f"{one.evaluated / one.seconds:8.0f} {two.seconds:10.2f} {two.evaluated / two.seconds:8.0f}  "
              f"{best.text} ({best.gpus} GPUs, {best.score:,.1f} tok/s/GPU)")


if __name__ == "__main__":
    main()

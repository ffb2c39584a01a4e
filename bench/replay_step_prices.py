"""The exact step prices a `dagc check` asks for, recorded once and made again in a fresh process: a change to how a
step is priced (`dagc.serve.step_prices`, `dagc.schedule.timer`, `dagc.cost`, `dagc.kernels`) timed on the prices
alone, and every one of them compared with the recorded float.

Run:
  python bench/replay_step_prices.py record PLAN OUT.pkl   (default PLAN: examples/qwen3-30b-a3b-traffic.moe)
  python bench/replay_step_prices.py replay OUT.pkl [--repeat N]

`record` checks PLAN in this process and keeps each `StepPrices.step` the surrogate asked for (the outermost calls:
an extrapolation's whole and half prompt are made inside them), in order, with its float and the `StepPrices` it was
asked of (a strategy's own, or its `every_rank` prices). `replay` makes those `StepPrices` afresh — in a fresh
process, its timers and op tables empty, as a check's are — asks for every step in the same order, and prints the
CPU seconds (`time.process_time`, best of `--repeat` processes) and how many floats differ from the recorded ones
(0: the change is mechanical). Record with the code before a change, replay with both: the check's runs, its
capacity and its search are not in the replay, and neither is the noise of the shared machine's other work over a
whole check (docs/load.md, "The exact step prices: what making many at once would spare").
"""

from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from dagc.lang.load import load_plan
from dagc.serve import step_prices
from dagc.verdict.check import check

ROOT = Path(__file__).resolve().parents[1]

# how each `StepPrices` asked of is made again: ("root", plan, strategy, layout) or ("every", its parent's index)
Made = tuple[Any, ...]
# one step asked for: the prices' index, requests, prompt tokens, prefix (None: the workload's) and its float
Asked = tuple[int, int, int, int | None, float]


def record(plan_path: Path, out: Path) -> None:
    """Check the plan and write the steps asked for (module docstring) to `out`."""
    prices = step_prices.StepPrices
    made: list[Made] = []
    index: dict[int, int] = {}
    kept: list[step_prices.StepPrices] = []          # alive, so that no id is used again
    asked: list[Asked] = []
    inside = [0]
    step, every_rank = prices.step, prices.every_rank

    def number(p: step_prices.StepPrices) -> int:
        if id(p) not in index:
            index[id(p)] = len(made)
            made.append(("root", p.plan, p.strategy, p.lay))
            kept.append(p)
        return index[id(p)]

    def every(self: step_prices.StepPrices) -> step_prices.StepPrices:
        new = self._every is None
        out = every_rank(self)
        if new:
            parent = number(self)
            index[id(out)] = len(made)
            made.append(("every", parent))
            kept.append(out)
        return out

    def recorded(self: step_prices.StepPrices, n: int, p: int, ell: int | None = None) -> float:
        if inside[0]:
            return step(self, n, p, ell)
        inside[0] += 1
        try:
            value = step(self, n, p, ell)
        finally:
            inside[0] -= 1
        asked.append((number(self), n, p, ell, value))
        return value

    prices.step = recorded                                # type: ignore[method-assign]
    prices.every_rank = every                             # type: ignore[method-assign]
    start = time.process_time()
    check(load_plan(plan_path))
    seconds = time.process_time() - start
    out.write_bytes(pickle.dumps((made, asked)))
    print(f"{plan_path.name}: check {seconds:.2f} CPU s; {len(asked):,} steps asked of {len(made)} StepPrices "
          f"recorded in {out}")


def replay(path: Path) -> tuple[float, int, int]:
    """Make the recorded steps again in this process: (CPU seconds, steps, floats that differ)."""
    made, asked = pickle.loads(path.read_bytes())
    prices: list[step_prices.StepPrices] = []
    for how in made:
        prices.append(step_prices.StepPrices(*how[1:]) if how[0] == "root" else prices[how[1]].every_rank())
    start = time.process_time()
    differ = sum(1 for i, n, p, ell, value in asked if prices[i].step(n, p, ell) != value)
    return time.process_time() - start, len(asked), differ


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("plan", nargs="?", type=Path, default=ROOT / "examples" / "qwen3-30b-a3b-traffic.moe")
    rec.add_argument("out", type=Path)
    rep = sub.add_parser("replay")
    rep.add_argument("recorded", type=Path)
    rep.add_argument("--repeat", type=int, default=1)
    rep.add_argument("--once", action="store_true", help=argparse.SUPPRESS)     # one replay, in this process
    args = ap.parse_args()
    if args.command == "record":
        record(args.plan, args.out)
        return
    if args.once:
        seconds, steps, differ = replay(args.recorded)
        print(f"{seconds!r} {steps} {differ}")
        return
    best, steps, differ = float("inf"), 0, 0
    for _ in range(args.repeat):          # a fresh process each: nothing a replay made is found made
        done = subprocess.run([sys.executable, __file__, "replay", str(args.recorded), "--once"], check=True,
                              capture_output=True, text=True)
        seconds, count, wrong = done.stdout.split()
        best, steps, differ = min(best, float(seconds)), int(count), int(wrong)
    print(f"{args.recorded.name}: {steps:,} steps made again in {best:.3f} CPU s (best of {args.repeat}); "
          f"{differ} differ from the recorded floats")


if __name__ == "__main__":
    main()

"""The strategy search on the ladder of plans and on every example: candidates, pruned, per second,
and the time of a `check` with its complete optimal verdict (one process).

Run: python bench/bench_search.py [--examples] [--jobs N] [--vary-batch] [--plan FILE ...]
     [--serving static|inflight|both]

With `--serving static` or `inflight` every plan is served so (`serving = …`; by default as
each plan says); with `both` each plan is searched both ways and the in-flight search's time over
the static one's printed (target: at most 2×).

With `--vary-batch` every plan's batch is varied, as `dagc search --vary batch` does (each candidate
at the largest batch it serves: `dagc.verdict.batch_max`); `--plan` measures those plans instead of the
ladder.

Columns: `space` candidates in the documented space; `pruned` those branch and bound showed
cannot enter the best 10 or the Pareto front (`dagc.search.bound`); `past` the rest: those whose
weights, KV cache and reserve alone, or with the prefill working set of their attention or routed
experts, overflow a GPU (set aside: the check rejects them with E402)
and those evaluated in full (memory, rules, the schedule's figures); `cand/s` the space over the search's seconds;
`check s` a `dagc.verdict.check.check` with the search for its optimal verdict, as `dagc check` runs it (the
best 5 re-scored, no Pareto front: `search(…, top=5, front=False)`). Each measurement starts with
dagc's memoised functions forgotten, as a new process would, and with the garbage collector's
threshold the `dagc` command sets (`dagc.cli.main.GC_THRESHOLD`).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time
from pathlib import Path

from dagc.cli.main import GC_THRESHOLD
from dagc.drive.drive import CHECK_RESCORED
from dagc.lang.load import load_plan, load_plan_text
from dagc.plan.workload import Serving
from dagc.search.search import search
from dagc.verdict.batch_max import BATCH_LIMIT
from dagc.verdict.check import check

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from bench_check import LADDER, plan_text  # noqa: E402


def cold() -> None:
    """Forget what dagc's modules remember between calls (routing statistics, kernel look-ups, node
    crossings), so each measurement starts as a new `dagc` process does."""
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("dagc"):
            for value in list(vars(module).values()):
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()


def row(name: str, plan, jobs: int, vary_batch: bool = False, serving: str = "as-written") -> float:
    """Print one plan's row; returns the search's seconds."""
    if serving != "as-written":
        plan = plan.model_copy(update={"workload": plan.workload.model_copy(update={"serving": Serving(serving)})})
        name += " inflight" if serving == "inflight" else ""
    if vary_batch and not plan.workload.batch_max:
        plan = plan.model_copy(update={"workload": plan.workload.model_copy(
            update={"batch": BATCH_LIMIT, "batch_max": True})})
    cold()
    t0 = time.perf_counter()
    found = search(plan, jobs=jobs)
    t1 = time.perf_counter()
    cold()
    t1 = time.perf_counter()
    check(plan, optimality=search(plan, jobs=jobs, top=CHECK_RESCORED, front=False))
    t2 = time.perf_counter()
    best = found.best
    full = found.evaluated - found.pruned
    print(f"{name:34} {found.total:7,d} {found.pruned:7,d} {full:6,d} {t1 - t0:8.2f} "
          f"{found.total / (t1 - t0):8,.0f} {t2 - t1:8.2f}  "
          + (f"{best.text} ({best.gpus} GPUs, {best.score:,.1f} tok/s/GPU"
             + (f", batch {best.batch:,d})" if best.batch is not None else ")") if best else "no legal strategy"))
    return t1 - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", action="store_true", help="also every plan in examples/")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--vary-batch", action="store_true", help="each candidate at the largest batch it serves")
    ap.add_argument("--plan", type=Path, nargs="*", default=[], help="these plans instead of the ladder")
    ap.add_argument("--serving", choices=("as-written", "static", "inflight", "both"), default="as-written")
    args = ap.parse_args()
    modes = ("static", "inflight") if args.serving == "both" else (args.serving,)
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])       # as the `dagc` command runs
    print(f"machine: {platform.machine()} · {os.cpu_count()} cores · Python {platform.python_version()} · "
          f"jobs {args.jobs}")
    print(f"{'plan':34} {'space':>7} {'pruned':>7} {'past':>6} {'search s':>8} {'cand/s':>8} {'check s':>8}  best")
    plans = ([(path.name, load_plan(path)) for path in args.plan] if args.plan else
             [(name, load_plan_text(plan_text(model, gpus, gpu, mb, strategy)))
              for name, model, gpus, gpu, mb, strategy in LADDER])
    if args.examples:
        plans += [(path.name, load_plan(path)) for path in sorted((ROOT / "examples").glob("*.moe"))]
    for name, plan in plans:
        seconds = [row(name, plan, args.jobs, args.vary_batch, serving) for serving in modes]
        if len(seconds) == 2:
            print(f"{'':34} search in flight / static: {seconds[1] / seconds[0]:.2f}x (target ≤ 2x)")


if __name__ == "__main__":
    main()

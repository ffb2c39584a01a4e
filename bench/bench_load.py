"""Requests simulated per second of wall by the load simulation (`dagc.serve.load`), on one core.

Run: python bench/bench_load.py [--requests N] [--rate R] [--strategy S]

The workload: Qwen3-30B-A3B on 8 H200, 4,000 prompt and 500 output tokens a request, served in flight
at 64 requests in flight with a chunk of 8,192 tokens; 10,000 requests arriving at `--rate` (Poisson,
seed 0), and the same as a closed loop of 64 clients. Printed: the wall time of the simulation alone
(the plan checked before the clock starts; the step prices, from the cost model, inside it, first
priced and then cached) and requests per second of wall; the target is at least 10,000.
"""

from __future__ import annotations

import argparse
import platform
import time

from dagc.lang.load import load_plan_text
from dagc.serve.load import load_json, simulate
from dagc.serve.step_prices import StepPrices
from dagc.verdict.check import check

PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 8  gpu preset "h200" }}
workload {{
  batch = 64  prompt = 4000  generate = 500  serving = inflight  chunk = 8192
  {traffic}
}}
strategy {strategy}
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=10_000)
    ap.add_argument("--rate", type=float, default=4.0, help="open loop's requests/s (default 4)")
    ap.add_argument("--strategy", action="append", help="strategies (default: tp 8, dp 8, tp 1 ; ep 8)")
    args = ap.parse_args()
    print(f"{_cpu()}, Python {platform.python_version()}; pin it to one core: taskset -c 0 python …")
    for strategy in args.strategy or ["tp 8", "dp 8", "tp 1 ; ep 8"]:
        for traffic in (f"rate = {args.rate:g} requests/s  requests = {args.requests}",
                        f"concurrency = 64  requests = {args.requests}"):
            plan = load_plan_text(PLAN.format(traffic=traffic, strategy=strategy))
            r = check(plan)[0]
            assert r.strategy is not None and r.layout is not None, r.diagnostics
            start = time.perf_counter()
            load = simulate(plan, r.strategy, r.layout, StepPrices(plan, r.strategy, r.layout))
            wall = time.perf_counter() - start
            out = load_json(plan, load)
            assert out is not None
            warm = _warm(plan, r)
            again = time.perf_counter()
            simulate(plan, r.strategy, r.layout, warm)
            cached = time.perf_counter() - again
            print(f"{strategy:>12} · {traffic:<40} {wall:6.3f} s  {args.requests / wall:>9,.0f} requests/s "
                  f"(step prices cached: {args.requests / cached:>9,.0f}/s) · p99 TTFT {out['ttft_s']['p99']:.3g} s"
                  f" · {out['served_requests_per_s']:.3g} requests/s served"
                  + (" · overloaded" if out["overloaded"] else ""))


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


_PRICES: dict = {}


def _warm(plan, r) -> StepPrices:
    """Step prices already priced for this plan and strategy (the second run of each)."""
    key = (r.decl.text, plan.workload.traffic)
    if key not in _PRICES:
        prices = StepPrices(plan, r.strategy, r.layout)
        simulate(plan, r.strategy, r.layout, prices)
        _PRICES[key] = prices
    return _PRICES[key]


if __name__ == "__main__":
    main()

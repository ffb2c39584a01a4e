"""Requests simulated per second of wall by the load simulation (`dagc.serve.load`), on one core.

Run: taskset -c 0 python bench/bench_load.py [--requests N] [--rate R] [--strategy S] [--closed-only|--open-only]
     [--extra "lengths = lognormal  prefix = 1500 tokens"]

The workload: Qwen3-30B-A3B on 8 H200, 4,000 prompt and 500 output tokens a request, served in flight
at 64 requests in flight with a chunk of 8,192 tokens; `--requests` (10,000) requests arriving at
`--rate` (Poisson, seed 0), and the same as a closed loop of 64 clients. Printed, per strategy and
traffic: the wall time of the simulation alone (the plan checked before the clock starts; the step
prices, exact evaluations of the cost model for the surrogate's grid points, inside it) and requests
per second of wall, then the same per CPU second of the process (user + system: what a core shared with
other work still measures), then the same run again with the prices already made; the exact
evaluations; the process's peak resident memory at the end. Targets: at least 15,000 requests/s on
every strategy; 1,000,000 (`--requests 1000000`) in at most 120 s under 1 GB.
"""

from __future__ import annotations

import argparse
import platform
import resource
import time

from machine import cpu, load_average

from dagc.export.result_json import load_figures_json
from dagc.lang.load import load_plan_text
from dagc.serve.load import simulate
from dagc.serve.load_figures import load_figures
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
    ap.add_argument("--open-only", action="store_true")
    ap.add_argument("--closed-only", action="store_true")
    ap.add_argument("--no-warm", action="store_true", help="skip the second run with the prices made")
    ap.add_argument("--extra", default="", help='more traffic fields, e.g. "lengths = lognormal  prefix = 1500 tokens"')
    args = ap.parse_args()
    print(f"{cpu()}, Python {platform.python_version()}; load average {load_average()}; pin it to one core: "
          "taskset -c 0 python …")
    traffics = []
    if not args.closed_only:
        traffics.append(f"rate = {args.rate:g} requests/s  requests = {args.requests}  {args.extra}".rstrip())
    if not args.open_only:
        traffics.append(f"concurrency = 64  requests = {args.requests}  {args.extra}".rstrip())
    for strategy in args.strategy or ["tp 8", "dp 8", "tp 1 ; ep 8"]:
        for traffic in traffics:
            plan = load_plan_text(PLAN.format(traffic=traffic, strategy=strategy))
            r = check(plan)[0]
            assert r.strategy is not None and r.layout is not None, r.diagnostics
            prices = StepPrices(plan, r.strategy, r.layout)
            start, cpu_start = time.perf_counter(), time.process_time()
            load = simulate(plan, r.strategy, r.layout, prices)
            wall, cpu_s = time.perf_counter() - start, time.process_time() - cpu_start
            out = load_figures_json(load_figures(plan, load))
            assert out is not None
            line = (f"{strategy:>12} · {traffic:<42} {wall:7.3f} s {args.requests / wall:>9,.0f} requests/s "
                    f"· CPU {cpu_s:6.3f} s {args.requests / cpu_s:>9,.0f}/s ({prices.exact_evaluations} exact steps)")
            if not args.no_warm:
                again = time.perf_counter()
                simulate(plan, r.strategy, r.layout, prices)
                line += f" · prices made: {args.requests / (time.perf_counter() - again):>9,.0f}/s"
            print(line + f" · p99 TTFT {out['ttft_s']['p99']:.3g} s · {out['served_requests_per_s']:.3g} requests/s"
                  f" served · {out['preemptions']} preemptions" + (" · overloaded" if out["overloaded"] else ""),
                  flush=True)
    print(f"peak resident memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()

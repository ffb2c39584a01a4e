"""Requests simulated per second of wall by the disaggregated load simulation (`dagc.serve.load_pools`).

Run: taskset -c 0 python bench/bench_load_pools.py [--requests N] [--rate R] [--concurrency C] [--repeat K]

The plan: examples/deepseek-v3-disaggregated.moe — DeepSeek-V3 on 64 H200, three `tp 8` prefill
instances and one 32-GPU decode instance, 4,000 prompt and 500 output tokens a request. Its traffic:
`--requests` (10,000) requests arriving at `--rate` (Poisson, seed 0; default 8 requests/s, below the
binding pool's capacity) and at twice the binding pool's capacity (overloaded), and a closed loop of
`--concurrency` clients (256). Printed per traffic: the wall time of `simulate_pools` (the pools checked
before the clock starts; the step prices, priced by the cost model as the run needs them, inside it),
the best and the median of `--repeat` runs, each pricing every step it needs afresh, and requests per
second of wall at the best; then the same run again with the prices made (`PoolPrices` kept, as a
capacity's runs keep them), its best; the machine's load average. Target: 10,000
requests in at most 2 s on one core.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

from machine import cpu, load_average

from dagc.export.result_json import load_figures_json
from dagc.lang.flatten import flatten
from dagc.lang.load import load_plan_text
from dagc.serve.load_figures import load_figures
from dagc.serve.load_pools import PoolPrices, simulate_pools
from dagc.verdict.pools import check_pools

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "deepseek-v3-disaggregated.moe"


def _pooled(traffic: str):
    plan = load_plan_text(EXAMPLE.read_text().replace("serving = inflight", "serving = inflight\n  " + traffic))
    strategy, diags = flatten(next(d for d in plan.strategies if d.name == "pd"))
    assert strategy is not None, diags
    pooled = check_pools(plan, strategy)
    assert pooled.figures is not None, pooled.diagnostics
    return pooled


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=10_000)
    ap.add_argument("--rate", type=float, default=8.0, help="the open loop's requests/s (default 8)")
    ap.add_argument("--concurrency", type=int, default=256, help="the closed loop's clients (default 256)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per traffic (default 3)")
    args = ap.parse_args()
    print(f"{cpu()}, Python {platform.python_version()}; load average before {load_average()}; pin it to one core: "
          "taskset -c 0 python …")
    capacity = _pooled("").figures.served_requests_per_s
    n = args.requests
    traffics = [f"rate = {args.rate:g} requests/s  requests = {n}",
                f"rate = {2 * capacity:.3g} requests/s  requests = {n}",
                f"concurrency = {args.concurrency}  requests = {n}"]
    for traffic in traffics:
        pooled = _pooled(traffic)
        walls, made = [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            prices = PoolPrices(pooled)
            load = simulate_pools(pooled.plan, pooled, prices=prices)
            walls.append(time.perf_counter() - start)
            start = time.perf_counter()
            simulate_pools(pooled.plan, pooled, prices=prices)
            made.append(time.perf_counter() - start)
        out = load_figures_json(load_figures(pooled.plan, load))
        assert out is not None
        best = min(walls)
        print(f"{traffic:<44} best {best:6.3f} s, median {statistics.median(walls):6.3f} s "
              f"{n / best:>7,.0f} requests/s · prices made: {n / min(made):>7,.0f}/s · "
              f"p50 TTFT {out['ttft_s']['p50']:.3g} s · "
              f"{out['served_requests_per_s']:.3g} requests/s served" + (" · overloaded" if out["overloaded"] else ""),
              flush=True)
    print(f"load average after {load_average()}")


if __name__ == "__main__":
    main()

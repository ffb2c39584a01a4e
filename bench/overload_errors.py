"""How often `load.overloaded` errs just below and just above a deployment's capacity (docs/load.md, "Overloaded").

Usage:
    python bench/overload_errors.py                     # the three plans of docs/load.md, 20 seeds, 2,000 requests
    python bench/overload_errors.py --plans q235 --seeds 10

For each plan, λ* — the highest rate a long run keeps up with — is bisected (to 0.5 %) on two runs of 16,000
requests (seeds 100, 101) whose queue grows by more than 2 % of their second half's arrivals
(`Load.queue_growth`). Then runs of `--requests` requests (seeds 0 … `--seeds` − 1, poisson) at 0.8 … 1.2 × λ*
are simulated, and each row counts those the test calls overloaded at 2, 2.5 (`QUEUE_Z`) and 3 √n, and those the
test before it did (fewer than 97 % of the middle half's arrivals ending one early lifetime later). Below λ* a
count is a false alarm, above it a catch. About five minutes on one core.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dagc.export.result_json import load_json  # noqa: E402
from dagc.lang.load import load_plan_text  # noqa: E402
from dagc.serve.load import simulate  # noqa: E402
from dagc.serve.step_prices import StepPrices  # noqa: E402
from dagc.verdict.check import check  # noqa: E402

PLANS = {
    "q30": ('model preset "qwen3-30b-a3b" cluster { gpus = 8 gpu preset "h200" engine = vllm@0.33.0 } workload { '
            'batch = 32 prompt = 1000 generate = 200 serving = inflight rate = 10 requests/s requests = 50 } '
            'strategy dp 2 < tp 4 >'),
    "q235": ('model preset "qwen3-235b-a22b" cluster { gpus = 16 gpu preset "h200" engine = vllm@0.33.0 } workload { '
             'batch = 336 prompt = 2000 generate = 500 serving = inflight rate = 10 requests/s requests = 50 } '
             'strategy tp 8 ; ep 16'),
    "q30static": ('model preset "qwen3-30b-a3b" cluster { gpus = 8 gpu preset "h200" engine = vllm@0.33.0 } workload { '
                  'batch = 32 prompt = 1000 generate = 200 serving = static rate = 10 requests/s requests = 50 } '
                  'strategy tp 8'),
}
FACTORS = (0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2)
ZS = (2.0, 2.5, 3.0)


def _at(plan, rate: float, requests: int, seed: int):
    traffic = plan.workload.traffic.at_rate(rate).model_copy(update={"requests": requests, "seed": seed})
    return plan.model_copy(update={"workload": plan.workload.model_copy(update={"traffic": traffic})})


def _old(load) -> bool:
    """The test before `QUEUE_Z`: of the middle half's arrivals, fewer than 97 % end one early lifetime later."""
    n = len(load.arrival)
    q = n // 4
    lo, hi = float(load.arrival[q]), float(load.arrival[3 * q])
    lag = float(np.median(load.e2e_server[:q]))
    ended = int(np.count_nonzero((load.finish >= lo + lag) & (load.finish < hi + lag)))
    return ended < 0.97 * (2 * q)


def measure(name: str, seeds: int, requests: int) -> None:
    (r,) = check(load_plan_text(PLANS[name]))
    prices = StepPrices(r.plan, r.strategy, r.layout)

    def run(rate: float, n: int, seed: int):
        return simulate(_at(r.plan, rate, n, seed), r.strategy, r.layout, prices)

    def grows(rate: float) -> bool:
        g = [run(rate, 16_000, s).queue_growth for s in (100, 101)]
        return sum(x.grown for x in g) > 0.02 * sum(x.arrived for x in g)

    c0 = load_json(r.load)["capacity_requests_per_s"]
    lo, hi = 0.5 * c0, 2.0 * c0
    while hi - lo > 0.005 * hi:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if grows(mid) else (mid, hi)
    print(f"{name}: λ* {lo:.4g} requests/s, capacity {c0:.4g} requests/s", flush=True)
    for f in FACTORS:
        old, new = 0, dict.fromkeys(ZS, 0)
        for seed in range(seeds):
            load = run(f * lo, requests, seed)
            g = load.queue_growth
            old += _old(load)
            for z in ZS:
                new[z] += g.grown > z * math.sqrt(g.arrived) + g.static
        print(f"  {f:.2f} × λ*: " + " · ".join(f"{z:g} √n {new[z]}/{seeds}" for z in ZS) + f" · old {old}/{seeds}",
              flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--plans", nargs="+", default=list(PLANS), choices=list(PLANS))
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--requests", type=int, default=2000)
    args = ap.parse_args(argv)
    for name in args.plans:
        measure(name, args.seeds, args.requests)


if __name__ == "__main__":
    main()

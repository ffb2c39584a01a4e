"""Seconds to find a strategy's capacity: the bisection over seeded runs that `dagc check` does for a plan
with traffic (`dagc.verdict.under_load.capacity`), per strategy of every in-flight example.

Each example gets `rate = R requests/s` (R: half its first strategy's steady-state request rate) and the
requirements `ttft_p99 <= T` and `tpot_p90 <= P` (T and P: twice its steady state's TTFT and TPOT), then
each strategy is checked once, timed: the run of the traffic, then the capacity's runs. Prints the
capacity, the runs it took and the seconds, the check's own time apart. Run pinned to one core:

    taskset -c 0 python bench/bench_capacity.py
"""

from __future__ import annotations

import argparse
import platform
import re
import time
from pathlib import Path

from dagc.lang.load import load_plan_text
from dagc.serve.kv_blocks import kv_capacity_of
from dagc.serve.step_prices import StepPrices
from dagc.verdict import under_load as ul
from dagc.verdict.check import check
from dagc.verdict.steady import binding_steps

ROOT = Path(__file__).resolve().parents[1]


def _without_traffic(text: str) -> str:
    """The example without its traffic and load requirements, for the steady state that sizes the bench's."""
    text = re.sub(r'\n *requests from "[^"]*"', "", text)
    return re.sub(r"\n *(ttft|tpot|e2e|itl)_p\d+ [^\n]*|\n *goodput [^\n]*", "", text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=1000, help="requests of the plan's own run (default 1,000)")
    args = ap.parse_args()
    print(f"{platform.processor() or platform.machine()}, python {platform.python_version()}; capacity runs of "
          f"{ul.CAPACITY_REQUESTS:,} requests, at most {ul.CAPACITY_STEPS}")
    for path in sorted((ROOT / "examples").glob("*.moe")):
        base = _without_traffic(path.read_text())
        if "serving = inflight" not in base:
            continue
        steady = check(load_plan_text(base))
        first = next((r for r in steady if r.valid and r.metrics), None)
        if first is None:
            continue
        w = first.plan.workload
        rate = first.metrics.throughput_tokens_per_s / (w.prompt + w.generate) / 2
        ttft, tpot = first.metrics.ttft_s * 2, first.metrics.tpot_s * 2
        text = re.sub(r"^( *serving = inflight)", rf"\1\n  rate = {rate:.6g} requests/s  requests = {args.requests}",
                      base, count=1, flags=re.M)
        lines = f"ttft_p99 <= {ttft * 1e3:.6g} ms  tpot_p90 <= {tpot * 1e3:.6g} ms"
        text = re.sub(r"require \{", f"require {{\n  {lines}", text, count=1) if "require {" in text else \
            text.replace("\nstrategy", f"\nrequire {{ {lines} }}\nstrategy", 1)
        plan = load_plan_text(text)
        for r in check(plan.model_copy(update={"workload": plan.workload.model_copy(update={"traffic": None})})):
            if not r.valid or r.metrics is None:
                continue
            runs = 0

            def counted(p, progress, watch, _run=None):
                nonlocal runs
                runs += 1
                return _run(p, progress, watch)

            if r.pooled is not None:
                inner = ul.pools_run(r.pooled)
                the_plan = plan.model_copy(update={"workload": r.plan.workload.model_copy(
                    update={"traffic": plan.workload.traffic})})
            else:
                inner = ul.strategy_run(r.strategy, r.layout, StepPrices(r.plan, r.strategy, r.layout),
                                         kv_capacity_of(r.memory, r.layout, r.plan.workload))
                the_plan = r.plan.model_copy(update={"workload": r.plan.workload.model_copy(
                    update={"traffic": plan.workload.traffic})})
                the_plan = the_plan.model_copy(update={"requirements": plan.requirements})
            t0 = time.perf_counter()
            out = ul.under_load(the_plan, lambda p, progress, watch=False, _r=inner: counted(p, progress, watch, _r),
                               binding_steps(r.metrics))
            seconds = time.perf_counter() - t0
            cap = out.capacity_requests_per_s
            print(f"{path.stem:32s} {r.label[:40]:40s} capacity "
                  f"{'none' if cap is None else f'{cap:8.3f} requests/s'} · {runs - 1:2d} runs · {seconds:6.2f} s")


if __name__ == "__main__":
    main()

"""The capacity `dagc check` reports on every in-flight example is the documented bisection's, within its 1 %
tolerance (`dagc.verdict.under_load.capacity`; docs/language.md, "Capacity"): a plain bisection written
here — from the steady state's request rate, bracketed by doubling or halving, then halved down to
`CAPACITY_TOLERANCE` of its upper end, no rate above the steady state's ceiling holding, the plan's own run
standing for every trial on its side when it decides (`_run_stands_for`) — over the same seeded trial runs of
`CAPACITY_REQUESTS` requests. A faster capacity (fewer or cheaper trials) must land within 1 % of it.

Each example is given traffic as bench/bench_traffic.py gives it (its own when it has some, else half its
first strategy's steady-state request rate and p99 TTFT, p90 TPOT requirements at twice the steady state's),
its run shortened to 300 requests (the capacity's trials are 2,000 whatever the run's count).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from dagc.serve.kv_blocks import kv_capacity_of
from dagc.serve.load_figures import load_figures
from dagc.serve.load_result import CEILING_MARGIN
from dagc.serve.step_prices import StepPrices
from dagc.verdict.under_load import (
    CAPACITY_STEPS,
    CAPACITY_TOLERANCE,
    _holds,
    _run_stands_for,
    capacity_requests,
    pools_run,
    strategy_run,
)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from dagc.export.result_json import load_json  # noqa: E402
from conftest import checked_with_traffic  # noqa: E402

EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.moe") if "serving = inflight" in p.read_text())


def _reference(plan, run, steady: float, known: tuple[float, bool] | None) -> float | None:
    """The plain bisection (module docstring)."""
    traffic = plan.workload.traffic
    m = capacity_requests(traffic)
    runs = 0
    ceiling = steady * (1 + CEILING_MARGIN)      # the steady state's rate and the simulation's margin past it

    def ok(rate: float) -> bool:
        nonlocal runs
        if rate > ceiling:             # the most it serves: none above it holds
            return False
        if known is not None and (rate <= known[0] if known[1] else rate >= known[0]):
            return known[1]
        runs += 1
        trial = plan.model_copy(update={"workload": plan.workload.model_copy(
            update={"traffic": traffic.at_rate(rate).model_copy(update={"requests": m})})})
        out = load_figures(trial, run(trial, None))
        return out is not None and _holds(out)

    lo, hi = 0.0, steady
    if ok(hi):
        lo = hi
        while True:
            if runs >= CAPACITY_STEPS // 2:
                return lo
            hi = lo * 2
            if not ok(hi):
                break
            lo = hi
    else:
        while True:
            if runs >= CAPACITY_STEPS // 2:
                return None
            if ok(hi / 2):
                lo = hi / 2
                break
            hi /= 2
    while runs < CAPACITY_STEPS and hi - lo > CAPACITY_TOLERANCE * hi:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return max(lo, known[0]) if known is not None and known[1] else lo


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_capacity_is_the_plain_bisections_within_its_tolerance(path):
    judged = 0
    # `check(with_traffic(path))` (bench/record_capacities.py: the traffic each example is given, one place), the
    # checks tests/test_capacity_recorded.py reads too
    for r in checked_with_traffic(path.stem)[1]:
        if r.load is None or not load_json(r.load).get("capacity_judged"):
            continue
        load = load_json(r.load)
        w = r.plan.workload
        steady = r.metrics.throughput_tokens_per_s / (w.prompt + w.generate)
        run = pools_run(r.pooled) if r.pooled is not None else \
            strategy_run(r.strategy, r.layout, StepPrices(r.plan, r.strategy, r.layout),
                         kv_capacity_of(r.memory, r.layout, r.plan.workload))
        known = _run_stands_for(r.load.figures, capacity_requests(w.traffic), steady * (1 + CEILING_MARGIN))
        want = _reference(r.plan, run, steady, known)
        got = load["capacity_requests_per_s"]
        assert (got is None) == (want is None), (r.strategy.text, got, want)
        if want is not None:
            assert abs(got - want) <= CAPACITY_TOLERANCE * want, (r.strategy.text, got, want)
            assert got > 0
        judged += 1
    assert judged >= 1        # every in-flight example has a strategy whose capacity is bisected

"""The capacity's search (`dagc.verdict.under_load.capacity`): aimed where the runs that missed extrapolate to
the target, it finds the bisection's capacity (to within its 1 % tolerance) in fewer runs; and a strategy's
step prices and runs are shared by the checks of one process (`dagc.serve.shared`)."""

from __future__ import annotations

import pytest

from dagc.lang.load import load_plan, load_plan_text
from dagc.search.result import Candidate
from dagc.search.under_traffic import check_candidate
from dagc.verdict import under_load as ul
from dagc.verdict.check import check
from conftest import EXAMPLES


def test_a_cliff_is_found_in_five_runs():
    """Requirements that hold up to 10 requests/s, and past it miss by 20 × (rate − 10) of their target (a
    queue growing with the rate): from the bracket [8, 16] (16 missed by 120) the bisection needs seven runs
    more (8 / 2⁷ = 0.0625 ≤ 1 % of 10.06); the aimed search three: 12 (a bisection: one miss is not a
    slope; misses by 40), then where 12 and 16 extrapolate to 0 (10), 0.3 % of the tolerance below it,
    9.97, which holds, then 9.97 / (1 − 0.98 %) = 10.0687, which misses and closes the bracket:
    10.0687 − 9.97 = 0.0987 ≤ 1 % of 10.0687."""
    tried = []
    missed = [(16.0, 120.0)]

    def ok(rate: float) -> bool:
        tried.append(rate)
        if rate <= 10.0:
            return True
        missed.append((rate, 20 * (rate - 10.0)))
        return False

    cap = ul._narrowed(ok, 8.0, 16.0, ul.CAPACITY_STEPS - 2, missed)
    assert tried == pytest.approx([12.0, 9.97, 9.97 / (1 - 0.0098)])
    assert cap == pytest.approx(9.97)


def test_without_a_slope_it_bisects():
    """Misses with no value to extrapolate (NaN) leave the bisection's runs: 12, 10, 9, then 9.5, 9.75,
    9.875, 9.9375, the bracket [9.9375, 10] then within 1 % of 10 (0.0625 ≤ 0.1)."""
    tried = []
    missed: list[tuple[float, float]] = []

    def ok(rate: float) -> bool:
        tried.append(rate)
        if rate < 9.95:
            return True
        missed.append((rate, float("nan")))
        return False

    cap = ul._narrowed(ok, 8.0, 16.0, ul.CAPACITY_STEPS - 2, missed)
    assert tried == [12.0, 10.0, 9.0, 9.5, 9.75, 9.875, 9.9375]
    assert cap == 9.9375


# The capacities the bisection (24 runs at most, halving the bracket each) found for the example's three
# strategies before the search was aimed: dep, tp, dp, in requests/s.
BISECTED = {"dep": 15.00524880226142, "tp": 15.988774662073054, "dp": 9.018103455785337}


@pytest.mark.slow
def test_the_traffic_example_keeps_its_capacities():
    """The aimed search finds each strategy's capacity within 1 % of the bisection's."""
    results = check(load_plan(EXAMPLES / "qwen3-30b-a3b-traffic.moe"))
    caps = {r.label: r.load.json["capacity_requests_per_s"] for r in results}
    assert set(caps) == set(BISECTED)
    for label, cap in caps.items():
        assert cap == pytest.approx(BISECTED[label], rel=0.01), label


def test_a_candidate_judged_under_the_traffic_reuses_the_checks_run():
    """The search's judgement of a candidate that is the plan's own strategy (`check_candidate`) takes the run
    `check` made of it: the same `Load`, not a second simulation."""
    plan = load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 8 gpu preset "h200" } '
                          'workload { batch = 64 prompt = 4000 generate = 500 serving = inflight '
                          'rate = 2 requests/s requests = 200 } require { ttft_p99 <= 1 s } strategy mine = tp 8')
    r = check(plan)[0]
    assert r.load is not None
    c = Candidate(strategy=r.strategy, microbatches=1, overlap=plan.workload.overlap, gpus=8,
                  metrics=dict(r.metrics), meets_requirements=True, score=0.0, memory_fraction=0.5, binding=None)
    again = check_candidate(plan, c)
    assert not isinstance(again, str) and again.load is not None
    assert again.load.load is r.load.load

"""The capacity (`dagc.verdict.under_load.capacity`) keeps the bisection's figures while its step prices and
runs are shared by the checks of one process (`dagc.serve.shared`)."""

from __future__ import annotations

import pytest

from dagc.export.result_json import load_json
from dagc.lang.load import load_plan_text
from dagc.search.result import Candidate
from dagc.search.under_traffic import check_candidate
from dagc.verdict.check import check
from conftest import checked_example

# The capacities the plain bisection (24 runs at most, halving the bracket each; tests/test_capacity_reference.py's
# `_reference`, its step prices and runs not shared) finds for the example's three strategies: dep, tp, dp, in
# requests/s, with the engine's terms of dagc/plan/engines.py (its host time per step and per request).
BISECTED = {"dep": 15.365159536129504, "tp": 13.828793955373905, "dp": 9.237658616171494}


@pytest.mark.slow
def test_the_traffic_example_keeps_its_capacities():
    """Each strategy's capacity is the bisection's (within 1 %: the figures the search rests on are shared,
    not changed)."""
    results = checked_example("qwen3-30b-a3b-traffic.moe")         # the check, shared with other tests
    caps = {r.label: load_json(r.load)["capacity_requests_per_s"] for r in results}
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
                  metrics=r.metrics, meets_requirements=True, score=0.0, memory_fraction=0.5, binding=None)
    again = check_candidate(plan, c)
    assert not isinstance(again, str) and again.load is not None
    # the run's own arrays: the check's `Load` with the steady state's ceiling put on it, not a second simulation
    assert again.load.load.first_token is r.load.load.first_token and again.load.load.finish is r.load.load.finish

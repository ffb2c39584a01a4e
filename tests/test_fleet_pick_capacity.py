"""A fleet's pick made of replicas: its capacity and its verdict at the rate are one deployment's.

`dagc fleet` judges k copies of a search's strategy side by side at k times the batch each was searched at
(`dagc.search.at_rate.replicas_of`), and states the pick's capacity at that batch (`judged_batch`,
`pick_capacity`). Read at the plan's batch, the same text is another deployment — its instances hold 1/k of
the requests in flight each — whose capacity says nothing of the pick's.
"""

from __future__ import annotations

import pytest

from dagc.fleet.cluster import judged_batch, pick_capacity
from dagc.lang.load import load_plan_text, parse_strategy
from dagc.verdict.check import check_strategy

# Qwen3-30B-A3B on 4 H100s at 60 requests/s, 512 / 64 tokens a request: the 4-GPU cluster of tests/test_fleet.py's
# fleet, whose pick is two copies of one prefill and one decode instance (`replicas` 2, 128 requests in flight)
PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 4  gpu preset "h100-sxm" }
workload { batch = 64  prompt = 512  generate = 64  serving = inflight  rate = 60 requests/s  requests = 2000 }
require { ttft_p99 <= 2 s  tpot_p90 <= 200 ms }
strategy tp 1
"""
ONE = "prefill 1 < tp 1 > decode 1 < tp 1 > with microbatches 1 overlap none"
TWO = "prefill 2 < tp 1 > decode 2 < tp 1 > with microbatches 1 overlap none"
PICK = {"strategy": TWO, "gpus": 4, "replicas": 2, "workload": {"microbatches": 1, "overlap": "none", "batch": 128}}


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    return load_plan_text(PLAN, str(tmp_path_factory.mktemp("pick") / "plan.moe"))


def _at(plan, rate: float, batch: int):
    """The plan's 2,000 requests arriving at `rate` with `batch` requests in flight at most, as the fleet's run
    at the rate (`dagc.fleet.cluster._pick`) and a capacity's trial run them."""
    w = plan.workload
    return plan.model_copy(update={"workload": w.model_copy(update={
        "batch": batch, "batch_max": False, "traffic": w.traffic.at_rate(rate)})})


def _run(plan, rate: float, batch: int, text: str = TWO):
    r = check_strategy(_at(plan, rate, batch), parse_strategy(text), with_capacity=False)
    assert r.load is not None
    return r


def test_a_pick_of_replicas_is_judged_at_their_batch_together(plan):
    assert judged_batch(PICK) == 128 and judged_batch({**PICK, "replicas": 1}) is None
    one = pick_capacity(plan, ONE)                       # one copy on 2 GPUs, 64 requests in flight
    two = pick_capacity(plan, TWO, judged_batch(PICK))   # the pick: two copies, 64 each
    assert one is not None and two is not None
    # two copies side by side, each with its own cap of 64, carry about twice what one carries (a shared queue in
    # front of them balances them: a little more)
    assert 2.0 * one <= two <= 2.1 * one
    assert two >= 60                                     # the fleet's verdict: it carries 60 requests/s


def test_the_capacity_and_the_run_at_the_rate_agree(plan):
    two = pick_capacity(plan, TWO, 128)
    assert two is not None and 60 < two < 67
    below = _run(plan, 60.0, 128)                        # the fleet's own 2,000-request run at 60 requests/s
    assert below.load.carries_traffic and below.verdict.meets_requirements is True
    assert below.load.figures.served_requests_per_s == pytest.approx(60.0, rel=0.01)
    above = _run(plan, 1.1 * two, 128)
    assert not above.load.carries_traffic and below.verdict.meets_requirements is not above.verdict.meets_requirements


def test_the_same_text_at_the_plans_batch_is_another_deployment(plan):
    # 64 requests in flight for both decode instances, 32 each: at 60 requests/s every slot stays full, each
    # request holding one for its 64 tokens' steps, so by Little's law it serves 64 / (64 × TPOT) requests/s —
    # ≈ 37.6 at its TPOT of 26.6 ms, short of 60, though more than one copy's 2 GPUs carry (this text's capacity at
    # the plan's batch is what tests/test_fleet.py once read as the pick's)
    run = _run(plan, 60.0, 64)
    assert not run.load.carries_traffic and run.verdict.meets_requirements is False
    f = run.load.figures
    assert f.tpot_s.mean is not None
    assert f.served_requests_per_s == pytest.approx(64 / (64 * f.tpot_s.mean), rel=0.03)
    assert f.served_requests_per_s < 45
    halved = pick_capacity(plan, TWO)
    one, two = pick_capacity(plan, ONE), pick_capacity(plan, TWO, 128)
    assert halved is not None and one is not None and two is not None
    assert one < halved < 45 < 60 <= two

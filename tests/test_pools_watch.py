"""A disaggregated strategy's runs as an aggregated one's (`dagc.verdict.under_load.pools_run`): a capacity's trial
through the pools stops once its verdict is known (`dagc.serve.watch`), only where the whole run misses that
requirement too; and an identical run — the search's candidate checked for its run, then again for its capacity —
is made once in a process (`dagc.serve.shared`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc.lang.load import load_plan_text
from dagc.serve import shared
from dagc.serve.load_figures import load_figures
from dagc.serve.load_pools import PoolPrices, simulate_pools
from dagc.serve.watch import Missed
from dagc.verdict import under_load
from dagc.verdict.check import check, check_strategy

ROOT = Path(__file__).resolve().parents[1]
PD = (ROOT / "examples" / "deepseek-v3-disaggregated.moe").read_text()


def _plan(require: str, rate: float = 6.0):
    text = PD.replace("serving = inflight", f"serving = inflight\n  rate = {rate} requests/s  requests = 600")
    text = text[:text.index("require {")] + f"require {{ {require} }}\n" + \
        "strategy pd = prefill 3 < tp 8 > decode 1 < dp 4 < tp 2 ; ep 8 > >\n"
    return load_plan_text(text)


def _at(checked, plan, rate: float):
    """`checked` (the plan as its check ran it) with `plan`'s requirements and its traffic at `rate`."""
    traffic = plan.workload.traffic.at_rate(rate)
    return checked.model_copy(update={"requirements": plan.requirements,
                                      "workload": checked.workload.model_copy(update={"traffic": traffic})})


@pytest.mark.parametrize("require", ["ttft_p99 <= 500 ms", "tpot_p90 <= 36 ms", "e2e_p90 <= 18 s"])
def test_a_watched_pools_run_stops_only_when_the_whole_run_misses(require):
    plan = _plan(require)
    (r,) = check(plan.model_copy(update={"workload": plan.workload.model_copy(update={"traffic": None})}))
    pooled = r.pooled
    prices = PoolPrices(pooled)
    stopped = ended = 0
    for rate in (3.0, 8.0, 11.0, 12.5, 16.0):
        trial = _at(pooled.plan, plan, rate)
        whole = load_figures(trial, simulate_pools(trial, pooled, None, prices))
        try:
            watched = simulate_pools(trial, pooled, None, prices, watch=True)
        except Missed:
            stopped += 1
            assert whole.misses.latencies, (require, rate)
        else:
            ended += 1
            assert not whole.misses.latencies, (require, rate)
            assert load_figures(trial, watched) == whole          # a run that holds is the run
    assert stopped >= 1 and ended >= 1, (require, stopped, ended)


def test_a_disaggregated_candidate_checked_again_is_simulated_once(monkeypatch):
    """The search's candidate is checked for its run, then again for its capacity: one run of the pools."""
    made = []
    simulate = under_load.simulate_pools

    def counted(plan, pooled, progress=None, prices=None, watch=False):
        made.append((plan.workload.traffic.rate, watch))
        return simulate(plan, pooled, progress, prices, watch)

    monkeypatch.setattr(under_load, "simulate_pools", counted)
    shared.cache_clear()
    plan = _plan("ttft_p99 <= 500 ms  tpot_p90 <= 80 ms")
    first = check_strategy(plan, plan.strategies[0], with_capacity=False)
    again = check_strategy(plan, plan.strategies[0], with_capacity=False)
    assert made == [(6.0, False)]
    assert again.load.figures == first.load.figures

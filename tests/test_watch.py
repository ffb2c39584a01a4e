"""A capacity trial stops once its verdict is known (`dagc.serve.watch`): a percentile requirement missed
whatever its remaining requests do. It stops only then — the whole run misses that requirement too — and it
does stop before the end of a run far past the capacity.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dagc.lang.load import load_plan_text
from dagc.serve.load import simulate
from dagc.serve.load_figures import load_figures
from dagc.serve.shared import cache_clear, shared_load
from dagc.serve.step_prices import StepPrices
from dagc.serve.watch import Missed, Watch
from dagc.verdict.check import check

ROOT = Path(__file__).resolve().parents[1]
INFLIGHT = (ROOT / "examples" / "qwen3-30b-a3b-inflight.moe").read_text()


def _plan(require: str, strategy: str = "strategy dep = tp 1 ; ep 4"):
    text = INFLIGHT.replace("chunk = 8192", "chunk = 8192\n  rate = 3 requests/s  requests = 600")
    text = text.replace("memory <= 90 %", "memory <= 90 %\n  " + require)
    text = text[:text.index("strategy dep")] + strategy + "\n"
    return load_plan_text(text)


def _at(plan, rate: float):
    traffic = plan.workload.traffic.at_rate(rate)
    return plan.model_copy(update={"workload": plan.workload.model_copy(update={"traffic": traffic})})


def test_the_watch_stops_where_the_percentile_is_past_the_target():
    """p99 of 2,000: the order statistics 1,979 and 1,980 (0-based) — 21 requests past the target put the lower
    one past it; the watch stops at the 22nd (one more for the index's rounding), never before numpy's
    percentile is past the target."""
    plan = _plan("ttft_p99 <= 1 s")
    watch = Watch(plan, np.full(2000, 500))
    fe = plan.cluster.engine.terms.frontend_s
    for _ in range(21):
        watch.first(0.0, 2.0)
    past = np.concatenate([np.full(1979, 0.5), np.full(21, 2.0 + fe)])
    assert np.percentile(past, 99) > 1.0 >= np.percentile(past[:-1], 99)    # 21 past it, not 20, put p99 past
    with pytest.raises(Missed):
        watch.first(0.0, 2.0)
    # a TTFT of exactly the target holds `<=`
    again = Watch(plan, np.full(2000, 500))
    for _ in range(100):
        again.first(0.0, 1.0 - fe)


@pytest.mark.parametrize("require", ["ttft_p99 <= 2 s", "tpot_p90 <= 16 ms", "e2e_p90 <= 10 s", "ttft_p50 < 1 s"])
def test_a_watched_run_stops_only_when_the_whole_run_misses(require):
    plan = _plan(require)
    (r,) = check(plan.model_copy(update={"workload": plan.workload.model_copy(update={"traffic": None})}))
    prices = StepPrices(r.plan, r.strategy, r.layout)
    stopped = 0
    for rate in (2.0, 4.0, 6.0, 9.0, 14.0):
        trial = _at(plan, rate)
        whole = load_figures(trial, simulate(trial, r.strategy, r.layout, prices))
        try:
            simulate(trial, r.strategy, r.layout, prices, watch=True)
        except Missed:
            stopped += 1
            assert whole.misses.latencies, (require, rate)
        else:
            assert not whole.misses.latencies, (require, rate)
    assert 1 <= stopped < 5, require


def test_a_watched_run_that_holds_is_the_run():
    plan = _plan("ttft_p99 <= 2 s")
    (r,) = check(plan.model_copy(update={"workload": plan.workload.model_copy(update={"traffic": None})}))
    prices = StepPrices(r.plan, r.strategy, r.layout)
    watched = load_figures(plan, simulate(plan, r.strategy, r.layout, prices, watch=True))
    assert watched is not None and watched == load_figures(plan, simulate(plan, r.strategy, r.layout, prices))
    assert not watched.misses.latencies


def test_a_stopped_run_is_kept_as_its_verdict():
    """`dagc.serve.shared`: an identical watched run raises again without simulating, an unwatched one is made
    whole, and other percentile requirements are another verdict."""
    plan = _plan("ttft_p99 <= 2 s")
    (r,) = check(plan.model_copy(update={"workload": plan.workload.model_copy(update={"traffic": None})}))
    trial = _at(plan, 14.0)
    made = []

    def run(watch: bool):
        made.append(watch)
        return simulate(trial, r.strategy, r.layout, watch=watch)

    cache_clear()
    for _ in range(2):
        with pytest.raises(Missed):
            shared_load(trial, r.strategy, r.layout, lambda: run(True), watched=True)
    assert made == [True]
    other = _at(_plan("ttft_p99 <= 3 s"), 14.0)
    with pytest.raises(Missed):
        shared_load(other, r.strategy, r.layout, lambda: run(True), watched=True)
    assert made == [True, True]
    whole = shared_load(trial, r.strategy, r.layout, lambda: run(False))
    assert made == [True, True, False] and len(whole.finish) == 600
    cache_clear()


@pytest.mark.parametrize("strategy", ["strategy dep = tp 1 ; ep 4", "strategy dep = dp 2 < tp 1 ; ep 2 >"])
def test_a_watched_run_records_no_timeline_and_serves_no_unwatched_one(strategy):
    """A watched run (a capacity's trial) leaves its timeline out — its verdict reads its requests' figures alone
    — on one replica or several; `dagc.serve.shared` keeps such a run for identical watched runs alone: an
    unwatched one is made whole, with its timeline, and the same figures."""
    plan = _plan("ttft_p99 <= 2 s", strategy)
    (r,) = check(plan.model_copy(update={"workload": plan.workload.model_copy(update={"traffic": None})}))
    made = []

    def run(watch: bool):
        made.append(watch)
        return simulate(plan, r.strategy, r.layout, watch=watch)

    cache_clear()
    watched = shared_load(plan, r.strategy, r.layout, lambda: run(True), watched=True)
    assert watched.timeline is None and len(watched.finish) == 600
    assert shared_load(plan, r.strategy, r.layout, lambda: run(True), watched=True) is watched
    whole = shared_load(plan, r.strategy, r.layout, lambda: run(False))
    assert made == [True, False] and whole.timeline is not None and len(whole.timeline.t) > 600
    assert load_figures(plan, watched) == load_figures(plan, whole)
    # an unwatched run kept serves a watched one
    assert shared_load(plan, r.strategy, r.layout, lambda: run(True), watched=True) is whole and len(made) == 2
    cache_clear()

"""The capacity asked only whether it reaches a rate (`dagc.verdict.carrying.REACHES`, `capacity`'s `reaches`): the
bisection's own trials, stopped once its path settles on which side of the rate the capacity it gives lies — the
whole bisection's verdict in fewer trials (docs/load.md, "Carrying the traffic"). The search's best, judged as `dagc
check --strategy` judges it (`dagc.search.under_traffic`), reads nothing else of its capacity.

The trials of the first tests are a threshold's (a rate holds when it is at most `T`, tests/test_capacity_trials.py),
so that each count of trials is worked out by hand.
"""

from __future__ import annotations

import pytest
from test_capacity_trials import PLAN, ROOT, _threshold

from dagc.lang.load import load_plan_text, parse_strategy
from dagc.search import under_traffic
from dagc.verdict import under_load
from dagc.verdict.carrying import CAPACITY_TOLERANCE, REACHES, reaches_of, settled
from dagc.verdict.check import check_strategy
from dagc.verdict.under_load import capacity

# PLAN's text: qwen3-30b-a3b-inflight at 3 requests/s, 300 requests
PLAN_TEXT = (ROOT / "examples" / "qwen3-30b-a3b-inflight.moe").read_text().replace(
    "chunk = 8192", "chunk = 8192\n  rate = 3 requests/s  requests = 300")


def test_a_rate_that_held_at_or_above_the_rate_settles_it_and_no_more_trials_run(monkeypatch):
    # T = 6.4 from 8: 7 fails, 6 holds — at least 5: the bisection went on to 6.5, 6.25, 6.375, 6.4375 (6.375)
    tried = _threshold(monkeypatch, 6.4)
    assert capacity(PLAN, None, 8.0, reaches=5.0) == 6.0
    assert tried == [7.0, 6.0]
    # at least 6.3 once 6.375 holds: one trial fewer than the bisection's six
    tried.clear()
    assert capacity(PLAN, None, 8.0, reaches=6.3) == 6.375
    assert tried == [7.0, 6.0, 6.5, 6.25, 6.375]


def test_a_bracket_whose_failing_end_is_at_most_the_rate_settles_it_below(monkeypatch):
    # T = 6.4 against 7.5: the bracket [6, 8], then 7 (implied by its first trial) fails: below 7.5, two trials
    tried = _threshold(monkeypatch, 6.4)
    got = capacity(PLAN, None, 8.0, reaches=7.5)
    assert got == 6.0 and got < 7.5
    assert tried == [7.0, 6.0]


def test_the_trial_at_seven_eighths_settles_a_rate_below_it(monkeypatch):
    # T = 7.5 against 7: the first trial, 7, holds — the capacity the bisection gives (7.5) is at least it
    tried = _threshold(monkeypatch, 7.5)
    assert capacity(PLAN, None, 8.0, reaches=7.0) == 7.0
    assert tried == [7.0]


def test_doubling_past_the_estimate_stops_once_a_rate_held_past_the_rate(monkeypatch):
    # T = 9 against 8.5: 7 and 8 hold, 16, 12 and 10 fail, 9 holds — six trials of the bisection's ten
    tried = _threshold(monkeypatch, 9.0)
    assert capacity(PLAN, None, 8.0, reaches=8.5) == 9.0
    assert tried == [7.0, 8.0, 16.0, 12.0, 10.0, 9.0]


@pytest.mark.parametrize("share", [0.013, 0.3, 0.49, 0.5, 0.62, 0.7499, 0.75, 0.8, 0.874, 0.875, 0.93, 0.999, 1.0,
                                   1.2, 1.9, 3.7, 1000.0])
@pytest.mark.parametrize("known", [None, (3.0, True), (3.0, False), (6.2, False), (7.0, True)])
def test_the_verdict_is_the_whole_bisections_in_no_more_trials(monkeypatch, share, known):
    most = 8.0 * share
    for at in (0.01, 0.5, 0.9, 0.97, 0.995, 1.0, 1.003, 1.01, 1.05, 1.5):
        rate = most * at
        tried = _threshold(monkeypatch, most)
        whole = capacity(PLAN, None, 8.0, known=known, ceiling=8.8)
        runs = len(tried)
        tried.clear()
        got = capacity(PLAN, None, 8.0, known=known, ceiling=8.8, reaches=rate)
        assert (got is None) == (whole is None), (at, got, whole)
        if whole is not None:
            assert got is not None and (got >= rate) == (whole >= rate), (at, got, whole)
        assert len(tried) <= runs


def test_reaches_is_the_rate_not_carried_because_compares_with_and_none_under_a_goodput_requirement():
    assert reaches_of(PLAN, REACHES, 4.0) == 4.0 * (1 - CAPACITY_TOLERANCE)
    assert reaches_of(PLAN, True, 4.0) is None and reaches_of(PLAN, REACHES, None) is None
    assert reaches_of(PLAN, REACHES, float("inf")) is None
    goodput = load_plan_text(PLAN_TEXT.replace("require {", "require {\n  goodput >= 2 requests/s"))
    assert reaches_of(goodput, REACHES, 4.0) is None       # its odds read the capacity's figure
    assert settled(4.0, None, 4.0) and not settled(3.9, 4.5, 4.0) and settled(3.9, 4.0, 4.0)


def _counted(monkeypatch) -> list[float]:
    """The capacity's trials run (`_trial_holds` as it is, each counted)."""
    tried: list[float] = []
    trial = under_load._trial_holds

    def counted(plan, run, rate, requests):
        tried.append(rate)
        return trial(plan, run, rate, requests)

    monkeypatch.setattr(under_load, "_trial_holds", counted)
    return tried


@pytest.mark.parametrize("rate", [3.0, 7.9])
def test_a_check_asked_whether_its_capacity_reaches_the_rate_gives_the_whole_bisections_verdict(monkeypatch, rate):
    # qwen3-30b-a3b-inflight's `tp 1 ; ep 4` (capacity 7.699 requests/s, its trials held by their pace alone): at 3
    # requests/s it carries its traffic, at 7.9 it does not — its run of 300 keeps pace, its capacity lies below
    plan = load_plan_text(PLAN_TEXT.replace("rate = 3 requests/s", f"rate = {rate:g} requests/s"))
    decl = parse_strategy("tp 1 ; ep 4")
    tried = _counted(monkeypatch)
    whole = check_strategy(plan, decl)
    runs = len(set(tried))
    tried.clear()
    asked = check_strategy(plan, decl, with_capacity=REACHES)
    assert asked.load is not None and whole.load is not None
    assert asked.load.carries_traffic == whole.load.carries_traffic == (rate < 7.7)
    assert asked.verdict == whole.verdict and asked.requirements == whole.requirements
    assert asked.load.capacity_requests_per_s is None and not asked.load.capacity_judged
    assert whole.load.capacity_requests_per_s == pytest.approx(7.699, abs=0.001)
    assert len(set(tried)) < runs


def test_the_searchs_best_is_judged_on_whether_its_capacity_reaches_the_rate(monkeypatch):
    asked: list[object] = []
    monkeypatch.setattr(under_traffic, "check_candidate",
                        lambda plan, c, with_capacity=False: asked.append(with_capacity) or under_traffic.REJECTED)
    assert under_traffic._judged(PLAN, None, with_capacity=True) == under_traffic.REJECTED
    assert under_traffic._judged(PLAN, None) == under_traffic.REJECTED
    assert asked == [REACHES, False]

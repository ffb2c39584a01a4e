"""The capacity's trials (`dagc.verdict.under_load.capacity`): the trial at seven eighths of the steady state's rate
runs first, and a rate's verdict that the trials already run imply (at or below one that held, at or above one that
did not) is not run again — so the bisection reaches the very bracket and capacity it reached before, in
fewer trials (docs/load.md, "Step times: the surrogate", the capacity's trials).

The trials here are a threshold's (a rate holds when it is at most `T`), in place of the seeded runs, so that each
capacity and count of trials is worked out by hand.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc.lang.load import load_plan_text
from dagc.verdict import under_load
from dagc.verdict.carrying import Trials, bracket_below, implied, speculated
from dagc.verdict.under_load import CAPACITY_STEPS, CAPACITY_TOLERANCE, capacity

ROOT = Path(__file__).resolve().parents[1]
PLAN = load_plan_text((ROOT / "examples" / "qwen3-30b-a3b-inflight.moe").read_text().replace(
    "chunk = 8192", "chunk = 8192\n  rate = 3 requests/s  requests = 300"))


def _threshold(monkeypatch, most: float) -> list[float]:
    """Trials that hold at rates up to `most`: the rates tried, in order."""
    tried: list[float] = []

    def holds(plan, run, rate, requests):
        tried.append(rate)
        return rate <= most

    monkeypatch.setattr(under_load, "_trial_holds", holds)
    return tried


def _before(most: float, estimate: float) -> tuple[float | None, int]:
    """The bisection as it was before (tests/test_capacity_reference.py's plain one, but below the estimate three
    quarters of it first, `bracket_below`) of the same threshold, without a run or a ceiling: its capacity and its
    trials."""
    runs = 0

    def ok(rate: float) -> bool:
        nonlocal runs
        runs += 1
        return rate <= most

    lo, hi = 0.0, estimate
    if ok(hi):
        lo = hi
        while runs < CAPACITY_STEPS // 2:
            hi = lo * 2
            if not ok(hi):
                break
            lo = hi
        else:
            return lo, runs
    else:
        bracket = bracket_below(ok, hi, lambda: runs < CAPACITY_STEPS // 2)
        if bracket is None:
            return None, runs
        lo, hi = bracket
    while runs < CAPACITY_STEPS and hi - lo > CAPACITY_TOLERANCE * hi:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return lo, runs


def test_a_capacity_between_three_quarters_and_seven_eighths_takes_one_trial_fewer(monkeypatch):
    # T = 0.8 × 8: 7 (7/8 of 8) fails, 6 holds, then 6.5 fails, 6.25 holds, 6.375 holds, 6.4375 fails — the bracket
    # [6.375, 6.4375] is within 1 % of its upper end (0.98 %): 6.375, six trials; the bisection before tried 8 first
    tried = _threshold(monkeypatch, 6.4)
    assert capacity(PLAN, None, 8.0) == 6.375
    assert tried == [7.0, 6.0, 6.5, 6.25, 6.375, 6.4375]
    assert _before(6.4, 8.0) == (6.375, 7)


def test_a_capacity_above_seven_eighths_skips_the_trial_at_three_quarters(monkeypatch):
    # T = 7.5: 7 holds, 8 fails — 6 holds as 7 does, not run; then 7.5 holds, 7.75 fails, 7.625 fails, 7.5625 fails
    # ([7.5, 7.5625]: 0.83 %)
    tried = _threshold(monkeypatch, 7.5)
    assert capacity(PLAN, None, 8.0) == 7.5
    assert tried == [7.0, 8.0, 7.5, 7.75, 7.625, 7.5625]
    assert _before(7.5, 8.0) == (7.5, 7)


def test_a_capacity_above_the_estimate_spends_the_first_trial(monkeypatch):
    # T = 9: 7 and 8 hold, 16 fails, then the bisection of [8, 16] — one trial more than the bisection before
    tried = _threshold(monkeypatch, 9.0)
    got = capacity(PLAN, None, 8.0)
    assert tried[:3] == [7.0, 8.0, 16.0]
    assert (got, len(tried)) == (_before(9.0, 8.0)[0], _before(9.0, 8.0)[1] + 1)


@pytest.mark.parametrize("share", [0.0004, 0.013, 0.3, 0.49, 0.5, 0.51, 0.62, 0.7499, 0.75, 0.76, 0.8, 0.874, 0.875,
                                   0.88, 0.93, 0.999, 1.0, 1.2, 1.9, 3.7, 1000.0,
                                   1e6])
def test_the_capacity_is_the_bisections_before_in_no_more_trials(monkeypatch, share):
    tried = _threshold(monkeypatch, 8.0 * share)
    want, runs = _before(8.0 * share, 8.0)
    assert capacity(PLAN, None, 8.0) == want
    assert len(tried) == len(set(tried))                  # no rate tried twice
    assert len(tried) <= runs + (share >= 1.0)            # one more only where the estimate holds
    if 0.75 <= share < 1.0:
        assert len(tried) == runs - 1


def test_the_plans_own_run_decides_the_first_trial_on_its_side(monkeypatch):
    # the run failed at 6: 7 and 8 fail untried; 4 holds, then [4, 6]: 5, 5.5, 5.25, 5.125, 5.0625, 5.03125
    tried = _threshold(monkeypatch, 5.05)
    assert capacity(PLAN, None, 8.0, known=(6.0, False)) == 5.03125
    assert tried == [4.0, 5.0, 5.5, 5.25, 5.125, 5.0625, 5.03125]


def test_each_run_counts_the_trials_run(monkeypatch):
    _threshold(monkeypatch, 6.4)
    counts: list[int] = []
    capacity(PLAN, None, 8.0, counts.append)
    assert counts == [1, 2, 3, 4, 5, 6]


def test_a_trial_is_run_once_and_implied_on_its_side():
    runs: list[float] = []
    trial = Trials(lambda rate: runs.append(rate) or rate <= 5.0)
    assert [trial(6.0), trial(7.0), trial(4.0), trial(4.5), trial(6.0), trial(5.0)] == \
        [False, False, True, True, False, True]
    assert runs == [6.0, 4.0, 4.5, 5.0] and trial.runs == 4
    # verdicts on either side of each other (the seeds' noise): neither implies, the trial decides
    assert implied(5.0, {4.0: False, 6.0: True}) is None
    assert speculated(8.0) == 7.0

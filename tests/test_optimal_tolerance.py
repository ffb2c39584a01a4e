"""Within 5 % of the best, for objectives whose score is negative (a figure the lower the better, negated):
`min-gpus` (−GPUs, then decode tokens/s per GPU over 1e9) and `ttft` (−TTFT). A strategy is within the tolerance
when its score is at least the best's less 5 % of the best's magnitude — its figure at most 1.05 × the best's.
And when the search's best misses a requirement that the strategy meets, the strategy is optimal for that reason,
which the note says, never "within 5 % of the best" (issue: a 16-GPU strategy said to be within 5 % of an 8-GPU
one). The search results here are made by hand around one real candidate, so each figure is known."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dagc.export.optimal_words import optimal_note
from dagc.lang.load import load_plan_text
from dagc.search.result import SearchResult
from dagc.search.search import search
from dagc.verdict.check import check
from dagc.verdict.optimal import Why, judge_optimal

# 16 H100s, `dp 2 < tp 8 >`: it meets `tpot <= 50 ms`, on all 16 GPUs
PLAN = ('model preset "mixtral-8x7b" cluster { gpus = 16 gpu preset "h100-sxm" } '
        'workload { batch = 32 prompt = 512 generate = 64 } require { tpot <= 50 ms } strategy dp 2 < tp 8 >')


@pytest.fixture(scope="module")
def checked():
    plan = load_plan_text(PLAN)
    [r] = check(plan)
    assert r.gpus_used == 16 and r.verdict.meets_requirements is True
    other = search(plan, objective="min-gpus", top=1, rescore=0).ranked[0]    # a strategy that is not this one
    return r, other


def _found(objective: str, best) -> SearchResult:
    return SearchResult(objective=objective, evaluated=1, legal=1, seconds=0.0, ranked=(best,), total=1)


@pytest.mark.parametrize(("best_gpus", "optimal", "why"), [
    (8.0, False, Why.BETTER),                 # −16 < −8 − 0.05 × 8 = −8.4: twice the GPUs
    (15.2, False, Why.BETTER),                # −16 < −15.2 − 0.76 = −15.96
    (15.5, True, Why.WITHIN_TOLERANCE),       # −16 ≥ −15.5 − 0.775 = −16.275
    (16.0, True, Why.WITHIN_TOLERANCE),
])
def test_min_gpus_within_5_percent_of_the_best_gpu_count(checked, best_gpus, optimal, why):
    r, other = checked
    best = replace(other, gpus=int(best_gpus), score=-best_gpus, meets_requirements=True, misses=0)
    got, ev = judge_optimal(r, _found("min-gpus", best))
    assert (got, ev.why) == (optimal, why)
    assert ev.own_score == pytest.approx(-16.0, abs=1e-6)
    if why is Why.BETTER and best_gpus == 8.0:
        assert ev.factor == pytest.approx(2.0, rel=1e-6)          # −16 / −8: twice the GPUs
        assert "within" not in optimal_note(ev, r)


@pytest.mark.parametrize(("worse_by", "optimal"), [(1.04, True), (1.06, False)])
def test_ttft_within_5_percent_is_a_ttft_at_most_1_05_times_the_best(checked, worse_by, optimal):
    r, other = checked
    best = replace(other, score=-r.metrics.ttft_s / worse_by, meets_requirements=True, misses=0)
    got, ev = judge_optimal(r, _found("ttft", best))
    assert got is optimal
    assert ev.why is (Why.WITHIN_TOLERANCE if optimal else Why.BETTER)


def test_a_best_that_misses_what_this_strategy_meets_is_not_called_within_5_percent(checked):
    """The best by min-gpus, on 8 GPUs, misses `tpot <= 50 ms`; this strategy, on 16, meets it: optimal (no better
    strategy meets), said as such — 16 GPUs is not within 5 % of 8."""
    r, other = checked
    best = replace(other, gpus=8, score=-8.0, meets_requirements=False, misses=1)
    got, ev = judge_optimal(r, _found("min-gpus", best))
    assert (got, ev.why) == (True, Why.ONLY_OWN_MEETS)
    note = optimal_note(ev, r)
    assert note.startswith("this strategy meets the requirements; the best by min-gpus of the 1 strategy "
                           f"searched, `{other.text}` (8 GPUs), misses the requirements"), note
    assert "within 5 %" not in note


def test_a_strategy_better_than_the_searchs_best_is_not_said_within_5_percent_of_it(checked):
    """A new user's DeepSeek-V3 `tp 8 ; ep 8` at 4 requests/s read "optimal: yes … within 5 % of the best of 1,197
    strategies (`…`: 184.9 tokens/s per GPU)" at 247.2 of its own: the search had counted it short of the rate, its
    check carries it. A best whose score is below the strategy's own is said to be below it."""
    r, other = checked
    best = replace(other, gpus=16, score=-17.0, meets_requirements=True, misses=0)      # −17 < −16: worse
    got, ev = judge_optimal(r, _found("min-gpus", best))
    assert (got, ev.why) == (True, Why.WITHIN_TOLERANCE) and ev.own_score > best.score
    note = optimal_note(ev, r)
    assert "within 5 %" not in note and "better by min-gpus than the search's best of 1 strategy (`" in note

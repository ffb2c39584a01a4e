"""The optimal note of a strategy that misses only its traffic (it meets every requirement line but does not carry
the rate) names that miss, never an empty list: a user read "as this strategy misses : no strategy dagc searched
meets them all ()" of gpt-oss-120b at 6 requests/s."""

from __future__ import annotations

from types import SimpleNamespace as N

from dagc.export.missed_words import missed_text
from dagc.export.optimal_words import _misses_too


def _result(carries: bool, requirements: tuple = ()) -> N:
    return N(requirements=requirements, load=N(carries_traffic=carries), verdict=N(meets_requirements=False))


def test_a_strategy_missing_only_its_traffic_says_so():
    assert missed_text(_result(False)) == "the plan's traffic (it does not carry it)"
    assert missed_text(_result(True)) == ""
    missed = N(met=False, requirement=N(text="tpot_p90 <= 30 ms"))
    assert missed_text(_result(False, (missed,))) == "`tpot_p90 <= 30 ms`"


def test_the_better_strategys_note_has_no_empty_list():
    ev = N(best=N(meets_requirements=False, misses=1), complete=True, best_requirements=())
    said = _misses_too(ev, _result(False))
    assert said == ("; it misses a requirement too, as this strategy misses the plan's traffic (it does not carry "
                    "it): no strategy dagc searched meets them all")

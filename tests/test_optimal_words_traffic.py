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


def test_a_strategy_short_of_its_traffic_names_what_its_count_holds():
    """p1 of a new user's round (DeepSeek-V3 pools under TensorRT-LLM at 4 requests/s): `tpot <= 50 ms` (steady) and
    `tpot_p90 <= 50 ms` missed on its run, its capacity short of the rate — 3 missed as the verdict counts them, both
    load lines and the steady one; until 2026-12-03 "it misses 3 requirements too, as this strategy misses `tpot_p90
    <= 50 ms`, `tpot <= 50 ms`", two named."""
    def line(text: str, on_load: bool, met: bool) -> N:
        return N(met=met, requirement=N(text=text, on_load=on_load), value_text=lambda: "x")
    lines = (line("ttft_p99 <= 3 s", True, True), line("tpot_p90 <= 50 ms", True, False),
             line("tpot <= 50 ms", False, False))
    theirs = tuple(N(met=True, requirement=q.requirement, value_text=lambda: "y") for q in lines)
    ev = N(best=N(meets_requirements=False, misses=3), complete=True, best_requirements=theirs)
    assert _misses_too(ev, _result(False, lines)) == (
        "; it misses 3 requirements too, as this strategy misses 3: `tpot <= 50 ms` for this strategy, and its 2 load "
        "requirements, which a strategy that does not carry its traffic misses whatever its run's figures; no strategy "
        "dagc searched meets them all (`tpot_p90 <= 50 ms`: y against this strategy's x; `tpot <= 50 ms`: y against "
        "this strategy's x)")

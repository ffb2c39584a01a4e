"""`dagc search PLAN --rate R` when every strategy keeps up but misses a `goodput` target above R: goodput never
exceeds the arrival rate, so the next line says to search at the target's rate or lower the target — until
2026-11-30 it said "or a lower rate", which takes the target further away (trial 46: Qwen3-30B-A3B on 8 H100s, a
service's log at 4 requests/s under `goodput >= 5 requests/s`)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from dagc.cli.print_rate import rate_conclusion
from dagc.lang.flatten import flatten
from dagc.lang.load import parse_strategy
from dagc.plan.strategy import Overlap
from dagc.plan.workload import Traffic
from dagc.search.at_rate import AtRate, RankedAtRate
from dagc.search.result import Candidate


def _kept_up(unreachable: float | None, missed: tuple[str, ...]) -> AtRate:
    strategy = flatten(parse_strategy("tp 1"))[0]
    assert strategy is not None
    c = Candidate(strategy, 1, Overlap.NONE, 1, {}, False, 0.0, 0.5, None, load_missed=missed)
    run = SimpleNamespace(figures=SimpleNamespace(overloaded=False, served_requests_per_s=4.0), carries_traffic=True,
                          binding=SimpleNamespace(goodput_unreachable=unreachable))
    return AtRate(c, run, 4.0)


def test_a_goodput_target_above_the_rate_is_told_to_search_at_its_rate():
    lines = rate_conclusion(RankedAtRate(4, Traffic(requests=500, rate=4), (_kept_up(5.0, ("goodput",)),)), 8)
    assert lines[1] == ("  next: goodput never exceeds the arrival rate, so no strategy meets a goodput of 5 "
                        "requests/s at 4 requests/s: search at the rate that target asks, --rate 5, or lower the "
                        "target to the rate")
    assert "lower rate" not in lines[1]


@pytest.mark.parametrize("missed", [("ttft_p99",), ("goodput",)])
def test_a_reachable_miss_still_gets_a_strategys_next_steps(missed):
    lines = rate_conclusion(RankedAtRate(4, Traffic(requests=500, rate=4), (_kept_up(None, missed),)), 8)
    assert "gives one strategy's next steps" in lines[1]


def test_the_best_misses_are_said_as_written_load_and_steady_state_alike():
    # `search --rate`'s conclusion said "misses ttft_p99 <= 100 ms, decode_throughput": the load line as written, the
    # steady-state line by its bare name; now each as written, as `dagc check` judged them (until 2026-12-01)
    from dagc.plan.workload import Requirement, RequirementKind
    from dagc.verdict.verdict import RequirementResult

    p99 = Requirement(kind=RequirementKind.TTFT, op="<=", target=0.1, percentile=99, text="ttft_p99 <= 100 ms")
    floor = Requirement(kind=RequirementKind.DECODE_THROUGHPUT, op=">=", target=1e5, per_gpu=True,
                        text="decode_throughput >= 100 tokens/ms/gpu")
    a = _kept_up(None, ("ttft_p99 <= 100 ms",))
    judged = (RequirementResult(p99, 0.168), RequirementResult(floor, 557.6))
    a = AtRate(a.candidate, a.load, a.goodput_per_gpu, requirements=judged)
    lines = rate_conclusion(RankedAtRate(4, Traffic(requests=500, rate=4), (a,)), 8)
    assert lines[0].endswith("misses ttft_p99 <= 100 ms and decode_throughput >= 100 tokens/ms/gpu)")


def _judged(*judged: tuple[str, bool]) -> AtRate:
    """The best kept up and was judged: each `(line, on the load?)` missed, as `dagc check` judged it."""
    from dagc.plan.workload import Requirement, RequirementKind
    from dagc.verdict.verdict import RequirementResult

    p99 = Requirement(kind=RequirementKind.TTFT, op="<=", target=0.1, percentile=99, text="ttft_p99 <= 100 ms")
    floor = Requirement(kind=RequirementKind.DECODE_THROUGHPUT, op=">=", target=1e5, per_gpu=True,
                        text="decode_throughput >= 100 tokens/ms/gpu")
    chosen = [q for q, on_load in ((p99, True), (floor, False)) if (q.text, on_load) in judged]
    a = _kept_up(None, tuple(q.text for q in chosen if q.on_load))
    results = tuple(RequirementResult(q, 0.168 if q.on_load else 557.6) for q in chosen)
    return AtRate(a.candidate, a.load, a.goodput_per_gpu, requirements=results)


def test_a_steady_state_floor_alone_is_not_told_a_lower_rate():
    # trial 50: the best missed only a decode throughput floor, a steady-state figure no rate moves, and was told
    # "or a lower rate" (until 2026-12-01)
    a = _judged(("decode_throughput >= 100 tokens/ms/gpu", False))
    lines = rate_conclusion(RankedAtRate(4, Traffic(requests=500, rate=4), (a,)), 8)
    assert lines[1].endswith("a lower rate would not help: decode_throughput >= 100 tokens/ms/gpu is a "
                             "steady-state figure, which the rate does not move")
    assert "or a lower rate" not in lines[1]


def test_a_load_line_missed_beside_the_floor_still_gets_a_lower_rate():
    a = _judged(("ttft_p99 <= 100 ms", True), ("decode_throughput >= 100 tokens/ms/gpu", False))
    lines = rate_conclusion(RankedAtRate(4, Traffic(requests=500, rate=4), (a,)), 8)
    assert lines[1].endswith("or a lower rate")

"""`dagc check`'s `meets?` line when a run under traffic both misses a requirement on its own figures and has a
capacity below the arrival rate: the run's own miss leads (the requirement table's `NO`), then the capacity — not
"it keeps pace in this run … a longer run misses", which reads as if this run met everything."""

from __future__ import annotations

from types import SimpleNamespace

from dagc.cli.print_verdict import traffic_reason
from dagc.plan.workload import Requirement, RequirementKind
from dagc.verdict.carrying import missed_already, not_carried_because
from dagc.verdict.verdict import RequirementResult

TTFT = Requirement(text="ttft_p99 <= 2 s", kind=RequirementKind.TTFT, op="<=", target=2.0, percentile=99)
TPOT = Requirement(text="tpot_p90 <= 50 ms", kind=RequirementKind.TPOT, op="<=", target=0.05, percentile=90)


def _result(tpot_value: float) -> SimpleNamespace:
    # the repro's figures: DeepSeek-V3 `tp 1 ; ep 16` on 16 H200, 500 requests at 4 requests/s, capacity 3.233
    why = not_carried_because(False, None, 4.0, 3.233, 500)
    return SimpleNamespace(verdict=SimpleNamespace(meets_requirements=False), traffic_unjudged=None,
                           load=SimpleNamespace(not_carried_because=why),
                           requirements=[RequirementResult(TTFT, 0.3419), RequirementResult(TPOT, tpot_value)])


def test_the_runs_own_miss_leads_then_the_capacity():
    line = traffic_reason(_result(0.05583))
    assert line is not None
    assert line.startswith("meets? no: this run misses `tpot_p90 <= 50 ms` (55.83 ms); its capacity is short of "
                           "the traffic too: it keeps pace in this 500-request run, but its capacity, 3.233 "
                           "requests/s")
    assert "under its traffic: it keeps pace" not in line


def test_a_run_that_meets_everything_still_says_the_capacity_alone():
    line = traffic_reason(_result(0.0372))
    assert line is not None and line.startswith("meets? no under its traffic: it keeps pace in this 500-request run")


def test_the_capacity_s_reason_does_not_say_a_longer_run_would_miss_what_this_one_misses():
    missed = missed_already(not_carried_because(False, None, 4.0, 3.233, 500)) or ""
    assert missed.endswith("at this rate this run already misses a percentile requirement, and a longer one may fall "
                           "behind too")
    met = not_carried_because(False, None, 4.0, 3.233, 500) or ""
    assert met.endswith("at this rate a longer run misses a percentile requirement or falls behind")


def test_a_steady_state_miss_is_not_said_as_the_runs():
    """`tpot <= 100 ms` is judged on the steady state: its 515.1 ms is no run's (the run's TPOT was 34.6 ms in a
    large-scale trial's plan, 2026-12-03), so the line says so rather than "this run misses"."""
    steady = Requirement(text="tpot <= 100 ms", kind=RequirementKind.TPOT, op="<=", target=0.1)
    r = _result(0.0372)
    r.requirements = [RequirementResult(TTFT, 0.3419), RequirementResult(steady, 0.5151)]
    line = traffic_reason(r)
    assert line is not None and line.startswith("meets? no: it misses `tpot <= 100 ms` (515.1 ms, its steady "
                                                "state); its capacity is short of the traffic too")

"""A new user's DeepSeek-V3 on 16 H200s under SGLang at 9 requests/s, as `dagc check` words its verdicts.

- The optimal verdict quotes the search's best's odds as `dagc check --strategy` of its text gives them: those of
  the check that judged it in the search (its capacity bisected), never odds made again on its run without its
  capacity (`dagc.verdict.bands.searched_odds`). The search's best, a disaggregated `prefill 1 < tp 8 ; ep 8 >
  decode 1 < tp 1 ; ep 8 >`, meets `goodput >= 8 requests/s` at p ≈ 0.90 in its own check; until 2026-12-02 the
  `tp 1 ; ep 16` verdict's note said that goodput "is uncertain (p ≈ 0.78)", the odds of the same run with the
  arrival rate standing for its capacity (the search's next candidate's).
- `tp 1 ; ep 16` misses `tpot_p90 <= 45 ms` in dagc's figures, its band reaching the target: the odds line says no
  in dagc's figures, then uncertain, as the table's `NO` beside `uncertain`; and its capacity's reason does not say a
  longer run would miss a percentile requirement, which this run misses already.
- `tp 8 ; ep 16`'s goodput band is the arrival rate at both ends, its odds below 1: the legend says why."""

from __future__ import annotations

import pytest

from dagc.cli.print_verdict import traffic_reason
from dagc.drive.drive import DriveOptions, drive
from dagc.export.bands_words import odds_line, regimes_text
from dagc.export.optimal_words import optimal_note
from dagc.lang.load import load_plan, strategy_option
from dagc.plan.plan import Plan
from dagc.verdict.bands import bands_of, searched_odds
from dagc.verdict.check import StrategyResult

PLAN = """
model preset "deepseek-v3"
cluster { gpus = 16  gpus_per_node = 8  gpu preset "h200"  engine = sglang }
workload {
  batch = 256  prompt = 1000  generate = 250  serving = inflight
  rate = 9 requests/s  requests = 2000  seed = 3
}
require { ttft_p99 <= 1.5 s  tpot_p90 <= 45 ms  goodput >= 8 requests/s }
strategy dep16 = tp 1 ; ep 16 with redundant 16
strategy tp8dep = tp 8 ; ep 16 with redundant 16
"""
BEST = "prefill 1 < tp 8 ; ep 8 > decode 1 < tp 1 ; ep 8 > with microbatches 1 overlap none"
GOODPUT = "goodput >= 8 requests/s"


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    path = tmp_path_factory.mktemp("dsv3") / "p.moe"
    path.write_text(PLAN)
    return load_plan(path)


@pytest.fixture(scope="module")
def dep16(plan: Plan) -> StrategyResult:
    """`tp 1 ; ep 16` checked with the search, as `dagc check` checks it."""
    (r,) = drive(plan, DriveOptions(strategy=strategy_option("dep16", plan), search=True)).results
    return r


def test_the_best_s_odds_are_those_of_its_own_check(plan: Plan, dep16: StrategyResult):
    r = dep16
    ev = r.optimality
    assert r.verdict.optimal is False and ev is not None and ev.best is not None and ev.best.text == BEST
    assert ev.best.odds_basis is not None                    # the search judged it with its capacity bisected
    quoted = {q.requirement.text: o for q, o in searched_odds(plan, ev.best.pooled, ev.best_requirements,
                                                              ev.best.odds_basis)}
    (own,) = drive(plan, DriveOptions(strategy=strategy_option(BEST, plan), search=False)).results
    checked = {q.requirement.text: o for q, o in zip(own.requirements, bands_of(own).requirements, strict=True)}
    assert quoted[GOODPUT].probability == checked[GOODPUT].probability
    assert quoted[GOODPUT].klass == checked[GOODPUT].klass == "meets"
    note = optimal_note(ev, r)
    assert f"`{BEST}` meets the requirements" in note
    assert GOODPUT not in note and "p ≈ 0.78" not in note     # met at its own check's odds: nothing to doubt


def test_a_figure_that_misses_reads_no_then_uncertain(dep16: StrategyResult):
    tpot = next(q for q in dep16.requirements if q.requirement.text == "tpot_p90 <= 45 ms")
    assert tpot.met is False
    line = odds_line(dep16) or ""
    assert line.startswith("meets? no in dagc's figures, uncertain within its error: `tpot_p90 <= 45 ms` 52.91 ms ")
    assert "→ uncertain (p ≈ 0.13)" in line
    reason = traffic_reason(dep16) or ""
    assert reason.startswith("meets? no: this run misses `tpot_p90 <= 45 ms` (52.91 ms)")
    assert reason.endswith("at this rate this run already misses a percentile requirement, and a longer one may fall "
                           "behind too")
    assert "a longer run misses" not in reason


def test_a_goodput_band_at_the_rate_says_why(plan: Plan):
    (r,) = drive(plan, DriveOptions(strategy=strategy_option("tp8dep", plan), search=False)).results
    banded = bands_of(r)
    goodput = next(o for q, o in zip(r.requirements, banded.requirements, strict=True)
                   if q.requirement.text == GOODPUT)
    assert goodput.band is not None and goodput.band.low == goodput.band.high == 9.0
    assert goodput.klass == "meets" and goodput.probability is not None and 0.9 <= goodput.probability < 0.99
    clamped = goodput.band.clamped or ""
    assert clamped.startswith("at most the arrival rate, 9 requests/s")
    legend = regimes_text(banded.requirements) or ""
    assert "goodput's band: at most the arrival rate, 9 requests/s, which no goodput passes: [9–9] is every request " \
           "within its targets" in legend
    assert "odds below 1 are those errors below the band's low end" in legend

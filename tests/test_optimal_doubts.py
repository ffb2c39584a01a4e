"""The optimal verdict's "better one" says what dagc cannot vouch for of it: its own requirements that hold
only within dagc's error, and a steady-state figure shown past the target of a percentile its run meets."""

from __future__ import annotations

from pathlib import Path

from dagc.drive.drive import DriveOptions, drive
from dagc.export.bands_words import odds_line
from dagc.export.optimal_words import optimal_note
from dagc.lang.load import load_plan, strategy_option

TRIAL = Path(__file__).parent / "fixtures" / "trial13"
BEST = "tp 2 ; ep 1 etp 4 with microbatches 1 overlap none"


def test_better_one_whose_tpot_p99_is_uncertain_says_so():
    results = drive(load_plan(TRIAL / "p2-qwen-log.moe"), DriveOptions(search=True)).results
    r = next(r for r in results if r.strategy is not None and r.strategy.name == "tp")
    ev = r.optimality
    assert r.verdict.optimal is False and ev is not None and ev.best is not None and ev.best.text == BEST
    tpot = next(q for q in ev.best_requirements if q.requirement.text == "tpot_p99 <= 40 ms")
    assert abs(tpot.value - 0.03905) < 5e-5 and tpot.met is True          # its run's p99, as check gives it
    note = optimal_note(ev, r)
    assert "the decode throughput per GPU" in note
    assert "within dagc's error its `tpot_p99 <= 40 ms` is uncertain (p ≈ 0.52)" in note
    assert "46.05 ms is the steady state" in note and "(39.05 ms)" in note
    assert "ttft_p99" not in note                  # met surely (p > 0.99): nothing to say of it


def test_odds_match_the_check_of_the_better_one():
    plan = load_plan(TRIAL / "p2-qwen-log.moe")
    (own,) = drive(plan, DriveOptions(strategy=strategy_option(BEST, plan), search=False)).results
    assert "`tpot_p99 <= 40 ms` 39.05 ms" in (odds_line(own) or "") and "uncertain (p ≈ 0.52)" in odds_line(own)

"""The optimal verdict's "better one" says what dagc cannot vouch for of it: its own requirements that hold
only within dagc's error, and a steady-state figure shown past the target of a percentile its run meets.

The plan: tests/fixtures/trial13's Qwen3-235B-A22B log replay with `tpot_p99 <= 36 ms` (the fixture's 40 ms, which
`tp 2 ; ep 1 etp 4` met at 39.05 ms, uncertain, until 2026-11-29: its experts' exchange over its attention-DP ranks
was left out of the DAG; the better one now, `tp 4 ; ep 4`, meets 40 ms surely and 36 ms only within dagc's error)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc.drive.drive import DriveOptions, drive
from dagc.export.bands_words import odds_line
from dagc.export.optimal_words import optimal_note
from dagc.lang.load import load_plan, strategy_option

TRIAL = Path(__file__).parent / "fixtures" / "trial13"
BEST = "tp 4 ; ep 4 with microbatches 1 overlap none"
LOG = "azure-llm-conv-2023-first1000.csv"


@pytest.fixture
def plan_path(tmp_path: Path) -> Path:
    (tmp_path / LOG).write_bytes((TRIAL / LOG).read_bytes())
    text = (TRIAL / "p2-qwen-log.moe").read_text()
    assert "tpot_p99 <= 40 ms" in text
    (tmp_path / "p2-qwen-log.moe").write_text(text.replace("tpot_p99 <= 40 ms", "tpot_p99 <= 36 ms"))
    return tmp_path / "p2-qwen-log.moe"


def test_better_one_whose_tpot_p99_is_uncertain_says_so(plan_path: Path):
    results = drive(load_plan(plan_path), DriveOptions(search=True)).results
    r = next(r for r in results if r.strategy is not None and r.strategy.name == "tp")
    ev = r.optimality
    assert r.verdict.optimal is False and ev is not None and ev.best is not None and ev.best.text == BEST
    tpot = next(q for q in ev.best_requirements if q.requirement.text == "tpot_p99 <= 36 ms")
    assert abs(tpot.value - 0.03451) < 5e-5 and tpot.met is True          # its run's p99, as check gives it
    note = optimal_note(ev, r)
    assert "the decode throughput per GPU" in note
    assert "within dagc's error its `tpot_p99 <= 36 ms` is uncertain (p ≈ 0.57)" in note
    assert "47.29 ms is the steady state" in note and "(34.51 ms)" in note
    assert "ttft_p99" not in note                  # met surely (p > 0.99): nothing to say of it


def test_odds_match_the_check_of_the_better_one(plan_path: Path):
    plan = load_plan(plan_path)
    (own,) = drive(plan, DriveOptions(strategy=strategy_option(BEST, plan), search=False)).results
    assert "`tpot_p99 <= 36 ms` 34.51 ms" in (odds_line(own) or "") and "uncertain (p ≈ 0.57)" in odds_line(own)

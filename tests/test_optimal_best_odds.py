"""The optimal verdict quotes the search's best's odds as `dagc check --strategy` of its text gives them: those of
the check that judged it in the search (its capacity bisected), never odds made again on its run without its
capacity (`dagc.verdict.bands.searched_odds`).

The plan: a new user's DeepSeek-V3 on 16 H200s under SGLang at 9 requests/s. The search's best, a disaggregated
`prefill 1 < tp 8 ; ep 8 > decode 1 < tp 1 ; ep 8 >`, meets `goodput >= 8 requests/s` at p ≈ 0.90 in its own check;
until 2026-12-02 the `tp 1 ; ep 16` verdict's note said that goodput "is uncertain (p ≈ 0.78)", the odds of the same
run with the arrival rate standing for its capacity (the search's next candidate's)."""

from __future__ import annotations

from pathlib import Path

from dagc.drive.drive import DriveOptions, drive
from dagc.export.optimal_words import optimal_note
from dagc.lang.load import load_plan, strategy_option
from dagc.verdict.bands import bands_of, searched_odds

PLAN = """
model preset "deepseek-v3"
cluster { gpus = 16  gpus_per_node = 8  gpu preset "h200"  engine = sglang }
workload {
  batch = 256  prompt = 1000  generate = 250  serving = inflight
  rate = 9 requests/s  requests = 2000  seed = 3
}
require { ttft_p99 <= 1.5 s  tpot_p90 <= 45 ms  goodput >= 8 requests/s }
strategy dep16 = tp 1 ; ep 16 with redundant 16
"""
BEST = "prefill 1 < tp 8 ; ep 8 > decode 1 < tp 1 ; ep 8 > with microbatches 1 overlap none"
GOODPUT = "goodput >= 8 requests/s"


def test_the_best_s_odds_are_those_of_its_own_check(tmp_path: Path):
    (tmp_path / "p.moe").write_text(PLAN)
    plan = load_plan(tmp_path / "p.moe")
    (r,) = drive(plan, DriveOptions(search=True)).results
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

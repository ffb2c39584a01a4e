"""`dagc search` of a plan that reads a calibration says which rows it shows run an engine instance on another
number of GPUs than the calibration's runs (W540's test, `dagc.rules.calibration.calibration_range`): their figures, and
the narrow bands a calibration gives, are extrapolated. A new user's 12 vLLM runs on instances of 4 H100s ranked
five candidates of 2 GPUs first, "indistinguishable within dagc's error from #1 (its 80 % band spans 1.14×): #2",
and said nothing of it; `dagc check --strategy` of the first said W540."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

from dagc.lang.load import load_plan, load_plan_text
from dagc.plan.strategy import Pool, PoolRole, Strategy
from dagc.search.outside_calibration import best_extrapolated, instance_gpus, outside_calibration

FIXTURE = Path(__file__).parent / "fixtures" / "trial12" / "cal"       # runs on instances of 8 H100s


def _row(strategy: Strategy, gpus: int):
    return SimpleNamespace(strategy=strategy, gpus=gpus)


def test_rows_on_other_instances_are_named(tmp_path):
    for name in ("plan.moe", "cal.json"):
        shutil.copy(FIXTURE / name, tmp_path / name)
    plan = load_plan(tmp_path / "plan.moe", needs_strategy=False)
    rows = [_row(Strategy(text="tp 4", tp=4), 4),                               # one instance of 4
            _row(Strategy(text="dp 2 < tp 8 >", dp=2, tp=8), 16),               # replicas of 8: inside
            _row(Strategy(text="tp 8", tp=8), 8),
            _row(Strategy(text="dp 2 < tp 2 ; ep 4 >", dp=2, tp=2, ep=4), 8)]    # replicas of 4
    assert outside_calibration(plan, rows) == (
        "outside the runs of calibration `cal.json` (engine instances of 8 GPUs): #1 and #4 run instances of 4 "
        "GPUs — their figures and bands are extrapolated (W540 in `dagc check --strategy`)")
    assert outside_calibration(plan, rows[1:3]) is None


def test_a_plan_without_a_calibration_says_nothing():
    plan = load_plan_text('model preset "mixtral-8x7b"\ncluster { gpus = 8  gpu preset "h100-sxm" }\n'
                          "workload { batch = 8  prompt = 128  generate = 8 }\nstrategy tp 8\n")
    assert outside_calibration(plan, [_row(Strategy(text="tp 2", tp=2), 2)]) is None


def test_the_gpus_of_an_engine_instance():
    assert instance_gpus(Strategy(text="dp 2 < pp 2 < tp 2 ; ep 4 > >", dp=2, pp=2, tp=2, ep=4)) == (8,)
    disagg = Strategy(text="prefill 3 < tp 2 > decode 1 < tp 1 ; ep 4 >", pools=(
        Pool(role=PoolRole.PREFILL, instances=3, strategy=Strategy(text="tp 2", tp=2)),
        Pool(role=PoolRole.DECODE, instances=1, strategy=Strategy(text="tp 1 ; ep 4", tp=1, ep=4))))
    assert instance_gpus(disagg) == (2, 4)


def _calibrated(tmp_path, text: str | None = None):
    for name in ("plan.moe", "cal.json"):
        shutil.copy(FIXTURE / name, tmp_path / name)
    if text is not None:
        (tmp_path / "plan.moe").write_text(text)
    return load_plan(tmp_path / "plan.moe", needs_strategy=False)


def test_the_optimal_verdict_says_its_best_is_outside_the_calibration(tmp_path):
    """`dagc check`'s optimal note, which names the search's best, says so too (terminal, report.md and report.json
    share it): "`tp 2 ; ep 2 …` gives 2.08× the decode throughput per GPU … on 2 GPUs" read as a calibrated figure."""
    from test_verdict import _best, _found, judge_in_words

    from dagc.verdict.check import check
    plan = _calibrated(tmp_path)
    assert best_extrapolated(plan, (4,)) == ("; the search's best runs engine instances of 4 GPUs, outside the runs of "
                                             "calibration `cal.json` (8 GPUs): its figures and bands are extrapolated "
                                             "(W540)")
    assert best_extrapolated(plan, (8,)) == ""
    text = (FIXTURE / "plan.moe").read_text().replace("strategy tp8 = tp 8\n", "")
    text = text.replace("  rate = 4 requests/s  requests = 1000", "").replace(
        "require { ttft_p99 <= 2 s  tpot_p99 <= 50 ms }", "")
    r = check(_calibrated(tmp_path, text))[0]
    own = r.metrics.decode_tokens_per_s / r.layout.gpus_used
    best = _best(own * 2, text="tp 4", gpus=4)
    best.strategy = Strategy(text="tp 4", tp=4)
    optimal, ev = judge_in_words(r, _found(best))
    assert optimal is False and ev["note"].endswith(
        "; the search's best runs engine instances of 4 GPUs, outside the runs of calibration `cal.json` (8 GPUs): "
        "its figures and bands are extrapolated (W540)")
    inside = _best(own * 2, text="dp 2 < tp 8 >", gpus=16)
    inside.strategy = Strategy(text="dp 2 < tp 8 >", dp=2, tp=8)
    assert "W540" not in judge_in_words(r, _found(inside))[1]["note"]

"""`dagc search` of a plan that reads a calibration says which rows it shows run an engine instance on another
number of GPUs than the calibration's runs (W540's test, `dagc.rules.engine.calibration_range`): their figures, and
the narrow bands a calibration gives, are extrapolated. A new user's 12 vLLM runs on instances of 4 H100s ranked
five candidates of 2 GPUs first, "indistinguishable within dagc's error from #1 (its 80 % band spans 1.14×): #2",
and said nothing of it; `dagc check --strategy` of the first said W540."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

from dagc.lang.load import load_plan, load_plan_text
from dagc.plan.strategy import Pool, PoolRole, Strategy
from dagc.search.outside_calibration import instance_gpus, outside_calibration

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

"""A request log's capacity: its trials keep pace by the queue waiting for a first token (`Load.keeps_pace`), as the
served rate counts them, not by the requests in the system, which a log's own swings move with no queue behind them.

The plan is the one a user checked on a fresh clone: the first 1,000 requests of the Azure conversation log onto
Qwen3-30B-A3B on 8 H100s. At 30 requests/s every first token came within 96 ms and every requirement held with
room, yet the capacity's trials — their requests in the system moving between 477 and 495 ended of 499 arriving
from 19 to 30 requests/s, with no trend — put the capacity at 20.97 requests/s whatever the plan's rate, and the
verdict said PAST ITS CAPACITY."""

from __future__ import annotations

import shutil

import pytest

from dagc.export.result_json import load_json
from dagc.lang.load import load_plan
from dagc.verdict.check import check
from conftest import ROOT

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 8  gpu preset "h100-sxm"  engine = vllm }
workload {
  batch = 512  prompt = 1014  generate = 247  serving = inflight
  requests from "azure-llm-conv-2023-first1000.csv"
  rate = RATE requests/s
}
require { ttft_p99 <= 1 s  tpot_p90 <= 25 ms }
strategy dep = tp 1 ; ep 8
"""


def _load(tmp_path, rate: float):
    shutil.copy(ROOT / "examples" / "traces" / "azure-llm-conv-2023-first1000.csv", tmp_path)
    path = tmp_path / "log.moe"
    path.write_text(PLAN.replace("RATE", f"{rate:g}"))
    [result] = check(load_plan(path))
    assert result.load is not None
    return result


@pytest.mark.slow
def test_a_run_that_keeps_pace_at_its_rate_is_not_past_its_capacity(tmp_path):
    r = _load(tmp_path, 30.0)
    f = r.load.figures
    assert f.ttft_s.p99 < 1.0 and f.tpot_s.p90 < 0.025           # every requirement holds, with room
    assert f.keeps_pace and not f.overloaded
    assert r.load.capacity_requests_per_s >= 30.0                # the run stands for the trials at its rate
    assert r.load.carries_traffic and r.verdict.meets_requirements
    assert load_json(r.load)["keeps_pace"] is True


@pytest.mark.slow
def test_the_capacity_does_not_follow_the_plans_rate_below_it(tmp_path):
    low, high = _load(tmp_path, 12.0), _load(tmp_path, 30.0)
    assert low.load.capacity_requests_per_s == pytest.approx(high.load.capacity_requests_per_s, rel=0.011)
    # a rate past the capacity is not carried: the log at 60 requests/s overloads this deployment
    over = _load(tmp_path, 60.0)
    assert over.load.capacity_requests_per_s < 60.0 and not over.load.carries_traffic

"""A run sent at a rate with a cap on the requests in flight (`vllm bench serve --request-rate 4 --max-concurrency
16`, AIPerf's `--request-rate` with `--concurrency`) is no traffic dagc expresses — an open loop or a closed loop, not
both —, and no `--set` makes a plan its: E110 says what to run instead. Its hint was `give the plan the run's
traffic: --set "workload.rate=4 requests/s"`, the rate the plan already had: followed, the same E110 again."""

from __future__ import annotations

import json

from test_calibrate_manifest_sets import PLAN, RUN

from dagc.calibrate.match import disagreements
from dagc.calibrate.runs import read_runs
from dagc.lang.load import load_plan_text

CAPPED = ("calibrate on runs sent at a rate without a cap on the requests in flight (vLLM's `--request-rate` without "
          "`--max-concurrency`, AIPerf's `--request-rate` without `--concurrency`) or by clients alone "
          "(`--max-concurrency` with `--request-rate inf`, AIPerf's `--concurrency`)")


def _said(tmp_path, plan_text: str):
    path = tmp_path / "rate4-cap16.json"
    path.write_text(json.dumps(json.loads(RUN) | {"max_concurrency": 16}))
    (run,) = read_runs(path)
    return disagreements(run, load_plan_text(plan_text), "qwen.moe")


def test_a_rate_with_a_cap_is_told_what_to_run_not_a_set(tmp_path):
    (d,) = _said(tmp_path, PLAN)
    assert d.message == ("run rate4-cap16.json is not of plan `qwen.moe`: the run sent at 4 requests/s with at most "
                         "16 in flight, which dagc's traffic does not express (an open loop, or a closed loop: not "
                         "both)")
    assert d.hint == CAPPED


def test_a_plan_without_traffic_is_told_the_same(tmp_path):
    # the hint was `--set "workload.rate=4 requests/s"`, after which the run was refused as above
    bare = PLAN.replace("  rate = 4 requests/s  requests = 200", "")
    bare = bare.replace("require { ttft_p99 <= 2 s  tpot_p90 <= 50 ms }\n", "")
    (d,) = _said(tmp_path, bare)
    assert d.hint == CAPPED and "not both" in d.message

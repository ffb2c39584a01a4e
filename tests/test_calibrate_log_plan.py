"""A run given with a plan that replays a request log (`requests from`) is told to take a plan of its own traffic:
a `--set` of the rate rescales the log's times and keeps its requests and lengths, so the rate's `--set` the hint
gave until 2026-12-03 (a new user's `dagc calibrate rate4.json --plan logplan.moe`) gave the same E110 again."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_calibrate import TRUE, vllm_result

from dagc.calibrate.manifest import jobs_of
from dagc.diagnostics import PlanError
from conftest import ROOT

LOG_PLAN = ('model preset "mixtral-8x7b"\ncluster { gpus = 8  gpu preset "h100-sxm"  engine = vllm }\n'
            'workload { batch = 256  prompt = 512  generate = 128  serving = inflight  '
            'requests from "log.csv"  requests = 100 }\nstrategy tp 8\n')


def test_a_log_replaying_plan_is_told_to_take_the_runs_own_traffic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    shutil.copy(ROOT / "examples" / "traces" / "azure-llm-conv-2023-first1000.csv", tmp_path / "log.csv")
    (tmp_path / "logplan.moe").write_text(LOG_PLAN)
    (tmp_path / "rate4.json").write_text(json.dumps(vllm_result(512, 128, 4, TRUE)))
    monkeypatch.chdir(tmp_path)
    for sets in ([], ["workload.rate=4 requests/s"]):       # the rate's `--set` was the hint, and refused again
        with pytest.raises(PlanError) as exc:
            jobs_of(["rate4.json"], "logplan.moe", sets)
        said = [(d.code, d.message.partition("`: ")[2], d.hint) for d in exc.value.diagnostics]
        assert said == [("E110", "the plan replays a request log, the run sent 100 requests",
                         "calibrate with a plan of the run's own traffic, without `requests from` (`rate = 4 "
                         "requests/s  requests = 100` in its workload, its `prompt` and `generate` the run's mean "
                         "lengths): a `--set` of the rate rescales the log's times and keeps its requests and lengths")]

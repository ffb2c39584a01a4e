"""A next step is judged as `dagc check` with its options judges it: the same check (its load simulated) and
the plan's engine's refusals, so that none the engine would not start is printed as meeting; a step that
replicates the strategy says each replica serves a share of the batch — with traffic, that each
replica keeps the plan's batch (an engine added behind a load balancer brings its own cap)."""

from __future__ import annotations

import json
import shlex

import pytest

from dagc.cli.main import main

# Qwen3-30B-A3B as 3 pipeline stages of one GPU each, on vLLM: 4 replicas (12 GPUs) would reach the decode
# throughput, but a replica of 3 GPUs on nodes of 8 straddles a node boundary from the third on (E701)
REPLICAS = """model preset "qwen3-30b-a3b"
cluster { gpus = 3 gpus_per_node = 8 gpu preset "h200" engine = vllm@0.33.0 }
workload { batch = 64 prompt = 1000 generate = 200 }
require { decode_throughput >= 3400 tokens/s }
strategy pp 3 < tp 1 >
"""

# Qwen3-235B-A22B on 16 H200s at 10 requests/s: the cap on requests in flight binds; each next step is
# checked under the traffic
LOADED = """model preset "qwen3-235b-a22b"
cluster { gpus = 16 gpu preset "h200" engine = vllm@0.33.0 }
workload { batch = 336 prompt = 4000 generate = 500 serving = inflight rate = 10 requests/s requests = 2000 }
require { ttft_p99 <= 2 s  tpot_p90 <= 50 ms }
strategy tp 8 ; ep 16
"""


def _check(capsys, path, *options: str) -> dict:
    capsys.readouterr()
    main(["check", str(path), "--no-search", "--format", "json", *options])
    return json.loads(capsys.readouterr().out)


def _steps_agree_with_check(capsys, path) -> list[dict]:
    report = _check(capsys, path)
    steps = report["next_steps"]
    assert steps
    loads = [q for q in report["requirements"] if q.get("judged_on") == "load"]
    for step in steps:
        again = _check(capsys, path, *shlex.split(" ".join(step["options"])))
        assert again["verdict"]["meets_requirements"] is step["meets"], step["change"]
        # with traffic a step carries the figures of its run that `meets` judged: the check's own
        assert step.get("load_figures", {}) == {q["name"]: q["value"] for q in again["requirements"]
                                                if q.get("judged_on") == "load"}, step["change"]
        assert bool(step.get("load_figures")) == bool(loads)
    return steps


def test_no_step_the_engine_refuses_is_printed_as_meeting(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "replicas.moe"
    path.write_text(REPLICAS)
    steps = _steps_agree_with_check(capsys, path)
    gpus = [s for s in steps if s["kind"] == "gpus"]
    assert len(gpus) == 1
    # 4 replicas meet on dagc's figures, but vLLM refuses them (E701): the 2 it can start are proposed, missing
    assert gpus[0]["meets"] is False and "dp 2 < pp 3 < tp 1 > >" in " ".join(gpus[0]["options"])
    assert gpus[0]["change"] == ("6 GPUs: 2 replicas of the strategy, each with 32 of the batch's 64 requests in "
                                 "flight; the cluster has 3: 3 more GPUs")
    refused = _check(capsys, path, "--set", "cluster.gpus=12", "--strategy", "dp 4 < pp 3 < tp 1 > >")
    assert refused["verdict"]["correct"] is False
    assert any(d["code"] == "E701" for d in refused["diagnostics"])


@pytest.mark.slow
def test_each_step_under_traffic_meets_as_check_says(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "loaded.moe"
    path.write_text(LOADED)
    steps = _steps_agree_with_check(capsys, path)
    assert any(s["meets"] for s in steps)
    capsys.readouterr()
    main(["check", str(path), "--no-search"])
    lines = [line for line in capsys.readouterr().out.splitlines() if "meets every requirement (" in line]
    assert lines and all("(under the traffic: ttft_p99 " in line and ", tpot_p90 " in line
                         and "; steady state: TTFT " in line for line in lines)
    for s in steps:
        if s["kind"] == "gpus":
            assert "each with the plan's batch of 336 requests in flight (672 in all)" in s["change"]
            assert "--set workload.batch=672" in s["options"]


def test_a_change_that_meets_on_its_run_is_judged_with_its_capacity_as_check_judges_it():
    """A run that keeps pace past its capacity does not carry its traffic (docs/load.md): a change is tried as
    `dagc check` judges it, its capacity bisected once its run meets every requirement, and not before (no capacity
    makes a missing run meet)."""
    from dagc.lang.load import load_plan_text
    from dagc.verdict.next_steps import _Tries
    text = ('model preset "qwen3-30b-a3b" cluster { gpus = 8 gpu preset "h200" engine = vllm@0.33.0 } '
            "workload { batch = 32 prompt = 1000 generate = 200 serving = inflight rate = RATE requests/s "
            "requests = 2000 } require { tpot <= 100 ms } strategy dp 2 < tp 4 >")
    plan = load_plan_text(text.replace("RATE", "28"))
    tries = _Tries(plan, plan.strategies[0], limit=2)
    met = tries(load_plan_text(text.replace("RATE", "4")))
    assert met is not None and met.verdict.meets_requirements and met.load is not None
    assert met.load.capacity_judged and met.load.capacity_requests_per_s > 4
    # a run shorter than a trial (300 requests) does not stand for one: one trial just under its rate says the
    # capacity reaches it, and the bisection is not run (`AT_RATE`)
    short = _Tries(plan, plan.strategies[0], limit=1)(load_plan_text(text.replace("RATE", "4").replace(
        "requests = 2000", "requests = 300")))
    assert short is not None and short.verdict.meets_requirements and short.load is not None
    assert not short.load.capacity_judged and short.load.capacity_requests_per_s is None
    assert short.load.carries_traffic
    missed = tries(plan)                                    # overloaded at 28 requests/s: its run misses
    assert missed is not None and not missed.verdict.meets_requirements
    assert missed.load is not None and not missed.load.capacity_judged
    assert tries(plan) is None                              # its two tries spent

"""A strategy the plan's engine refuses (E7xx) is not simulated under the plan's traffic: its `load` is None, as
an invalid strategy's is (docs/outputs.md: a figure not computed is null), and its verdict says it meets nothing."""

from __future__ import annotations

import json
from pathlib import Path

from dagc.cli.main import main
from dagc.lang.load import load_plan_text
from dagc.launch.engine_check import check

# vLLM with chunked prefill off needs a budget of at least the longest request (3,000 + 200 tokens): E730
E730_PLAN = """model preset "qwen3-30b-a3b"
cluster {{ engine = vllm  gpus = 2  gpu preset "h100-sxm" }}
workload {{ batch = 32  prompt = 3000  generate = 200  serving = inflight  chunk = {chunk}  chunked_prefill = off
  rate = 2 requests/s  requests = 200 }}
strategy tp 2
"""
# TensorRT-LLM runs no expert tensor parallelism beside attention tp 2 over 8 experts' GPUs: E721
E721_PLAN = """model preset "mixtral-8x7b"
cluster { engine = trtllm  gpus = 8  gpu preset "h100-sxm" }
workload { batch = 8  prompt = 512  generate = 64  serving = inflight  rate = 1 requests/s  requests = 50 }
strategy tp 2 ; ep 8
"""


def test_refused_by_vllm_is_not_simulated() -> None:
    r = check(load_plan_text(E730_PLAN.format(chunk=3100), "p.moe"))[0]
    assert [d.code for d in r.diagnostics if d.is_error] == ["E730"]
    assert r.load is None
    assert (r.verdict.correct, r.verdict.meets_requirements) == (False, False)


def test_the_same_plan_started_is_simulated() -> None:
    r = check(load_plan_text(E730_PLAN.format(chunk=3200), "p.moe"))[0]
    assert r.valid
    assert r.load is not None and r.load.figures.requests == 200


def test_refused_by_trtllm_is_not_simulated() -> None:
    r = check(load_plan_text(E721_PLAN, "p.moe"))[0]
    assert [d.code for d in r.diagnostics if d.is_error] == ["E721"]
    assert r.load is None


def test_report_load_is_null(tmp_path: Path) -> None:
    plan = tmp_path / "p.moe"
    plan.write_text(E730_PLAN.format(chunk=3100))
    out = tmp_path / "out"
    assert main(["compile", str(plan), "-o", str(out), "-q"]) == 3
    report = json.loads((out / "report.json").read_text())
    assert report["valid"] is False and report["load"] is None
    assert report["metrics"]["tpot_s"] > 0          # the steady state's figures stay, as an invalid strategy's do

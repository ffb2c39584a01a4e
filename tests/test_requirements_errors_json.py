"""report.json's requirements of a strategy with errors: `met` false whatever the figure, as the terminal's and
report.md's `no: it has errors` and the verdict say (docs/outputs.md)."""

from __future__ import annotations

import dagc

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 8  gpu preset "h100-sxm"  engine = trtllm }
workload { batch = 8  prompt = 512  generate = 128 }
require { tpot <= 1 s  ttft <= 10 s }
strategy a = tp 2 ; ep 8
strategy b = tp 1 ; ep 8
"""


def test_a_strategy_with_errors_meets_none_of_its_requirements_in_report_json() -> None:
    results = {r.strategy.name: r for r in dagc.check(dagc.load_plan_text(PLAN), search=False)}
    refused, runs = dagc.report_json(results["a"]), dagc.report_json(results["b"])
    assert not refused["valid"] and any(d["code"] == "E721" for d in refused["diagnostics"])
    assert refused["verdict"]["meets_requirements"] is False
    # the figures meet both targets by far, yet the engine refuses the strategy: nothing is met
    assert all(r["value"] is not None and r["value"] < 1.0 for r in refused["requirements"])
    assert [(r["met"], r["not_met_because"]) for r in refused["requirements"]] == [(False, "it has errors")] * 2
    assert [r["class"] for r in refused["requirements"]] == ["misses"] * 2
    # a strategy the engine runs keeps its figures' own judgement
    assert runs["valid"] and [(r["met"], r["not_met_because"]) for r in runs["requirements"]] == [(True, None)] * 2

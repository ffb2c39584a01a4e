"""report.md's "What each objective would pick" says when a pick's KV cache runs fewer requests at once than its
batch (W520): its figures are those of that concurrency, and report.json's `by_objective` carries it
(`concurrency_effective`) as `dagc check` of the pick states it."""

from __future__ import annotations

import json

import dagc
from dagc.export.summary import _running_fewer
from dagc.plan.objective import StrategyFigures
from dagc.verdict.optimal import ObjectivePick

# Qwen3-235B-A22B on 8 H100s, 256 requests of 4,000 + 1,000 tokens in flight: no strategy's KV cache holds them all
PLAN = """model preset "qwen3-235b-a22b"
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 256  prompt = 4000  generate = 1000  serving = inflight }
strategy tp 8
"""


def _pick(batch: int | None, running: int | None) -> ObjectivePick:
    figures: StrategyFigures = {"gpus": 8, "ttft_s": 0.5, "tpot_s": 0.05, "decode_tokens_per_s_per_gpu": 100.0,
                                "throughput_tokens_per_s": 800.0, "memory_fraction": 0.9}
    return ObjectivePick(strategy="tp 8", meets_requirements=True, judged="all", load_missed=(), batch=batch,
                         concurrency_effective=running, figures=figures)


def test_running_fewer_words():
    assert _running_fewer(_pick(None, 186), 256) == " (its KV cache runs 186 of its 256 requests at once: W520)"
    assert _running_fewer(_pick(None, 256), 256) == ""
    assert _running_fewer(_pick(128, 128), 256) == ""    # `batch = max`: its own
    assert _running_fewer(_pick(None, None), 256) == ""


def test_each_kv_limited_pick_is_flagged_with_what_check_says_it_runs(tmp_path):
    plan = dagc.load_plan_text(PLAN, name="kv")
    dagc.compile(plan, tmp_path)
    report = json.loads(next(tmp_path.rglob("report.json")).read_text())
    md = next(tmp_path.rglob("report.md")).read_text()
    picks = report["verdict"]["optimal_evidence"]["by_objective"]
    assert picks
    for pick in (p for p in picks.values() if p is not None):
        running = pick["concurrency_effective"]
        assert running is not None and 0 < running < 256
        checked = dagc.check(plan, strategy=pick["strategy"], search=False)[0]
        assert checked.metrics is not None and checked.metrics.concurrency_effective == running
        assert f"`{pick['strategy']}` (its KV cache runs {running:,} of its 256 requests at once: W520)" in md

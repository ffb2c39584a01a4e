"""Runs shared in a process (`dagc.serve.shared.shared_load`) are told apart by what the check sized of the deployment
beside the plan: a `memory <= X` requirement caps the KV cache a rank holds (docs/load.md, "A memory requirement
caps the KV cache"), and a plan checked after the same plan without it ran with the whole GPU's cache (until
2026-12-01: Qwen3-30B-A3B on one H100 at 3 requests/s, 202,079 tokens of KV cache a rank where its limit of 72 GB
leaves 64,539)."""

from __future__ import annotations

import sys
from pathlib import Path

from dagc.lang.load import load_plan_text
from dagc.serve.shared import cache_clear
from dagc.verdict.check import check_strategy
from dagc.verdict.next_steps import with_next_steps

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_next_steps_traffic_miss import PLAN as MIXTRAL_5_RPS  # noqa: E402

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 1 gpu preset "h100-sxm" }
workload { batch = 256 prompt = 4000 generate = 1000 serving = inflight rate = 3 requests/s requests = 300 }
require { ttft_p99 <= 100 s %s }
strategy tp 1
"""


def _run(require: str):
    plan = load_plan_text(PLAN % require)
    return check_strategy(plan, plan.strategies[0], with_capacity=False).load


def test_a_memory_limits_run_is_its_own_after_the_plan_without_it():
    cache_clear()
    alone = _run("memory <= 72 GB")
    cache_clear()
    whole = _run("")
    after = _run("memory <= 72 GB")
    assert (alone.load.kv_tokens, whole.load.kv_tokens) == (64_539, 202_079)
    assert after.load.kv_tokens == 64_539
    assert after.figures == alone.figures and after.figures != whole.figures



def test_next_steps_do_not_depend_on_a_plan_checked_before():
    """The larger batches a next step tries are the same whether or not the same plan under `memory <= 70 GB` was
    checked first in the process (its runs, on a smaller KV cache, were once found for this plan's: a batch of 200
    went untried)."""
    def no_step(text: str) -> tuple[str, ...]:
        plan = load_plan_text(text)
        (r,) = with_next_steps([check_strategy(plan, plan.strategies[0], with_capacity=False)])
        return r.no_step

    cache_clear()
    alone = no_step(MIXTRAL_5_RPS)
    cache_clear()
    no_step(MIXTRAL_5_RPS.replace("require {", "require { memory <= 70 GB "))
    assert no_step(MIXTRAL_5_RPS) == alone
    assert "136 (fp8 weights) or 200 (fp8 weights)" in alone[0]

"""Every kind of next step — precision, a larger batch, a smaller chunk, more prefill instances, fewer replicas, as
replica counts before them — is offered, when it does not meet, only if it brings the missed requirements nearer their
targets without missing one the strategy meets (`dagc.verdict.step_nearest`, one rule for all); when no change of a
kind does, the terminal and report.md say so ("No change of precision helps: …"). Until 2026-12-01 these kinds offered
any tried change that moved a figure: 8-bit weights on A100s, which leave a missed TTFT at 1.177 s, a chunk of 1,024
tokens, which lengthens a missed ITL p99 from 17.21 ms to 25.91 ms, a larger batch that misses the TPOT the strategy
met."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from dagc.export.markdown import report_md
from dagc.lang.load import load_plan_text
from dagc.lang.overrides import load_plan_with
from dagc.verdict.check import check, check_strategy
from dagc.verdict.next_steps import with_next_steps

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_next_steps_traffic_miss import PLAN as MIXTRAL_5_RPS  # noqa: E402

A100 = ('model preset "mixtral-8x7b"\ncluster { gpus = 2  gpu preset "a100-80g" }\n'
        "workload { batch = 8  prompt = 2048  generate = 256 }\nrequire { ttft <= 50 ms }\nstrategy tp 2\n")


def _kinds(r) -> list[str]:
    return [s.kind for s in r.next_steps]


def test_a_precision_that_leaves_the_missed_ttft_where_it_is_is_not_offered():
    """A100s have no fp8 units: 8-bit weights shorten TPOT (30.6 → 17.7 ms) but leave the missed TTFT at 1.177 s."""
    (r,) = with_next_steps(check(load_plan_text(A100)))
    assert r.metrics.ttft_s == pytest.approx(1.177, rel=1e-3)
    assert "precision" not in _kinds(r)                   # was "8-bit weights (fp8) — still misses `ttft <= 50 ms`"
    assert r.no_step == ("no change of precision helps: with 8-bit weights (fp8), an 8-bit KV cache (fp8) or 8-bit "
                         "weights and KV cache (fp8), `ttft <= 50 ms` is no nearer its target",)
    (gpus,) = r.next_steps                                # 8 replicas do shorten it: 0.162 s
    assert gpus.kind == "gpus" and gpus.figures["ttft_s"] == pytest.approx(0.1619, rel=1e-3)
    assert "- No change of precision helps: with 8-bit weights (fp8)," in report_md(r)


def test_a_larger_batch_that_misses_the_tpot_the_strategy_meets_is_not_offered():
    """Mixtral on 2 A100s at 5 requests/s: a batch of 200 with 8-bit weights brings the TTFT p99 in (623 → 207 s) but
    its TPOT, 165 ms, misses the `tpot <= 60 ms` the strategy meets at 53 ms: a trade, no step."""
    plan = load_plan_text(MIXTRAL_5_RPS)
    (r,) = with_next_steps([check_strategy(plan, plan.strategies[0], with_capacity=False)])
    assert [q.met for q in r.requirements] == [True, False]
    assert "batch" not in _kinds(r)                       # was "a batch of 200 (from 32) …; with 8-bit weights (fp8)"
    assert r.no_step == ("no larger batch helps: with a batch of 136 (fp8 weights) or 200 (fp8 weights), "
                         "`ttft_p99 <= 1000 s` is no nearer its target without missing `tpot <= 60 ms`",)


def test_a_smaller_chunk_that_lengthens_the_missed_itl_is_not_offered():
    """`dp 4` on examples/qwen3-30b-a3b-traffic.moe under `itl_p99 <= 15ms` (17.21 ms): chunks of 2,048 and 1,024
    tokens lengthen the ITL p99 (24.40, 25.91 ms) and 4,096 leaves it; the old rule offered the last, 1,024."""
    plan = load_plan_with(EXAMPLES / "qwen3-30b-a3b-traffic.moe", ["require.itl_p99=15ms"])
    (r,) = with_next_steps(check(plan, "dp 4"))
    (itl,) = [q for q in r.requirements if q.met is False]
    assert itl.value == pytest.approx(17.21e-3, rel=1e-3)
    # a batch of 32 (from 64) meets too (ITL p99 12.42 ms): found by halving since 2026-12-03 — batch 1 cannot carry
    # the log's 4.6 requests/s, and until then no smaller batch was looked for below the plan's
    assert _kinds(r) == ["batch", "precision"] and all(s.meets for s in r.next_steps)
    assert r.next_steps[0].options == ("--set workload.batch=32",)
    assert r.no_step == ("no smaller chunk helps: with a chunk of 4,096, 2,048 or 1,024 tokens, `itl_p99 <= 15ms` is "
                         "no nearer its target",)


def test_of_the_prefill_pools_that_carry_the_traffic_the_fewest_is_offered():
    """examples/deepseek-v3-disaggregated.moe's `pd` at 20 requests/s of 8,000-token prompts, its prefill pool bound
    (11.08 requests/s served): 6 prefill instances carry the traffic, as 7, 8 and 9 do, none moving the missed TPOT
    (103.8 ms); the old rule offered the last tried, 9 on 104 GPUs."""
    plan = load_plan_with(EXAMPLES / "deepseek-v3-disaggregated.moe",
                          ["workload.rate=20requests/s", "workload.prompt=8000", "workload.batch=2048"])
    (r,) = with_next_steps(check(plan, "pd"))
    assert r.load.figures.served_requests_per_s == pytest.approx(11.08, rel=1e-3)
    (prefill,) = [s for s in r.next_steps if s.kind == "prefill"]
    assert prefill.change == "6 prefill instances (from 3): the prefill pool binds"
    assert prefill.figures["gpus"] == 80 and prefill.short_of_traffic is None and prefill.missed == ("tpot <= 60 ms",)


def test_fewer_replicas_that_miss_the_ttft_the_strategy_meets_are_not_offered():
    """Seed 004's `dp 2 < pp 2 < tp 2 ; ep 4 > >` under `gpus <= 8` and `ttft <= 500ms` (0.395 s): the strategy alone
    on 8 GPUs meets the cap but takes 0.758 s to the first token."""
    plan = load_plan_with(EXAMPLES / "30b-moe-dp2-pp2-tp2-ep4-16gpu.moe", ["require.gpus=8", "require.ttft=500ms"])
    (r,) = with_next_steps(check(plan))
    assert r.metrics.ttft_s == pytest.approx(0.3953, rel=1e-3)
    assert "gpus" not in _kinds(r)                        # was "8 GPUs: the strategy alone (from 2 replicas)"
    # the strategy alone meets `gpus <= 8` and takes the decode throughput further from its target (until 2026-12-03
    # both were "no nearer their targets")
    assert r.no_step == ("no smaller number of replicas helps: with the strategy alone, `decode_throughput >= 20000 "
                         "tokens/s` is further from its target, and it misses `ttft <= 500ms`",)

"""A next step that changes nothing is not listed (`dagc.verdict.step_effect.moves`): DeepSeek-V3 with attention
DP over 16 H200s (`tp 1 ; ep 16`) has a TPOT of 58.99 ms with a 16-bit KV cache and with an 8-bit one — the
cache is not what its decode step waits on — so "an 8-bit KV cache (fp8) — still misses `tpot <= 50 ms`" with the
strategy's very figures is no step toward the target (issue: plan A's `dpattn`). A figure the step neither shows
nor misses on (its memory, 42.4 % → 42.0 %, under `memory <= 90 %`) does not make it one."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dagc.lang.load import load_plan_text
from dagc.verdict.check import check
from dagc.verdict.next_steps import with_next_steps
from dagc.verdict.step_effect import NO_EFFECT_RTOL, moves

PLAN = """model preset "deepseek-v3"{kv}
cluster {{ gpus = 16  gpus_per_node = 8  gpu preset "h200"  engine = sglang  inter_node = 50 GB/s }}
workload {{ batch = 128  prompt = 2000  generate = 500  serving = inflight{traffic} }}
require {{ tpot{tpot} <= 50 ms  memory <= 90 % }}
strategy dpattn = tp 1 ; ep 16
"""


def _plan(kv: str = "", traffic: str = "", tpot: str = ""):
    return load_plan_text(PLAN.format(kv=kv, traffic=traffic, tpot=tpot))


@pytest.fixture(scope="module")
def pair():
    [base] = check(_plan())
    [fp8] = check(_plan(kv=" { kv_cache = fp8 }"))
    return base, fp8


def test_the_8_bit_kv_cache_moves_nothing_the_step_is_judged_or_shown_by(pair):
    base, fp8 = pair
    assert base.verdict.meets_requirements is False and fp8.verdict.meets_requirements is False
    assert fp8.metrics.tpot_s == base.metrics.tpot_s == pytest.approx(0.05899, abs=1e-5)
    assert fp8.metrics.ttft_s == base.metrics.ttft_s
    assert fp8.memory.worst.fraction < base.memory.worst.fraction          # half the KV cache: 42.4 % → 42.0 %
    assert moves(fp8, base) is False and moves(base, base) is False


def test_the_next_steps_leave_it_out_and_keep_the_ones_that_meet(pair):
    base, _ = pair
    [r] = with_next_steps([base])
    assert [s.kind for s in r.next_steps] == ["batch", "gpus"]             # before: batch, precision, gpus
    assert not any("kv_cache" in o for s in r.next_steps for o in s.options)
    assert all(s.meets for s in r.next_steps)


def test_a_figure_moved_by_more_than_the_tolerance_is_a_step(pair):
    base, _ = pair
    assert NO_EFFECT_RTOL == 1e-3
    m = base.metrics

    def at(**figures):
        return replace(base, metrics=replace(m, **figures))
    assert not moves(at(tpot_s=m.tpot_s * 1.0009), base)                    # 58.99 → 59.04 ms: 0.09 %
    assert moves(at(tpot_s=m.tpot_s * 0.9985), base)                        # 58.99 → 58.90 ms: 0.15 %
    assert moves(at(ttft_s=m.ttft_s * 1.002), base)
    assert moves(at(decode_tokens_per_s_per_gpu=m.decode_tokens_per_s_per_gpu * 1.01), base)


def test_a_missed_requirements_figure_or_the_set_missed_is_weighed_a_met_ones_is_not(pair):
    base, _ = pair
    tpot, memory = base.requirements
    assert (tpot.met, memory.met) == (False, True)
    lower_tpot = (replace(tpot, value=tpot.value * 0.99), memory)            # the missed line's figure, 1 % less
    assert moves(replace(base, requirements=lower_tpot), base)
    less_memory = (tpot, replace(memory, value=memory.value / 2))            # a met line's figure halved
    assert not moves(replace(base, requirements=less_memory), base)
    over_memory = (tpot, replace(memory, value=0.95))                       # now missed too: 95 % > 90 %
    assert moves(replace(base, requirements=over_memory), base)


def test_plan_a_dpattn_under_its_traffic_gets_no_kv_cache_step():
    """The issue's own plan: 1,000 requests at 4 requests/s, `tpot_p90 <= 50 ms` judged on the run (54.21 ms with
    either KV cache): the steps are the replicas alone."""
    plan = _plan(traffic="  rate = 4 requests/s  requests = 1000  seed = 1", tpot="_p90")
    [r] = with_next_steps(check(plan))
    assert r.verdict.meets_requirements is False
    assert [s.kind for s in r.next_steps] == ["gpus"] and r.next_steps[0].meets


REPLICAS = """model preset "mixtral-8x7b"
cluster {{ gpus = {gpus}  gpu preset "h100-sxm"  engine = pytorch }}
workload {{ batch = {batch}  prompt = 1000  generate = 100  serving = inflight  rate = 1 requests/s  requests = 200 }}
require {{ decode_throughput >= 100000 tokens/s/gpu }}
strategy {strategy}
"""


def test_more_gpus_that_move_no_figure_are_no_step():
    """Under traffic each replica keeps the plan's batch, so `dp 8 < tp 8 >` on 64 GPUs runs each replica as `tp 8`
    runs alone: the same TTFT, TPOT and decode tokens/s per GPU, the same 1 request/s served. Until 2026-11-29 it was
    listed, "64 GPUs: 8 replicas … still misses `decode_throughput >= 100000 tokens/s/gpu` at 277.3 tokens/s/gpu",
    the strategy's own figure on 8× the GPUs (seed 000's `pp 16 < tp 16 ; ep 16 >`: "2,048 GPUs … at 0.007007")."""
    [base] = check(load_plan_text(REPLICAS.format(gpus=8, batch=32, strategy="tp 8")))
    [grown] = check(load_plan_text(REPLICAS.format(gpus=64, batch=256, strategy="dp 8 < tp 8 >")))
    assert (base.gpus_used, grown.gpus_used) == (8, 64)
    assert round(base.metrics.decode_tokens_per_s_per_gpu, 1) == round(grown.metrics.decode_tokens_per_s_per_gpu, 1)
    assert round(base.metrics.decode_tokens_per_s_per_gpu, 1) == 277.3
    assert base.load.figures.served_requests_per_s == grown.load.figures.served_requests_per_s == 1.0
    assert moves(grown, base) is False
    assert moves(base, grown) is True                   # the same figures on fewer GPUs: a cheaper deployment
    [r] = with_next_steps([base])
    assert [s.kind for s in r.next_steps] == ["precision"]                # before: precision, gpus


def test_a_step_that_takes_one_missed_figure_further_is_no_step_toward_the_targets():
    """`closer` weighs each missed requirement, not their sum alone: a change that brings one missed figure in and
    takes another further out trades them (DeepSeek-V3's `tp 1 ; ep 32` at 6 requests/s until 2026-12-03: "a batch of
    1,088", p99 TTFT 25.31 s → 1.015 s under `ttft_p99 <= 3 s`, p90 TPOT 129.3 → 194.5 ms under `tpot_p90 <= 50 ms`,
    its summed log distance 3.08 → 1.36)."""
    from types import SimpleNamespace as N

    from dagc.plan.workload import Requirement, RequirementKind
    from dagc.verdict.step_effect import closer, further, shortfall
    from dagc.verdict.verdict import RequirementResult

    ttft = Requirement(kind=RequirementKind.TTFT, op="<=", target=3.0, text="ttft_p99 <= 3 s")
    tpot = Requirement(kind=RequirementKind.TPOT, op="<=", target=0.05, text="tpot_p90 <= 50 ms")

    def run(t: float, p: float) -> N:
        return N(requirements=(RequirementResult(ttft, t), RequirementResult(tpot, p)), load=None, valid=True)

    base, batch, both = run(25.31, 0.1293), run(1.015, 0.1945), run(2.0, 0.1)
    missed = {"ttft_p99 <= 3 s", "tpot_p90 <= 50 ms"}
    assert shortfall(batch, missed) < shortfall(base, missed)          # nearer by the sum …
    assert further(batch, base) == ["tpot_p90 <= 50 ms"]               # … the TPOT further out
    assert not closer(batch, base)
    assert further(both, base) == [] and closer(both, base)            # both in (the TTFT met): a step
    assert further(run(25.31, 0.1293 * (1 + NO_EFFECT_RTOL / 2)), base) == []      # within the tolerance: the same

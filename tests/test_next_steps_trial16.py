"""Next steps a user's plans showed wrong (dagc.verdict.next_steps): a larger batch paired with 8-bit weights
when the batch alone meets, because a run whose queue grows counts every load requirement as missed; a precision
that leaves the cap on requests in flight binding offered as a step."""

from __future__ import annotations

import pytest

from dagc.export.result_json import load_json
from dagc.lang.load import load_plan_text
from dagc.plan.model import DType
from dagc.serve.binding import Limit
from dagc.verdict.check import check, check_strategy
from dagc.verdict.next_steps import next_steps
from dagc.verdict.step_effect import CAP_LIFT, moves

# Qwen3-235B on 8 B200s under vLLM, tp 4 ; ep 8, batch 64 at 6 requests/s: the cap on requests in flight binds.
FLEET_B200 = ('model preset "qwen3-235b-a22b" cluster { gpus = 8  gpu preset "b200"  engine = vllm } '
              "workload { batch = 64  prompt = 2048  generate = 512  serving = inflight  rate = 6 requests/s  "
              "requests = 600 } require { ttft_p99 <= 2 s  tpot_p90 <= 50 ms  memory <= 90 % } strategy tp 4 ; ep 8")


def _at_batch(plan, batch: int):
    return check_strategy(plan.model_copy(update={"workload": plan.workload.model_copy(update={"batch": batch})}),
                          plan.strategies[0], with_capacity=False)


def test_a_larger_batch_alone_is_offered_when_it_meets():
    plan = load_plan_text(FLEET_B200)
    r = check(plan)[0]
    assert r.load is not None and load_json(r.load)["binding"]["limit"] == "requests_in_flight"
    # at 80 the queue still grows, so tpot_p90 is not met — yet its own figure holds: no reason for fp8
    at80 = _at_batch(plan, 80)
    tpot = next(q for q in at80.requirements if q.requirement.text == "tpot_p90 <= 50 ms")
    assert tpot.met is False and tpot.unmet is not None and tpot.value < 0.05
    first = next_steps(r)[0]
    assert first.kind == "batch" and first.meets, first
    assert len(first.options) == 1 and first.options[0].startswith("--set workload.batch="), first.options
    assert "fp8" not in first.change
    batch = int(first.options[0].split("=")[1])
    assert batch > 80
    assert _at_batch(plan, batch).verdict.meets_requirements is True      # as `--set workload.batch=N` checks it


def test_a_precision_that_leaves_the_cap_binding_is_no_step():
    """Bound by the cap on requests in flight with the KV cache nearly empty, an 8-bit KV cache shortens the
    attention reads of a long context (TPOT 15.69 → 15.28 ms) but leaves the same cap binding its run, and still
    misses: not offered (dagc.verdict.step_effect)."""
    plan = load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 8 gpu preset "h200"  engine = pytorch } '
                          "workload { batch = 8 prompt = 16000 generate = 500 serving = inflight rate = 4 requests/s "
                          "requests = 300 } require { ttft_p99 <= 1 s } strategy tp 8")
    r = check(plan)[0]
    assert r.load is not None and r.load.binding is not None
    assert r.load.binding.limit is Limit.REQUESTS_IN_FLIGHT and r.load.binding.cap == 8
    kv8 = check_strategy(plan.model_copy(update={"model": plan.model.model_copy(update={"kv_cache": DType.FP8})}),
                         plan.strategies[0], with_capacity=False)
    assert kv8.verdict.meets_requirements is False
    assert kv8.load is not None and kv8.load.binding is not None
    assert kv8.load.binding.limit is Limit.REQUESTS_IN_FLIGHT and kv8.load.binding.cap == 8
    assert kv8.metrics.tpot_s < r.metrics.tpot_s * 0.99            # a figure moves, more than NO_EFFECT_RTOL
    assert kv8.load.figures.served_requests_per_s < r.load.figures.served_requests_per_s * (1 + CAP_LIFT)
    assert not moves(kv8, r)
    steps = next_steps(r)
    assert not any(s.options == ("--set model.kv_cache=fp8",) for s in steps), steps
    assert steps and steps[0].kind == "batch"                       # the cap's own step stays


# DeepSeek-V3 in two pools on 32 H200s under SGLang, 4 requests/s, batch 1: the cap binds (a new user's round)
POOLS_DSV3 = ('model preset "deepseek-v3" cluster { gpus = 32  gpus_per_node = 8  gpu preset "h200"  engine = sglang } '
              "workload { batch = 1  prompt = 4000  generate = 500  serving = inflight  rate = 4 requests/s  "
              "requests = 1000 } require { ttft_p99 <= 3 s  tpot_p90 <= 50 ms  ttft <= 2 s  tpot <= 50 ms } "
              "strategy prefill 2 < tp 8 > decode 1 < dp 2 < tp 1 ; ep 8 > >")


def test_a_larger_batch_grows_past_one_whose_capacity_falls_short():
    """At 80 the run keeps pace bound by the step time (66 in flight on average) but its capacity, 3.907
    requests/s, lies below the 4 arriving: the capacity's longer trials fill the cap the run did not. Until
    2026-12-03 the step stopped there ("still misses the traffic"); 96 and 128 meet."""
    plan = load_plan_text(POOLS_DSV3)
    r = check(plan)[0]
    first = next_steps(r)[0]
    assert first.kind == "batch" and first.meets, first
    batch = int(first.options[0].split("=")[1])
    assert batch == 112                      # 80 (Little's law, to 16 ranks), then 5/4 of it rounded up to 16
    at80 = check_strategy(plan.model_copy(update={"workload": plan.workload.model_copy(update={"batch": 80})}),
                          plan.strategies[0])           # its capacity bisected, as the next step's check does
    assert at80.load is not None and not at80.load.carries_traffic and at80.load.queue_grows is None
    assert at80.load.capacity_requests_per_s < 4 * 0.99


# DeepSeek-V3's pools at 8 requests/s under SGLang: the steady TPOT at batch 256 misses `tpot <= 30 ms`
DECODE_BOUND = ('model preset "deepseek-v3" cluster { gpus = 32  gpus_per_node = 8  gpu preset "h200"  '
                "engine = sglang } workload { batch = 256  prompt = 2000  generate = 500  serving = inflight  "
                "rate = 8 requests/s  requests = 1000 } require { ttft_p99 <= 2 s  tpot_p90 <= 30 ms  tpot <= 30 ms } "
                "strategy prefill 1 < tp 8 ; ep 8 > decode 1 < tp 1 ; ep 16 >")


def test_a_smaller_batch_is_found_by_halving_when_batch_1_cannot_carry_the_rate():
    """Batch 1 cannot carry 8 requests/s, so the search of a smaller batch that meets started nowhere: until
    2026-12-03 no step was offered (and `search --rate` said nothing would help). Halved from 256, 128 meets;
    bisected between, the largest that meets is offered, and its own check meets."""
    plan = load_plan_text(DECODE_BOUND)
    r = check(plan)[0]
    assert r.verdict.meets_requirements is False
    (step,) = [s for s in next_steps(r) if s.kind == "batch"]
    batch = int(step.options[0].split("=")[1])
    assert step.meets and 128 <= batch < 256
    assert check_strategy(plan.model_copy(update={"workload": plan.workload.model_copy(update={"batch": batch})}),
                          plan.strategies[0]).verdict.meets_requirements is True
    above = plan.model_copy(update={"workload": plan.workload.model_copy(update={"batch": batch + 1})})
    assert check_strategy(above, plan.strategies[0]).verdict.meets_requirements is False


PREFILL_BOUND = ('model preset "deepseek-v3" cluster { gpus = 32  gpus_per_node = 8  gpu preset "h200"  engine = vllm }'
                 " workload { batch = 256  prompt = 16000  generate = 300  serving = inflight  rate = 6 requests/s  "
                 "requests = 1000 } require { ttft_p99 <= 2 s  tpot_p90 <= 40 ms } "
                 "strategy prefill 1 < tp 8 > decode 1 < tp 1 ; ep 16 >")


@pytest.mark.slow
def test_prefill_counts_below_the_share_are_tried_too():
    """The prefill pool serves 2.063 of 6 requests/s: the share is 3 instances, and 3 to 6 each take `tpot_p90 <= 40
    ms` further from its target (the decode pool then binds). 2, which the cluster's 32 GPUs hold, takes p99 TTFT
    from 311 to 72 s and meets the TPOT line: the nearest, offered (until 2026-12-03 never tried: "no number of
    prefill instances helps")."""
    plan = load_plan_text(PREFILL_BOUND)
    r = check(plan)[0]
    (step,) = [s for s in next_steps(r) if s.kind == "prefill"]
    assert step.options == ("--strategy 'prefill 2 < tp 8 > decode 1 < tp 1 ; ep 16 >'",) and not step.meets
    assert step.figures["gpus"] == 32 and step.missed == ("ttft_p99 <= 2 s",)
    assert dict(step.load_figures)["ttft_p99"] < 0.5 * load_json(r.load)["ttft_s"]["p99"]

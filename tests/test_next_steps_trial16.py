"""Next steps a user's plans showed wrong (dagc.verdict.next_steps): a larger batch paired with 8-bit weights
when the batch alone meets, because a run whose queue grows counts every load requirement as missed; a precision
that leaves the cap on requests in flight binding offered as a step."""

from __future__ import annotations

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

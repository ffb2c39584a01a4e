"""Next steps a user's plans showed wrong (dagc.verdict.next_steps): a larger batch paired with 8-bit weights
when the batch alone meets, because a run whose queue grows counts every load requirement as missed."""

from __future__ import annotations

from dagc.lang.load import load_plan_text
from dagc.verdict.check import check, check_strategy
from dagc.verdict.next_steps import next_steps

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
    assert r.load is not None and r.load.to_json()["binding"]["limit"] == "requests_in_flight"
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

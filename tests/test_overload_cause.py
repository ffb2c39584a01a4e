"""A load that falls behind or misses a percentile names the limit that binds it, with its figures, and
the next steps try what lifts that limit (dagc.serve.binding, dagc.verdict.next_steps; docs/load.md)."""

from __future__ import annotations

import pytest

from dagc.export.result_json import load_json
from dagc.lang.load import load_plan_text
from dagc.serve.binding import Limit, diagnose
from dagc.serve.load import simulate
from dagc.verdict.check import check, check_strategy, parse_strategy
from dagc.verdict.next_steps import next_steps
from dagc.verdict.steady import binding_steps

QWEN8 = 'model preset "qwen3-30b-a3b" cluster {{ gpus = 8 gpu preset "h200"  engine = pytorch {net} }} '


def _plan(workload: str, require: str, strategy: str, net: str = ""):
    return load_plan_text(QWEN8.format(net=net) + f"workload {{ {workload} }} require {{ {require} }} "
                          f"strategy {strategy}")


def _binding(plan):
    r = check(plan)[0]
    assert r.load is not None
    return r, load_json(r.load)["binding"]


def test_cap_binds_with_littles_concurrency_and_a_larger_batch_meets():
    # at 18 requests/s: at 20 the larger batch's run meets, but its capacity (19.49 requests/s, the steady state's
    # ceiling) lies below the rate, so `dagc check` with it says no, and the step is not offered as meeting
    plan = _plan("batch = 8 prompt = 1000 generate = 200 serving = inflight rate = 18 requests/s requests = 300",
                 "ttft_p99 <= 1 s", "tp 8")
    r, b = _binding(plan)
    assert load_json(r.load)["overloaded"]
    assert b["limit"] == "requests_in_flight" and b["requests_cap"] == 8
    assert b["running_mean_while_waiting"] == pytest.approx(8, abs=0.5)     # flat at the cap
    assert b["kv_share_peak"] < 0.05 and b["preemptions"] == 0             # the KV cache is nearly empty
    assert b["waiting_mean"] > 50 and b["queue_growth_requests_per_s"] > 5
    # Little's law: the arrival rate × a request's mean time in flight (the mean in flight / served rate)
    served = load_json(r.load)["served_requests_per_s"]
    assert b["little_concurrency"] == pytest.approx(18 * b["running_mean"] / served, rel=1e-9)
    assert 30 < b["little_concurrency"] < 60
    steps = next_steps(r)
    first = steps[0]
    assert first.kind == "batch" and first.meets, first
    batch = int(first.options[0].split("=")[1])
    assert batch >= b["little_concurrency"] and batch % 8 == 0
    # the step is what `--set workload.batch=N` gives when the plan is checked again
    again = check_strategy(plan.model_copy(update={"workload": plan.workload.model_copy(update={"batch": batch})}),
                           plan.strategies[0])
    assert again.verdict.meets_requirements is True and again.load.capacity_requests_per_s > 18
    assert load_json(again.load)["binding"]["limit"] == "none"


def test_kv_blocks_bind_with_preemptions():
    plan = _plan("batch = 64 prompt = 2000 generate = 1000 serving = inflight rate = 8 requests/s requests = 300",
                 "ttft_p99 <= 1 s", "tp 8")
    r = check(plan)[0]
    # a KV cache of 10 requests' context: vLLM's gpu_memory_utilization set low
    load = simulate(r.plan, r.strategy, r.layout, kv_tokens=10 * 3000)
    b = diagnose(load, frozenset({"ttft"}), binding_steps(r.metrics).steps)
    assert b.limit is Limit.KV_BLOCKS
    assert b.preemptions > 50 and b.kv_share_waiting is not None and b.kv_share_waiting > 0.9
    assert b.kv_share_peak == pytest.approx(1.0, abs=0.01)
    assert b.running_mean_waiting is not None and b.running_mean_waiting < 0.5 * 64    # far below the cap


def test_step_compute_binds_a_missed_tpot_without_queueing():
    plan = _plan("batch = 64 prompt = 1000 generate = 200 serving = inflight rate = 0.5 requests/s requests = 100",
                 "tpot_p90 <= 1 ms", "tp 8")
    _, b = _binding(plan)
    assert b["limit"] == "step_compute" and b["step"] == "decode"
    assert b["waiting_mean"] == 0 and b["admission_wait_s"] == 0
    assert b["step_compute_share"] > 0.5 > b["step_communication_share"]
    assert b["step_compute_share"] + b["step_communication_share"] == pytest.approx(1, abs=0.01)
    assert b["step_s"] > 0.001


def test_step_communication_binds_on_a_slow_link():
    plan = _plan("batch = 256 prompt = 1000 generate = 200 serving = inflight rate = 0.5 requests/s requests = 100",
                 "tpot_p90 <= 1 ms", "tp 8", net="intra_node = 1 GB/s")
    _, b = _binding(plan)
    assert b["limit"] == "step_communication"
    assert b["step_communication_share"] > 0.8 and b["waiting_mean"] == 0


def test_prefill_pool_binds_and_more_prefill_instances_meet():
    plan = load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 4 gpu preset "h200"  engine = pytorch } '
                          'workload { batch = 128 prompt = 8000 generate = 100 serving = inflight '
                          'rate = 8 requests/s requests = 300 } require { ttft_p99 <= 2 s } '
                          'strategy prefill 1 < tp 2 > decode 1 < tp 2 >')
    r, b = _binding(plan)
    assert b["limit"] == "prefill_pool" and b["prefill_instances"] == 1
    assert b["prefill_utilisation"] > 0.95
    assert b["running_mean"] < 0.2 * b["requests_cap"]          # the decode pool has room
    steps = next_steps(r)
    assert steps[0].kind == "prefill" and steps[0].meets        # then the other steps that apply
    text = steps[0].options[-1].removeprefix("--strategy ").strip("'")
    assert text == "prefill 2 < tp 2 > decode 1 < tp 2 >" and "--set cluster.gpus=6" in steps[0].options
    grown = plan.model_copy(update={"cluster": plan.cluster.model_copy(update={"gpus": 6})})
    assert check_strategy(grown, parse_strategy(text), with_capacity=False).verdict.meets_requirements is True


def test_nothing_binds_a_load_that_keeps_up():
    plan = _plan("batch = 8 prompt = 1000 generate = 200 serving = inflight rate = 0.2 requests/s requests = 50",
                 "ttft_p99 <= 2 s", "tp 8")
    r, b = _binding(plan)
    assert b["limit"] == "none" and r.verdict.meets_requirements is True
    assert b["running_mean"] < 1 and b["waiting_mean"] == 0


QWEN235 = """
model preset "qwen3-235b-a22b"
cluster { gpus = 16 gpu preset "h200"  engine = pytorch }
workload { batch = 128 prompt = 2000 generate = 500 serving = inflight rate = 10 requests/s requests = 1000 }
require { ttft_p99 <= 2 s  tpot_p90 <= 50 ms }
strategy tp 8 ; ep 16
"""


def test_qwen3_235b_at_10_requests_per_s_names_the_cap_and_a_batch_that_meets():
    """Issue 52's overload: OVERLOADED with the running requests flat at the batch of 128 and the KV cache
    nearly empty; Little's law needs about 200 in flight, and a larger batch (with fp8 weights, as the
    tried batch alone misses TPOT) meets everything."""
    plan = load_plan_text(QWEN235)
    r, b = _binding(plan)
    assert load_json(r.load)["overloaded"] and r.verdict.meets_requirements is False
    assert b["limit"] == "requests_in_flight" and b["requests_cap"] == 128
    assert b["running_mean_while_waiting"] > 127 and b["kv_share_peak"] < 0.1
    assert 190 < b["little_concurrency"] < 215
    first = next_steps(r)[0]
    assert first.kind == "batch" and first.meets
    batch = int(first.options[0].removeprefix("--set workload.batch="))
    assert batch > 200 and first.options[1:] == ("--set model.weights=fp8",)


def test_capacity_past_its_work_budget_is_not_judged_quickly():
    """Adversarial item 4: 100,000-token prompts in chunks of 64 would take ~75 M engine events over the
    capacity's runs (hours); the run itself is judged and the capacity is said not judged, in seconds."""
    import time

    from dagc.verdict.under_load import CAPACITY_WORK_BUDGET
    # Qwen3-30B-A3B with YaRN enabled, as its card gives it: 131,072 tokens (40,960 without: E111)
    plan = load_plan_text(QWEN8.format(net="").replace('"qwen3-30b-a3b"', '"qwen3-30b-a3b" { context_length = 131072 }')
                          + "workload { batch = 4 prompt = 100000 generate = 100 serving = inflight chunk = 64 "
                          "rate = 0.01 requests/s requests = 10 } require { ttft_p99 <= 100 s } strategy tp 8")
    start = time.perf_counter()
    r = check(plan)[0]
    assert time.perf_counter() - start < 30
    load = load_json(r.load)
    assert load["capacity_judged"] is False and load["capacity_requests_per_s"] is None
    assert load["capacity_work_events"] == 2000 * (1563 + 3) * 24 > CAPACITY_WORK_BUDGET
    assert load["ttft_s"]["p99"] is not None and r.requirements[0].met is True      # the run itself is judged
    from dagc.export.load_md import load_line
    assert "capacity not judged (warning)" in load_line(load)


def test_a_larger_batch_the_memory_refuses_is_never_proposed():
    """The cap binds (Little's law needs ≈ 43 in flight), but the GPU holds few requests (a runtime reserve of
    136.2 GiB of the H200's 140.4, weights already fp8): in flight a batch past what the KV cache admits is
    not refused but runs what it admits (W520: 23 of 48), so no step proposes a batch past it — the cap the
    engine would never reach — and each step says what it still misses."""
    plan = load_plan_text('model preset "qwen3-30b-a3b" { weights = fp8 } '
                          'cluster { gpus = 8 gpu preset "h200"  engine = pytorch reserve = 136.2 GiB } '
                          "workload { batch = 8 prompt = 1000 generate = 200 serving = inflight rate = 20 requests/s "
                          "requests = 300 } require { ttft_p99 <= 1 s } strategy tp 8")
    r, b = _binding(plan)
    assert r.valid and b["limit"] == "requests_in_flight" and b["little_concurrency"] > 30
    # Little's law's 43 rounded up to whole multiples of 8 is 48: a cap, not refused, its KV cache admits 23 (W520)
    bigger = plan.model_copy(update={"workload": plan.workload.model_copy(update={"batch": 48})})
    admitted = check_strategy(bigger, plan.strategies[0], with_capacity=False)
    assert admitted.valid and any(d.code == "W520" for d in admitted.diagnostics)
    assert admitted.metrics.concurrency_effective == 23
    steps = next_steps(r)
    batches = [int(s.options[0].split("=")[1]) for s in steps
               if s.kind == "batch" and s.options[0].startswith("--set workload.batch=")]
    assert batches == [16]          # 23 admitted, rounded down to a multiple of 8; larger than the plan's 8
    assert all(s.missed or s.meets for s in steps)       # each step says what it still misses, or meets


def test_a_cap_reached_only_in_bursts_does_not_bind():
    """The cap is what binds only when the traffic needs about as many requests in flight as it allows: with
    32 allowed and Little's law's concurrency well under it (≈ 25 at 6 requests/s), a run that reaches the cap
    in a burst is not said to be held by it, and no larger batch is proposed for it."""
    plan = load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 4 gpu preset "h200"  engine = pytorch } '
                          "workload { batch = 32 prompt = 2000 generate = 200 serving = inflight rate = 6 requests/s "
                          "requests = 300 } require { ttft_p99 <= 1 s tpot_p90 <= 40 ms } strategy tp 2 ; ep 2")
    r, b = _binding(plan)
    assert b["requests_cap"] == 32 and b["little_concurrency"] < 0.9 * 32
    assert b["limit"] != "requests_in_flight"
    assert not any(s.kind == "batch" and "the cap on requests in flight binds" in s.change for s in next_steps(r))


def test_a_capacity_below_the_rate_of_a_run_that_kept_up_says_the_requirements_set_it(tmp_path):
    """A static batch of 64 makes a request that arrives during a batch wait for its 256 decode steps: the run at
    2 requests/s keeps up but misses its p99 TTFT, so its capacity (what meets the percentile requirements) is
    below the rate it served. The Load line says what set it, so the two figures side by side do not read as a
    contradiction; an overloaded run's does not."""
    from dagc.export.load_md import load_line

    base = ('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
            "workload { batch = 64 prompt = 2048 generate = 256 serving = static rate = 2 requests/s requests = 1000 } "
            "require { ttft_p99 <= 2 s } strategy tp 8")
    r = check(load_plan_text(base))[0]
    load = load_json(r.load)
    assert not load["overloaded"] and load["ttft_s"]["p99"] > 2.0
    # it keeps pace: it serves what arrives, 2 requests/s (`Load.served`), above its capacity
    assert load["capacity_requests_per_s"] < load["served_requests_per_s"] == pytest.approx(2.0)
    # and, the capacity below the rate, that the deployment is past it (docs/load.md, "Carrying the traffic")
    assert ", the highest rate at which the percentile requirements hold; PAST ITS CAPACITY, it does not carry its " \
           "traffic: it keeps pace in this 1,000-request run" in load_line(load)
    swamped = load_json(check(load_plan_text(base.replace("rate = 2 requests/s", "rate = 40 requests/s")))[0].load)
    assert swamped["overloaded"] and "percentile requirements hold" not in load_line(swamped)


def test_the_cap_binding_under_littles_mean_says_it_binds_when_arrivals_bunch():
    """Little's law's mean in flight below the cap (123.8 of 128): the cap binds only when arrivals bunch, and the
    words say so; above it (273.7 of 64), they say nothing more."""
    from dagc.export.binding_text import binding_text
    b = {"limit": "requests_in_flight", "little_concurrency": 123.8, "arrival_rate_requests_per_s": 6.0,
         "running_mean_while_waiting": 127.4, "requests_cap": 128, "waiting_mean": 3.2, "kv_share_peak": 0.5}
    text = binding_text(b)
    assert text is not None and "Little's law needs ≈ 123.8 in flight at 6 requests/s" in text
    assert "— under the cap on average: it binds when arrivals bunch" in text
    more = binding_text({**b, "little_concurrency": 273.7, "requests_cap": 64})
    assert more is not None and "≈ 273.7 in flight" in more and "arrivals bunch" not in more


def test_the_steps_host_share_is_the_engines_host_time_on_its_critical_path():
    """The binding's `step_host_share`: of the binding step's critical path, the engine's host time (vLLM's per-step,
    per-request and per-layer terms, `PathBreakdown.host_s`), which its compute share includes; said under the Load
    line. The plain reference (pytorch) has none."""
    from dagc.export.binding_text import binding_text
    from dagc.ir.dag import Phase
    from dagc.units import format_percent
    plan = load_plan_text(QWEN8.format(net="").replace("engine = pytorch", "engine = vllm")
                          + "workload { batch = 64 prompt = 1000 generate = 200 serving = inflight rate = 0.5 "
                          "requests/s requests = 100 } require { tpot_p90 <= 1 ms } strategy tp 8")
    r, b = _binding(plan)
    assert b["limit"] == "step_compute" and b["step"] == "decode"
    path = r.metrics.critical_path[Phase.DECODE]
    assert b["step_host_share"] == pytest.approx(path.host_s / path.makespan_s, rel=1e-12)
    assert 0 < b["step_host_share"] < b["step_compute_share"]
    share = f"{format_percent(b['step_host_share'])} the engine's host time"
    assert f"compute (of which {share})" in binding_text(load_json(r.load)["binding"])
    _, plain = _binding(_plan("batch = 64 prompt = 1000 generate = 200 serving = inflight rate = 0.5 requests/s "
                              "requests = 100", "tpot_p90 <= 1 ms", "tp 8"))
    assert plain["step_host_share"] == 0

"""What binds a load, continued: a disaggregated strategy's step and cap, the KV cache's blocks and the 8-bit
KV cache tried first, and a goodput target the traffic cannot reach (dagc.serve.binding,
dagc.export.binding_text, dagc.verdict.next_steps; docs/load.md "What binds")."""

from __future__ import annotations

import datetime as dt

import pytest

from dagc.export.binding_text import binding_text
from dagc.export.result_json import load_json
from dagc.lang.load import load_plan, load_plan_text
from dagc.verdict.check import check, check_strategy
from dagc.verdict.next_steps import next_steps

POOLS = "prefill 1 < tp 1 > decode 1 < tp 1 >"


def _pooled(workload: str, require: str):
    plan = load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 2 gpu preset "h200"  engine = pytorch } '
                          f"workload {{ {workload} }} require {{ {require} }} strategy {POOLS}")
    r = check(plan)[0]
    assert r.pooled is not None and r.load is not None
    return plan, r, load_json(r.load)["binding"]


def test_a_pooled_strategy_s_decode_step_is_its_decode_pool_s():
    """The decode step of a disaggregated strategy is its decode pool's steady step (its TPOT), never '—'."""
    _, r, b = _pooled("batch = 64 prompt = 1000 generate = 200 serving = inflight rate = 1 requests/s "
                      "requests = 100", "tpot_p90 <= 5 ms")
    assert b["limit"] == "step_compute" and b["step"] == "decode"
    decode = r.pooled.pools[1].analysis.metrics
    assert b["step_s"] == pytest.approx(decode.tpot_s)
    text = binding_text(b)
    # the run's own decode step (a couple in flight), the steady state's (every slot busy) beside it
    assert b["run_step_s"] is not None and b["run_step_s"] < b["step_s"]
    assert "the decode step takes 13.8 ms on average in this run (31" in text and "—" not in text


def test_a_pooled_strategy_s_missed_ttft_rests_on_its_prefill_step():
    _, r, b = _pooled("batch = 64 prompt = 1000 generate = 200 serving = inflight rate = 1 requests/s "
                      "requests = 100", "ttft_p99 <= 10 ms")
    assert b["limit"] == "step_compute" and b["step"] == "prefill"
    assert b["step_s"] == pytest.approx(r.pooled.pools[0].analysis.metrics.ttft_s)
    assert "the prefill step takes 190 ms" in binding_text(b)


def test_a_pooled_cap_counts_the_requests_admitted_to_decode_and_a_larger_batch_meets():
    """The cap on requests in flight counts the decode pool's slots: the requests in prefill or in transfer
    are not in flight against it (never more in flight than the cap); next steps try a larger batch."""
    plan, r, b = _pooled("batch = 8 prompt = 1000 generate = 200 serving = inflight rate = 10 requests/s "
                         "requests = 300", "ttft_p99 <= 2 s")
    assert b["limit"] == "requests_in_flight" and b["requests_cap"] == 8
    assert b["running_mean"] <= 8 + 1e-9 and b["running_mean_while_waiting"] == pytest.approx(8, abs=0.2)
    steps = next_steps(r)
    first = steps[0]
    assert first.kind == "batch" and first.meets, steps
    batch = int(first.options[0].removeprefix("--set workload.batch="))
    bigger = plan.model_copy(update={"workload": plan.workload.model_copy(update={"batch": batch})})
    assert check_strategy(bigger, plan.strategies[0], with_capacity=False).verdict.meets_requirements is True


def _log(path, requests: int = 300) -> None:
    """Every fourth request a 30,000-token prompt, the others 1,000, five a second."""
    t0 = dt.datetime(2023, 11, 16, 18)
    rows = [f"{(t0 + dt.timedelta(seconds=i / 5)).strftime('%Y-%m-%d %H:%M:%S.%f')},"
            f"{30000 if i % 4 == 0 else 1000},400" for i in range(requests)]
    path.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n" + "\n".join(rows) + "\n")


def test_kv_blocks_bind_and_the_8_bit_kv_cache_is_tried_first(tmp_path):
    """The KV cache's blocks bind (long prompts in a cache the reserve leaves small): the sentence says what
    may lift it, and the next steps try an 8-bit KV cache before anything else."""
    _log(tmp_path / "log.csv")
    (tmp_path / "p.moe").write_text(
        'model preset "qwen3-30b-a3b"\ncluster { gpus = 2 gpu preset "h200"  engine = pytorch reserve = 104 GiB }\n'
        'workload { batch = 64 prompt = 2000 generate = 200 serving = inflight requests from "log.csv" }\n'
        "require { ttft_p99 <= 1 s }\nstrategy tp 2\n")
    r = check(load_plan(tmp_path / "p.moe"))[0]
    b = load_json(r.load)["binding"]
    assert b["limit"] == "kv_blocks" and b["preemptions"] > 0
    assert "an 8-bit KV cache or more GPUs may lift it" in binding_text(b)
    steps = next_steps(r)
    assert steps and steps[0].options == ("--set model.kv_cache=fp8",), steps


def test_a_goodput_target_above_the_arrival_rate_is_said_unreachable():
    """Goodput never exceeds the served rate, nor that the arrival rate: at 4 requests/s, `goodput >= 4.5
    requests/s` is missed whatever changes, and dagc says so instead of chasing it in next steps. At the arrival
    rate itself it is met by a deployment that keeps pace and serves every request within its targets."""
    plan = load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 2 gpu preset "h200"  engine = pytorch } '
                          "workload { batch = 64 prompt = 1000 generate = 200 serving = inflight "
                          "rate = 4 requests/s requests = 300 } require { goodput >= 4.5 requests/s } strategy tp 2")
    r = check(plan)[0]
    assert r.verdict.meets_requirements is False
    b = load_json(r.load)["binding"]
    assert b["goodput_unreachable_requests_per_s"] == pytest.approx(4.5)
    text = binding_text(b)
    assert text is not None and "arrival rate of 4 requests/s" in text and "unreachable" in text
    assert next_steps(r) == []

    def at(target: float):
        return plan.model_copy(update={"requirements": tuple(q.model_copy(update={"target": target,
                                                                                  "text": f"goodput >= {target}"})
                                                               for q in plan.requirements)})
    # at the arrival rate: no latency target, every request good, the deployment keeping pace — met
    met = check(at(4.0))[0]
    assert load_json(met.load)["goodput_requests_per_s"] == pytest.approx(4.0) and met.verdict.meets_requirements
    # a target below the arrival rate is not said unreachable
    assert load_json(check(at(3.0))[0].load)["binding"]["goodput_unreachable_requests_per_s"] is None


def test_a_request_larger_than_the_kv_cache_is_warned_of(tmp_path):
    """A 3,000,000-token prompt on two H100s does not fit a rank's KV cache: the run goes on in a cache
    raised to hold it, and W519 names the request and the memory."""
    (tmp_path / "log.csv").write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n"
                                      "2023-11-16 18:17:03.9799600,1000,10\n"
                                      "2023-11-16 18:17:04.0319600,3000000,8\n")
    (tmp_path / "p.moe").write_text(
        # a context stated long enough for the request (Qwen3-30B-A3B's own, 40,960 tokens, refuses it: E111)
        'model preset "qwen3-30b-a3b" { context_length = 4000000 }\n'
        'cluster { gpus = 2 gpu preset "h100-sxm"  engine = pytorch }\n'
        'workload { batch = 8 prompt = 2048 generate = 64 serving = inflight requests from "log.csv" }\n'
        "strategy tp 2\n")
    r = check(load_plan(tmp_path / "p.moe"))[0]
    assert r.load is not None and r.load.load.kv_tokens < 3_000_008
    w = [d for d in r.diagnostics if d.code == "W519"]
    # named by its line of the log and located at the log's name in the plan, as E111 names one (until 2026-11-30
    # "request 2", at `workload {`)
    assert len(w) == 1 and w[0].message.startswith("the request on line 3 of `log.csv` (3,000,000 prompt + 8 output "
                                                   "tokens)")
    assert w[0].span is not None and (w[0].span.line, w[0].span.column, w[0].span.text) == (3, 83, "\"log.csv\"")
    # the H100 SXM's memory as E402 and the memory table say it: 85,520,809,984 bytes / 2^30 = 79.65 GiB
    assert "the `h100-sxm`'s 79.65 GiB" in w[0].message and f"{r.load.load.kv_tokens:,} tokens" in w[0].message
    # a log whose requests fit says nothing
    (tmp_path / "log.csv").write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n"
                                      "2023-11-16 18:17:03.9799600,1000,10\n")
    assert not [d for d in check(load_plan(tmp_path / "p.moe"))[0].diagnostics if d.code == "W519"]


def test_a_missed_itl_names_the_mixed_step_and_a_smaller_chunk_meets():
    """A token's longest gaps are the steps that run a prompt's 8,192-token chunk with the decode tokens: the
    ITL miss names the mixed step (87 ms, not the 21 ms decode step), and a smaller chunk meets."""
    plan = load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 2 gpu preset "h200"  engine = pytorch } '
                          "workload { batch = 32 prompt = 4000 generate = 200 serving = inflight chunk = 8192 "
                          "rate = 2 requests/s requests = 200 } require { itl_p99 <= 60 ms } strategy tp 2")
    r = check(plan)[0]
    b = load_json(r.load)["binding"]
    assert r.requirements[0].met is False
    assert b["limit"] == "step_compute" and b["step"] == "mixed"
    assert b["step_s"] == pytest.approx(r.metrics.mixed_step_s) and b["step_s"] > 0.06 > r.metrics.decode_step_s
    assert "the mixed step takes 87" in binding_text(b)
    first = next_steps(r)[0]
    assert first.kind == "chunk" and first.meets and first.options == ("--set workload.chunk=2048",)
    smaller = plan.model_copy(update={"workload": plan.workload.model_copy(update={"chunk": 2048})})
    assert check_strategy(smaller, plan.strategies[0], with_capacity=False).verdict.meets_requirements is True


def test_a_pooled_strategy_whose_requests_wait_for_decode_slots_rests_its_ttft_on_the_decode_step():
    """When a disaggregated strategy's requests wait to be admitted to the decode pool (the admission wait at least
    a quarter of the mean TTFT) and its prefill pool is not busy, a missed TTFT rests on the decode step, whose pace
    frees the slots: the prefill step, a fraction of the TTFT missed, is not what binds."""
    _, r, b = _pooled("batch = 64 prompt = 200 generate = 1000 serving = inflight rate = 1.8 requests/s "
                      "requests = 600", "ttft_p99 <= 100 ms")
    assert b["prefill_utilisation"] < 0.9 and b["limit"] == "step_compute"
    assert b["little_concurrency"] < 0.9 * 64          # the cap is reached in bursts only
    assert b["admission_wait_s"] >= 0.25 * load_json(r.load)["ttft_s"]["mean"]
    assert b["step"] == "decode"
    assert b["step_s"] == pytest.approx(r.pooled.pools[1].analysis.metrics.tpot_s)

"""Admission as the engines do it: in flight `batch` is a cap the KV cache may admit fewer of (W520),
E402 only when one full-length request does not fit, and the steady state, the load simulation and
`batch = max` agree on the concurrency the engine reaches (dagc.memory.admission)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dagc.export.report import report_json
from dagc.export.result_json import metrics_json
from dagc.lang.load import load_plan_text
from dagc.memory.admission import admission, admission_words
from dagc.serve.kv_blocks import kv_capacity_tokens
from dagc.serve.load import simulate
from dagc.verdict.check import check

# Qwen2.5-14B as its config.json gives it (huggingface.co/Qwen/Qwen2.5-14B): 48 layers, hidden 5120,
# 40 query heads and 8 KV heads of 128, intermediate 13824, vocabulary 152064, embeddings not tied.
QWEN14B = """model "qwen2.5-14b" {
  layers = 48  hidden = 5120  heads = 40  kv_heads = 8  head_dim = 128  vocab = 152064  tied = false
  ffn = 13824
}
"""
# One L40S-class GPU: 48 GB.
L40S = 'cluster { gpus = 1  gpu "l40s" { memory = 48 GB  flops = 362 TFLOPS  hbm = 864 GB/s }  engine = pytorch }\n'


def plan_text(batch: int = 128, prompt: int = 2000, generate: int = 500, serving: str = "inflight",
              extra: str = "") -> str:
    return (QWEN14B + L40S + f"workload {{ batch = {batch}  prompt = {prompt}  generate = {generate}  "
            f"serving = {serving} {extra} }}\nstrategy tp 1\n")


def one(text: str):
    return check(load_plan_text(text))[0]


# By hand: the weights (no biases counted), and one token's KV cache over the model.
H, LAYERS, VOCAB, FFN = 5120, 48, 152064, 13824
WEIGHTS_BYTES = 2 * (LAYERS * (H * 40 * 128 * 2 + H * 8 * 128 * 2 + 3 * H * FFN + 2 * H) + 2 * VOCAB * H + H)
KV_BYTES_PER_TOKEN = LAYERS * 2 * 8 * 128 * 2          # K and V, 8 heads of 128, bf16: 196,608 B
RESERVE_BYTES = 4 * 2**30
GPU_BYTES = 48e9


def kv_tokens_by_hand(activation_bytes: float) -> int:
    """The tokens of context the KV cache holds: what the weights, activations and reserve leave."""
    return math.floor((GPU_BYTES - WEIGHTS_BYTES - activation_bytes - RESERVE_BYTES) / KV_BYTES_PER_TOKEN)


def test_a_14b_model_on_one_48gb_gpu_at_batch_128_runs_what_its_kv_cache_admits():
    r = one(plan_text())
    codes = [d.code for d in r.diagnostics]
    assert "E402" not in codes and r.valid
    stage = r.memory.worst
    assert stage.weights_bytes == WEIGHTS_BYTES == 29_539_379_200
    assert KV_BYTES_PER_TOKEN == 196_608
    assert stage.kv_needed_bytes == 128 * 2500 * KV_BYTES_PER_TOKEN     # the cap at full length: 62.9 GB
    # the activations are the DAG's largest working set (tests/test_memory.py), well under a GiB here
    assert 0 < stage.activation_bytes < 2**30
    tokens = kv_tokens_by_hand(stage.activation_bytes)
    full, running = tokens // 2500, math.floor(tokens / (2000 + 500 / 2))
    assert (full, running) == (28, 31)
    (w,) = [d for d in r.diagnostics if d.code == "W520"]
    assert (f"the KV cache holds {full} of the 128 requests of `batch` at full length (2,500 tokens; {tokens:,} "
            f"tokens a rank); in flight the engine runs ≈ {running} at their mean context (2,250 tokens)") in w.message
    # the memory to run all 128 at their mean context: the GPU plus the tokens short of 128 × 2,250
    lift = GPU_BYTES + (128 * 2250 - tokens) * KV_BYTES_PER_TOKEN
    assert f"GPUs of {lift / 2**30:.2f} GiB would run all 128" in w.hint
    # an 8-bit KV cache halves a token's bytes: twice the tokens
    assert f"an 8-bit KV cache (`model {{ kv_cache = fp8 }}`) would run ≈ {math.floor(2 * tokens / 2250)}" in w.hint
    # the engine fills the GPU with KV cache: the rank is full, not over
    assert stage.kv_cache_bytes == GPU_BYTES - WEIGHTS_BYTES - stage.activation_bytes - RESERVE_BYTES
    assert stage.fits and stage.total_bytes <= GPU_BYTES
    assert r.metrics.concurrency_effective == running
    assert report_json(r)["metrics"]["concurrency_effective"] == running


def test_the_steady_state_is_priced_at_the_concurrency_the_engine_reaches():
    capped, fixed = one(plan_text()), one(plan_text(batch=31))
    assert capped.metrics.concurrency_effective == fixed.metrics.concurrency_effective == 31
    assert not any(d.code == "W520" for d in fixed.diagnostics)
    for key in ("ttft_s", "tpot_s", "decode_tokens_per_s", "throughput_tokens_per_s"):
        assert metrics_json(capped.metrics)[key] == metrics_json(fixed.metrics)[key], key
    # decode tokens/s is the requests running over TPOT: 31, not 128
    assert capped.metrics.decode_tokens_per_s == 31 / capped.metrics.tpot_s


def test_e402_only_when_one_full_length_request_does_not_fit():
    # about 15.2 GB is left for the KV cache: 77,000-odd tokens; a 100,000-token request cannot fit
    r = one(plan_text(batch=4, prompt=100_000, generate=1000))
    (e,) = [d for d in r.diagnostics if d.code == "E402"]
    stage = r.memory.worst
    assert stage.kv_cache_bytes == 101_000 * KV_BYTES_PER_TOKEN          # one full-length request's
    assert ("KV cache of one full-length request (101,000 tokens: the engine cannot start without it) 18.49 GiB"
            in e.message)
    # 60,000 tokens fit once: the engine starts, with one request at a time
    ok = one(plan_text(batch=4, prompt=60_000, generate=1000))
    assert ok.valid and ok.metrics.concurrency_effective == 1
    tokens = kv_tokens_by_hand(ok.memory.worst.activation_bytes)
    assert tokens // 61_000 == 1 and math.floor(tokens / 60_500) == 1


def test_static_serving_keeps_e402_for_the_whole_batch():
    """A static batch prefills together and decodes together to the end: every request reaches full length
    at once, so the whole batch's KV cache must fit."""
    r = one(plan_text(serving="static"))
    (e,) = [d for d in r.diagnostics if d.code == "E402"]
    assert r.memory.worst.kv_cache_bytes == 128 * 2500 * KV_BYTES_PER_TOKEN
    assert "KV cache 58.59 GiB" in e.message
    assert not any(d.code == "W520" for d in r.diagnostics)


def test_the_load_simulation_reaches_the_steady_states_concurrency():
    """A closed loop of 128 clients: the simulation admits while KV blocks allow and preempts when they run
    out; over the middle half of the run it holds the steady state's concurrency within 10 %."""
    plan = load_plan_text(plan_text(extra="concurrency = 128  requests = 600"))
    r = check(plan)[0]
    assert r.metrics.concurrency_effective == 31
    a = admission(r.plan.workload, r.layout, r.memory)
    assert kv_capacity_tokens(plan, r.strategy, r.layout) == a.kv_tokens      # one figure, two readers
    load = simulate(plan, r.strategy, r.layout)
    t, running = load.timeline.t, load.timeline.running
    dt = np.diff(t)
    mid = (t[:-1] > 0.25 * t[-1]) & (t[:-1] < 0.75 * t[-1])
    mean_running = float((running[:-1][mid] * dt[mid]).sum() / dt[mid].sum())
    assert abs(mean_running - 31) <= 0.1 * 31, mean_running
    assert load.preemptions.sum() > 0                 # the cache runs out as requests grow: the engine preempts


def test_batch_max_in_flight_stops_where_the_kv_cache_admits_no_more():
    r = one(plan_text(batch="max"))
    chosen = r.plan.workload.batch
    assert r.plan.workload.batch_breaks == "the KV cache's room (W520)"
    # at the batch chosen every request runs; one more and the KV cache admits fewer than the cap
    at, above = one(plan_text(batch=chosen)), one(plan_text(batch=chosen + 1))
    assert at.metrics.concurrency_effective == chosen and not any(d.code == "W520" for d in at.diagnostics)
    assert any(d.code == "W520" for d in above.diagnostics)
    assert chosen == math.floor(kv_tokens_by_hand(at.memory.worst.activation_bytes) / 2250)


def test_a_decode_instance_runs_what_its_kv_cache_admits():
    """Disaggregated: each decode instance is a cap of its share of `batch`, and the deployment's decode rate
    is the requests its KV cache admits over TPOT."""
    text = plan_text().replace("gpus = 1 ", "gpus = 2 ").replace("strategy tp 1",
                                                                   "strategy prefill 1 < tp 1 > decode 1 < tp 1 >")
    r = one(text)
    assert r.valid and [d.code for d in r.diagnostics if d.code in ("E402", "W520")] == ["W520"]
    decode = r.pooled.decode
    assert decode.batch_per_instance == 128
    tokens = kv_tokens_by_hand(decode.analysis.memory.worst.activation_bytes)
    assert decode.analysis.metrics.concurrency_effective == math.floor(tokens / 2250) == 31
    assert r.metrics.concurrency_effective == 31
    assert r.metrics.decode_tokens_per_s == 31 / r.metrics.tpot_s


def test_the_pools_table_shows_what_a_decode_instance_runs():
    """The pools table's "requests each" of a decode instance is the requests its KV cache admits (W520),
    beside its share of `batch`, in the terminal, report.md and report.json — as its capacity is."""
    import io

    from rich.console import Console

    from dagc.cli.print_figures import print_pools
    from dagc.export.report import pools_json
    from dagc.export.serving_md import pooled_summary
    text = plan_text().replace("gpus = 1 ", "gpus = 2 ").replace("strategy tp 1",
                                                                   "strategy prefill 1 < tp 1 > decode 1 < tp 1 >")
    r = one(text)
    decode = r.pooled.decode
    assert (decode.running_per_instance, decode.batch_per_instance) == (31, 128)
    assert r.pooled.figures.capacity["decode"] == pytest.approx(31 / (r.metrics.tpot_s * 500))
    out = io.StringIO()
    print_pools(Console(file=out, width=200), r)
    row = next(line for line in out.getvalue().splitlines() if line.startswith("│ decode"))
    assert [c.strip() for c in row.split("│")][5] == "≈ 31 of 128"
    md = next(line for line in pooled_summary(r) if line.startswith("| decode"))
    assert "| ≈ 31 of 128 |" in md
    # the pool's most served, every slot busy: "serves at most", not the load's capacity (the highest arrival rate
    # that meets the percentile requirements), which the Load line beside it calls "capacity"
    header = next(line for line in out.getvalue().splitlines() if "requests each" in line)
    assert [c.strip() for c in header.split("┃")][7] == "serves at most"
    assert "| time | serves at most | memory use |" in "\n".join(pooled_summary(r))
    assert r.pooled.figures.binding_pool == "decode" and "a step for 31 requests" in "\n".join(pooled_summary(r))
    pools = {p["role"]: p for p in pools_json(r)["pools"]}
    assert (pools["decode"]["running_per_instance"], pools["decode"]["batch_per_instance"]) == (31, 128)


def test_the_memory_table_says_what_the_engine_admits():
    from dagc.export.markdown import report_md
    r = one(plan_text())
    tokens = kv_tokens_by_hand(r.memory.worst.activation_bytes)
    words = (f"KV cache: holds {tokens // 2500} of the 128 requests at full length (2,500 tokens); in flight the "
             f"engine runs ≈ {math.floor(tokens / 2250)} at their mean context (2,250 tokens)")
    assert admission_words(r.plan.workload, r.layout, r.memory) == words
    assert words.replace(":", "\\:", 1) + " (W520)." in report_md(r)
    fixed = one(plan_text(batch=31))
    assert admission_words(fixed.plan.workload, fixed.layout, fixed.memory) is None


def test_w520_names_replicas_attention_dp_ranks_or_both():
    """kimi-b200.moe's `dp 2 < tp 8 ; ep 8 >` (attention DP 1) was said to run "over 2 attention-DP ranks": its
    requests spread over whole replicas, which W520 now calls so; attention-DP ranks are named as such, and both
    when a replica holds several."""
    kimi = ('model preset "kimi-k2"\ncluster { gpus = 16  gpus_per_node = 8  gpu preset "b200"  engine = trtllm }\n'
            "workload { batch = BATCH  prompt = 8000  generate = 1000  serving = inflight }\nstrategy STRATEGY\n")
    found = {}
    for strategy, batch in (("dp 2 < tp 8 ; ep 8 >", 256), ("tp 1 ; ep 16", 4096), ("dp 2 < tp 1 ; ep 8 >", 4096)):
        text = kimi.replace("STRATEGY", strategy).replace("BATCH", str(batch))
        (w,) = [d for d in one(text).diagnostics if d.code == "W520"]
        found[strategy] = w.message[w.message.index(" (over"):w.message.index(" each)") + 6]
    # TensorRT-LLM admits at full length (9,000 tokens, not the mean 8,500): 8,500 / 9,000 of the vLLM-like counts;
    # `tp 1 ; ep 16` on B200 boards all-gathers every rank's tokens to its 16 EP ranks (TensorRT-LLM's EP exchange,
    # dagc.ir.op_moe.gathers_tokens), whose larger working set leaves one request less of KV room than an all-to-all
    assert found == {"dp 2 < tp 8 ; ep 8 >": " (over 2 replicas (dp 2): 92 each)",
                     "tp 1 ; ep 16": " (over 16 attention-DP ranks: 175 each)",
                     "dp 2 < tp 1 ; ep 8 >": " (over 2 replicas (dp 2) × 8 attention-DP ranks = 16: 76 each)"}


def test_a_decode_instance_under_traffic_runs_no_more_than_its_kv_cache_admits():
    """The load through the pools holds a decode instance to the 31 requests its KV cache admits (W520), as the
    steady state does, not to its share of `batch` (128): the run priced decode steps of up to 128 requests
    until 2026-11-30, its TPOT far past the steady state's."""
    from dagc.serve.load_pools import simulate_pools
    text = plan_text(extra="rate = 2 requests/s  requests = 400").replace("gpus = 1 ", "gpus = 2 ").replace(
        "strategy tp 1", "strategy prefill 1 < tp 1 > decode 1 < tp 1 >")
    r = one(text)
    decode = r.pooled.decode
    assert (decode.running_per_instance, decode.batch_per_instance) == (31, 128)
    load = simulate_pools(r.pooled.plan, r.pooled)
    assert load.cap == 31
    assert load.timeline is not None
    decoding = np.rint(load.timeline.kv_share * load.cap)
    assert decoding.max() == 31                  # the traffic fills the instance, and no further


def test_a_decode_instance_full_at_its_kv_cache_is_bound_by_the_kv_cache_not_the_batch():
    """Past the 31 requests its KV cache admits, the decode instance binds by its KV cache: "a larger batch lifts
    it" would ask for a cap the KV cache never reaches (the batch is 128 already)."""
    from dagc.export.binding_text import binding_text
    from dagc.export.result_json import binding_json
    from dagc.serve.binding import Limit, diagnose
    from dagc.serve.load_pools import simulate_pools
    text = plan_text(extra="rate = 6 requests/s  requests = 400").replace("gpus = 1 ", "gpus = 2 ").replace(
        "strategy tp 1", "strategy prefill 1 < tp 1 > decode 1 < tp 1 >")
    r = one(text)
    load = simulate_pools(r.pooled.plan, r.pooled)
    assert load.cap == 31 and load.kv_capped and load.overloaded
    b = diagnose(load, frozenset())
    assert b.limit is Limit.KV_BLOCKS
    said = binding_text(binding_json(b)) or ""
    assert said.startswith("Bound by the KV cache's blocks") and "a larger batch" not in said

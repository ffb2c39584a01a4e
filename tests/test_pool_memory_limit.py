"""A memory requirement caps a disaggregated decode pool's KV cache as it caps an aggregated strategy's
(docs/language.md, "A memory limit and the KV cache"): the engine's memory share is what the limit allows,
as `dagc launch` starts the pool, and `batch = max` picks a batch meeting the limit. The pools were analysed
without the plan's requirements, so the decode instance's KV cache filled the whole GPU: `memory <= 90 %`
read 100.0 %, NO, and W520 sized the cache on the whole GPU."""

from __future__ import annotations

import math

from dagc.lang.flatten import flatten
from dagc.lang.load import load_plan_text
from dagc.verdict.pools import check_pools

# DeepSeek-V3 on 32 H200, decode on one instance of 16 GPUs
PLAN = """model preset "deepseek-v3"
cluster { gpus = 32  gpus_per_node = 8  gpu preset "h200"  engine = sglang }
workload { batch = 512  prompt = 8000  generate = 1000  serving = inflight }
require { memory <= 90 % }
strategy pd = prefill 2 < tp 8 > decode 1 < tp 16 ; ep 16 >
strategy agg = dp 2 < tp 16 ; ep 16 >
"""
CAPACITY = 143_771 * 2**20           # an H200: 143,771 MiB = 150,754,820,096 bytes
LIMIT = 0.9 * CAPACITY               # `memory <= 90 %`: 126.36 GiB
KV_TOKEN = (512 + 64) * 61 * 2       # MLA's latent KV (kv_lora_rank 512 + rope 64), 61 layers, bf16: 70,272 bytes


def _checked(text: str, which: int = 0):
    plan = load_plan_text(text)
    strategy, _ = flatten(plan.strategies[which], plan.cluster.gpus)
    assert strategy is not None
    return check_pools(plan, strategy)


def test_the_decode_pools_kv_cache_fills_the_share_the_limit_allows():
    pooled = _checked(PLAN)
    decode = pooled.decode
    assert decode is not None and decode.analysis.memory is not None
    worst = decode.analysis.memory.worst
    # the rank holds the limit, no more: weights, activations and reserve, and the KV cache in what they leave
    assert worst.total_bytes <= LIMIT and math.isclose(worst.total_bytes, LIMIT, rel_tol=1e-12)
    assert math.isclose(worst.fraction, 0.9, rel_tol=1e-12)          # was 1.000 (the whole GPU)
    kv_tokens = math.floor(worst.kv_cache_bytes / KV_TOKEN)
    rest = worst.weights_bytes + worst.activation_bytes + worst.reserve_bytes
    assert kv_tokens == math.floor((LIMIT - rest) / KV_TOKEN) == 1_258_867
    # the whole GPU held 0.1 × 150,754,820,096 / 70,272 = 214,530.4 tokens more: 1,473,397
    assert math.floor((CAPACITY - rest) / KV_TOKEN) == 1_473_397
    # in flight at the mean context, 8,000 + 1,000 / 2 = 8,500 tokens, and SGLang's reservation of 0.098 of the 500
    # still to come: 8,549 tokens, floor(1,258,867 / 8,549) = 147 (was 172)
    assert decode.running_per_instance == 147 and decode.requests_text == "≈ 147 of 512"
    [mem] = pooled.requirements
    assert mem.met is True and math.isclose(mem.value, 0.9, rel_tol=1e-12)
    [w520] = [d for d in pooled.diagnostics if d.code == "W520"]
    assert w520.message.startswith("decode pool: the KV cache the engine is given under `memory <= 90 %` (its "
                                   "memory share, 126.36 GiB a GPU, as `dagc launch` sets it) holds 139 of the 512 "
                                   "requests of `batch` at full length (9,000 tokens; 1,258,867 tokens a rank)")
    assert ("the engine runs ≈ 147 at their mean context with the 0.098 of their output to come the engine reserves "
            "(8,549 tokens)") in w520.message


def test_the_aggregated_strategy_is_capped_as_before():
    from dagc.verdict.check import check
    [r] = check(load_plan_text(PLAN), "agg")
    assert r.memory is not None and math.isclose(r.memory.worst.total_bytes, LIMIT, rel_tol=1e-12)
    [w520] = [d for d in r.diagnostics if d.code == "W520"]
    assert "1,255,747 tokens a rank" in w520.message and "runs ≈ 292 at their mean context" in w520.message


def test_without_a_memory_requirement_the_decode_pool_fills_the_gpu():
    pooled = _checked(PLAN.replace("require { memory <= 90 % }\n", ""))
    decode = pooled.decode
    assert decode is not None and decode.analysis.memory is not None
    assert decode.analysis.memory.worst.total_bytes > LIMIT and decode.running_per_instance == 172   # 1,473,397 / 8,549


def test_batch_max_picks_a_decode_batch_that_meets_the_limit():
    # DeepSeek-V3 on 64 H200, 4,000 + 500 tokens: the decode instance's batch is bound by its KV cache's room
    text = ('model preset "deepseek-v3"\ncluster { gpus = 64  gpus_per_node = 8  gpu preset "h200" }\n'
            "workload { batch = max  prompt = 4000  generate = 500  serving = inflight }\n"
            "require { memory <= 90 % }\nstrategy prefill 1 < tp 8 ; ep 8 > decode 1 < tp 1 ; ep 8 >\n")
    pooled = _checked(text)
    [n605] = [d for d in pooled.diagnostics if d.code == "N605"]
    assert n605.message == ("batch = max: 864 requests, the most the decode instance holds — 865 would break the "
                            "KV cache's room (W520)")
    [mem] = pooled.requirements
    # the decode pool was judged at 91.1 %, NO: its KV cache then held the 864 at full length on the whole GPU
    assert mem.met is True and math.isclose(mem.value, 0.9, rel_tol=1e-12)
    assert pooled.verdict.meets_requirements is True


def test_a_memory_requirement_above_the_gpu_is_said_once_of_a_pooled_strategy():
    pooled = _checked(PLAN.replace("memory <= 90 %", "memory <= 200 GB"))
    found = [d for d in pooled.diagnostics if d.code == "W524"]
    assert [d.message for d in found] == ["`memory <= 200 GB` is above the memory of one `h200`, 140.40 GiB "
                                          "(143,771 MiB): it bounds nothing: every strategy that fits the GPU "
                                          "meets it"]

"""The KV transfer's words say what each of a decode instance's TP ranks receives beside what a request moves in
all: DeepSeek-V3's latent cache is whole on every rank (MLA), so a decode instance of `tp 8` receives it eight
times — 2.1 GiB a request, which read alone beside the KV section's per-rank figures looked eight times too large."""

from __future__ import annotations

from dagc.lang.flatten import flatten
from dagc.lang.load import load_plan_text
from dagc.verdict.pools import check_pools

PLAN = """model preset "deepseek-v3"
cluster { gpus = 64  gpus_per_node = 8  gpu preset "h200" }
workload { batch = 256  prompt = 4000  generate = 500  serving = inflight }
strategy pd = prefill 4 < tp 8 > decode 4 < tp 8 >
"""


def test_each_decode_rank_receives_the_whole_latent_cache_and_the_words_say_so():
    plan = load_plan_text(PLAN)
    pooled = check_pools(plan, flatten(plan.strategies[0])[0])
    # 61 layers × (512 latent + 64 RoPE) elements × 2 bytes (bf16) × 4,000 prompt tokens, on each of 8 ranks
    per_rank = 61 * 576 * 2 * 4000
    assert per_rank == 281_088_000          # 268.07 MiB
    assert pooled.kv_bytes_per_request == per_rank * 8
    assert "2.1 GiB" in pooled.kv_text
    assert pooled.kv_text.endswith(", 268.1 MiB a request to each of the decode instance's 8 TP ranks")


def test_one_decode_rank_is_said_as_before():
    plan = load_plan_text(PLAN.replace("decode 4 < tp 8 >", "decode 4 < tp 1 ; ep 8 >"))
    pooled = check_pools(plan, flatten(plan.strategies[0])[0])
    assert pooled.kv_bytes_per_request == 61 * 576 * 2 * 4000
    assert "TP ranks" not in pooled.kv_text

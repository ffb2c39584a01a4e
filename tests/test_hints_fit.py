"""Hints that fit the plan: no 8-bit weights for a model already in fp8 (`dagc.export.binding_text`), and no KV
cache or requests advice for a rank whose weights alone overflow its GPU (E402, `dagc.rules.weights_fit`)."""

from __future__ import annotations

from dagc.export.binding_text import binding_text, faster_weights
from dagc.lang.load import load_plan_text
from dagc.verdict.check import check

CAP = {"limit": "requests_in_flight", "requests_cap": 256, "running_mean_while_waiting": 255.6, "waiting_mean": 122.1,
       "kv_share_peak": 0.725, "little_concurrency": 439.0, "arrival_rate_requests_per_s": 4.0,
       "missed_latencies": ["tpot"]}


def plan(model: str, gpu: str) -> str:
    return (f'model preset "{model}"\ncluster {{ gpus = 16  gpu preset "{gpu}" }}\n'
            "workload { batch = 8  prompt = 512  generate = 64 }\nstrategy tp 8 ; ep 8\n")


def test_smaller_weights_are_advised_only_where_they_exist():
    assert faster_weights(load_plan_text(plan("deepseek-v3", "h200"))) is None          # fp8 already, no fp4 units
    assert faster_weights(load_plan_text(plan("qwen3-235b-a22b", "h200"))) == "8-bit weights"   # bf16
    assert faster_weights(load_plan_text(plan("deepseek-v3", "b200"))) == "fp4 weights"  # Blackwell's fp4 units
    fp8 = binding_text(CAP, None)
    assert fp8 is not None and fp8.endswith("a larger batch alone cannot meet it — more GPUs or a faster strategy "
                                            "with it.") and "8-bit" not in fp8
    bf16 = binding_text(CAP, "8-bit weights")
    assert bf16 is not None and bf16.endswith(
        "— more GPUs, a faster strategy, or faster steps (8-bit weights) with it.")


def test_a_rank_whose_weights_alone_overflow_is_told_to_spread_them_not_its_kv_cache():
    # Qwen3-235B-A22B in bf16 over tp 4: 235 B params × 2 bytes / 4 ≈ 109.5 GiB a rank, above an H100's 79.65 GiB
    text = """model preset "qwen3-235b-a22b"
cluster { gpus = 8  gpu preset "h100-sxm"  engine = vllm }
workload { batch = 64  prompt = 2000  generate = 400  serving = inflight }
strategy dp 2 < tp 4 >
"""
    (r,) = check(load_plan_text(text))
    (e402,) = [d for d in r.diagnostics if d.code == "E402"]
    assert 235e9 * 2 / 4 / 2**30 * 0.99 < r.memory.worst.weights_bytes / 2**30 < 235e9 * 2 / 4 / 2**30 * 1.01
    assert e402.hint == ("a rank's weights alone, 109.54 GiB, exceed the GPU's 79.65 GiB less its reserve of 4.00 GiB: "
                         "spread them over more GPUs a replica (more tp, pp or ep; fewer dp replicas on these GPUs) "
                         "or use a larger GPU")

"""Words a trial found wrong: W519's GPU memory as every other line says it (79.65 GiB, not "80 GiB"), the metrics
caption's batch over a strategy's replicas or decode instances, and the cost line at a goodput of 0."""

from __future__ import annotations

from dagc.cli.print_figures import steady_caption
from dagc.export.cost_words import cost_sentence
from dagc.lang.load import load_plan_text
from dagc.rules.serving import request_over_kv
from dagc.verdict.check import check

QWEN = 'model preset "qwen3-30b-a3b"\ncluster { gpus = 16  gpus_per_node = 8  gpu preset "h100-sxm" }\n'


def test_w519_says_the_gpus_memory_as_e402_does():
    plan = load_plan_text(QWEN + "workload { batch = 8  prompt = 2000  generate = 200 }\nstrategy tp 8\n")
    d = request_over_kv(plan, 0, 100_000, 10, 5_000)
    # the H100 SXM's 85,520,809,984 bytes / 2^30 = 79.647 GiB
    assert "what the `h100-sxm`'s 79.65 GiB leave" in d.message and "80 GiB" not in d.message


def _caption(batch: int, strategy: str) -> str:
    text = (QWEN + f"workload {{ batch = {batch}  prompt = 2000  generate = 200  serving = inflight }}\n"
            f"strategy {strategy}\n")
    (r,) = check(load_plan_text(text))
    return steady_caption(r)


def test_the_caption_splits_the_batch_over_replicas_and_decode_instances():
    assert _caption(9, "dp 2 < tp 4 >").startswith(       # ⌈9 / 2⌉ = 5 on the busier replica
        "the steady state, every request slot busy (the plan's batch of 9 requests, up to 5 in each of its 2 replicas)")
    assert "(the plan's batch of 64 requests, 32 in each of its 2 replicas)" in _caption(64, "dp 2 < tp 4 >")
    assert "(the plan's batch of 64 requests);" in _caption(64, "tp 4")
    # 64 over 3 decode instances: ⌈64 / 3⌉ = 22 each
    assert "(the plan's batch of 64 requests, up to 22 in each of its 3 decode instances)" in _caption(
        64, "prefill 1 < tp 2 > decode 3 < tp 4 >")


def test_a_goodput_of_zero_says_why_there_is_no_cost_per_token():
    c = {"price_per_gpu_hour": 2.49, "basis": "goodput", "goodput_requests_per_s": 0.0, "tokens_per_s": 0.0,
         "gpus_used": 4, "gpus_rented": 4, "per_million_tokens": None, "per_million_output_tokens": None,
         "per_million_input_tokens": None}
    said = cost_sentence(c, traffic=True)
    assert said == ("at 2.49 $/h per GPU, on its goodput under the plan's traffic (0 requests/s, 0 tokens/s, served "
                    "within every target): no cost per token — no request is served within every target, so the GPUs' "
                    "time buys no token counted; meet the latency targets first (the requirements above say which "
                    "miss)")

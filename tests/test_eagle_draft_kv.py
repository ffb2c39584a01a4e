"""An EAGLE draft's KV cache is its own attention's, not one more layer of the model's (found by a new-user trial).

Until 2026-11-30 dagc counted the draft layer's KV cache as one more layer of the model's KV a token: DeepSeek-V3's
MLA latent, (512 + 64) × 2 B = 1,152 B a token in a layer on every rank. Its EAGLE-3 draft has grouped-query attention
of its own (`dagc.layout.speculative.eagle_draft`: 8 KV heads of 128), in the model's bf16 KV dtype, so a token's KV
in the draft layer is 2 × max(8 / tp, 1) × 128 × 2 B on a rank: 4,096 B at tp 1, 512 B at tp 8. One request of P
tokens on a rank thus holds 61 × 1,152 × P + 4,096 × P B at tp 1 (70,272 + 4,096 = 74,368 B a token) and
61 × 1,152 × P + 512 × P B at tp 8 (70,784 B a token) — not 62 × 1,152 × P (71,424 B a token) as before.
Kimi-K2's draft has 64 KV heads of 128: 2 × 64 × 128 × 2 = 32,768 B a token at tp 1, 2 × 8 × 128 × 2 = 4,096 B on each
rank at tp 8, against the latent's 1,152 B. MTP's draft layer is the model's own kind (1,152 B: unchanged), and a GQA
model whose draft has its KV heads and head dim (Qwen3-30B-A3B: 4 × 128) keeps its figures (49 layers' worth).
"""

from __future__ import annotations

from dagc.export.report import report_json
from dagc.lang.load import load_plan_text
from dagc.lang.lower import model_from_preset
from dagc.layout.speculative import draft_layer
from dagc.memory.admission import admission
from dagc.memory.resident import kv_cache_bytes_per_request
from dagc.plan.workload import Speculative, Workload
from dagc.serve.disagg import decode_kv_bytes, kv_bytes_per_request
from dagc.verdict.check import check

PLAN = """model preset "deepseek-v3"
cluster { gpus = 8  gpu preset "h200" }
workload { batch = 8  prompt = 1000  generate = 100  serving = SERVING
  speculative { method = METHOD  tokens = 2  acceptance = 0.8 } }
strategy STRATEGY"""
CONTEXT = 1100                     # prompt + generate: the tokens each request holds at full length
LATENT = (512 + 64) * 2            # DeepSeek-V3's and Kimi-K2's KV a token in a layer, on every rank


def _checked(method: str, strategy: str, serving: str = "static"):
    text = PLAN.replace("METHOD", method).replace("STRATEGY", strategy).replace("SERVING", serving)
    (r,) = check(load_plan_text(text, name="p.moe"))
    return r


def test_deepseek_eagle_draft_kv_is_its_own_attention_at_tp_8():
    r = _checked("eagle", "tp 8")
    # tp 8: one attention group holds the 8 requests; the draft's 8 KV heads, one on each rank: 2 × 1 × 128 × 2 B
    (stage,) = r.memory.stages
    assert stage.kv_needed_bytes == stage.kv_cache_bytes == 8 * CONTEXT * (61 * LATENT + 512) == 622_899_200
    # report.json: the draft's KV over the 8 GPUs, 8 × 8 requests × 1,100 × 512 B; the model's its latent on each
    t = report_json(r)["memory"]["model"]
    assert t["draft"]["kv_all_ranks_bytes"] == 8 * 8 * CONTEXT * 512 == 36_044_800
    assert t["kv_cache"]["all_ranks_bytes"] == 8 * 8 * CONTEXT * 61 * LATENT


def test_deepseek_eagle_draft_kv_at_tp_1_ep_8():
    r = _checked("eagle", "tp 1 ; ep 8")
    # attention DP 8: one request a rank, its draft layer's 8 KV heads whole: 2 × 8 × 128 × 2 = 4,096 B a token
    (stage,) = r.memory.stages
    assert stage.kv_needed_bytes == CONTEXT * (61 * LATENT + 4096) == 81_804_800
    assert report_json(r)["memory"]["model"]["draft"]["kv_all_ranks_bytes"] == 8 * CONTEXT * 4096


def test_deepseek_mtp_draft_kv_is_one_more_layer_of_the_models():
    (stage,) = _checked("mtp", "tp 8").memory.stages
    assert stage.kv_needed_bytes == 8 * CONTEXT * 62 * LATENT == 628_531_200


def test_in_flight_admission_reads_the_drafts_own_kv():
    r = _checked("eagle", "tp 8", "inflight")
    a = admission(r.plan.workload, r.layout, r.memory)
    assert a.kv_bytes_per_token == 61 * LATENT + 512 == 70_784          # was 62 × 1,152 = 71,424


def test_disaggregated_transfer_sends_the_drafts_own_kv():
    eagle = Workload(batch=8, prompt=1000, generate=100,
                     speculative=Speculative(method="eagle", tokens=2, acceptance=0.8))
    # every one of the 8 decode ranks receives the latent whole and its one KV head of the draft's
    assert kv_bytes_per_request(model_from_preset("deepseek-v3"), eagle, 8) == 8 * 1000 * (61 * LATENT + 512)
    # Kimi-K2's draft: 64 KV heads, 8 on a rank of tp 8 — 4,096 B a token each, 32,768 B over the 8
    assert kv_bytes_per_request(model_from_preset("kimi-k2"), eagle, 8) == 8 * 1000 * (61 * LATENT + 4096)
    assert kv_bytes_per_request(model_from_preset("kimi-k2"), eagle, 1) == 1000 * (61 * LATENT + 32_768)
    # read off a resolved decode layout, the same bytes
    r = _checked("eagle", "tp 8")
    assert decode_kv_bytes(r.plan.model, r.plan.workload, r.layout) == 8 * 1000 * (61 * LATENT + 512)


def test_qwen3_eagle_draft_kv_unchanged():
    # Qwen3-30B-A3B's draft has the model's 4 KV heads of 128: 2 × 4 × 128 × 2 = 2,048 B a token, as its 48 layers
    m = model_from_preset("qwen3-30b-a3b")
    w = Workload(batch=1, prompt=1000, generate=100, speculative=Speculative(method="eagle", tokens=2, acceptance=0.8))
    assert kv_cache_bytes_per_request(m, 1000, 1, draft_layer(m, w)) == 49 * 2048 * 1000
    assert kv_bytes_per_request(m, w, 4) == 49 * 512 * 1000 * 4       # tp 4: one KV head a rank

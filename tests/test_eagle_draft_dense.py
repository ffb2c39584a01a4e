"""An EAGLE draft is one dense layer of the model's hidden size with its own FFN — the published EAGLE-3 drafts of
MoE models are one dense Llama layer (`LlamaForCausalLMEagle3`; gpt-oss: intermediate 17280) — not the target's MoE
layer: a trial's gpt-oss-120b held all 128 experts once more for its draft (60.69 → 62.32 GiB a GPU) and spent
7.2 % of each step in it. MTP (DeepSeek-V3's own module, an MoE layer) stays an MoE layer."""

from __future__ import annotations

from dagc.export.techniques import speculative_json
from dagc.lang.load import load_plan_text
from dagc.launch.engine_check import check
from dagc.layout.speculative import DraftLayer, EagleDraft, draft_layer, eagle_ffn

GPT = """model preset "gpt-oss-120b"
cluster { gpus = 4  gpu preset "h100-sxm"  engine = trtllm }
workload { batch = 128  prompt = 1024  generate = 1024  serving = inflight %s }
strategy one = dp 4 < tp 1 >
"""
EAGLE = "speculative { method = eagle  tokens = 3  acceptance = 0.7 }"


def _checked(spec: str):
    [r] = check(load_plan_text(GPT % spec))
    assert r.memory is not None and r.compiled is not None
    return r


def test_gpt_oss_eagle_draft_holds_one_dense_layer():
    plain, eagle = _checked("").memory.worst, _checked(EAGLE).memory.worst
    # the draft's gated FFN: gate, up and down projections of 2880 × 17280, bf16, on each GPU (tp 1)
    assert eagle.dense_ffn_bytes == 3 * 2880 * 17280 * 2 == 298_598_400
    assert plain.dense_ffn_bytes == 0                           # gpt-oss has no dense layer of its own
    assert eagle.routed_expert_bytes == plain.routed_expert_bytes        # no 37th MoE layer of 128 experts
    # the model's 36 layers of attention (q and o 2880 × 64 heads × 64, k and v 2880 × 8 KV heads × 64) and the
    # draft's own, whose q, k and v read 2 × 2880 (the token's embedding and the hidden state together)
    model_layer = 2 * 2880 * 64 * 64 + 2 * 2880 * 8 * 64
    draft_layer = 2 * 2880 * 64 * 64 + 2 * (2 * 2880) * 8 * 64 + 64 * 64 * 2880
    assert (model_layer, draft_layer) == (26_542_080, 41_287_680)
    assert plain.attention_bytes == 36 * model_layer * 2
    assert eagle.attention_bytes == (36 * model_layer + draft_layer) * 2
    # its own LM head over 32,000 draft tokens, and its fc of the target's three hidden states (3 × 2880 → 2880),
    # beside the draft layer's two norms
    assert eagle.lm_head_bytes - plain.lm_head_bytes == 32000 * 2880 * 2 == 184_320_000
    assert eagle.replicated_bytes - plain.replicated_bytes == (3 * 2880 * 2880 + 2 * 2880) * 2
    added = 298_598_400 + draft_layer * 2 + 184_320_000 + (3 * 2880 * 2880 + 2 * 2880) * 2
    assert eagle.weights_bytes - plain.weights_bytes == added == 615_271_680
    # 60.69 GiB without the draft; 61.27 GiB with it (61.02 when the draft's attention was the model's and it
    # had no LM head of its own)
    assert round(plain.weights_bytes / 2**30, 2) == 60.69 and round(eagle.weights_bytes / 2**30, 2) == 61.27


def test_gpt_oss_eagle_draft_share_of_a_step():
    share = speculative_json(_checked(EAGLE))["draft_share"]
    # a dense layer and an LM head of 32,000 draft tokens (1.8 %); 3.5 % over the model's 201,088 tokens, 7.2 %
    # as an MoE layer
    assert 0.015 < share < 0.02


def test_published_drafts_and_mtp():
    from dagc.lang.lower import model_from_preset
    from dagc.plan.workload import Speculative, Workload

    def drafted(preset: str, method: str) -> DraftLayer | None:
        w = Workload(batch=8, prompt=512, generate=64,
                     speculative=Speculative(method=method, tokens=1, acceptance=0.7))
        return draft_layer(model_from_preset(preset), w)

    # SpecForge's DeepSeek-V3 EAGLE-3 draft: a Llama layer of 56 heads of 128, 8 KV heads, for the model's MLA
    assert drafted("deepseek-v3", "eagle") == DraftLayer(True, 40960, EagleDraft(40960, 56, 8, 128, 32000))
    assert drafted("kimi-k2", "eagle") == DraftLayer(True, 18432, EagleDraft(18432, 64, 64, 128, 32000))
    assert drafted("qwen3-235b-a22b", "eagle") == DraftLayer(True, 24576, EagleDraft(24576, 64, 4, 128, 32000))
    assert drafted("deepseek-v3", "mtp") == DraftLayer(False, 0)          # its own MTP module: an MoE layer
    # no published draft, no dense layer: 6 × the hidden size; a dense layer of its own: its FFN
    assert eagle_ffn(model_from_preset("mixtral-8x22b")) == 6 * 6144 == 36864
    assert eagle_ffn(model_from_preset("glm-4.5")) == 12288


def test_deepseek_eagle_draft_runs_its_own_attention_and_lm_head():
    """SpecForge's DeepSeek-V3 EAGLE-3 draft is a Llama layer — 56 heads of 128 and 8 KV heads, not the model's
    MLA — and an LM head over 32,000 draft tokens, not the model's 129,280: its pass's ops, per rank of tp 8,
    for 8 requests drafting one token each."""
    from dagc.ir.dag import Phase
    from dagc.ir.ops import OpKind
    from dagc.verdict.check import check as check_plan

    text = ('model preset "deepseek-v3"\ncluster { gpus = 8  gpu preset "h200" }\n'
            "workload { batch = 8  prompt = 1000  generate = 200\n"
            "  speculative { method = eagle  tokens = 1  acceptance = 0.7 } }\nstrategy tp 8\n")
    (r,) = check_plan(load_plan_text(text))
    dag, layers = r.compiled.dag, r.plan.model.layers
    draft = [i for i in range(len(dag)) if dag.phase[i] is Phase.DECODE and dag.step[i] == 1 and dag.mb[i] == 0
             and (dag.layer[i] == layers or dag.pos[i] > layers + 0.5)]
    flops = {dag.kind[i]: float(dag.templates[dag.template_index[i]].flops[0]) for i in draft}
    kernels = {dag.kind[i]: [k.name for k in dag.templates[dag.template_index[i]].kernels] for i in draft}
    h, tokens, tp = 7168, 8, 8
    assert flops[OpKind.QKV_PROJ] == 2 * tokens * h * (56 + 2 * 8) * 128 / tp == 132_120_576
    assert flops[OpKind.O_PROJ] == 2 * tokens * 56 * 128 * h / tp == 102_760_448
    assert flops[OpKind.DENSE_FFN] == 2 * tokens * 3 * h * 40960 / tp == 1_761_607_680
    assert flops[OpKind.LM_HEAD] == 2 * tokens * 32000 * h / tp == 458_752_000      # 129,280 tokens: 4.04 times
    assert "decode_attention" in kernels[OpKind.ATTENTION] and not [k for k in kernels[OpKind.ATTENTION] if "mla" in k]

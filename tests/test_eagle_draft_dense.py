"""An EAGLE draft is one dense layer of the model's hidden size with its own FFN — the published EAGLE-3 drafts of
MoE models are one dense Llama layer (`LlamaForCausalLMEagle3`; gpt-oss: intermediate 17280) — not the target's MoE
layer: a trial's gpt-oss-120b held all 128 experts once more for its draft (60.69 → 62.32 GiB a GPU) and spent
7.2 % of each step in it. MTP (DeepSeek-V3's own module, an MoE layer) stays an MoE layer."""

from __future__ import annotations

from dagc.export.techniques import speculative_json
from dagc.lang.load import load_plan_text
from dagc.launch.engine_check import check
from dagc.layout.speculative import DraftLayer, draft_layer, eagle_ffn

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
    # and one more layer's attention: 37 layers' where the model has 36
    assert abs(eagle.attention_bytes - plain.attention_bytes * 37 / 36) < 1e-6 * eagle.attention_bytes
    # 60.69 GiB without the draft; + 0.278 GiB of FFN, + one layer's attention (about 0.05 GiB): 61.02 GiB
    assert round(plain.weights_bytes / 2**30, 2) == 60.69 and round(eagle.weights_bytes / 2**30, 2) == 61.02


def test_gpt_oss_eagle_draft_share_of_a_step():
    share = speculative_json(_checked(EAGLE))["draft_share"]
    assert 0.02 < share < 0.05                           # 3.5 % (a dense layer and the LM head); 7.2 % as MoE


def test_published_drafts_and_mtp():
    from dagc.lang.lower import model_from_preset
    from dagc.plan.workload import Speculative, Workload

    def drafted(preset: str, method: str) -> DraftLayer | None:
        w = Workload(batch=8, prompt=512, generate=64,
                     speculative=Speculative(method=method, tokens=1, acceptance=0.7))
        return draft_layer(model_from_preset(preset), w)

    assert drafted("deepseek-v3", "eagle") == DraftLayer(True, 40960)     # SpecForge's DeepSeek-V3 EAGLE-3 draft
    assert drafted("kimi-k2", "eagle") == DraftLayer(True, 18432)
    assert drafted("qwen3-235b-a22b", "eagle") == DraftLayer(True, 24576)
    assert drafted("deepseek-v3", "mtp") == DraftLayer(False, 0)          # its own MTP module: an MoE layer
    # no published draft, no dense layer: 6 × the hidden size; a dense layer of its own: its FFN
    assert eagle_ffn(model_from_preset("mixtral-8x22b")) == 6 * 6144 == 36864
    assert eagle_ffn(model_from_preset("glm-4.5")) == 12288

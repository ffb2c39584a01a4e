"""Config.json families whose mixture dagc read wrong, silently (2026-12-03): ERNIE 4.5 (its expert keys unread: a
3.3 B dense model for a 21.8 B MoE one), Hunyuan (its per-layer lists and its shared expert), Qwen's MoE layout keys
(`decoder_sparse_step`, `mlp_only_layers`), DeepSeek-V2's `moe_layer_freq`; and attention dagc costs as full
attention (Qwen3-Next's linear layers, DeepSeek-V3.2's sparse attention), now W543 with the error's direction."""

from __future__ import annotations

import json

import pytest

from dagc.lang.hf import load_hf_config
from dagc.lang.load import load_plan
from dagc.plan.params import active_params, total_params
from dagc.source import SourceFile
from dagc.verdict.check import check

PLAN = SourceFile("p.moe", 'model from "config.json"')
AT = PLAN.span(11, 24)

# baidu/ERNIE-4.5-21B-A3B-PT's config.json, its architecture's keys
ERNIE = {"architectures": ["Ernie4_5_MoeForCausalLM"], "model_type": "ernie4_5_moe", "hidden_size": 2560,
         "intermediate_size": 12288, "num_hidden_layers": 28, "num_attention_heads": 20, "num_key_value_heads": 4,
         "head_dim": 128, "vocab_size": 103424, "tie_word_embeddings": True, "hidden_act": "silu",
         "torch_dtype": "bfloat16", "moe_num_experts": 64, "moe_k": 6, "moe_num_shared_experts": 2,
         "moe_intermediate_size": 1536, "moe_layer_start_index": 1, "moe_layer_end_index": 27,
         "moe_layer_interval": 1, "max_position_embeddings": 131072}
# tencent/Hunyuan-A13B-Instruct's: its per-layer lists
HUNYUAN = {"architectures": ["HunYuanMoEV1ForCausalLM"], "model_type": "hunyuan_v1_moe", "hidden_size": 4096,
           "intermediate_size": 3072, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
           "head_dim": 128, "vocab_size": 128167, "tie_word_embeddings": True, "hidden_act": "silu",
           "torch_dtype": "bfloat16", "num_experts": 64, "moe_topk": [8] * 32, "moe_intermediate_size": [3072] * 32,
           "num_shared_expert": [1] * 32, "use_mixed_mlp_moe": True, "use_cla": False, "cla_share_factor": 2}


def imported(tmp_path, cfg):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg, indent=2))
    return load_hf_config(path, AT)


def _model(tmp_path, cfg: dict, cluster: str, strategy: str):
    """The model of a plan reading `cfg` as its config.json, on `cluster`'s fields."""
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text(json.dumps(cfg))
    (tmp_path / "p.moe").write_text(f'model from "m/config.json"\ncluster {{ {cluster} }}\n'
                                    f'workload {{ batch = 8  prompt = 512  generate = 64 }}\nstrategy {strategy}\n')
    return load_plan(tmp_path / "p.moe").model


def test_ernie_is_read_as_its_mixture(tmp_path):
    fields, diags = imported(tmp_path, ERNIE)
    assert diags == [] and fields["moe"] == {"experts": 64, "top_k": 6, "ffn": 1536, "shared": 2, "shared_ffn": 1536,
                                             "dense_layers": 1, "dense_ffn": 12288, "gated": True}


def test_ernie_parameters_by_hand(tmp_path):
    m = _model(tmp_path, ERNIE, 'gpus = 4  gpu preset "h100-sxm"', "tp 4")
    h = 2560
    attention = 28 * (2 * h * 20 * 128 + 2 * h * 4 * 128)            # q, o; k, v
    ffn = 3 * h * 1536                                              # a gated expert
    moe = 27 * (64 * ffn + 2 * ffn + h * 64)                        # 27 MoE layers: experts, 2 shared, router
    dense = 3 * h * 12288                                           # layer 0
    norms = 28 * 2 * h + h
    embedding = 103424 * h                                          # tied: once
    assert total_params(m) == attention + moe + dense + norms + embedding == 21_825_436_160   # the card: 21 B
    # a token: 6 routed experts, the shared ones and the router; the LM head (tied: a matmul all the same)
    assert active_params(m) == attention + 27 * (6 * ffn + 2 * ffn + h * 64) + dense + norms + embedding


def test_ernie_layouts_dagc_cannot_state_are_e101(tmp_path):
    _, diags = imported(tmp_path, dict(ERNIE, moe_layer_end_index=20))
    assert [(d.code, d.span.text) for d in diags] == [("E101", '"moe_layer_end_index"')]
    _, diags = imported(tmp_path, dict(ERNIE, moe_layer_end_index=-1))      # -1: to the last layer
    assert diags == []


def test_hunyuan_reads_its_lists_and_its_shared_expert(tmp_path):
    fields, diags = imported(tmp_path, HUNYUAN)
    assert diags == [] and fields["moe"] == {"experts": 64, "top_k": 8, "ffn": 3072, "shared": 1, "shared_ffn": 3072,
                                             "dense_layers": 0, "dense_ffn": 0, "gated": True}


def test_a_list_that_varies_by_layer_is_e101_at_its_key(tmp_path):
    _, diags = imported(tmp_path, dict(HUNYUAN, moe_topk=[8] * 31 + [4]))
    assert [(d.code, d.span.text) for d in diags] == [("E101", '"moe_topk"')]
    assert "varies from layer to layer" in diags[0].message


QWEN_MOE = {"architectures": ["Qwen3MoeForCausalLM"], "model_type": "qwen3_moe", "hidden_size": 2048,
            "intermediate_size": 6144, "num_hidden_layers": 48, "num_attention_heads": 32, "num_key_value_heads": 4,
            "head_dim": 128, "vocab_size": 151936, "torch_dtype": "bfloat16", "num_experts": 128,
            "num_experts_per_tok": 8, "moe_intermediate_size": 768, "decoder_sparse_step": 1, "mlp_only_layers": []}


@pytest.mark.parametrize("update, moe", [
    ({"decoder_sparse_step": 2}, {"every": 2, "dense_layers": 0, "dense_ffn": 6144}),   # layers 1, 3, … are MoE
    ({"mlp_only_layers": [0, 1]}, {"dense_layers": 2, "dense_ffn": 6144}),
    ({}, {"dense_layers": 0, "dense_ffn": 0}),
])
def test_qwen_moe_layout_keys(tmp_path, update, moe):
    fields, diags = imported(tmp_path, {**QWEN_MOE, **update})
    assert diags == [] and {k: fields["moe"].get(k) for k in moe} == moe


@pytest.mark.parametrize("update, key", [({"mlp_only_layers": [3, 7]}, '"mlp_only_layers"'),
                                         ({"moe_layer_freq": 2}, '"moe_layer_freq"')])
def test_dense_layers_elsewhere_are_e101(tmp_path, update, key):
    _, diags = imported(tmp_path, {**QWEN_MOE, **update})
    assert [(d.code, d.span.text) for d in diags] == [("E101", key)]


def _checked(tmp_path, cfg, strategy="tp 8"):
    (tmp_path / "m").mkdir(exist_ok=True)
    (tmp_path / "m" / "config.json").write_text(json.dumps(cfg, indent=2))
    (tmp_path / "p.moe").write_text('model from "m/config.json"\ncluster { gpus = 8  gpu preset "h100-sxm" }\n'
                                    f'workload {{ batch = 8  prompt = 512  generate = 64 }}\nstrategy {strategy}\n')
    return check(load_plan(tmp_path / "p.moe"))[0]


def test_linear_attention_layers_are_w543_with_the_kv_cache_overstated(tmp_path):
    cfg = {**QWEN_MOE, "full_attention_interval": 4, "linear_num_value_heads": 32, "linear_key_head_dim": 128}
    (d,) = [x for x in _checked(tmp_path, cfg).diagnostics if x.code == "W543"]
    assert d.message.startswith("`full_attention_interval`: 36 of its 48 layers are linear attention or state-space")
    assert "the KV cache about 4×" in d.hint and d.span.text == '"full_attention_interval"'
    assert "W543" not in {x.code for x in _checked(tmp_path, QWEN_MOE).diagnostics}


def test_sparse_attention_is_w543(tmp_path):
    (d,) = [x for x in _checked(tmp_path, {**QWEN_MOE, "index_topk": 2048}).diagnostics if x.code == "W543"]
    assert "attends to 2,048 tokens" in d.message and d.hint.startswith("attention time past 2,048 tokens")


# ai21labs/AI21-Jamba-1.5-Mini's config.json, its layout keys: attention on layers 4, 12, 20, 28; MoE on odd layers
JAMBA = {"architectures": ["JambaForCausalLM"], "model_type": "jamba", "hidden_size": 4096, "intermediate_size": 14336,
         "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 65536,
         "torch_dtype": "bfloat16", "num_experts": 16, "num_experts_per_tok": 2, "attn_layer_period": 8,
         "attn_layer_offset": 4, "expert_layer_period": 2, "expert_layer_offset": 1}


def test_jamba_moe_every_other_layer_and_its_mamba_layers_said(tmp_path):
    fields, diags = imported(tmp_path, JAMBA)
    assert fields["moe"]["every"] == 2 and fields["moe"]["dense_ffn"] == 14336      # 16 MoE layers, not 32
    (d,) = diags
    assert d.code == "W543" and d.span.text == '"attn_layer_period"'
    assert d.message.startswith("`attn_layer_period`: 28 of its 32 layers are linear attention or state-space")
    assert "the KV cache about 8×" in d.hint and "costed as a full attention layer's" in d.hint


def test_granite_hybrid_shared_expert_and_one_warning(tmp_path):
    granite = {**JAMBA, "model_type": "granitemoehybrid", "num_local_experts": 72, "num_experts_per_tok": 10,
               "intermediate_size": 768, "shared_intermediate_size": 1536, "num_hidden_layers": 8,
               "layer_types": ["mamba"] * 3 + ["attention"] + ["mamba"] * 3 + ["attention"],
               "layers_block_type": ["mamba"] * 3 + ["attention"] + ["mamba"] * 3 + ["attention"]}
    for key in ("num_experts", "attn_layer_period", "attn_layer_offset", "expert_layer_period", "expert_layer_offset"):
        granite.pop(key)
    fields, diags = imported(tmp_path, granite)
    assert (fields["moe"]["shared"], fields["moe"]["shared_ffn"], fields["moe"]["ffn"]) == (1, 1536, 768)
    assert [(d.code, d.span.text) for d in diags] == [("W543", '"layer_types"')]      # once, not once a key
    assert "6 of its 8 layers" in diags[0].message and "about 4×" in diags[0].hint


def test_kimi_linear_keys(tmp_path):
    kimi = {**QWEN_MOE, "num_experts_per_token": 8, "num_shared_experts": 1,
            "linear_attn_config": {"full_attn_layers": [4, 8, 12], "kda_layers": [1, 2, 3]}}
    kimi.pop("num_experts_per_tok")
    fields, diags = imported(tmp_path, kimi)
    assert (fields["moe"]["top_k"], fields["moe"]["shared"]) == (8, 1)
    assert [d.code for d in diags] == ["W543"] and "45 of its 48 layers" in diags[0].message


def test_ernie_vl_pairs_of_other_widths_are_said_as_modalities(tmp_path):
    vl = {**ERNIE, "moe_num_experts": [64, 64], "moe_intermediate_size": [1536, 512]}
    _, diags = imported(tmp_path, vl)
    assert [(d.code, d.span.text) for d in diags] == [("E101", '"moe_intermediate_size"')]
    assert "text and the vision experts'" in diags[0].message
    fields, diags = imported(tmp_path, {**vl, "moe_intermediate_size": [1536, 1536]})
    assert diags == [] and fields["moe"]["experts"] == 64


def test_layer_types_of_another_length_than_the_layers_is_e104(tmp_path):
    types = ["sliding_attention", "full_attention"] * 10            # 20 types for 48 layers
    _, diags = imported(tmp_path, {**QWEN_MOE, "layer_types": types, "sliding_window": 128})
    assert [(d.code, d.span.text) for d in diags] == [("E104", '"layer_types"')]
    assert diags[0].message == "`layer_types` lists 20 layers; `num_hidden_layers` says 48"


# Grok-2's and Arctic's dense MLP beside the experts, a shared expert each (from their engines' model files)
GROK2 = {"architectures": ["Grok1ForCausalLM"], "model_type": "grok-1", "hidden_size": 8192, "intermediate_size": 32768,
         "moe_intermediate_size": 16384, "num_local_experts": 8, "num_experts_per_tok": 2, "residual_moe": True,
         "num_hidden_layers": 64, "num_attention_heads": 64, "num_key_value_heads": 8, "head_dim": 128,
         "vocab_size": 131072, "torch_dtype": "bfloat16"}
ARCTIC = {"architectures": ["ArcticForCausalLM"], "model_type": "arctic", "hidden_size": 7168,
          "intermediate_size": 4864, "num_local_experts": 128, "num_experts_per_tok": 2, "num_hidden_layers": 35,
          "num_attention_heads": 56, "num_key_value_heads": 8, "vocab_size": 32000, "torch_dtype": "bfloat16",
          "moe_layer_frequency": 1, "parallel_attn_mlp_res": True, "use_residual": True}


@pytest.mark.parametrize("cfg, shared_ffn", [(GROK2, 32768), (ARCTIC, 7168)])
def test_a_dense_mlp_beside_the_experts_is_a_shared_expert(tmp_path, cfg, shared_ffn):
    fields, diags = imported(tmp_path, cfg)
    assert diags == [] and (fields["moe"]["shared"], fields["moe"]["shared_ffn"]) == (1, shared_ffn)


def test_grok2_parameters_by_hand(tmp_path):
    m = _model(tmp_path, GROK2, 'gpus = 8  gpu preset "h200"', "tp 8")
    h = 8192
    attention = 64 * (2 * h * 64 * 128 + 2 * h * 8 * 128)
    moe = 64 * (8 * 3 * h * 16384 + 3 * h * 32768 + h * 8)           # 8 experts, the residual MLP, the router
    assert total_params(m) == attention + moe + 64 * 2 * h + h + 2 * 131072 * h      # norms; embedding and LM head
    assert moe // 64 - 8 * 3 * h * 16384 - h * 8 == 805_306_368      # the residual MLP: 51.5 B over 64 layers


DBRX = {"architectures": ["DbrxForCausalLM"], "model_type": "dbrx", "d_model": 6144, "n_heads": 48, "n_layers": 40,
        "max_seq_len": 32768, "vocab_size": 100352, "torch_dtype": "bfloat16", "tie_word_embeddings": False,
        "attn_config": {"kv_n_heads": 8, "rope_theta": 500000}, "ffn_config": {
            "ffn_hidden_size": 10752, "moe_num_experts": 16, "moe_top_k": 4, "ffn_act_fn": {"name": "silu"}}}


def test_dbrx_nested_blocks_are_read(tmp_path):
    fields, diags = imported(tmp_path, DBRX)
    assert diags == []
    assert (fields["layers"], fields["hidden"], fields["heads"], fields["kv_heads"]) == (40, 6144, 48, 8)
    assert (fields["moe"]["experts"], fields["moe"]["top_k"], fields["moe"]["ffn"]) == (16, 4, 10752)
    assert fields["context_length"] == 32768


def test_nemotron_h_single_block_layers_are_e101(tmp_path):
    nemotron = {**QWEN_MOE, "hybrid_override_pattern": "MEM*EME", "num_hidden_layers": 7, "mlp_hidden_act": "relu2"}
    _, diags = imported(tmp_path, nemotron)
    assert [(d.code, d.span.text) for d in diags] == [("E101", '"hybrid_override_pattern"')]


def test_relu2_is_a_plain_mlp_and_moe_top_k_and_moe_layers_enum_are_read(tmp_path):
    fields, diags = imported(tmp_path, {**QWEN_MOE, "hidden_act": "relu2"})
    assert diags == [] and fields["moe"]["gated"] is False
    xverse = {**QWEN_MOE, "moe_top_k": 6}
    xverse.pop("num_experts_per_tok")
    fields, diags = imported(tmp_path, xverse)
    assert diags == [] and fields["moe"]["top_k"] == 6
    fields, diags = imported(tmp_path, {**QWEN_MOE, "moe_layers_enum": ",".join(map(str, range(4, 48)))})
    assert diags == [] and fields["moe"]["dense_layers"] == 4
    _, diags = imported(tmp_path, {**QWEN_MOE, "moe_layers_enum": ",".join(map(str, range(4, 46)))})
    assert [(d.code, d.span.text) for d in diags] == [("E101", '"moe_layers_enum"')]
    step = {**QWEN_MOE, "num_attention_groups": 1}             # Step-3's KV heads (was: every head, 32)
    step.pop("num_key_value_heads")
    fields, diags = imported(tmp_path, step)
    assert diags == [] and fields["kv_heads"] == 1

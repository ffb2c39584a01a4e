"""Hugging Face import (`dagc.lang.hf`): Mixtral, Qwen3-MoE, DeepSeek-V3 and dense configs map to
the exact plan fields; every error names the config key and points at it."""

from __future__ import annotations

import json

import pytest

from dagc.diagnostics import quote
from dagc.lang.hf import load_hf_config
from dagc.source import SourceFile
from hf_configs import DEEPSEEK_V3, GPT_OSS_120B, LLAMA4_MAVERICK, MIXTRAL_8X7B, QWEN3_30B_A3B

QWEN15_MOE_A27B = {   # Qwen2-MoE style: one shared expert given only by its size
    "architectures": ["Qwen2MoeForCausalLM"], "hidden_size": 2048, "intermediate_size": 5632,
    "moe_intermediate_size": 1408, "shared_expert_intermediate_size": 5632, "num_attention_heads": 16,
    "num_key_value_heads": 16, "num_hidden_layers": 24, "num_experts": 60, "num_experts_per_tok": 4,
    "vocab_size": 151936, "tie_word_embeddings": False, "torch_dtype": "bfloat16", "hidden_act": "silu",
}
LLAMA3_8B = {   # dense: no expert key at all
    "architectures": ["LlamaForCausalLM"], "hidden_size": 4096, "intermediate_size": 14336,
    "num_attention_heads": 32, "num_key_value_heads": 8, "num_hidden_layers": 32, "vocab_size": 128256,
    "tie_word_embeddings": False, "torch_dtype": "bfloat16", "hidden_act": "silu",
}

PLAN = SourceFile("p.moe", 'model from "config.json"')
AT = PLAN.span(11, 24)     # the quoted path of the `model from` statement


def imported(tmp_path, cfg: dict | None = None, raw: str | None = None):
    path = tmp_path / "config.json"
    path.write_text(raw if raw is not None else json.dumps(cfg, indent=2))
    return load_hf_config(path, AT)


def errors(tmp_path, cfg: dict | None = None, raw: str | None = None):
    fields, diags = imported(tmp_path, cfg, raw)
    assert fields is None
    return [(d.code, d.message, d.span.source.path.rpartition("/")[2], d.span.line, d.span.text) for d in diags]


def test_mixtral(tmp_path):
    assert imported(tmp_path, MIXTRAL_8X7B) == ({
        "layers": 32, "hidden": 4096, "heads": 32, "kv_heads": 8, "head_dim": 128, "vocab": 32000, "tied": False,
        "weights": "bf16", "kv_cache": "bf16", "attention": "gqa",
        # Mixtral has no moe_intermediate_size: intermediate_size is the expert's.
        "moe": {"experts": 8, "top_k": 2, "ffn": 14336, "shared": 0, "shared_ffn": 0, "dense_layers": 0,
                "dense_ffn": 0, "gated": True},
        "context_length": 32768,     # max_position_embeddings, no rope_scaling
    }, [])


def test_qwen3_moe(tmp_path):
    assert imported(tmp_path, QWEN3_30B_A3B) == ({
        "layers": 48, "hidden": 2048, "heads": 32, "kv_heads": 4, "head_dim": 128, "vocab": 151936, "tied": False,
        "weights": "bf16", "kv_cache": "bf16", "attention": "gqa",
        # head_dim is given (2048 / 32 would be 64); the dense intermediate_size is unused without dense layers.
        "moe": {"experts": 128, "top_k": 8, "ffn": 768, "shared": 0, "shared_ffn": 0, "dense_layers": 0,
                "dense_ffn": 0, "gated": True},
        "context_length": 40960,     # max_position_embeddings; `rope_scaling` null
    }, [])


def test_deepseek_v3(tmp_path):
    assert imported(tmp_path, DEEPSEEK_V3) == ({
        "layers": 61, "hidden": 7168, "heads": 128, "kv_heads": 128, "vocab": 129280, "tied": False,
        # fp8 from the quantization config (torch_dtype says bf16); the KV cache stays bf16.
        "weights": "fp8", "kv_cache": "bf16", "attention": "mla",
        "head_dim": 128,   # MLA has no head_dim: v_head_dim stands in
        "mla": {"q_lora": 1536, "kv_lora": 512, "qk_nope": 128, "qk_rope": 64, "v_head": 128},
        # one shared expert the size of a routed one; the first 3 layers dense with the 18432 ffn.
        "moe": {"experts": 256, "top_k": 8, "ffn": 2048, "shared": 1, "shared_ffn": 2048, "dense_layers": 3,
                "dense_ffn": 18432, "gated": True, "groups": 8},
        "context_length": 163840,    # YaRN: original_max_position_embeddings 4096 × factor 40
    }, [])


def test_qwen2_moe_shared_expert_by_size(tmp_path):
    fields, diags = imported(tmp_path, QWEN15_MOE_A27B)
    assert diags == [] and (fields["head_dim"], fields["kv_heads"]) == (128, 16)
    assert fields["moe"] == {"experts": 60, "top_k": 4, "ffn": 1408, "shared": 1, "shared_ffn": 5632,
                             "dense_layers": 0, "dense_ffn": 0, "gated": True}


def test_dense_config(tmp_path):
    fields, diags = imported(tmp_path, LLAMA3_8B)
    assert diags == [] and (fields["layers"], fields["kv_heads"], fields["vocab"]) == (32, 8, 128256)
    assert fields["moe"] == {"experts": 0, "dense_layers": 32, "dense_ffn": 14336}


@pytest.mark.parametrize("key, dtype, weights, kv_cache", [
    ("torch_dtype", "float16", "fp16", "fp16"), ("torch_dtype", "float32", "fp32", "fp32"),
    ("dtype", "float8_e4m3fn", "fp8", "bf16"), ("torch_dtype", "int8", "int8", "bf16"),
    (None, None, "bf16", "bf16"),
])
def test_dtypes(tmp_path, key, dtype, weights, kv_cache):
    cfg = {k: v for k, v in MIXTRAL_8X7B.items() if k != "torch_dtype"}
    if key:
        cfg[key] = dtype
    fields, _ = imported(tmp_path, cfg)
    assert (fields["weights"], fields["kv_cache"]) == (weights, kv_cache)


def test_plain_mlp_activation_is_not_gated(tmp_path):
    fields, _ = imported(tmp_path, dict(MIXTRAL_8X7B, hidden_act="gelu"))
    assert fields["moe"]["gated"] is False


# ---------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("cfg, drop", [(MIXTRAL_8X7B, "num_hidden_layers"), (MIXTRAL_8X7B, "hidden_size"),
                                       (MIXTRAL_8X7B, "num_attention_heads"), (MIXTRAL_8X7B, "vocab_size"),
                                       (MIXTRAL_8X7B, "num_experts_per_tok"), (MIXTRAL_8X7B, "intermediate_size"),
                                       (DEEPSEEK_V3, "qk_rope_head_dim"), (DEEPSEEK_V3, "v_head_dim"),
                                       (LLAMA3_8B, "intermediate_size")])
def test_a_missing_key_is_named_at_the_import(tmp_path, cfg, drop):
    found = errors(tmp_path, {k: v for k, v in cfg.items() if k != drop})
    assert found[0] == ("E103", f"`config.json` has no `{drop}`", "p.moe", 1, '"config.json"')


def test_bad_values_are_named_and_located_in_the_config(tmp_path):
    cfg = dict(MIXTRAL_8X7B, hidden_size="big", torch_dtype="float7", num_hidden_layers=0,
               tie_word_embeddings="yes", hidden_act="tanh")
    assert errors(tmp_path, cfg) == [
        ("E104", "`num_hidden_layers` is out of range: dagc accepts 1 to 100,000", "config.json", 8,
         '"num_hidden_layers"'),
        ("E104", "`hidden_size` must be a whole number, not a string", "config.json", 5, '"hidden_size"'),
        ("E104", "`tie_word_embeddings` must be true or false", "config.json", 13, '"tie_word_embeddings"'),
        ("E101", "`torch_dtype` is not a dtype dagc knows", "config.json", 14, '"torch_dtype"'),
        ("E101", "`hidden_act` names an activation dagc cannot map", "config.json", 15, '"hidden_act"'),
    ]


@pytest.mark.parametrize("value, words", [(1.5, "not a number with a fraction"), (True, "not true/false"),
                                          ([8], "not a list"), (10**40, "out of range"),
                                          (1e30, "out of range"), (1e300, "out of range")])
def test_expert_count_kinds(tmp_path, value, words):
    ((code, message, where, _, text),) = errors(tmp_path, dict(MIXTRAL_8X7B, num_local_experts=value))
    assert (code, where, text) == ("E104", "config.json", '"num_local_experts"') and words in message
    assert message.startswith("`num_local_experts`")


def test_a_whole_number_written_with_an_exponent_or_a_point_is_that_number(tmp_path):
    """`"num_local_experts": 8.0` is 8 experts; `1e+30` is out of range (it read "not a number with a fraction")."""
    fields, diags = imported(tmp_path, dict(MIXTRAL_8X7B, num_local_experts=8.0))
    assert diags == [] and fields is not None
    assert fields["moe"]["experts"] == 8 and type(fields["moe"]["experts"]) is int


def test_unreadable_configs_are_e002(tmp_path):
    assert errors(tmp_path, raw="[1, 2]") == [("E002", "`config.json` is not a JSON object", "config.json", 1, "[")]
    assert errors(tmp_path, raw='{"a": }') == [
        ("E002", "`config.json` is not valid JSON: Expecting value", "config.json", 1, "}")]
    fields, (d,) = load_hf_config(tmp_path / "missing.json", AT)
    assert fields is None and d.code == "E002" and d.span == AT
    assert d.message == f"cannot import `{quote(str(tmp_path / 'missing.json'))}`: the file does not exist"


def test_config_lines_are_never_echoed(tmp_path):
    _, diags = imported(tmp_path, dict(MIXTRAL_8X7B, hidden_size="secret"))
    assert diags and all(not d.span.source.echo for d in diags) and all("secret" not in d.message for d in diags)


def test_gpt_oss_imports_as_its_preset(tmp_path):
    """Alternating sliding (128) and full layers from `layer_types`, MXFP4 experts beside bf16 attention from
    the quantization config, gpt-oss's `experts_per_token`."""
    fields, diags = imported(tmp_path, GPT_OSS_120B)
    assert diags == []
    assert fields["window"] == {"size": 128, "kind": "sliding", "full_every": 2}
    assert fields["weights"] == "bf16" and fields["moe"]["weights"] == "mxfp4"
    assert (fields["moe"]["experts"], fields["moe"]["top_k"], fields["moe"]["ffn"]) == (128, 4, 2880)
    _same_model_as_preset(tmp_path, GPT_OSS_120B, "gpt-oss-120b")


def test_llama4_imports_its_text_model_as_its_preset(tmp_path):
    """Llama 4's language model sits under `text_config`: MoE every 2nd layer (dense ones of
    `intermediate_size_mlp`), a shared expert, chunked attention with global layers every 4."""
    fields, diags = imported(tmp_path, LLAMA4_MAVERICK)
    assert diags == []
    assert fields["window"] == {"size": 8192, "kind": "chunked", "full_every": 4}
    assert (fields["moe"]["every"], fields["moe"]["dense_ffn"], fields["moe"]["shared"]) == (2, 16384, 1)
    _same_model_as_preset(tmp_path, LLAMA4_MAVERICK, "llama-4-maverick")


def _same_model_as_preset(tmp_path, cfg, preset):
    from dagc.lang.load import load_plan_text
    from dagc.lang.lower import model_from_preset
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    plan = load_plan_text(f'model from "{path.name}"\ncluster {{ gpus = 8  gpu preset "h200" }}\n'
                          "workload { batch = 8  prompt = 512  generate = 64 }\nstrategy tp 8\n", base_dir=tmp_path)
    ours = model_from_preset(preset)
    assert plan.model.model_copy(update={"name": preset}) == ours


@pytest.mark.parametrize("quant, word", [
    ({"quant_method": "gptq", "bits": 4}, "quantization_config"),
    ({"bits": 4}, "quantization_config"),
])
def test_an_unknown_quantization_is_named_and_located(tmp_path, quant, word):
    fields, diags = imported(tmp_path, {**MIXTRAL_8X7B, "quantization_config": quant})
    assert fields is None and [d.code for d in diags] == ["E101"]
    d = diags[0]
    assert word in d.message and d.hint and "weights" in d.hint
    assert d.span is not None and "quantization_config" in d.span.source.text[d.span.start:d.span.end]


def test_a_layer_pattern_dagc_cannot_state_is_named(tmp_path):
    cfg = {**GPT_OSS_120B, "layer_types": ["sliding_attention"] * 3 + ["full_attention"] * 33}
    fields, diags = imported(tmp_path, cfg)
    assert fields is None and diags[0].code == "E101" and "layer_types" in diags[0].message


def test_sliding_window_off_is_no_window(tmp_path):
    fields, _ = imported(tmp_path, {**QWEN3_30B_A3B, "sliding_window": 4096, "use_sliding_window": False})
    assert "window" not in fields
    fields, _ = imported(tmp_path, {**MIXTRAL_8X7B, "sliding_window": 4096})
    assert fields["window"] == {"size": 4096, "kind": "sliding", "full_every": 0}


@pytest.mark.parametrize(("count", "code"), [(None, "E103"), (0, "E104")])
def test_an_expert_count_written_null_or_0_beside_routed_experts_is_no_dense_model(tmp_path, count, code):
    """Qwen3-30B-A3B's config with `"num_experts": null`: until 2026-12-03 read as a dense model of 3.3 B
    parameters built from `intermediate_size`."""
    errs = errors(tmp_path, {**QWEN3_30B_A3B, "num_experts": count})
    assert [e[0] for e in errs] == [code] and "num_experts" in errs[0][1]

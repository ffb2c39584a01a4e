"""Presets match the published totals; HF configs import to the same models."""

from __future__ import annotations

import json

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan, load_plan_text
from dagc.lang.lower import model_from_preset
from dagc.plan.params import active_params, attention_params, embedding_params, params_by_category, total_params
from dagc.plan.presets import GPU_PRESETS, MODEL_PRESETS, PUBLISHED_ACTIVE, PUBLISHED_PARAMS, PUBLISHED_TOLERANCE
from conftest import plan_text
from hf_configs import DEEPSEEK_R1, DEEPSEEK_V3 as DEEPSEEK_HF, MIXTRAL_8X7B as MIXTRAL_HF, QWEN3_30B_A3B as QWEN3_HF


@pytest.mark.parametrize("name", sorted(MODEL_PRESETS))
def test_preset_totals_match_published(name):
    total = total_params(model_from_preset(name))
    tolerance = PUBLISHED_TOLERANCE.get(name, (0.005, ""))[0]
    assert abs(total / PUBLISHED_PARAMS[name] - 1) < tolerance


@pytest.mark.parametrize("name", sorted(PUBLISHED_ACTIVE))
def test_preset_active_params_match_published(name):
    """dagc's active count (no input embedding), plus the embedding where the card counts it, is the
    card's figure rounded or cut to the unit the card states it to."""
    m = model_from_preset(name)
    published, with_embedding, unit = PUBLISHED_ACTIVE[name]
    active = active_params(m) + (embedding_params(m) if with_embedding else 0)
    assert published - unit / 2 <= active < published + unit


def test_active_params_leave_the_embedding_lookup_out_and_keep_the_lm_head():
    """gpt-oss by its card: 5.13B and 3.61B active, the layers' active weights and the unembedding
    (201,088 × 2,880); the input embedding (as many again) is held in memory, not computed with."""
    v, h = 201088, 2880
    for name, card in (("gpt-oss-120b", 5.13e9), ("gpt-oss-20b", 3.61e9)):
        m = model_from_preset(name)
        assert abs(active_params(m) / card - 1) < 0.001
        assert total_params(m) - active_params(m) == params_by_category(m)["routed_experts"] * (1 - 4 / m.moe.experts) \
            + v * h
    assert round(active_params(model_from_preset("gpt-oss-120b")) / 1e9, 1) == 5.1
    assert round(active_params(model_from_preset("gpt-oss-20b")) / 1e9, 1) == 3.6


def test_the_2026_presets_count_by_hand():
    """gpt-oss-120b by hand: 36 layers of GQA (64 q heads, 8 kv heads of 64) and 128 experts of width 2880,
    two norms a layer; its published 116.83B adds biases and sinks (40.1M), which dagc leaves out."""
    h, v = 2880, 201088
    attn = 2 * h * 64 * 64 + 2 * h * 8 * 64
    layer = attn + 128 * 3 * h * 2880 + h * 128 + 2 * h
    assert total_params(model_from_preset("gpt-oss-120b")) == 36 * layer + h + 2 * v * h == 116_789_048_640
    # Llama 4 Maverick: 24 MoE layers (odd) with a shared expert, 24 dense ones of width 16384
    h, v = 5120, 202048
    attn = 2 * h * 40 * 128 + 2 * h * 8 * 128
    moe = 128 * 3 * h * 8192 + 3 * h * 8192 + h * 128
    assert total_params(model_from_preset("llama-4-maverick")) == 48 * (attn + 2 * h) + 24 * moe \
        + 24 * 3 * h * 16384 + h + 2 * v * h


def test_mixtral_params_by_hand():
    h, heads, kv, hd, v, e, ffn, layers = 4096, 32, 8, 128, 32000, 8, 14336, 32
    attn = 2 * h * heads * hd + 2 * h * kv * hd
    layer = attn + e * 3 * h * ffn + h * e + 2 * h
    m = model_from_preset("mixtral-8x7b")
    assert attention_params(m) == attn
    assert total_params(m) == layers * layer + h + 2 * v * h
    assert active_params(m) == layers * (attn + 2 * 3 * h * ffn + h * e + 2 * h) + h + v * h    # the LM head, no lookup


def test_deepseek_mla_params_by_hand():
    h, heads, ql, kvl, nope, rope, vh = 7168, 128, 1536, 512, 128, 64, 128
    mla = h * ql + ql + ql * heads * (nope + rope) + h * (kvl + rope) + kvl + kvl * heads * (nope + vh) + heads * vh * h
    assert attention_params(model_from_preset("deepseek-v3")) == mla


def test_gpu_presets():
    assert set(GPU_PRESETS) == {"h100-sxm", "h200", "h800", "h20", "a100-80g", "b200", "b300", "gb200", "gb300",
                                "mi300x", "generic-400t"}
    assert GPU_PRESETS["a100-80g"].flops_8bit is None
    assert GPU_PRESETS["h800"].intra_node_bytes_per_s == 200e9
    g = GPU_PRESETS["generic-400t"]
    assert (g.memory_bytes, g.flops_16bit, g.hbm_bytes_per_s, g.compute_efficiency, g.hbm_efficiency) == \
        (64e9, 400e12, 1.8e12, 0.6, 0.8)




@pytest.mark.parametrize("config, preset", [(MIXTRAL_HF, "mixtral-8x7b"), (QWEN3_HF, "qwen3-30b-a3b"),
                                            (DEEPSEEK_HF, "deepseek-v3"), (DEEPSEEK_R1, "deepseek-v3")])
def test_hf_import_matches_preset(tmp_path, config, preset):
    """A preset is its config.json; DeepSeek-R1's is `deepseek-v3`'s, as `model preset "deepseek-r1"`'s E101 says."""
    (tmp_path / "config.json").write_text(json.dumps(config, indent=2))
    plan_path = tmp_path / "p.moe"
    plan_path.write_text(plan_text(model='model from "config.json"'))
    m = load_plan(plan_path).model
    p = model_from_preset(preset)
    for field in ("layers", "hidden", "heads", "kv_heads", "head_dim", "vocab", "tied", "weights", "attention", "mla"):
        assert getattr(m, field) == getattr(p, field), field
    assert m.moe == p.moe and m.context_length == p.context_length
    assert total_params(m) == total_params(p)


def test_hf_import_overrides_in_subdir(tmp_path):
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "config.json").write_text(json.dumps(MIXTRAL_HF))
    plan_path = tmp_path / "p.moe"
    plan_path.write_text(plan_text(model='model from "cfg/config.json"'))
    assert load_plan(plan_path).model.layers == 32


@pytest.mark.parametrize("drop, word", [("num_hidden_layers", "num_hidden_layers"),
                                        ("num_experts_per_tok", "num_experts_per_tok"),
                                        ("vocab_size", "vocab_size")])
def test_hf_missing_field_is_named(tmp_path, drop, word):
    cfg = {k: v for k, v in MIXTRAL_HF.items() if k != drop}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    plan_path = tmp_path / "p.moe"
    plan_path.write_text(plan_text(model='model from "config.json"'))
    with pytest.raises(PlanError) as exc:
        load_plan(plan_path)
    d = exc.value.diagnostics[0]
    assert d.code == "E103" and word in d.message
    assert d.span.source.path.endswith("p.moe") and d.span.line == 1 and d.span.column == 12


def test_hf_unmappable_field_points_into_json(tmp_path):
    cfg = dict(MIXTRAL_HF, torch_dtype="float7", hidden_size="big")
    (tmp_path / "config.json").write_text(json.dumps(cfg, indent=2))
    plan_path = tmp_path / "p.moe"
    plan_path.write_text(plan_text(model='model from "config.json"'))
    with pytest.raises(PlanError) as exc:
        load_plan(plan_path)
    by_code = {d.code: d for d in exc.value.diagnostics}
    assert "hidden_size" in by_code["E104"].message and by_code["E104"].span.source.path.endswith("config.json")
    assert "torch_dtype" in by_code["E101"].message
    lines = (tmp_path / "config.json").read_text().splitlines()
    assert '"torch_dtype"' in lines[by_code["E101"].span.line - 1]


def test_the_gpu_table_gives_each_figure_as_a_plan_writes_it():
    """`dagc presets`' GPU figures, copied into a custom `gpu` block, are the preset's own: rounded to one decimal
    an H100's 1,979 TFLOPS of fp8 read `2.0 PFLOPS`, its 3.35 TB/s `3.4 TB/s` and a B200's 2,250 TFLOPS `2.2 PFLOPS`."""
    from dagc.cli.print_presets import preset_rows

    rows = {row[0]: row for row in preset_rows()[1]}
    assert rows["h100-sxm"][2:7] == ("989 TFLOPS", "1.979 PFLOPS", "—", "3.35 TB/s", "450 GB/s")
    assert rows["b200"][2:5] == ("2.25 PFLOPS", "4.5 PFLOPS", "9 PFLOPS")
    for name, gpu in GPU_PRESETS.items():
        flops, fp8, fp4, hbm, link = rows[name][2:7]
        fields = [f"flops = {flops}", f"hbm = {hbm}", f"intra_node = {link}", f"memory = {gpu.memory_bytes:.0f} B"]
        fields += [f"{k} = {v}" for k, v in (("fp8_flops", fp8), ("fp4_flops", fp4)) if v != "—"]
        cluster = f'cluster {{ gpus = 8  gpus_per_node = 8  gpu "mine" {{ {"  ".join(fields)} }}  engine = pytorch }}'
        mine = load_plan_text(plan_text(cluster=cluster)).cluster.gpu
        assert (mine.flops_16bit, mine.flops_8bit, mine.flops_4bit, mine.hbm_bytes_per_s, mine.intra_node_bytes_per_s) \
            == (gpu.flops_16bit, gpu.flops_8bit, gpu.flops_4bit, gpu.hbm_bytes_per_s, gpu.intra_node_bytes_per_s), name

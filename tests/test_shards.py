"""The per-rank shard formulas (dagc.layout.shards) and the GPU peak, each written once."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from dagc.cost import cost_model
from dagc.ir import ops
from dagc.lang.model import model_from_preset
from dagc.layout import shards
from dagc.layout.layout import resolve
from dagc.plan.cluster import Cluster
from dagc.plan.model import DType
from dagc.plan.presets import GPU_PRESETS
from dagc.plan.strategy import Strategy
from dagc.plan.workload import Workload
from dagc.rules import bounds

ROOT = Path(__file__).resolve().parent.parent
MIXTRAL = model_from_preset("mixtral-8x7b")          # h 4096, 32 heads, 8 KV heads of 128, 8 experts top 2
DEEPSEEK = model_from_preset("deepseek-v3")          # MLA


def test_gqa_figures_by_hand():
    assert [shards.kv_heads_per_rank(MIXTRAL, tp) for tp in (1, 2, 8, 16)] == [8, 4, 1, 1]
    assert shards.attention_dims(MIXTRAL) == (128, 128)
    h = 4096
    assert shards.attention_params_per_rank(MIXTRAL, 4) == 2 * h * 32 * 128 / 4 + 2 * h * 128 * 2
    assert shards.qkv_params_per_rank(MIXTRAL, 4) == h * 32 * 128 / 4 + 2 * h * 128 * 2
    assert shards.kv_bytes_per_token_layer(MIXTRAL, 4) == 2 * 2 * 128 * MIXTRAL.kv_cache.bytes


def test_mla_figures():
    a = DEEPSEEK.mla
    assert shards.attention_dims(DEEPSEEK) == (a.qk_nope + a.qk_rope, a.v_head)
    # MLA caches the latent and the rope key, whatever tp.
    assert shards.kv_bytes_per_token_layer(DEEPSEEK, 1) == shards.kv_bytes_per_token_layer(DEEPSEEK, 8) \
        == (a.kv_lora + a.qk_rope) * DEEPSEEK.kv_cache.bytes
    o = DEEPSEEK.heads * a.v_head * DEEPSEEK.hidden
    for tp in (1, 8):
        whole = shards.attention_params_per_rank(DEEPSEEK, tp)
        assert whole == pytest.approx(shards.qkv_params_per_rank(DEEPSEEK, tp) + o / tp, rel=1e-12)


def test_distinct_experts():
    assert shards.expected_distinct_experts(8, 2, 1) == pytest.approx(2.0)
    assert shards.expected_distinct_experts(8, 2, 1, local=4) == pytest.approx(1.0)
    assert shards.expected_distinct_experts(0, 2, 5) == 0.0
    t = np.array([0.0, 1.0, 1e6])
    np.testing.assert_allclose(shards.expected_distinct_experts(256, 8, t, local=32), [0.0, 1.0, 32.0])


def test_stage_layer_counts():
    dense = DEEPSEEK.dense_layer_count
    assert dense > 0
    assert shards.stage_layer_counts(DEEPSEEK, 0, dense + 2) == (dense, 2)
    assert shards.stage_layer_counts(DEEPSEEK, dense, dense + 5) == (0, 5)
    assert shards.stage_layer_counts(DEEPSEEK, 0, 1) == (1, 0)


def test_peak_flops_one_formula():
    c = Cluster(gpus=8, gpu=GPU_PRESETS["h100-sxm"], intra_node_bytes_per_s=450e9)
    model = cost_model.CostModel.from_cluster(c)
    for d in DType:
        assert model.peak_flops(d) == c.gpu.peak_flops(d)
    assert c.gpu.peak_flops(DType.FP32) == c.gpu.flops_16bit / 2
    no_fp8 = GPU_PRESETS["a100-80g"]
    assert no_fp8.peak_flops(DType.FP8) == no_fp8.flops_16bit


def test_the_formulas_are_not_copied():
    """memory, build, bounds and the rules read the shard formulas from dagc.layout.shards: memory and the op
    shapes through the layout's `RankShards`, made by them once when the layout is resolved."""
    c = Cluster(gpus=8, gpu=GPU_PRESETS["h100-sxm"], intra_node_bytes_per_s=450e9)
    lay = resolve(MIXTRAL, c, Workload(batch=8, prompt=1024, generate=128), Strategy(text="tp 8", tp=8))
    assert lay.shards == shards.RankShards(8, shards.attention_params_per_rank(MIXTRAL, 8),
                                           shards.qkv_params_per_rank(MIXTRAL, 8), 1, 2 * 128 * 2.0, (128, 128))
    assert lay.stage_counts == ((0, 32, 0),) and lay.draft is None
    assert ops.rank_dims(MIXTRAL, lay).kvb_token == shards.kv_bytes_per_token_layer(MIXTRAL, 8) == 512.0
    assert bounds.expected_distinct_experts is shards.expected_distinct_experts
    copies = re.compile(r"def (kv_heads_per_rank|attention_params_per_rank|kv_bytes_per_token_layer|"
                        r"_?attention_dims|expected_distinct_experts)\b|\(1\.0 - \(1\.0 - |"
                        r"min\(\w+, \w+\.dense_layer_count\) - ")
    for path in (ROOT / "dagc").rglob("*.py"):
        if path.name != "shards.py":
            assert not copies.search(path.read_text()), path

"""Built-in models and GPUs (SPEC 3.1, 3.2) as data.

Model dimensions are the published ones; `PUBLISHED_PARAMS` holds the totals the model
cards state, which the tests compare with our parameter count (within 0.5 %). GPU
figures are dense datasheet peaks; GPU memory is what the device reports (nvidia-smi's
"Total" in MiB, docs/decisions.md), not the marketing GB. `GPU_KERNEL_PROFILES` names the
built-in kernel profile of each GPU preset that has one (dagc.kernels.kernels).
"""

from __future__ import annotations

from .cluster import Gpu

__all__ = ["MODEL_PRESETS", "GPU_PRESETS", "GPU_KERNEL_PROFILES", "PUBLISHED_PARAMS"]

# Field dictionaries in the plan language's own names, so a preset is exactly what a
# user could have written in a `model { … }` block; overrides merge key by key.
MODEL_PRESETS: dict[str, dict] = {
    "mixtral-8x7b": dict(
        layers=32, hidden=4096, heads=32, kv_heads=8, head_dim=128, vocab=32000, tied=False,
        weights="bf16", kv_cache="bf16", attention="gqa",
        moe=dict(experts=8, top_k=2, ffn=14336, shared=0, shared_ffn=0, dense_layers=0, dense_ffn=0, gated=True),
    ),
    "mixtral-8x22b": dict(
        layers=56, hidden=6144, heads=48, kv_heads=8, head_dim=128, vocab=32768, tied=False,
        weights="bf16", kv_cache="bf16", attention="gqa",
        moe=dict(experts=8, top_k=2, ffn=16384, shared=0, shared_ffn=0, dense_layers=0, dense_ffn=0, gated=True),
    ),
    "qwen3-30b-a3b": dict(
        layers=48, hidden=2048, heads=32, kv_heads=4, head_dim=128, vocab=151936, tied=False,
        weights="bf16", kv_cache="bf16", attention="gqa",
        moe=dict(experts=128, top_k=8, ffn=768, shared=0, shared_ffn=0, dense_layers=0, dense_ffn=0, gated=True),
    ),
    "qwen3-235b-a22b": dict(
        layers=94, hidden=4096, heads=64, kv_heads=4, head_dim=128, vocab=151936, tied=False,
        weights="bf16", kv_cache="bf16", attention="gqa",
        moe=dict(experts=128, top_k=8, ffn=1536, shared=0, shared_ffn=0, dense_layers=0, dense_ffn=0, gated=True),
    ),
    "deepseek-v3": dict(
        layers=61, hidden=7168, heads=128, kv_heads=128, head_dim=128, vocab=129280, tied=False,
        weights="fp8", kv_cache="bf16", attention="mla",
        mla=dict(q_lora=1536, kv_lora=512, qk_nope=128, qk_rope=64, v_head=128),
        moe=dict(experts=256, top_k=8, ffn=2048, shared=1, shared_ffn=2048, dense_layers=3, dense_ffn=18432,
                 gated=True),
    ),
}

# Totals as published by the model authors (model cards / papers).
PUBLISHED_PARAMS: dict[str, float] = {
    "mixtral-8x7b": 46.7e9,
    "mixtral-8x22b": 141e9,
    "qwen3-30b-a3b": 30.5e9,
    "qwen3-235b-a22b": 235e9,
    "deepseek-v3": 671e9,
}

GB = 1e9
MiB = 2**20
TFLOPS = 1e12
TBPS = 1e12

GPU_PRESETS: dict[str, Gpu] = {
    g.name: g
    for g in (
        Gpu(name="h100-sxm", memory_bytes=81_559 * MiB, flops_16bit=989 * TFLOPS, flops_8bit=1979 * TFLOPS,
            hbm_bytes_per_s=3.35 * TBPS, intra_node_bytes_per_s=450 * GB),
        Gpu(name="h200", memory_bytes=143_771 * MiB, flops_16bit=989 * TFLOPS, flops_8bit=1979 * TFLOPS,
            hbm_bytes_per_s=4.8 * TBPS, intra_node_bytes_per_s=450 * GB),
        Gpu(name="h800", memory_bytes=81_559 * MiB, flops_16bit=989 * TFLOPS, flops_8bit=1979 * TFLOPS,
            hbm_bytes_per_s=3.35 * TBPS, intra_node_bytes_per_s=200 * GB),
        Gpu(name="h20", memory_bytes=97_871 * MiB, flops_16bit=148 * TFLOPS, flops_8bit=296 * TFLOPS,
            hbm_bytes_per_s=4.0 * TBPS, intra_node_bytes_per_s=450 * GB),
        Gpu(name="a100-80g", memory_bytes=81_920 * MiB, flops_16bit=312 * TFLOPS, flops_8bit=None,
            hbm_bytes_per_s=2.0 * TBPS, intra_node_bytes_per_s=300 * GB),
        Gpu(name="b200", memory_bytes=183_359 * MiB, flops_16bit=2250 * TFLOPS, flops_8bit=4500 * TFLOPS,
            flops_4bit=9000 * TFLOPS, hbm_bytes_per_s=8.0 * TBPS, intra_node_bytes_per_s=900 * GB),
        # Blackwell Ultra in an 8-GPU HGX node; GB200 and GB300 per GPU of an NVL72 rack, whose 72 GPUs
        # are one NVLink domain (the rack's figures / 72). Sources: docs/decisions.md.
        Gpu(name="b300", memory_bytes=275_040 * MiB, flops_16bit=2250 * TFLOPS, flops_8bit=4500 * TFLOPS,
            flops_4bit=13_500 * TFLOPS, hbm_bytes_per_s=8.0 * TBPS, intra_node_bytes_per_s=900 * GB),
        Gpu(name="gb200", memory_bytes=189_471 * MiB, flops_16bit=2500 * TFLOPS, flops_8bit=5000 * TFLOPS,
            flops_4bit=10_000 * TFLOPS, hbm_bytes_per_s=8.0 * TBPS, intra_node_bytes_per_s=900 * GB,
            nvlink_domain=72),
        Gpu(name="gb300", memory_bytes=284_208 * MiB, flops_16bit=2500 * TFLOPS, flops_8bit=5000 * TFLOPS,
            flops_4bit=15_000 * TFLOPS, hbm_bytes_per_s=8.0 * TBPS, intra_node_bytes_per_s=900 * GB,
            nvlink_domain=72),
        # MI300X: Infinity Fabric, 7 links of 64 GB/s per direction to the other GPUs.
        Gpu(name="mi300x", memory_bytes=196_608 * MiB, flops_16bit=1307 * TFLOPS, flops_8bit=2615 * TFLOPS,
            hbm_bytes_per_s=5.3 * TBPS, intra_node_bytes_per_s=448 * GB),
        # The environment of the seed reports: one number for every precision.
        Gpu(name="generic-400t", memory_bytes=64 * GB, flops_16bit=400 * TFLOPS, flops_8bit=None,
            hbm_bytes_per_s=1.8 * TBPS, intra_node_bytes_per_s=450 * GB,
            compute_efficiency=0.6, hbm_efficiency=0.8),
    )
}

# The kernel profile a cluster of each preset uses unless it names one (`kernels = …`).
GPU_KERNEL_PROFILES: dict[str, str] = {"h100-sxm": "h100-sxm", "h200": "h200"}

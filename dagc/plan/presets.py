"""Built-in models and GPUs (SPEC 3.1, 3.2) as data.

Model dimensions are the published ones; `PUBLISHED_PARAMS` holds the totals the model
cards state, which the tests compare with our parameter count (within 0.5 %). GPU
figures are dense datasheet peaks; GPU memory is what the device reports (nvidia-smi's
"Total" in MiB, docs/decisions.md), not the marketing GB. `GPU_KERNEL_PROFILES` names the
built-in kernel profile of each GPU preset that has one (dagc.kernels.kernels).
"""

from __future__ import annotations

from typing import TypeAlias

from .cluster import Gpu, Vendor

__all__ = ["MODEL_PRESETS", "MODEL_ALIASES", "GPU_PRESETS", "GRACE_HOST_TIME_SCALE", "GPU_KERNEL_PROFILES",
           "PUBLISHED_PARAMS", "PUBLISHED_TOLERANCE", "PUBLISHED_ACTIVE", "PresetField"]

# A preset's field: a number, a name or a flag, or a sub-block's (`moe`, `mla`, `window`) fields of those.
PresetField: TypeAlias = "int | str | bool | dict[str, int | str | bool]"

_GPT_OSS_120B_MOE: dict[str, int | str | bool] = dict(experts=128, top_k=4, ffn=2880, shared=0, shared_ffn=0,
                                                      dense_layers=0, dense_ffn=0, gated=True, weights="mxfp4")

_GPT_OSS_120B: dict[str, PresetField] = dict(
    context_length=131_072,
    layers=36, hidden=2880, heads=64, kv_heads=8, head_dim=64, vocab=201088, tied=False,
    weights="bf16", kv_cache="bf16", attention="gqa",
    moe=_GPT_OSS_120B_MOE,
    window=dict(size=128, kind="sliding", full_every=2),
)

# Field dictionaries in the plan language's own names, so a preset is exactly what a
# user could have written in a `model { … }` block; overrides merge key by key. `context_length`
# is what an engine derives from the model's config.json (`dagc.lang.hf.context_length`: its
# `max_position_embeddings`, scaled as `rope_scaling` says); docs/language.md, "Context lengths of the
# built-in models", names each source.
MODEL_PRESETS: dict[str, dict[str, PresetField]] = {
    "mixtral-8x7b": dict(
        context_length=32_768,
        layers=32, hidden=4096, heads=32, kv_heads=8, head_dim=128, vocab=32000, tied=False,
        weights="bf16", kv_cache="bf16", attention="gqa",
        moe=dict(experts=8, top_k=2, ffn=14336, shared=0, shared_ffn=0, dense_layers=0, dense_ffn=0, gated=True),
    ),
    "mixtral-8x22b": dict(
        context_length=65_536,
        layers=56, hidden=6144, heads=48, kv_heads=8, head_dim=128, vocab=32768, tied=False,
        weights="bf16", kv_cache="bf16", attention="gqa",
        moe=dict(experts=8, top_k=2, ffn=16384, shared=0, shared_ffn=0, dense_layers=0, dense_ffn=0, gated=True),
    ),
    "qwen3-30b-a3b": dict(
        context_length=40_960,
        layers=48, hidden=2048, heads=32, kv_heads=4, head_dim=128, vocab=151936, tied=False,
        weights="bf16", kv_cache="bf16", attention="gqa",
        moe=dict(experts=128, top_k=8, ffn=768, shared=0, shared_ffn=0, dense_layers=0, dense_ffn=0, gated=True),
    ),
    "qwen3-235b-a22b": dict(
        context_length=40_960,
        layers=94, hidden=4096, heads=64, kv_heads=4, head_dim=128, vocab=151936, tied=False,
        weights="bf16", kv_cache="bf16", attention="gqa",
        moe=dict(experts=128, top_k=8, ffn=1536, shared=0, shared_ffn=0, dense_layers=0, dense_ffn=0, gated=True),
    ),
    "deepseek-v3": dict(
        context_length=163_840,
        layers=61, hidden=7168, heads=128, kv_heads=128, head_dim=128, vocab=129280, tied=False,
        weights="fp8", kv_cache="bf16", attention="mla",
        mla=dict(q_lora=1536, kv_lora=512, qk_nope=128, qk_rope=64, v_head=128),
        moe=dict(experts=256, top_k=8, ffn=2048, shared=1, shared_ffn=2048, dense_layers=3, dense_ffn=18432,
                 gated=True, groups=8),
    ),
    # The models of 2026 (SPEC 12). Sources: each model's config.json as its vendor publishes it
    # (docs/decisions.md, "Model presets of 2026", names each file); biases, attention sinks and
    # qk-norm weights are not modelled (under 0.04 % of any of these totals).
    "gpt-oss-120b": _GPT_OSS_120B,
    # gpt-oss-20b: 24 layers of 32 experts; its config.json differs from gpt-oss-120b's in nothing else
    "gpt-oss-20b": {**_GPT_OSS_120B, "layers": 24, "moe": {**_GPT_OSS_120B_MOE, "experts": 32}},
    "kimi-k2": dict(
        context_length=131_072,
        layers=61, hidden=7168, heads=64, kv_heads=64, head_dim=128, vocab=163840, tied=False,
        weights="fp8", kv_cache="bf16", attention="mla",
        mla=dict(q_lora=1536, kv_lora=512, qk_nope=128, qk_rope=64, v_head=128),
        moe=dict(experts=384, top_k=8, ffn=2048, shared=1, shared_ffn=2048, dense_layers=1, dense_ffn=18432,
                 gated=True),
    ),
    "llama-4-maverick": dict(
        context_length=1_048_576,
        layers=48, hidden=5120, heads=40, kv_heads=8, head_dim=128, vocab=202048, tied=False,
        weights="bf16", kv_cache="bf16", attention="gqa",
        moe=dict(experts=128, top_k=1, ffn=8192, shared=1, shared_ffn=8192, dense_layers=0, dense_ffn=16384,
                 gated=True, every=2),
        window=dict(size=8192, kind="chunked", full_every=4),
    ),
    "llama-4-scout": dict(
        context_length=10_485_760,
        layers=48, hidden=5120, heads=40, kv_heads=8, head_dim=128, vocab=202048, tied=False,
        weights="bf16", kv_cache="bf16", attention="gqa",
        moe=dict(experts=16, top_k=1, ffn=8192, shared=1, shared_ffn=8192, dense_layers=0, dense_ffn=0, gated=True),
        window=dict(size=8192, kind="chunked", full_every=4),
    ),
    "glm-4.5": dict(
        context_length=131_072,
        layers=92, hidden=5120, heads=96, kv_heads=8, head_dim=128, vocab=151552, tied=False,
        weights="bf16", kv_cache="bf16", attention="gqa",
        moe=dict(experts=160, top_k=8, ffn=1536, shared=1, shared_ffn=1536, dense_layers=3, dense_ffn=12288,
                 gated=True),
    ),
    "qwen3-coder-480b-a35b": dict(
        context_length=262_144,
        layers=62, hidden=6144, heads=96, kv_heads=8, head_dim=128, vocab=151936, tied=False,
        weights="bf16", kv_cache="bf16", attention="gqa",
        moe=dict(experts=160, top_k=8, ffn=2560, shared=0, shared_ffn=0, dense_layers=0, dense_ffn=0, gated=True),
    ),
}

# Other Hugging Face names of a preset's model — the checkpoints whose config.json is the preset's but for its name —,
# each with why, for E101's hint (`model preset "deepseek-r1"`: use `deepseek-v3`). Only names verified to be the same
# architecture: Qwen3's 2507 Instruct and Thinking checkpoints are not here (their context is 262,144 tokens, the
# presets' 40,960), nor Kimi-K2-Instruct-0905 (262,144 against 131,072). docs/language.md, "Other names of the
# built-in models".
_SOURCE = "the `{}` preset is made from {}'s config.json"
MODEL_ALIASES: dict[str, tuple[str, str]] = {
    "DeepSeek-R1": ("deepseek-v3", "DeepSeek-R1 has DeepSeek-V3's architecture (its config.json is DeepSeek-V3's, "
                                   "field for field: 61 layers of MLA, 256 experts with 8 a token, fp8 weights, "
                                   "163,840 tokens of context)"),
    **{name: (preset, _SOURCE.format(preset, name)) for name, preset in (
        ("Kimi-K2-Instruct", "kimi-k2"), ("Mixtral-8x7B-v0.1", "mixtral-8x7b"),
        ("Mixtral-8x7B-Instruct-v0.1", "mixtral-8x7b"), ("Mixtral-8x22B-v0.1", "mixtral-8x22b"),
        ("Mixtral-8x22B-Instruct-v0.1", "mixtral-8x22b"), ("Llama-4-Maverick-17B-128E-Instruct", "llama-4-maverick"),
        ("Llama-4-Scout-17B-16E-Instruct", "llama-4-scout"),
        ("Qwen3-Coder-480B-A35B-Instruct", "qwen3-coder-480b-a35b"))},
}

# Totals as published by the model authors (model cards / papers).
PUBLISHED_PARAMS: dict[str, float] = {
    "mixtral-8x7b": 46.7e9,
    "mixtral-8x22b": 141e9,
    "qwen3-30b-a3b": 30.5e9,
    "qwen3-235b-a22b": 235e9,
    "deepseek-v3": 671e9,
    "gpt-oss-120b": 116.83e9,          # model card (arXiv 2508.10925): 116.83B total, 5.13B active
    "gpt-oss-20b": 20.91e9,
    "kimi-k2": 1.0e12,                 # README: "1T total, 32B activated"
    "llama-4-maverick": 400e9,         # Meta's model card: 400B total, 17B active
    "llama-4-scout": 109e9,            # … 109B total, its vision encoder included (PUBLISHED_TOLERANCE)
    "glm-4.5": 355e9,                  # README: 355B total, 32B active (PUBLISHED_TOLERANCE)
    "qwen3-coder-480b-a35b": 480e9,    # README: 480B total, 35B active
}

# Totals that a published figure does not pin to 0.5 %, and why: the tolerance the tests allow.
PUBLISHED_TOLERANCE: dict[str, tuple[float, str]] = {
    "kimi-k2": (0.05, "the card rounds to 1T; the configuration counts 1.026T (the tech report's 1.04T may count an "
                      "unreleased MTP layer)"),
    "llama-4-scout": (0.015, "109B counts the vision encoder (about 0.9B) that dagc, costing text, leaves out"),
    "glm-4.5": (0.007, "355B lies between the count without the MTP layer (352.8B) and with it (356.8B)"),
}

# Active parameters as each card states them: (figure, whether it counts the input embedding, the unit
# it is stated to). dagc's `active_params` leaves the embedding lookup out (it computes nothing) and keeps
# the LM head; a card that counts the embedding too is checked against dagc's count plus V·h. The
# convention of a card is the one its figure fits, rounded (or cut) to its unit: OpenAI's is stated (the
# embedding out); DeepSeek-V3's 36.6B and Kimi-K2's 31.7B round to their 37B and 32B, with the embedding
# (37.6B, 32.9B) they would not; Mistral's 12.9B, Qwen3-30B-A3B's 3.3B and Llama 4's 17B need the
# embedding (12.7B, 3.0B and 16.2B without it). Mixtral-8x22B's, Qwen3-235B's and Qwen3-Coder's rounded
# figures fit either way: their vendors' convention. GLM-4.5's 32B fits neither (32.9B without, 33.6B
# with the embedding; 32.1B without the LM head too): left out.
PUBLISHED_ACTIVE: dict[str, tuple[float, bool, float]] = {
    "gpt-oss-120b": (5.13e9, False, 0.01e9),       # model card (arXiv 2508.10925), table 1: 5.13B active
    "gpt-oss-20b": (3.61e9, False, 0.01e9),        # … 3.61B active
    "deepseek-v3": (37e9, False, 1e9),             # tech report (arXiv 2412.19437): "37B activated for each token"
    "kimi-k2": (32e9, False, 1e9),                 # README: "32 billion activated parameters"
    "mixtral-8x7b": (12.9e9, True, 0.1e9),         # Mistral's announcement: "only uses 12.9B parameters per token"
    "mixtral-8x22b": (39e9, True, 1e9),            # … "39B active parameters out of 141B"
    "qwen3-30b-a3b": (3.3e9, True, 0.1e9),         # model card: "30.5B in total and 3.3B activated"
    "qwen3-235b-a22b": (22e9, True, 1e9),          # model card: "235B in total and 22B activated"
    "qwen3-coder-480b-a35b": (35e9, True, 1e9),    # README: "480B-parameter … with 35B active parameters"
    "llama-4-maverick": (17e9, True, 1e9),         # Meta's model card: "17B activated parameters"
    "llama-4-scout": (17e9, True, 1e9),            # … the same 17B
}

GB = 1e9
MiB = 2**20
TFLOPS = 1e12
TBPS = 1e12
# A Grace CPU's host time per launched op against an x86 DGX's: PyTorch's CPU time of one `Linear` forward, 37.08 µs on
# a GB200 and 13.48 µs on a DGX H100 (Xeon Platinum 8480C), NVIDIA/TransformerEngine issue #2053 (2025-08-11): the
# GB200 and GB300 presets' `Gpu.host_time_scale` (docs/cost-model.md, "A Grace host's eager launches").
GRACE_HOST_TIME_SCALE = 37.08 / 13.48

GPU_PRESETS: dict[str, Gpu] = {
    g.name: g
    # Makers as the datasheets name them (NVIDIA's H100/H200/H800/H20/A100/B200/B300/GB200/GB300, AMD's
    # Instinct MI300X; sources in docs/decisions.md): TensorRT-LLM runs on NVIDIA's GPUs only (E728).
    for g in (
        Gpu(name="h100-sxm", memory_bytes=81_559 * MiB, flops_16bit=989 * TFLOPS, flops_8bit=1979 * TFLOPS,
            vendor=Vendor.NVIDIA, hbm_bytes_per_s=3.35 * TBPS, intra_node_bytes_per_s=450 * GB),
        Gpu(name="h200", memory_bytes=143_771 * MiB, flops_16bit=989 * TFLOPS, flops_8bit=1979 * TFLOPS,
            vendor=Vendor.NVIDIA, hbm_bytes_per_s=4.8 * TBPS, intra_node_bytes_per_s=450 * GB),
        Gpu(name="h800", memory_bytes=81_559 * MiB, flops_16bit=989 * TFLOPS, flops_8bit=1979 * TFLOPS,
            vendor=Vendor.NVIDIA, hbm_bytes_per_s=3.35 * TBPS, intra_node_bytes_per_s=200 * GB),
        Gpu(name="h20", memory_bytes=97_871 * MiB, flops_16bit=148 * TFLOPS, flops_8bit=296 * TFLOPS,
            vendor=Vendor.NVIDIA, hbm_bytes_per_s=4.0 * TBPS, intra_node_bytes_per_s=450 * GB),
        Gpu(name="a100-80g", memory_bytes=81_920 * MiB, flops_16bit=312 * TFLOPS, flops_8bit=None,
            vendor=Vendor.NVIDIA, hbm_bytes_per_s=2.0 * TBPS, intra_node_bytes_per_s=300 * GB),
        Gpu(name="b200", memory_bytes=183_359 * MiB, flops_16bit=2250 * TFLOPS, flops_8bit=4500 * TFLOPS,
            flops_4bit=9000 * TFLOPS, hbm_bytes_per_s=8.0 * TBPS, intra_node_bytes_per_s=900 * GB,
            vendor=Vendor.NVIDIA),
        # Blackwell Ultra in an 8-GPU HGX node; GB200 and GB300 per GPU of an NVL72 rack, whose 72 GPUs
        # are one NVLink domain (the rack's figures / 72). Sources: docs/decisions.md.
        Gpu(name="b300", memory_bytes=275_040 * MiB, flops_16bit=2250 * TFLOPS, flops_8bit=4500 * TFLOPS,
            flops_4bit=13_500 * TFLOPS, hbm_bytes_per_s=8.0 * TBPS, intra_node_bytes_per_s=900 * GB,
            vendor=Vendor.NVIDIA),
        Gpu(name="gb200", memory_bytes=189_471 * MiB, flops_16bit=2500 * TFLOPS, flops_8bit=5000 * TFLOPS,
            flops_4bit=10_000 * TFLOPS, hbm_bytes_per_s=8.0 * TBPS, intra_node_bytes_per_s=900 * GB,
            vendor=Vendor.NVIDIA, nvlink_domain=72, host_gpus=4, host_time_scale=GRACE_HOST_TIME_SCALE),
        Gpu(name="gb300", memory_bytes=284_208 * MiB, flops_16bit=2500 * TFLOPS, flops_8bit=5000 * TFLOPS,
            flops_4bit=15_000 * TFLOPS, hbm_bytes_per_s=8.0 * TBPS, intra_node_bytes_per_s=900 * GB,
            vendor=Vendor.NVIDIA, nvlink_domain=72, host_gpus=4, host_time_scale=GRACE_HOST_TIME_SCALE),
        # MI300X: Infinity Fabric, 7 links of 64 GB/s per direction to the other GPUs (a full mesh); its memory as ROCm
        # reports it (205,822,885,888 B: docs/decisions.md).
        Gpu(name="mi300x", memory_bytes=196_288 * MiB, flops_16bit=1307 * TFLOPS, flops_8bit=2615 * TFLOPS,
            vendor=Vendor.AMD, hbm_bytes_per_s=5.3 * TBPS, intra_node_bytes_per_s=448 * GB,
            mesh_link_bytes_per_s=64 * GB),
        # The environment of the seed reports: one number for every precision.
        Gpu(name="generic-400t", memory_bytes=64 * GB, flops_16bit=400 * TFLOPS, flops_8bit=None,
            hbm_bytes_per_s=1.8 * TBPS, intra_node_bytes_per_s=450 * GB,
            compute_efficiency=0.6, hbm_efficiency=0.8),
    )
}

# The kernel profile a cluster of each preset uses unless it names one (`kernels = …`).
GPU_KERNEL_PROFILES: dict[str, str] = {"h100-sxm": "h100-sxm", "h200": "h200"}

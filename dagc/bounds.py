"""Physical bounds: what no schedule can beat, at 100 % efficiency (for W506).

Input: a `Model`, `Workload`, `Cluster` and `Layout`. Output: `Bounds` — the smallest
possible TTFT and TPOT and the largest possible throughputs, from peak FLOPs and peak HBM
bandwidth of the GPUs used (communication ignored). A requirement beyond them cannot be
met by any efficiency, so it is a plan error of the requirement, not of the strategy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .layout import Layout
from .memory import kv_bytes_per_token_layer
from .params import active_params, embedding_params, ffn_params, total_params
from .plan import AttentionKind, Cluster, Model, Workload

__all__ = ["Bounds", "bounds", "attention_core_flops_per_layer", "expected_distinct_experts"]


@dataclass(frozen=True)
class Bounds:
    ttft_s: float
    tpot_s: float
    prefill_tokens_per_s: float
    decode_tokens_per_s: float
    throughput_tokens_per_s: float
    min_gpus_for_weights: int


def attention_core_flops_per_layer(model: Model, seq: int) -> float:
    """Causal prefill attention core for one sequence of `seq` tokens: s²·heads·(dk+dv)."""
    if model.attention is AttentionKind.MLA and model.mla is not None:
        dk, dv = model.mla.qk_nope + model.mla.qk_rope, model.mla.v_head
    else:
        dk = dv = model.head_dim
    return seq * seq * model.heads * (dk + dv)


def expected_distinct_experts(experts: int, top_k: int, tokens: float) -> float:
    """Expected distinct experts hit by `tokens` tokens each choosing top_k of `experts`:
    E·(1 − (1 − k/E)^T).

    Example:
        >>> round(expected_distinct_experts(8, 2, 1), 6)
        2.0
    """
    if experts == 0:
        return 0.0
    return experts * (1.0 - (1.0 - top_k / experts) ** tokens)


def bounds(model: Model, workload: Workload, cluster: Cluster, layout: Layout) -> Bounds:
    gpus = layout.gpus_used
    peak = cluster.gpu.peak_flops(model.weights) * gpus
    hbm = cluster.gpu.hbm_bytes_per_s * gpus
    b, s, g = workload.batch, workload.prompt, workload.generate
    body = active_params(model) - embedding_params(model) * (1 if model.tied else 2)
    head = embedding_params(model)
    prefill_flops = 2 * body * b * s + model.layers * b * attention_core_flops_per_layer(model, s) + 2 * head * b
    weight_bytes = total_params(model) * model.weights.bytes
    ttft = max(prefill_flops / peak, weight_bytes * layout.dp / hbm)

    if model.attention is AttentionKind.MLA and model.mla is not None:
        dk, dv = model.mla.qk_nope + model.mla.qk_rope, model.mla.v_head
    else:
        dk = dv = model.head_dim
    decode_flops = 2 * (body + head) * b + model.layers * b * 2 * s * model.heads * (dk + dv)
    per_replica_tokens = b / layout.dp
    hit = expected_distinct_experts(model.moe.experts, model.moe.top_k, per_replica_tokens)
    expert_bytes = model.moe_layer_count * (model.moe.experts - hit) * ffn_params(model, model.moe.ffn) \
        * model.weights.bytes
    kv = b * s * model.layers * kv_bytes_per_token_layer(model, 1)
    decode_bytes = (weight_bytes - expert_bytes) * layout.dp + kv
    tpot = max(decode_flops / peak, decode_bytes / hbm)
    min_gpus = math.ceil(weight_bytes / cluster.gpu.memory_bytes)
    return Bounds(ttft_s=ttft, tpot_s=tpot, prefill_tokens_per_s=b * s / ttft, decode_tokens_per_s=b / tpot,
                  throughput_tokens_per_s=b * (s + g) / (ttft + g * tpot), min_gpus_for_weights=min_gpus)

"""Parameter counts of a model (SPEC 6.1).

Input: a `Model`. Output: parameter counts per component, per layer and in total. These
formulas are the single source for presets' totals, per-rank weights and DAG FLOPs.
"""

from __future__ import annotations

from .model import AttentionKind, Model

__all__ = ["attention_params", "ffn_params", "moe_layer_params", "dense_layer_params",
           "total_params", "active_params", "embedding_params", "params_by_category"]


def attention_params(m: Model) -> int:
    """Attention matrices of one layer.

    gqa: `2·h·heads·hd + 2·h·kv·hd`; mla: `h·ql + ql + ql·heads·(nope+rope) + h·(kvl+rope)
    + kvl + kvl·heads·(nope+v) + heads·v·h` (without q LoRA, `h·heads·(nope+rope)` for q).

    Example:
        >>> from dagc.lang.lower import model_from_preset
        >>> attention_params(model_from_preset("mixtral-8x7b"))
        41943040
    """
    h = m.hidden
    if m.attention is AttentionKind.MLA and m.mla is not None:
        a = m.mla
        q = (h * a.q_lora + a.q_lora + a.q_lora * m.heads * (a.qk_nope + a.qk_rope)) if a.q_lora \
            else h * m.heads * (a.qk_nope + a.qk_rope)
        kv = h * (a.kv_lora + a.qk_rope) + a.kv_lora + a.kv_lora * m.heads * (a.qk_nope + a.v_head)
        return q + kv + m.heads * a.v_head * h
    return 2 * h * m.heads * m.head_dim + 2 * h * m.kv_heads * m.head_dim


def ffn_params(m: Model, ffn: int) -> int:
    """One FFN (expert, shared expert or dense MLP): `(3 if gated else 2)·h·ffn`."""
    return (3 if m.moe.gated else 2) * m.hidden * ffn


def router_params(m: Model) -> int:
    return m.hidden * m.moe.experts


def moe_layer_params(m: Model) -> int:
    """The FFN part of a MoE layer: routed experts, shared experts and the router."""
    e = m.moe
    return e.experts * ffn_params(m, e.ffn) + e.shared * ffn_params(m, e.shared_ffn_size) + router_params(m)


def moe_layer_active_params(m: Model) -> int:
    e = m.moe
    return e.top_k * ffn_params(m, e.ffn) + e.shared * ffn_params(m, e.shared_ffn_size) + router_params(m)


def dense_layer_params(m: Model) -> int:
    return ffn_params(m, m.moe.dense_ffn)


def embedding_params(m: Model) -> int:
    return m.vocab * m.hidden


def params_by_category(m: Model) -> dict[str, int]:
    """All parameters by the category a GPU holds them in (the keys of report.json's per-stage
    `weights`): attention, routed and shared experts, dense FFN, norms (`2h` a layer and the final
    `h`) with the routers, embedding `V·h` and LM head `V·h` (0 when tied).

    Example:
        >>> from dagc.lang.lower import model_from_preset
        >>> m = model_from_preset("mixtral-8x7b")
        >>> sum(params_by_category(m).values()) == total_params(m)
        True
    """
    e = m.moe
    return {
        "attention": m.layers * attention_params(m),
        "routed_experts": m.moe_layer_count * e.experts * ffn_params(m, e.ffn),
        "shared_experts": m.moe_layer_count * e.shared * ffn_params(m, e.shared_ffn_size),
        "dense_ffn": m.dense_layer_count * dense_layer_params(m),
        "norms_and_routers": m.layers * 2 * m.hidden + m.hidden + m.moe_layer_count * router_params(m),
        "embedding": embedding_params(m),
        "lm_head": 0 if m.tied else embedding_params(m),
    }


EXPERT_CATEGORIES = ("routed_experts", "shared_experts")     # held in `Model.expert_weights`


def bytes_per_param(m: Model, category: str) -> float:
    """Bytes a parameter of `category` (a key of `params_by_category`) takes: the experts' dtype for
    routed and shared experts (`moe { weights = … }`), the model's for the rest."""
    return (m.expert_weights if category in EXPERT_CATEGORIES else m.weights).bytes


def weight_bytes(m: Model) -> float:
    """Bytes of all the model's weights, each category in its dtype.

    Example:
        >>> from dagc.lang.lower import model_from_preset
        >>> m = model_from_preset("mixtral-8x7b")
        >>> weight_bytes(m) == 2 * total_params(m)
        True
    """
    return sum(n * bytes_per_param(m, k) for k, n in params_by_category(m).items())


def total_params(m: Model) -> int:
    """All parameters: layers (attention, norms `2h`, FFN or MoE), final norm `h`,
    embedding `V·h` and LM head `V·h` unless tied (the sum of `params_by_category`)."""
    return sum(params_by_category(m).values())


def active_params(m: Model) -> int:
    """Parameters one token computes with: the layers (attention, norms, dense FFN or the MoE layer with
    top_k routed experts, the shared experts and the router), the final norm and the LM head `V·h` (a
    matmul, tied or not) — not the input embedding, whose lookup reads one row and computes nothing
    (memory still holds the whole table: `total_params`). So 2 × active params × tokens is a decode
    step's matmul FLOPs exactly (SPEC 5).

    This is how OpenAI (gpt-oss), DeepSeek (V3) and Moonshot (Kimi-K2) count their cards' active
    parameters; Mistral, Qwen and Meta count the input embedding too (`PUBLISHED_ACTIVE` in
    `dagc.plan.presets` holds each card's figure and convention).

    Example:
        >>> from dagc.lang.lower import model_from_preset
        >>> round(active_params(model_from_preset("gpt-oss-120b")) / 1e9, 2)   # the card: 5.13B
        5.13
    """
    per_layer_common = attention_params(m) + 2 * m.hidden
    layers = m.layers * per_layer_common + m.dense_layer_count * dense_layer_params(m) \
        + m.moe_layer_count * moe_layer_active_params(m)
    return layers + m.hidden + embedding_params(m)

"""What W520's hint says shards the KV cache, from the model: more tp shards it only while each TP rank
holds fewer KV heads (a GQA model up to tp = its KV heads); MLA's latent KV, one per token, is whole on every
TP rank. Past that the requests must split — attention DP over the same GPUs (`tp 1 ; ep G`), more replicas
(dp) — or the tokens (cp). For a model with experts the hint gives what attention DP over the strategy's own
GPUs would run, computed as the strategy's own figure is (its layout, its memory, the engine's admission).

Input: the plan, the strategy's `Layout`. Output: the hint's text.
"""

from __future__ import annotations

from ..layout.layout import Layout, resolve
from ..layout.shards import kv_bytes_per_token_layer
from ..memory.activations import activation_bytes_by_stage
from ..memory.admission import admission
from ..memory.memory import memory
from ..plan.model import AttentionKind, Model
from ..plan.plan import Plan
from ..plan.printer import aggregated, with_split
from ..units import format_bytes

__all__ = ["kv_shard_hint", "limit_words", "tp_shards_kv"]


def tp_shards_kv(model: Model, tp: int) -> bool:
    """Whether doubling tp would shrink a rank's KV cache per token.

    Example:
        >>> from dagc.lang.lower import model_from_preset
        >>> tp_shards_kv(model_from_preset("deepseek-v3"), 1), tp_shards_kv(model_from_preset("mixtral-8x7b"), 4)
        (False, True)
        >>> tp_shards_kv(model_from_preset("mixtral-8x7b"), 8)       # 8 KV heads: one a rank already
        False
    """
    return kv_bytes_per_token_layer(model, 2 * tp) < kv_bytes_per_token_layer(model, tp)


def _attention_dp(plan: Plan, lay: Layout) -> tuple[str, int] | None:
    """`tp 1 ; ep G` on the strategy's stages and replicas (G its stage group) and the requests the engine would
    run with it, when the model has experts that G divides and it fits in memory; None otherwise."""
    m, g = plan.model, lay.group_size
    if not m.has_experts or g < 2 or m.moe.experts % g or lay.adp == g:
        return None
    split = lay.layers_per_stage if lay.split_is_explicit else None
    alt = with_split(aggregated(dp=lay.dp, pp=lay.pp, tp=1, ep=g), split)
    alt_lay = resolve(m, plan.cluster, plan.workload, alt)
    mem = memory(m, plan.workload, plan.cluster, alt_lay,
                 activation_bytes_by_stage(m, plan.workload, plan.cluster, alt_lay),
                 limit_bytes=plan.memory_limit_bytes)
    if not all(s.fits for s in mem.stages):
        return None
    return alt.text, admission(plan.workload, alt_lay, mem, plan.cluster.engine.terms).effective


def kv_shard_hint(plan: Plan, lay: Layout) -> str:
    """W520's clause on more GPUs: tp while it shards the KV cache, else what does (module docstring)."""
    m = plan.model
    if tp_shards_kv(m, lay.tp):
        return "more GPUs shard the KV cache (more tp, up to the model's KV heads; dp; cp)"
    why = ("MLA's latent KV is whole on every TP rank" if m.attention is AttentionKind.MLA else
           f"its {m.kv_heads} KV heads are whole on each of the tp {lay.tp} ranks")
    hint = (f"more tp does not shard this KV cache ({why}): split the requests over attention-DP ranks "
            "(`tp 1 ; ep N`) or replicas (dp), or the tokens (cp)")
    alt = _attention_dp(plan, lay)
    if alt is not None:
        text, runs = alt
        hint += f"; `{text}` on these {lay.gpus_used:,} GPUs would run ≈ {runs:,}"
    return hint


def limit_words(plan: Plan, lift_bytes: float, cap: int) -> tuple[str, str]:
    """W520's words on the memory the KV cache is sized under: what follows "the KV cache" when the plan's memory
    requirement caps the engine's share (`Plan.memory_limit`, as `dagc launch` sets it; "" otherwise), and the
    hint's memory that would run all `cap` requests (`lift_bytes`: GPUs that large, and a limit that allows it)."""
    limit = plan.memory_limit
    if limit is None or limit[0] >= plan.cluster.gpu.memory_bytes:
        return "", f"GPUs of {format_bytes(lift_bytes)} would run all {cap:,}"
    return (f" the engine is given under `{limit[1]}` (its memory share, {format_bytes(limit[0])} a GPU, as "
            f"`dagc launch` sets it)",
            f"GPUs of {format_bytes(lift_bytes)} and a memory requirement allowing that much would run all {cap:,}")

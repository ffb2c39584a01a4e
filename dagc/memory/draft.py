"""The speculative draft's share of what a layout's ranks hold (SPEC 12): its layer's weights (MTP: one more layer
like the model's; EAGLE: its own dense layer, attention and LM head) by `StageMemory` weight field, on each
stage's ranks and as one whole copy of it — so a report can tell the draft apart from the model's copies.

Input: a `Model` and a `Layout` (its `draft`, `dagc.layout.speculative.draft_layer`). Output: `draft_stage_bytes`
and `draft_bytes`, each the difference between `dagc.memory.resident.resident_weight_figures` with the draft and
without it; nothing is priced twice.
"""

from __future__ import annotations

from ..layout.layout import Layout
from ..layout.shards import rank_shards
from ..plan.expert_padding import HeldExperts
from ..plan.model import Model
from ..plan.params import ffn_params
from .resident import resident_weight_figures

__all__ = ["WEIGHT_FIELDS", "draft_bytes", "draft_stage_bytes"]

# `StageMemory`'s weight fields, which `resident_weight_figures` makes
WEIGHT_FIELDS = ("attention_bytes", "routed_expert_bytes", "shared_expert_bytes", "dense_ffn_bytes",
                 "replicated_bytes", "embedding_bytes", "lm_head_bytes")


def draft_stage_bytes(model: Model, layout: Layout) -> list[dict[str, float]] | None:
    """Per pipeline stage in order, what one of its ranks holds of the draft's layer, by weight field (the last
    stage holds it, the others nothing); None without a draft layer (no speculative decoding, or n-gram)."""
    if layout.draft is None:
        return None
    args = (model, layout.shards, layout.stage_counts, layout.ep, layout.held)
    with_draft, kinds = resident_weight_figures(*args, layout.draft, layout.redundant)
    without, kinds_without = resident_weight_figures(*args, None, layout.redundant)
    return [{f: with_draft[k][f] - without[k0][f] for f in WEIGHT_FIELDS}
            for k, k0 in zip(kinds, kinds_without, strict=True)]


def draft_bytes(model: Model, layout: Layout) -> dict[str, float] | None:
    """The draft's layer as one whole copy holds it, by weight field (on one rank of tp 1 holding every expert, as
    the checkpoint stores them); None without a draft layer.

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.verdict.check import check_strategy, parse_strategy
        >>> plan = load_plan_text('''model preset "deepseek-v3"
        ... cluster { gpus = 8  gpu preset "h200" }
        ... workload { batch = 8  prompt = 1000  generate = 100  serving = inflight
        ...   speculative { method = mtp  tokens = 1  acceptance = 0.8 } }
        ... strategy tp 1 ; ep 8''', "p.moe")
        >>> lay = check_strategy(plan, parse_strategy("tp 1 ; ep 8"), with_capacity=False).layout
        >>> round(draft_bytes(plan.model, lay)["routed_expert_bytes"] / 1e9, 2)     # 256 × 3 × 7168 × 2048, fp8
        11.27
    """
    if layout.draft is None:
        return None
    e = model.expert_weights.bytes
    held = HeldExperts(model.hidden, model.moe.ffn, ffn_params(model, model.moe.ffn), e, e)
    one = rank_shards(model, 1)
    (with_draft,) = resident_weight_figures(model, one, [(0, 0, 0)], 1, held, layout.draft)[0].values()
    (without,) = resident_weight_figures(model, one, [(0, 0, 0)], 1, held, None)[0].values()
    return {f: with_draft[f] - without[f] for f in WEIGHT_FIELDS}

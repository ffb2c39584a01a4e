"""Attention a Hugging Face config.json states that dagc costs as another kind: W543 (`dagc.lang.hf`).

dagc costs full (GQA/MHA), MLA and windowed attention. A config whose layers attend otherwise — linear attention or
state-space layers beside full ones (Qwen3-Next's Gated DeltaNet, Kimi Linear, MiniMax-01, Jamba, Granite
4.0-H), DeepSeek-V3.2's sparse attention (an indexer keeping `index_topk` tokens of the context), Hunyuan's
cross-layer attention (one KV cache for `cla_share_factor` layers) — is costed as full attention on every layer, and
says so once, with the direction of the error and, where the config says which layers keep a KV cache, by how much:
until 2026-12-03 these keys were left unread, silently (Qwen3-Next's KV cache 4× its own).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..diagnostics import Diagnostic, Severity
from .hf_reader import HfReader, key_span

__all__ = ["single_block_layers", "unmodelled_attention"]


def _whole(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _attention_layers(cfg: dict[str, object], layers: int | None) -> tuple[str, int | None] | None:
    """The key that says the model mixes linear-attention or state-space layers with full ones, and how many of its
    layers keep a KV cache (None when the config does not say); None for a model of full attention throughout."""
    interval = _whole(cfg.get("full_attention_interval"))
    if interval is not None and interval > 1:                    # Qwen3-Next: every `interval`-th layer is full
        return "full_attention_interval", layers // interval if layers else None
    for key, full in (("layer_types", ("attention", "full_attention")), ("layers_block_type", ("attention",)),
                      ("attn_type_list", (1,))):                 # MiniMax-01: 1 softmax, 0 lightning attention
        kinds = cfg.get(key)
        if isinstance(kinds, list) and any(k not in full and k not in ("sliding_attention", "chunked_attention")
                                           for k in kinds):
            return key, sum(k in full for k in kinds)
    period, offset = _whole(cfg.get("attn_layer_period")), _whole(cfg.get("attn_layer_offset"))
    if period is not None and period > 1:                        # Jamba: layer i attends when i % period == offset
        return "attn_layer_period", sum(i % period == (offset or 0) for i in range(layers)) if layers else None
    linear = cfg.get("linear_attn_config")                       # Kimi Linear: its full layers listed
    if isinstance(linear, dict) and linear:
        listed = linear.get("full_attn_layers")
        return "linear_attn_config", len(listed) if isinstance(listed, list) else None
    return None


def unmodelled_attention(r: HfReader) -> Iterator[Diagnostic]:
    """W543 at the key of `r`'s config that states attention dagc does not cost as written (one a kind)."""
    cfg = r.cfg
    layers = _whole(cfg.get("num_hidden_layers")) or None

    def warn(key: str, message: str, hint: str) -> Diagnostic:
        return Diagnostic("W543", Severity.WARNING, message, key_span(r.src, key, r.at), hint)

    hybrid = _attention_layers(cfg, layers)
    if hybrid is not None:
        key, full = hybrid
        weights = ("those layers' own weights are costed as a full attention layer's, which they are not (more "
                   "parameters or fewer)")
        if full and layers and full < layers:
            yield warn(key, f"`{key}`: {layers - full} of its {layers} layers are linear attention or state-space "
                       "layers (no KV cache that grows with the context), which dagc costs as full attention",
                       f"its KV cache and attention time are overstated, the KV cache about {layers / full:.3g}× "
                       f"({full} layers keep one); {weights}")
        else:
            yield warn(key, f"`{key}` states linear-attention or state-space layers, which dagc costs as full "
                       "attention", f"its KV cache and attention time are overstated; {weights}")
    top = _whole(cfg.get("index_topk"))
    if top:
        yield warn("index_topk", f"`index_topk`: the model's sparse attention attends to {top:,} tokens of the "
                   "context (its indexer picks them), which dagc costs as dense attention over the whole context",
                   f"attention time past {top:,} tokens of context is overstated, and the indexer's own weights and "
                   "key cache are not counted (small beside the model's and MLA's latent)")
    factor = _whole(cfg.get("cla_share_factor"))
    if cfg.get("use_cla") is True and factor is not None and factor > 1:
        yield warn("use_cla", f"`use_cla`: one KV cache serves {factor} layers (cross-layer attention), which dagc "
                   "costs as a KV cache a layer", f"its KV cache is overstated {factor}×")


def single_block_layers(r: HfReader) -> list[Diagnostic]:
    """E101 at Nemotron-H's `hybrid_override_pattern` (`M` Mamba, `*` attention, `-` MLP, `E` MoE: one block a
    layer), which dagc's layers — attention and a feed-forward each — cannot state: until 2026-12-03 Nemotron-3-Nano
    was costed with MoE on all 52 layers (102 B parameters for 31.6 B) under a warning about its attention."""
    if not isinstance(r.cfg.get("hybrid_override_pattern"), str):
        return []
    return [Diagnostic("E101", Severity.ERROR, "`hybrid_override_pattern` makes each layer one block (Mamba, "
                       "attention, MLP or MoE), where dagc's layers each hold attention and a feed-forward",
                       key_span(r.src, "hybrid_override_pattern", r.at),
                       "write the model out in full: its attention blocks (`*`) as its layers, its MoE or MLP blocks "
                       "as their feed-forward; its Mamba blocks are then not costed")]

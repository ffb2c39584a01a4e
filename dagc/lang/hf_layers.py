"""Attention a Hugging Face config.json states that dagc costs as another kind: W543 (`dagc.lang.hf`).

dagc costs full (GQA/MHA), MLA and windowed attention. A config whose layers attend otherwise — linear attention or
state-space layers beside full ones (Qwen3-Next's Gated DeltaNet, Kimi Linear, MiniMax-01, Jamba, Nemotron-H),
DeepSeek-V3.2's sparse attention (an indexer keeping `index_topk` tokens of the context), Hunyuan's cross-layer
attention (one KV cache for `cla_share_factor` layers) — is costed as full attention on every layer, and says so with
the direction of the error: until 2026-12-03 these keys were left unread, silently (Qwen3-Next's KV cache 4× its
own).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..diagnostics import Diagnostic, Severity
from .hf_reader import HfReader, key_span

__all__ = ["unmodelled_attention"]

_HYBRID_KEYS = ("linear_attn_config", "attn_type_list", "hybrid_override_pattern", "layers_block_type")
_AS_FULL = "which dagc costs as full attention"


def unmodelled_attention(r: HfReader) -> Iterator[Diagnostic]:
    """W543 at each key of `r`'s config that states attention dagc does not cost as written."""
    cfg = r.cfg
    layers = cfg.get("num_hidden_layers")
    layers = layers if isinstance(layers, int) and not isinstance(layers, bool) and layers > 0 else None

    def warn(key: str, message: str, hint: str) -> Diagnostic:
        return Diagnostic("W543", Severity.WARNING, message, key_span(r.src, key, r.at), hint)

    interval = cfg.get("full_attention_interval")
    types = cfg.get("layer_types")
    linear = isinstance(types, list) and any(isinstance(t, str) and ("linear" in t or "mamba" in t) for t in types)
    if isinstance(interval, int) and not isinstance(interval, bool) and interval > 1:
        share = f"{layers - layers // interval} of its {layers} layers" if layers else f"all but 1 layer in {interval}"
        yield warn("full_attention_interval", f"`full_attention_interval`: {share} are linear attention (no KV cache "
                   f"that grows with the context), {_AS_FULL}",
                   f"its KV cache and attention time are overstated (the KV cache about {interval}×); the weights "
                   "and experts are the model's")
    elif linear:
        yield warn("layer_types", f"`layer_types` holds linear-attention or state-space layers, {_AS_FULL}",
                   "its KV cache and attention time are overstated; the weights and experts are the model's")
    for key in _HYBRID_KEYS:
        if cfg.get(key):
            yield warn(key, f"`{key}` states linear-attention or state-space layers, {_AS_FULL}",
                       "its KV cache and attention time are overstated; the weights and experts are the model's")
    top = cfg.get("index_topk")
    if isinstance(top, int) and not isinstance(top, bool) and top > 0:
        yield warn("index_topk", f"`index_topk`: the model's sparse attention attends to {top:,} tokens of the "
                   "context (its indexer picks them), which dagc costs as dense attention over the whole context",
                   f"attention time past {top:,} tokens of context is overstated, and the indexer's own key cache "
                   "is not counted (it is small beside MLA's latent)")
    factor = cfg.get("cla_share_factor")
    if cfg.get("use_cla") is True and isinstance(factor, int) and not isinstance(factor, bool) and factor > 1:
        yield warn("use_cla", f"`use_cla`: one KV cache serves {factor} layers (cross-layer attention), which dagc "
                   "costs as a KV cache a layer", f"its KV cache is overstated {factor}×")

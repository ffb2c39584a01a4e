"""Attention a model's config.json states and dagc costs as full attention: W543, said by `dagc.lang.hf_layers`
while the plan is read and kept with the plan (`Plan.read_warnings`) for the checks to say."""

from __future__ import annotations

from collections.abc import Iterator

from ..diagnostics import Diagnostic, Severity
from .base import RuleContext, make_rule

__all__ = ["RULES"]


def check_config_attention(ctx: RuleContext) -> Iterator[Diagnostic]:
    """A config.json's attention costed as full attention.

    A Hugging Face config.json (`model from "config.json"`) states attention that dagc does not cost as written,
    and dagc costs those layers as full attention: linear-attention or state-space layers beside full ones
    (Qwen3-Next's `full_attention_interval`, `layer_types` or `layers_block_type` with linear or mamba layers, Kimi
    Linear's `linear_attn_config`, MiniMax-01's `attn_type_list`, Jamba's `attn_layer_period`), DeepSeek-V3.2's
    sparse attention (`index_topk`: each query attends to that many tokens its indexer picks), Hunyuan's cross-layer
    attention (`use_cla`: one KV cache for `cla_share_factor` layers). The warning says which way the figures err
    and, where the config says which layers keep a KV cache, by how much: the KV cache and the attention time are
    overstated; the linear or state-space layers' own weights are costed as a full attention layer's (MiniMax-01's
    lightning attention holds more, so its weights come out low). The experts and their communication are the
    model's.

    Bad:
        model from "Qwen3-Next-80B-A3B/config.json"      # "full_attention_interval": 4 → W543
    Fixed:
        model from "Qwen3-Next-80B-A3B/config.json"      # kept, its KV cache read as an upper bound; or a model
                                                         # that dagc costs as written
    """
    yield from (d for d in ctx.plan.read_warnings if d.code == "W543")


RULES = (
    make_rule("W543", Severity.WARNING, "a config.json's attention costed as full attention", check_config_attention,
              plan_level=True),
)

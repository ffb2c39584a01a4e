"""Speculative decoding's draft (`workload { speculative { … } }`, SPEC 12): what runs to draft tokens.

Input: a `Model` and its workload's `Speculative`. Output: how many draft passes a decode step runs
and which kind of layer each is — `mtp`: the model's multi-token-prediction module, one decoder layer
like its MoE layers (DeepSeek-V3's, GLM-4.5's), run once per drafted token; `eagle`: one dense decoder
layer of the model's width whatever its layers — the published EAGLE-3 drafts of MoE models are one dense
Llama layer (`LlamaForCausalLMEagle3`, one hidden layer) — whose FFN is the draft's own
(`eagle_ffn`: `EAGLE_DRAFT_FFN` where the model's draft is published, else the model's dense FFN, else
`EAGLE_FFN_PER_HIDDEN` × its hidden size), run once per drafted token; `ngram`: nothing, a lookup in the
request's own tokens. Each pass ends in the model's final norm and LM head, on the last pipeline stage, on
one position per request. The DAG builder (`dagc.ir.build`), the timer (`dagc.schedule.timer`), the memory
(`dagc.memory.resident`) and the bounds (`dagc.rules.bounds`) read this, so all run and hold the same draft
(`draft_model`: the model whose dense layer is the draft's).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..plan.model import Model
from ..plan.workload import Workload

__all__ = ["EAGLE_DRAFT_FFN", "EAGLE_FFN_PER_HIDDEN", "DraftLayer", "draft_layer", "draft_layer_dense", "draft_model",
           "draft_passes", "eagle_ffn", "without_speculation"]

# The FFN (intermediate) size of each model's published EAGLE-3 draft, one dense Llama decoder layer of the model's
# hidden size (`LlamaForCausalLMEagle3`, num_hidden_layers 1; docs/cost-model.md, "Speculative decoding"):
# nvidia/gpt-oss-120b-Eagle3 and sgl-project/SpecForge configs/gpt-oss-20B-eagle3-dense.json (hidden 2880,
# intermediate 17280), SpecForge configs/deepseek-v3-671b-eagle3.json (40960), kimi-k2-eagle3.json (18432),
# qwen3-235B-A22B-eagle3.json (24576), qwen3-30B-A3B-eagle3.1.json (12288), llama4-scout-17B-16E-eagle3.json (32768).
EAGLE_DRAFT_FFN = {"gpt-oss-120b": 17280, "gpt-oss-20b": 17280, "deepseek-v3": 40960, "kimi-k2": 18432,
                   "qwen3-235b-a22b": 24576, "qwen3-30b-a3b": 12288, "llama-4-scout": 32768}
# A model with no published draft and no dense layer: an FFN of 6 × its hidden size, the published drafts' ratio
# for gpt-oss (17280 / 2880) and Qwen3's MoE models (24576 / 4096, 12288 / 2048)
EAGLE_FFN_PER_HIDDEN = 6


@dataclass(frozen=True)
class DraftLayer:
    """The layer a draft pass runs, which the last stage holds: dense (EAGLE's; MTP's on a model without MoE
    layers) with an FFN of `ffn`, or an MoE layer like the model's (MTP's; `ffn` 0)."""

    dense: bool
    ffn: int = 0


def draft_passes(workload: Workload) -> int:
    """Draft passes a decode step runs before the model verifies them: one per drafted token, none for
    n-gram drafting or without speculative decoding."""
    spec = workload.speculative
    return 0 if spec is None or spec.method == "ngram" else spec.tokens


def draft_layer_dense(model: Model, workload: Workload) -> bool:
    """Whether a draft pass runs a dense layer (True) or an MoE one: EAGLE a dense layer always; MTP an MoE
    layer when the model has them."""
    spec = workload.speculative
    return (spec is not None and spec.method == "eagle") or False not in model.layer_kinds


def eagle_ffn(model: Model) -> int:
    """The FFN size of the model's EAGLE draft layer: its published draft's (`EAGLE_DRAFT_FFN`), else the model's
    dense FFN when it has dense layers, else `EAGLE_FFN_PER_HIDDEN` × its hidden size.

    Example:
        >>> from dagc.lang.lower import model_from_preset
        >>> eagle_ffn(model_from_preset("gpt-oss-120b")), eagle_ffn(model_from_preset("mixtral-8x7b"))
        (17280, 24576)
    """
    if model.name in EAGLE_DRAFT_FFN:
        return EAGLE_DRAFT_FFN[model.name]
    return model.moe.dense_ffn if model.dense_layer_count else EAGLE_FFN_PER_HIDDEN * model.hidden


def draft_model(model: Model, workload: Workload) -> Model:
    """The model whose dense layer is the draft pass's: with EAGLE, `model` with the draft's FFN (`eagle_ffn`) as
    its dense FFN; `model` itself otherwise (MTP's layer is the model's own kind)."""
    spec = workload.speculative
    if spec is None or spec.method != "eagle" or model.moe.dense_ffn == eagle_ffn(model):
        return model
    return model.model_copy(update={"moe": model.moe.model_copy(update={"dense_ffn": eagle_ffn(model)})})


def draft_layer(model: Model, workload: Workload) -> DraftLayer | None:
    """The draft's layer, which the last stage holds (weights and KV cache) when a method runs one, or None
    (no speculative decoding, or n-gram drafting)."""
    if not draft_passes(workload):
        return None
    dense = draft_layer_dense(model, workload)
    return DraftLayer(dense, draft_model(model, workload).moe.dense_ffn if dense else 0)


def without_speculation(workload: Workload) -> Workload:
    """The workload of a draft pass: one position per request."""
    return workload.model_copy(update={"speculative": None}) if workload.speculative is not None else workload

"""Speculative decoding's draft (`workload { speculative { … } }`, SPEC 12): what runs to draft tokens.

Input: a `Model` and its workload's `Speculative`. Output: how many draft passes a decode step runs
and which kind of layer each is — `mtp`: the model's multi-token-prediction module, one decoder layer
like its MoE layers (DeepSeek-V3's, GLM-4.5's), run once per drafted token; `eagle`: one decoder layer
of the model's width, dense when the model has dense layers, run once per drafted token; `ngram`:
nothing, a lookup in the request's own tokens. Each pass ends in the model's final norm and LM head,
on the last pipeline stage, on one position per request. The DAG builder (`dagc.ir.build`) and the
timer (`dagc.schedule.timer`) read this, so both run the same draft.
"""

from __future__ import annotations

from ..plan.model import Model
from ..plan.workload import Workload

__all__ = ["draft_layer", "draft_layer_dense", "draft_passes", "without_speculation"]


def draft_passes(workload: Workload) -> int:
    """Draft passes a decode step runs before the model verifies them: one per drafted token, none for
    n-gram drafting or without speculative decoding."""
    spec = workload.speculative
    return 0 if spec is None or spec.method == "ngram" else spec.tokens


def draft_layer_dense(model: Model, workload: Workload) -> bool:
    """Whether a draft pass runs a dense layer (True) or an MoE one: MTP an MoE layer when the model has
    them; EAGLE a dense layer when the model has them."""
    spec = workload.speculative
    kinds = model.layer_kinds                                 # the kinds the model has: dense True, MoE False
    want = spec is not None and spec.method == "eagle"
    return want if want in kinds else kinds[0]


def draft_layer(model: Model, workload: Workload) -> bool | None:
    """The draft's layer, which the last stage holds (weights and KV cache) when a method runs one: its
    kind (`draft_layer_dense`), or None (no speculative decoding, or n-gram drafting)."""
    return draft_layer_dense(model, workload) if draft_passes(workload) else None


def without_speculation(workload: Workload) -> Workload:
    """The workload of a draft pass: one position per request."""
    return workload.model_copy(update={"speculative": None}) if workload.speculative is not None else workload

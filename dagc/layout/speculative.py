"""Speculative decoding's draft (`workload { speculative { … } }`, SPEC 12): what runs to draft tokens.

Input: a `Model` and its workload's `Speculative`. Output: how many draft passes a decode step runs
and which kind of layer each is — `mtp`: the model's multi-token-prediction module, one decoder layer
like its MoE layers (DeepSeek-V3's, GLM-4.5's), run once per drafted token, ending in the model's own LM head;
`eagle`: the published EAGLE-3 drafts of MoE models, one dense Llama decoder layer of the model's width whatever
its layers (`LlamaForCausalLMEagle3`, one hidden layer) with its own grouped-query attention, FFN and LM head over
a draft vocabulary (`eagle_draft`: `EAGLE_DRAFTS` where the model's draft is published, else one made as they
are), run once per drafted token; `ngram`: nothing, a lookup in the request's own tokens. Each pass ends in a
final norm and an LM head, on the last pipeline stage, on one position per request. The DAG builder
(`dagc.ir.build`), the timer (`dagc.schedule.timer`), the memory (`dagc.memory.resident`) and the bounds
(`dagc.rules.bounds`) read this, so all run and hold the same draft (`draft_model`: the model whose dense layer
and LM head are the draft's).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ..plan.model import AttentionKind, Model
from ..plan.workload import Workload
from .shards import kv_bytes_per_token_layer

__all__ = ["EAGLE_DRAFTS", "EAGLE_DRAFT_VOCAB", "EAGLE_FFN_PER_HIDDEN", "EAGLE_HEAD_DIM", "EAGLE_KV_HEADS",
           "DraftLayer", "EagleDraft", "draft_kv_bytes_per_token", "draft_layer",
           "draft_layer_dense", "draft_model", "draft_passes", "eagle_draft",
           "eagle_ffn", "eagle_params_per_rank", "without_speculation"]


@dataclass(frozen=True)
class EagleDraft:
    """An EAGLE-3 draft's shape: one dense Llama decoder layer of the model's hidden size — its FFN (`ffn`), its
    grouped-query attention (`heads` of `head_dim`, `kv_heads`), whose q, k and v read the token's embedding and
    the hidden state together (2 × hidden wide) — and its own LM head over `vocab` draft tokens."""

    ffn: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int


# Every published EAGLE-3 draft below maps its LM head onto 32,000 draft tokens (`draft_vocab_size`)
EAGLE_DRAFT_VOCAB = 32000
# The published EAGLE-3 drafts (config.json of each: `intermediate_size`, `num_attention_heads`,
# `num_key_value_heads`, `head_dim` or hidden / heads, `draft_vocab_size`; docs/cost-model.md, "Speculative
# decoding"): sgl-project/SpecForge configs/gpt-oss-20B-eagle3-dense.json (gpt-oss-120b's nvidia/gpt-oss-120b-Eagle3
# has its width and intermediate size), deepseek-v3-671b-eagle3.json, kimi-k2-eagle3.json, qwen3-235B-A22B-eagle3.json,
# qwen3-30B-A3B-eagle3.1.json, llama4-scout-17B-16E-eagle3.json.
EAGLE_DRAFTS = {
    "gpt-oss-120b": EagleDraft(17280, 64, 8, 64, EAGLE_DRAFT_VOCAB),
    "gpt-oss-20b": EagleDraft(17280, 64, 8, 64, EAGLE_DRAFT_VOCAB),
    "deepseek-v3": EagleDraft(40960, 56, 8, 128, EAGLE_DRAFT_VOCAB),
    "kimi-k2": EagleDraft(18432, 64, 64, 128, EAGLE_DRAFT_VOCAB),
    "qwen3-235b-a22b": EagleDraft(24576, 64, 4, 128, EAGLE_DRAFT_VOCAB),
    "qwen3-30b-a3b": EagleDraft(12288, 32, 4, 128, EAGLE_DRAFT_VOCAB),
    "llama-4-scout": EagleDraft(32768, 40, 8, 128, EAGLE_DRAFT_VOCAB),
}
# A model with no published draft and no dense layer: an FFN of 6 × its hidden size, the published drafts' ratio
# for gpt-oss (17280 / 2880) and Qwen3's MoE models (24576 / 4096, 12288 / 2048)
EAGLE_FFN_PER_HIDDEN = 6
# ... and where its own attention is not grouped-query (MLA), heads of 128 and 8 KV heads, as DeepSeek-V3's draft
EAGLE_HEAD_DIM = 128
EAGLE_KV_HEADS = 8


@dataclass(frozen=True)
class DraftLayer:
    """The layer a draft pass runs, which the last stage holds: dense (EAGLE's; MTP's on a model without MoE
    layers) with an FFN of `ffn`, or an MoE layer like the model's (MTP's; `ffn` 0); an EAGLE draft's own
    attention and LM head (`eagle`; None: the model's, MTP's)."""

    dense: bool
    ffn: int = 0
    eagle: EagleDraft | None = None


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


def eagle_draft(model: Model) -> EagleDraft:
    """The model's EAGLE-3 draft: its published one (`EAGLE_DRAFTS`), else one made as they are — the model's
    dense FFN when it has dense layers, else `EAGLE_FFN_PER_HIDDEN` × its hidden size; the model's grouped-query
    attention, or for MLA `EAGLE_HEAD_DIM`-wide heads and `EAGLE_KV_HEADS`; `EAGLE_DRAFT_VOCAB` draft tokens.

    Example:
        >>> from dagc.lang.lower import model_from_preset
        >>> eagle_draft(model_from_preset("deepseek-v3"))
        EagleDraft(ffn=40960, heads=56, kv_heads=8, head_dim=128, vocab=32000)
        >>> eagle_draft(model_from_preset("mixtral-8x22b"))
        EagleDraft(ffn=36864, heads=48, kv_heads=8, head_dim=128, vocab=32000)
    """
    if model.name in EAGLE_DRAFTS:
        return EAGLE_DRAFTS[model.name]
    ffn = model.moe.dense_ffn if model.dense_layer_count else EAGLE_FFN_PER_HIDDEN * model.hidden
    vocab = min(EAGLE_DRAFT_VOCAB, model.vocab)
    if model.attention is AttentionKind.MLA:
        return EagleDraft(ffn, model.hidden // EAGLE_HEAD_DIM, EAGLE_KV_HEADS, EAGLE_HEAD_DIM, vocab)
    return EagleDraft(ffn, model.heads, model.kv_heads, model.head_dim, vocab)


def eagle_ffn(model: Model) -> int:
    """The FFN size of the model's EAGLE draft layer (`eagle_draft`).

    Example:
        >>> from dagc.lang.lower import model_from_preset
        >>> eagle_ffn(model_from_preset("gpt-oss-120b")), eagle_ffn(model_from_preset("mixtral-8x7b"))
        (17280, 24576)
    """
    return eagle_draft(model).ffn


def draft_model(model: Model, workload: Workload) -> Model:
    """The model whose dense layer and LM head are the draft pass's: with EAGLE, `model` with the draft's FFN as
    its dense FFN, the draft's grouped-query attention (full, unwindowed) and its draft vocabulary
    (`eagle_draft`); `model` itself otherwise (MTP's layer is the model's own kind, its LM head the model's)."""
    spec = workload.speculative
    if spec is None or spec.method != "eagle":
        return model
    return _eagle_model(model)


@functools.lru_cache(maxsize=64)
def _eagle_model(model: Model) -> Model:
    """`draft_model` of an EAGLE draft, one object a model (what the layout's per-rank figures are remembered by)."""
    e = eagle_draft(model)
    return model.model_copy(update={
        "moe": model.moe.model_copy(update={"dense_ffn": e.ffn}), "attention": AttentionKind.GQA, "mla": None,
        "heads": e.heads, "kv_heads": e.kv_heads, "head_dim": e.head_dim, "vocab": e.vocab, "tied": False,
        "window": None})


def eagle_params_per_rank(model: Model, e: EagleDraft, tp: int) -> tuple[float, float, float]:
    """An EAGLE-3 draft's own weights on a rank of tensor parallelism `tp`, beside its FFN: its attention — q, k
    and v over 2 × hidden (the token's embedding and the hidden state), split by tp, k and v by KV head (each
    rank at least one) —, its LM head (the draft vocabulary, split by tp) and its fc, which fuses the target's
    three hidden states (3 × hidden → hidden, replicated: `torch.nn.Linear` in SGLang's `llama_eagle3.py`).

    Example:
        >>> from dagc.lang.lower import model_from_preset
        >>> m = model_from_preset("qwen3-30b-a3b")
        >>> eagle_params_per_rank(m, eagle_draft(m), 1)
        (29360128.0, 65536000.0, 12582912.0)
    """
    h = model.hidden
    kv_per_rank = max(e.kv_heads / tp, 1.0)
    attention = 2 * h * e.heads * e.head_dim / tp + 2 * 2 * h * kv_per_rank * e.head_dim + e.heads * e.head_dim * h / tp
    return attention, e.vocab * h / tp, 3.0 * h * h


def draft_layer(model: Model, workload: Workload) -> DraftLayer | None:
    """The draft's layer, which the last stage holds (weights and KV cache) when a method runs one, or None
    (no speculative decoding, or n-gram drafting)."""
    if not draft_passes(workload):
        return None
    dense = draft_layer_dense(model, workload)
    spec = workload.speculative
    eagle = eagle_draft(model) if spec is not None and spec.method == "eagle" else None
    return DraftLayer(dense, draft_model(model, workload).moe.dense_ffn if dense else 0, eagle)


def draft_kv_bytes_per_token(model: Model, draft: DraftLayer | None, tp: int) -> float:
    """One token's KV cache in the draft's layer (`draft_layer`) as a rank of tensor parallelism `tp` holds it, in
    the model's KV dtype: an EAGLE draft's own grouped-query attention's — 2 × its KV heads on the rank (split by
    tp, at least one) × its head dim —, MTP's the model's own layer's (`kv_bytes_per_token_layer`); 0 without a
    draft layer. What every figure of the draft's KV reads (the memory, the admission, the KV transfer).

    Example:
        >>> from dagc.lang.lower import model_from_preset
        >>> from dagc.plan.workload import Speculative, Workload
        >>> m = model_from_preset("deepseek-v3")        # its latent: (512 + 64) × 2 B a token in a layer
        >>> def drafted(method): return Workload(batch=1, prompt=8, generate=8,
        ...                                          speculative=Speculative(method=method, tokens=2, acceptance=0.8))
        >>> eagle, mtp = draft_layer(m, drafted("eagle")), draft_layer(m, drafted("mtp"))
        >>> draft_kv_bytes_per_token(m, eagle, 1), draft_kv_bytes_per_token(m, eagle, 8)    # 2 × 8 KV heads × 128 × 2 B
        (4096.0, 512.0)
        >>> draft_kv_bytes_per_token(m, mtp, 8), draft_kv_bytes_per_token(m, None, 8)
        (1152.0, 0.0)
    """
    if draft is None:
        return 0.0
    return kv_bytes_per_token_layer(model if draft.eagle is None else _eagle_model(model), tp)


def without_speculation(workload: Workload) -> Workload:
    """The workload of a draft pass: one position per request."""
    return workload.model_copy(update={"speculative": None}) if workload.speculative is not None else workload

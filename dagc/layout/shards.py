"""Per-rank shard formulas (SPEC 6.2–6.4): what one rank holds and reads of a layer.

Pure functions of the model and a degree of parallelism, each written once and read by
`memory`, `ir.build`, `rules.bounds`, the rules and the fast evaluator: the attention (or MLA) weights
of a rank, its KV heads and KV cache bytes per token, the attention head dimensions, the
expected distinct experts a set of tokens hits, and the dense and MoE layers of a stage.

The routing statistics (the busiest EP rank's load, the EP ranks and nodes a token is sent to)
are `dagc.layout.routing`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar, overload

import numpy as np

from ..plan.cluster import FusedMoe
from ..plan.model import AttentionKind, Model
from ..plan.params import attention_params

__all__ = ["ACTIVATION_BYTES", "fused_moe_shape", "kv_heads_per_rank", "kv_heads_fit", "attention_params_per_rank",
           "qkv_params_per_rank", "kv_bytes_per_token_layer", "attention_dims", "expected_distinct_experts",
           "stage_layer_counts", "RankShards", "rank_shards", "StageCount", "StageCounts", "RankDims", "dims_of"]

ACTIVATION_BYTES = 2.0   # activations kept in bf16 (2 bytes per value), by the DAG and by memory alike


def fused_moe_shape(model: Model, ep: int, etp: int) -> FusedMoe:
    """The shape an engine's fused MoE layer of `model` is measured at on an EP group of `ep` ranks, each
    expert split `etp` ways: (the experts' dtype, hidden, expert ffn, top-k, routed experts, etp, ep) —
    the key of `KernelTimes.fused_moe_covers`. The model has experts."""
    moe = model.moe
    assert moe is not None
    return FusedMoe(model.expert_weights, model.hidden, moe.ffn, moe.top_k, moe.experts, etp, ep)


def kv_heads_per_rank(model: Model, tp: int) -> int:
    """KV heads on one rank: split by tp, at least one (replicated when kv < tp).

    Example:
        >>> from dagc.lang.model import model_from_preset
        >>> kv_heads_per_rank(model_from_preset("mixtral-8x7b"), 16)
        1
    """
    return max(1, math.ceil(model.kv_heads / tp))


def kv_heads_fit(model: Model, tp: int) -> bool:
    """Whether tp shares the KV heads out evenly: tp divides them (each rank holds kv/tp heads)
    or they divide tp (each head is held by tp/kv ranks). Serving engines require one of the two
    (vLLM asserts it); MLA has no KV heads to split.

    Example:
        >>> from dagc.lang.model import model_from_preset
        >>> m = model_from_preset("mixtral-8x7b")          # 8 KV heads
        >>> kv_heads_fit(m, 4), kv_heads_fit(m, 16), kv_heads_fit(m, 6)
        (True, True, False)
    """
    if model.attention is AttentionKind.MLA:
        return True
    return model.kv_heads % tp == 0 or tp % model.kv_heads == 0


def attention_dims(model: Model) -> tuple[int, int]:
    """(dk, dv): the query/key and value head dimensions (MLA: nope + rope, and v_head)."""
    if model.attention is AttentionKind.MLA and model.mla is not None:
        return model.mla.qk_nope + model.mla.qk_rope, model.mla.v_head
    return model.head_dim, model.head_dim


def attention_params_per_rank(model: Model, tp: int) -> float:
    """Attention (or MLA) parameters of one layer on one rank, output projection included: the
    MLA down-projections are replicated, the per-head matrices split by tp."""
    h = model.hidden
    if model.attention is AttentionKind.MLA and model.mla is not None:
        a = model.mla
        replicated = h * (a.kv_lora + a.qk_rope) + a.kv_lora
        if a.q_lora:
            replicated += h * a.q_lora + a.q_lora
            q_split = a.q_lora * model.heads * (a.qk_nope + a.qk_rope)
        else:
            q_split = h * model.heads * (a.qk_nope + a.qk_rope)
        split = q_split + a.kv_lora * model.heads * (a.qk_nope + a.v_head) + model.heads * a.v_head * h
        return replicated + split / tp
    q_o = 2 * h * model.heads * model.head_dim / tp
    k_v = 2 * h * model.head_dim * kv_heads_per_rank(model, tp)
    return q_o + k_v


def qkv_params_per_rank(model: Model, tp: int) -> float:
    """The q, k, v (MLA: down and up) projections of one layer on one rank, without the output one."""
    h = model.hidden
    if model.attention is AttentionKind.MLA and model.mla is not None:
        a = model.mla
        dk = a.qk_nope + a.qk_rope
        rep = h * (a.kv_lora + a.qk_rope) + a.kv_lora + ((h * a.q_lora + a.q_lora) if a.q_lora else 0)
        q_split = a.q_lora * model.heads * dk if a.q_lora else h * model.heads * dk
        return rep + (q_split + a.kv_lora * model.heads * (a.qk_nope + a.v_head)) / tp
    return h * model.heads * model.head_dim / tp + 2 * h * model.head_dim * kv_heads_per_rank(model, tp)


def kv_bytes_per_token_layer(model: Model, tp: int) -> float:
    """KV cache bytes per token per layer on one rank (gqa split by tp, mla not)."""
    size = model.kv_cache.bytes
    if model.attention is AttentionKind.MLA and model.mla is not None:
        return (model.mla.kv_lora + model.mla.qk_rope) * size
    return 2 * kv_heads_per_rank(model, tp) * model.head_dim * size


Tokens = TypeVar("Tokens", float, np.ndarray)


def expected_distinct_experts(experts: int, top_k: int, tokens: Tokens, local: float | None = None) -> Tokens:
    """Expected distinct experts hit by `tokens` tokens each choosing top_k of `experts`, among
    `local` of them (default: all): E_local·(1 − (1 − k/E)^T). `tokens` may be a numpy array.

    Example:
        >>> round(expected_distinct_experts(8, 2, 1), 6), round(expected_distinct_experts(8, 2, 1, local=4), 6)
        (2.0, 1.0)
    """
    if experts == 0:
        return tokens * 0.0
    n = experts if local is None else local
    distinct: Tokens = n * (1.0 - (1.0 - top_k / experts) ** tokens)
    return distinct


def stage_layer_counts(model: Model, first: int, end: int) -> tuple[int, int]:
    """(dense, MoE) layers among layers [first, end) (`Model.is_moe_layer`).

    Example:
        >>> from dagc.lang.model import model_from_preset
        >>> stage_layer_counts(model_from_preset("mixtral-8x7b"), 0, 16)
        (0, 16)
    """
    moe = model.moe_layers_below(end) - model.moe_layers_below(first)
    return end - first - moe, moe


# A stage's layers by kind: (dense, MoE, windowed) — `stage_layer_counts` and the windowed ones among them.
StageCount = tuple[int, int, int]


class StageCounts(Sequence[StageCount]):
    """Each stage's `StageCount`, in order: what memory, the working sets and the timer read of a stage's layers.
    Read like a tuple of them and compared equal to one, but held in O(1) memory, as its stages' bounds are
    (`dagc.layout.stages.StageBounds`): a stage's is worked out when it is read, so that a layout of 100,000
    stages costs nothing until a stage is read (those past the work budget never are).

    Example:
        >>> from dagc.lang.model import model_from_preset
        >>> StageCounts(model_from_preset("mixtral-8x7b"), ((0, 16), (16, 32)))
        ((0, 16, 0), (0, 16, 0))
    """

    __slots__ = ("_model", "_bounds")

    def __init__(self, model: Model, bounds: Sequence[tuple[int, int]]):
        self._model, self._bounds = model, bounds

    def _of(self, first: int, end: int) -> StageCount:
        windowed = self._model.windowed_layers_below(end) - self._model.windowed_layers_below(first)
        return (*stage_layer_counts(self._model, first, end), windowed)

    def __len__(self) -> int:
        return len(self._bounds)

    @overload
    def __getitem__(self, i: int) -> StageCount: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[StageCount, ...]: ...

    def __getitem__(self, i: int | slice) -> StageCount | tuple[StageCount, ...]:
        if isinstance(i, slice):
            return tuple(self._of(*self._bounds[j]) for j in range(*i.indices(len(self))))
        return self._of(*self._bounds[i])

    def __iter__(self) -> Iterator[StageCount]:
        return (self._of(a, b) for a, b in self._bounds)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(other) == len(self) and all(tuple(o) == c for o, c in zip(other, self, strict=False))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(tuple(self)) if len(self) <= 8 else f"StageCounts({len(self)} stages)"


@dataclass(frozen=True)
class RankShards:
    """What one rank of a tensor-parallel split `tp` holds and reads of one layer — the formulas above at one
    degree — made once per layout (`dagc.layout.layout.resolve`) and read by memory, the op shapes and the
    timer, none of which works them out again."""

    tp: int
    attention_params: float          # `attention_params_per_rank`
    qkv_params: float                # `qkv_params_per_rank`
    kv_heads: int                    # `kv_heads_per_rank`
    kv_bytes_per_token: float        # `kv_bytes_per_token_layer`
    dims: tuple[int, int]            # `attention_dims`: (dk, dv)


def rank_shards(model: Model, tp: int) -> RankShards:
    """The `RankShards` of `model` split `tp` ways.

    Example:
        >>> from dagc.lang.model import model_from_preset
        >>> r = rank_shards(model_from_preset("mixtral-8x7b"), 16)
        >>> r.kv_heads, r.kv_bytes_per_token, r.dims
        (1, 512.0, (128, 128))
    """
    return RankShards(tp, attention_params_per_rank(model, tp), qkv_params_per_rank(model, tp),
                      kv_heads_per_rank(model, tp), kv_bytes_per_token_layer(model, tp), attention_dims(model))


@dataclass(frozen=True)
class RankDims:
    """Model dimensions per rank, derived once per layout (`Layout.dims`, `dims_of`): what the op shapes read."""

    h: int
    wb: float
    ewb: float              # bytes per expert weight (routed and shared experts)
    gate: int
    tp: int
    cp: int
    sp: bool
    heads_r: float
    dk: int
    dv: int
    q_out: float          # per token, per rank
    kv_out: float
    o_in: float
    qkv_params_r: float
    qkv_params_full: float
    o_params_r: float
    o_params_full: float
    kvb_token: float      # KV cache bytes per token per layer on a rank


def dims_of(model: Model, shards: RankShards, cp: int, sp: bool) -> RankDims:
    """The `RankDims` of `model` on a rank whose share of a layer is `shards` (its tp), context parallel `cp` and
    sequence parallel or not (`sp`)."""
    tp, h, m = shards.tp, model.hidden, model
    heads_r = m.heads / tp
    dk, dv = shards.dims
    o_full = m.heads * dv * h
    if m.attention is AttentionKind.MLA and m.mla is not None:
        kv_out = heads_r * (m.mla.qk_nope + m.mla.v_head)
    else:
        kv_out = 2 * shards.kv_heads * dk
    q_out, o_in = heads_r * dk, heads_r * dv
    return RankDims(h=h, wb=m.weights.bytes, ewb=m.expert_weights.bytes, gate=3 if m.moe.gated else 2, tp=tp,
                    cp=cp, sp=sp, heads_r=heads_r, dk=dk, dv=dv, q_out=q_out, kv_out=kv_out, o_in=o_in,
                    qkv_params_r=shards.qkv_params,
                    qkv_params_full=attention_params(m) - o_full, o_params_r=o_full / tp, o_params_full=o_full,
                    kvb_token=shards.kv_bytes_per_token)

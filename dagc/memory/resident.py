"""What a rank holds besides activations (SPEC 6.2, 6.3): weights and KV cache, per kind of stage.

Input: a `Model`, `Workload` and a `Layout`'s degrees and stages (or the degrees alone). Output:
`StageMemory`'s weight and KV cache fields of each kind of stage (`resident_figures`, its layers,
its dense layers, whether first, whether last: stages of one kind hold the same amounts) and each
stage's kind, the KV cache per token and per layer; and, for the search, whether those alone (or
with one op's working set) overflow a GPU before any activation is computed
(`resident_bytes_exceed`, `working_set_exceeds`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from ..ir.ops import Op
from ..layout.layout import Layout, fullest_rank_slots
from ..layout.modes import mode_of
from ..layout.shards import RankShards, StageCount, kv_bytes_per_token_layer
from ..layout.speculative import DraftLayer, draft_kv_bytes_per_token, draft_layer, eagle_params_per_rank
from ..layout.window import kv_tokens
from ..plan.cluster import Cluster
from ..plan.expert_padding import HeldExperts
from ..plan.model import Model
from ..plan.params import embedding_params, ffn_params, router_params
from ..plan.workload import Workload

__all__ = ["admits_by_kv", "kv_requests_judged", "requests_per_rank", "kv_cache_bytes_per_token",
           "kv_cache_bytes_per_request", "kv_layers_of", "request_kv_bytes",
           "resident_bytes_exceed", "weight_totals", "WeightTotals",
           "working_set_exceeds", "resident_figures", "resident_weight_figures", "kv_cache_bytes_per_layer",
           "with_kv_cache", "StageFigures", "StageKind", "KvPerLayer", "stage_kv_bytes", "Resident", "resident_of",
           "KvShape"]


def admits_by_kv(workload: Workload) -> bool:
    """Whether the engine admits requests while KV blocks allow (in flight, or a decode instance of a
    disaggregated strategy) rather than running a whole batch together (static): `batch` is then a cap,
    and the engine starts when one full-length request fits (`dagc.memory.admission`): the serving mode's
    (`dagc.layout.modes`)."""
    return mode_of(workload).admits_by_kv


def kv_requests_judged(workload: Workload, requests_per_rank: int) -> int:
    """The requests per rank whose full-length KV cache must fit for the engine to start (E402): one in
    flight (`admits_by_kv`), the rank's whole share of the batch statically."""
    return min(1, requests_per_rank) if admits_by_kv(workload) else requests_per_rank


def kv_cache_bytes_per_token(model: Model) -> float:
    """KV cache of one token over the whole model (every layer, unsharded): what a request holds
    per token of its context, before any strategy splits or replicates it (SPEC 6.3).

    Example:
        >>> from dagc.lang.lower import model_from_preset
        >>> kv_cache_bytes_per_token(model_from_preset("mixtral-8x7b"))   # 32 layers · 2 · 8 heads · 128 · 2 B
        131072.0
    """
    return model.layers * kv_bytes_per_token_layer(model, 1)


def kv_cache_bytes_per_request(model: Model, tokens: int, tp: int = 1, draft: DraftLayer | None = None) -> float:
    """The KV cache of one request of `tokens` tokens over the whole model, as a rank of tensor
    parallelism `tp` holds it (1: unsharded): every full-attention layer's `tokens`, a windowed layer's
    at most the window's (`dagc.layout.window.kv_tokens`); with a `draft` layer (`draft_layer`), its `tokens` too,
    at the draft's own KV bytes a token (`dagc.layout.speculative.draft_kv_bytes_per_token`)."""
    draft_per_token = draft_kv_bytes_per_token(model, draft, tp)
    return request_kv_bytes(model, tokens, kv_bytes_per_token_layer(model, tp), draft_per_token)


def request_kv_bytes(model: Model, tokens: int, per_token: float, draft_per_token: float = 0.0) -> float:
    """`kv_cache_bytes_per_request` on a rank holding `per_token` KV bytes of one token in a layer of the model's (a
    layout's `RankShards.kv_bytes_per_token`) and `draft_per_token` in the draft's layer (0: none; an EAGLE draft's
    attention is its own, not the model's: `dagc.layout.speculative.draft_kv_bytes_per_token`)."""
    in_window = kv_tokens(model.window, tokens)          # what a windowed layer holds of them
    windowed = model.windowed_layers_below(model.layers)
    return ((model.layers - windowed) * tokens + windowed * in_window) * per_token + tokens * draft_per_token


def kv_layers_of(model: Model, workload: Workload) -> int:
    """The layers whose KV cache a request holds: the model's, and the speculative draft's when a method runs one
    (MTP, EAGLE: `dagc.layout.speculative.draft_layer`)."""
    return model.layers + (draft_layer(model, workload) is not None)


def requests_per_rank(workload: Workload, layout: Layout) -> int:
    """Requests whose attention (and KV cache) one rank serves: the layout's busiest group's."""
    return layout.requests_per_rank


# A kind of stage: its layers, its dense layers, whether first, whether last, its windowed layers (stages of
# one kind hold the same weights and KV cache).
StageKind = tuple[int, int, bool, bool, int]
WeightTotals = dict[StageKind, float]     # `weight_totals`: a kind of stage → its weight bytes


def weight_totals(weights: StageFigures) -> WeightTotals:
    """Each kind of stage of `resident_weight_figures` (in order of first appearance) with its weight
    bytes summed as `StageMemory.weights_bytes` sums them (its fields in order, to the bit): what
    `resident_bytes_exceed` and `working_set_exceeds` read, made once per degrees and stages."""
    by_kind, _ = weights
    return {key: sum(fig.values()) for key, fig in by_kind.items()}


class KvPerLayer(NamedTuple):
    """The KV cache one rank holds per layer (`kv_cache_bytes_per_layer`): a full-attention layer's, a
    windowed layer's (at most the window's tokens of each request; the same without a window), and the
    speculative draft's layer's, at its own KV bytes a token (None without a draft layer)."""

    full: float
    windowed: float
    draft: float | None = None


def stage_kv_bytes(kind: StageKind, kv: KvPerLayer) -> float:
    """A stage's KV cache on one rank: its full-attention layers' and its windowed layers' — and on the last
    stage, whose layers count the draft's (`resident_weight_figures`), that one at the draft's own KV (`kv.draft`):
    counted as one of the model's layers and set right by the difference, 0 when the draft's attention is the
    model's (MTP), so those figures stay the model's to the bit."""
    n, windowed, last = kind[0], kind[4], kind[3]
    held = (n - windowed) * kv.full + windowed * kv.windowed if windowed else n * kv.full
    return held + (kv.draft - kv.full) if last and kv.draft is not None else held


def resident_bytes_exceed(cluster: Cluster, totals: WeightTotals, kv_per_layer: KvPerLayer) -> bool:
    """Whether some stage's weights, KV cache and runtime reserve alone — `with_kv_cache(weights,
    kv_per_layer)`, the `memory` figures without activations — exceed a GPU's memory: `check` then
    rejects the strategy with E402 whatever its activations (the search sets such candidates aside
    before any bound). `totals`: the weights' `weight_totals`. `StageMemory`'s sums in their
    order, to the bit, without making one."""
    return any(weights + stage_kv_bytes(key, kv_per_layer) + cluster.reserve_bytes > cluster.gpu.memory_bytes
               for key, weights in totals.items())


def working_set_exceeds(cluster: Cluster, layout: Layout, op: Op, peak: Callable[[tuple[float, ...]], float],
                        totals: WeightTotals, kv_per_layer: KvPerLayer) -> bool:
    """Whether some stage's weights, KV cache and runtime reserve (`resident_bytes_exceed`'s, from the
    weights' `weight_totals`) together with the prefill working set of one of its ops, `op` — the
    attention (every layer) or the routed experts (MoE layers) — exceed a GPU's memory: a stage's
    activations are at least the working set of each of its ops (`stage_activation_bytes`), so
    `check` rejects the strategy with E402 whatever its other ops. `peak(requests)`:
    `template_activation_peak` of `op`'s prefill template for a micro-batch of those requests (per
    attention-DP group), or any lower bound of it (`dagc.ir.ops.OpShapes.working_set_floor`)."""
    holders = [key for key in totals if _holds(key, op)]
    if not holders:
        return False
    act = max(peak(req) for req in layout.distinct_request_rows())
    # `StageMemory.total_bytes`'s sums in its order, so that the answer is its own to the last bit,
    # without making one: weights, KV cache, activations, reserve
    return any(totals[key] + stage_kv_bytes(key, kv_per_layer) + act + cluster.reserve_bytes
               > cluster.gpu.memory_bytes for key in holders)


def _holds(kind: StageKind, op: Op) -> bool:
    """Whether every layer of some kind that a stage of this kind has (its layers, its dense layers,
    first, last) runs `op` whatever the strategy (`dagc.ir.ops.layer_ops`): the attention every layer,
    the routed experts every MoE layer."""
    n, n_dense = kind[0], kind[1]
    if op is Op.ATTENTION:
        return n > 0
    if op is Op.EXPERT_FFN:
        return n > n_dense
    raise ValueError(f"{op} is not known to run in every layer of a kind")


# `resident_figures`: the weight and KV cache fields of each kind of stage, and each stage's kind in order.
StageFigures = tuple[dict[StageKind, dict[str, float]], list[StageKind]]


def resident_figures(model: Model, workload: Workload, layout: Layout) -> StageFigures:
    """`StageMemory`'s weight and KV cache fields (what a rank holds besides activations) of each
    kind of stage (its layers, its dense layers, whether first, whether last: stages of one kind
    hold the same amounts), and each stage's kind in order: the layout's `Resident`'s."""
    return resident_of(model, workload, layout).figures


def resident_weight_figures(model: Model, shards: RankShards, counts: Sequence[StageCount], ep: int,
                            held: HeldExperts, draft: DraftLayer | None = None, redundant: int = 0) -> StageFigures:
    """The weight fields of `resident_figures` of each kind of stage (no KV cache), and each stage's
    kind in order: what a layout's degrees and stages alone decide — its ranks' share of a layer (`shards`, of
    its tp), each stage's layers by kind (`counts`, `dagc.layout.shards.StageCounts`) and one routed expert on a
    rank of its etp as the engine holds it (`held`, `dagc.plan.expert_padding.held_experts`: vLLM pads mxfp4
    experts and may keep a second copy of their block scales). `draft`: speculative
    decoding's draft layer on the last stage (`dagc.layout.speculative.draft_layer`: dense with its own FFN, or MoE;
    an EAGLE draft's own attention, LM head and fc, `eagle_params_per_rank`; its weights here, its KV cache at its
    own KV bytes a token, `stage_kv_bytes`), or None. `redundant`: extra expert slots per
    MoE layer (`with redundant R`), each a whole expert's weights."""
    wbytes, ebytes = model.weights.bytes, model.expert_weights.bytes
    h, tp = model.hidden, shards.tp
    attn_pr = shards.attention_params
    expert_pr = fullest_rank_slots(model.moe.experts, redundant, ep) * held.params     # E301's too: its fullest rank
    shared_pr = model.moe.shared * ffn_params(model, model.moe.shared_ffn_size) / tp
    dense_pr = ffn_params(model, model.moe.dense_ffn) / tp
    emb, router = embedding_params(model), router_params(model)
    figures: dict[StageKind, dict[str, float]] = {}
    kinds = []
    last_stage = len(counts) - 1
    for s, (n_dense, n_moe, windowed) in enumerate(counts):
        n = n_dense + n_moe
        first, last = s == 0, s == last_stage
        draft_pr = draft_attention = draft_head = draft_fc = 0.0
        if last and draft is not None:            # the draft layer: one more layer of its kind, a dense one its own FFN
            n, n_dense, n_moe = n + 1, n_dense + draft.dense, n_moe + (not draft.dense)
            draft_pr = ffn_params(model, draft.ffn) / tp - dense_pr if draft.dense else 0.0
            if draft.eagle is not None:           # an EAGLE draft's own attention (for the model's), LM head and fc
                attention, draft_head, draft_fc = eagle_params_per_rank(model, draft.eagle, tp)
                draft_attention = attention - attn_pr
        key = (n, n_dense, first, last, windowed)
        kinds.append(key)
        if key in figures:
            continue
        embed = emb / tp if first else 0.0
        head = 0.0
        if last and not (model.tied and first):
            head = emb / tp
        replicated = n * 2 * h + n_moe * router + (h if last else 0) + draft_fc
        figures[key] = dict(
            attention_bytes=(n * attn_pr + draft_attention) * wbytes,
            routed_expert_bytes=n_moe * expert_pr * held.resident_bytes_per_param,
            shared_expert_bytes=n_moe * shared_pr * ebytes,
            dense_ffn_bytes=(n_dense * dense_pr + draft_pr) * wbytes,
            replicated_bytes=replicated * wbytes,
            embedding_bytes=embed * wbytes,
            lm_head_bytes=(head + draft_head) * wbytes,
        )
    return figures, kinds


class KvShape(NamedTuple):
    """What a rank's KV cache per layer is made of, whatever its requests: one token's KV bytes in a layer as the
    rank holds it (`dagc.layout.shards.kv_bytes_per_token_layer`), a request's context, a windowed layer's (None
    without a window), the context parallelism that splits them, and one token's KV bytes in the draft's layer
    (`dagc.layout.speculative.draft_kv_bytes_per_token`; None without one). Made once per layout (`resident_of`)."""

    per_token: float
    context: int
    windowed_context: int | None
    cp: int
    draft_per_token: float | None = None

    @classmethod
    def of(cls, model: Model, workload: Workload, per_token: float, cp: int, draft_per_token: float | None = None
           ) -> KvShape:
        """`per_token`: one token's KV bytes in a layer as the rank holds it (`RankShards.kv_bytes_per_token`);
        `draft_per_token`: the draft layer's (None: no draft layer)."""
        context = workload.prompt + workload.generate
        windowed = None if model.window is None else kv_tokens(model.window, context)
        return cls(per_token, context, windowed, cp, draft_per_token)

    def per_layer(self, requests_per_rank: int) -> KvPerLayer:
        """`kv_cache_bytes_per_layer` of `requests_per_rank` requests."""
        tokens = math.ceil(requests_per_rank * self.context / self.cp)
        full = tokens * self.per_token
        draft = None if self.draft_per_token is None else tokens * self.draft_per_token
        if self.windowed_context is None:
            return KvPerLayer(full, full, draft)
        return KvPerLayer(full, math.ceil(requests_per_rank * self.windowed_context / self.cp) * self.per_token, draft)


def kv_cache_bytes_per_layer(model: Model, workload: Workload, tp: int, cp: int, requests_per_rank: int
                             ) -> KvPerLayer:
    """The KV cache one rank holds per layer: its requests' prompt and generated tokens (split by cp);
    a windowed layer's at most the window's tokens of each request (`dagc.layout.window.kv_tokens`); the draft's
    layer's at its own KV bytes a token (`KvShape`)."""
    draft = draft_layer(model, workload)
    draft_per_token = None if draft is None else draft_kv_bytes_per_token(model, draft, tp)
    return KvShape.of(model, workload, kv_bytes_per_token_layer(model, tp), cp, draft_per_token).per_layer(
        requests_per_rank)


@dataclass(frozen=True)
class Resident:
    """What a layout's ranks hold besides activations, made once per layout (`resident_of`) and handed on: the
    fast check's E402 screen, `dagc.memory.memory.memory` and the admission read it, none sizes it again.

    `weights`: `resident_weight_figures`; `kv_per_layer`: the batch's full-length KV cache per layer
    (`kv_cache_bytes_per_layer` of the busiest group's requests); `kv_start`: the KV cache that must fit for the
    engine to start (of `kv_requests_judged`'s requests); `kv_one`: when the engine admits by KV blocks
    (`admits_by_kv`), one full-length request's, else None."""

    weights: StageFigures
    kv_per_layer: KvPerLayer
    kv_start: KvPerLayer
    kv_one: KvPerLayer | None

    @property
    def figures(self) -> StageFigures:
        """`resident_figures`: each kind's weight fields and its KV cache."""
        return with_kv_cache(self.weights, self.kv_per_layer)

    def exceeds(self, cluster: Cluster) -> bool:
        """`resident_bytes_exceed` of the weights and the KV cache the engine needs to start: E402 whatever the
        activations."""
        return resident_bytes_exceed(cluster, weight_totals(self.weights), self.kv_start)

    def one_request(self) -> dict[StageKind, float] | None:
        """Each kind's KV cache of one full-length request, what an engine admitting by KV blocks needs to start;
        None statically."""
        if self.kv_one is None:
            return None
        return {key: stage_kv_bytes(key, self.kv_one) for key in self.weights[0]}


def resident_of(model: Model, workload: Workload, layout: Layout) -> Resident:
    """The layout's `Resident`: its weights and KV caches, each figure made once."""
    weights = resident_weight_figures(model, layout.shards, layout.stage_counts, layout.ep, layout.held,
                                      layout.draft, layout.redundant)
    draft_per_token = None if layout.draft is None else draft_kv_bytes_per_token(model, layout.draft, layout.tp)
    rpr = layout.requests_per_rank
    kv = KvShape.of(model, workload, layout.shards.kv_bytes_per_token, layout.cp, draft_per_token)
    kv_per_layer = kv.per_layer(rpr)
    admits = mode_of(workload).admits_by_kv
    judged = min(1, rpr) if admits else rpr
    kv_start = kv_per_layer if judged == rpr else kv.per_layer(judged)
    kv_one = None
    if admits:
        kv_one = kv_start if judged == 1 else kv.per_layer(1)
    return Resident(weights, kv_per_layer, kv_start, kv_one)


def with_kv_cache(weights: StageFigures, kv_per_layer: KvPerLayer) -> StageFigures:
    """`resident_weight_figures` with each kind's KV cache (`kv_cache_bytes`, its layers' worth) last."""
    by_kind, kinds = weights
    return {key: {**fig, "kv_cache_bytes": stage_kv_bytes(key, kv_per_layer)} for key, fig in by_kind.items()}, kinds

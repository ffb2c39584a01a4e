"""Per-rank memory: weights, KV cache and activations (SPEC 6.2, 6.3).

Input: a `Model`, `Workload`, `Cluster`, `Layout` (and, once built, the DAG's activation
working sets). Output: `MemoryBreakdown`, one
`StageMemory` per pipeline stage (every rank of a stage holds the same amounts, by the
symmetry of the layout) and per-rank vectors for exporters.

Weights follow SPEC 6.2 exactly. A rank holds ceil(kv/tp) KV heads, at least one (KV
heads are replicated when kv < tp; a fractional head cannot exist on a GPU). KV cache
follows SPEC 6.3. Activations: the largest working set (inputs + outputs, 2 bytes per
value) of any op the DAG places on the rank. One function computes it for `check` and
`search` alike, `activation_bytes_by_stage`, from the op templates of `dagc.ir.build` (the
shapes the DAG is built from, without building the DAG); `activation_bytes` is only a
first estimate for strategies too broken to have op shapes (the rules that reject them
do not depend on it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np

from ..ir.dag import Phase
from ..ir.ops import Op, OpShapes, layer_ops, rank_dims
from ..layout.layout import Layout, StageBounds
from ..layout.shards import (
    ACTIVATION_BYTES,
    attention_params_per_rank,
    busiest_rank_factor,
    kv_bytes_per_token_layer,
    kv_heads_per_rank,
    stage_layer_counts,
)
from ..plan.params import embedding_params, ffn_params, router_params
from ..plan.plan import AttentionKind, Cluster, Model, Workload

__all__ = ["StageMemory", "MemoryBreakdown", "memory", "kv_heads_per_rank", "requests_per_rank",
           "ACTIVATION_BYTES", "activation_bytes_by_stage", "stage_activation_bytes", "shape_activation_peaks",
           "template_activation_peak", "kv_cache_bytes_per_token", "resident_bytes_exceed", "weight_totals",
           "WeightTotals", "working_set_exceeds",
           "resident_figures", "resident_weight_figures", "kv_cache_bytes_per_layer", "with_kv_cache", "StageFigures",
           "with_activations"]



@dataclass(frozen=True)
class StageMemory:
    """What one rank of a stage holds, in bytes."""

    stage: int
    layers: tuple[int, int]
    attention_bytes: float
    routed_expert_bytes: float
    shared_expert_bytes: float
    dense_ffn_bytes: float
    replicated_bytes: float          # norms and routers
    embedding_bytes: float
    lm_head_bytes: float
    kv_cache_bytes: float
    activation_bytes: float
    capacity_bytes: float
    reserve_bytes: float = 0.0       # what the runtime keeps (CUDA context, comm buffers, allocator): SPEC 3.2

    @property
    def weights_bytes(self) -> float:
        return (self.attention_bytes + self.routed_expert_bytes + self.shared_expert_bytes + self.dense_ffn_bytes
                + self.replicated_bytes + self.embedding_bytes + self.lm_head_bytes)

    @property
    def total_bytes(self) -> float:
        return self.weights_bytes + self.kv_cache_bytes + self.activation_bytes + self.reserve_bytes

    @property
    def fraction(self) -> float:
        return self.total_bytes / self.capacity_bytes

    @property
    def fits(self) -> bool:
        return self.total_bytes <= self.capacity_bytes


@dataclass(frozen=True)
class MemoryBreakdown:
    stages: tuple[StageMemory, ...]
    layout: Layout

    @property
    def worst(self) -> StageMemory:
        return max(self.stages, key=lambda s: s.total_bytes)

    def worst_rank(self) -> int:
        """The lowest rank of the stage that holds the most."""
        return self.layout.stage_ranks(0, self.worst.stage).start

    def per_rank(self, key: str = "total_bytes") -> np.ndarray:
        """A per-rank vector of one figure (e.g. 'weights_bytes'), over all used ranks."""
        by_stage = np.array([getattr(s, key) for s in self.stages], dtype=np.float64)
        return by_stage[self.layout.coords["stage"]]


def kv_cache_bytes_per_token(model: Model) -> float:
    """KV cache of one token over the whole model (every layer, unsharded): what a request holds
    per token of its context, before any strategy splits or replicates it (SPEC 6.3).

    Example:
        >>> from dagc.lang.lower import model_from_preset
        >>> kv_cache_bytes_per_token(model_from_preset("mixtral-8x7b"))   # 32 layers · 2 · 8 heads · 128 · 2 B
        131072.0
    """
    return model.layers * kv_bytes_per_token_layer(model, 1)


def requests_per_rank(workload: Workload, layout: Layout) -> int:
    """Requests whose attention (and KV cache) one rank serves: the layout's busiest group's."""
    return layout.requests_per_rank


def activation_bytes(model: Model, workload: Workload, layout: Layout, layers: tuple[int, int],
                     first: bool, last: bool) -> float:
    """Estimate: the largest inputs + outputs of one op for one prefill micro-batch on a rank.

    Candidates: the qkv projection, a dense FFN, the routed experts (tokens that reach the
    rank: stage tokens·top_k/(ep·edp) times the routing imbalance) and the LM head (logits of
    the last token of each request). With `sp`, the hidden states are sharded by tp.
    """
    h, tp = model.hidden, layout.tp
    mb = layout.microbatches
    reqs = requests_per_rank(workload, layout)
    tokens = math.ceil(reqs / mb) * workload.prompt / layout.cp
    hidden_share = h / tp if layout.sp else h
    gate = 2 if model.moe.gated else 1
    if model.attention is AttentionKind.MLA and model.mla is not None:
        mla = model.mla
        qkv_out = model.heads / tp * (2 * (mla.qk_nope + mla.qk_rope) + mla.v_head)
    else:
        qkv_out = (model.heads / tp + 2 * kv_heads_per_rank(model, tp)) * model.head_dim
    cands = [tokens * (hidden_share + qkv_out)]
    a, b = layers
    n_dense, n_moe = stage_layer_counts(model, a, b)
    if n_dense:
        cands.append(tokens * (hidden_share + gate * model.moe.dense_ffn / tp))
    if n_moe > 0:
        stage_tokens = layout.busiest_microbatch_requests * workload.prompt
        moe = model.moe
        factor = busiest_rank_factor(workload.routing_imbalance, stage_tokens / layout.edp, moe.top_k, moe.experts,
                                     layout.ep)
        expert_tokens = stage_tokens * moe.top_k / (layout.ep * layout.edp) * factor
        cands.append(expert_tokens * (h + gate * model.moe.ffn / layout.etp))
        if model.moe.shared:
            cands.append(tokens * (hidden_share + gate * model.moe.shared * model.moe.shared_ffn_size / tp))
    if last:
        cands.append(math.ceil(reqs / mb) * (h + model.vocab / tp))
    return max(cands) * ACTIVATION_BYTES


# ---------------------------------------------------------------- the DAG's activation working set

Peaks = Callable[[Phase, tuple, int], Mapping[str, float]]


def template_activation_peak(template) -> float:
    """The largest per-rank working set (`act_bytes`) of one op template."""
    act = template.act_bytes
    return float(np.max(act)) if np.size(act) else 0.0


def shape_activation_peaks(shapes: OpShapes, model: Model, peak: Callable[[Op], float] | None = None
                           ) -> dict[str, float]:
    """The largest per-rank `act_bytes` of the ops of one `dagc.ir.ops.OpShapes` (a phase, a
    micro-batch's requests, a stage placement), by where the DAG places them: `embed` (first
    stage), `dense` / `moe` (a layer of each kind), `head` (final norm and LM head, last stage),
    `boundary` (the send of a stage and the recv of the next: the same transfer).

    `peak(op)` gives the peak of the shape's template of `op` (the search's timer passes its
    own, which times the op too); by default templates are made one at a time and not kept,
    so a large stage group holds one op's per-rank vectors at a time.
    """

    if peak is None:
        def peak(op: Op) -> float:
            return template_activation_peak(shapes.make(op))

    out = {"embed": peak(Op.EMBED), "head": max(peak(Op.FINAL_NORM), peak(Op.LM_HEAD)), "boundary": peak(Op.SEND)}
    for dense in (True, False):           # a kind of layer the model does not have holds nothing
        ops, _ = layer_ops(shapes.lay, model, dense) if dense in model.layer_kinds else ([], None)
        out["dense" if dense else "moe"] = max((peak(op) for op in dict.fromkeys(lop.op for lop in ops)), default=0.0)
    return out


def stage_activation_bytes(model: Model, workload: Workload, layout: Layout, peaks: Peaks) -> dict[int, float]:
    """Per stage, the largest working set of any op the DAG places on one of its ranks.

    `peaks(phase, requests, stage)` gives `shape_activation_peaks` of that stage's shape for
    a micro-batch with those requests (per attention-DP group). This is exactly
    `Dag.activation_bytes_by_stage()` of the built DAG: the same templates, the same ops per
    stage (embed on the first, the layers of the stage, final norm and LM head on the last, a
    send before and a recv after each boundary), prefill and decode, every micro-batch.

    The working sets of an op do not depend on where its stage sits (only its node crossings
    do), so stages that hold the same kinds of ops share one figure: it is computed once per
    distinct kind of stage (dense layers, MoE layers, first, last), not once per stage.
    """
    rows = layout.distinct_request_rows()
    last = layout.pp - 1
    by_groups: dict[tuple[str, ...], float] = {}
    out: dict[int, float] = {}
    for stage, (a, b) in enumerate(layout.stage_layers):
        n_dense, n_moe = stage_layer_counts(model, a, b)
        groups = tuple(g for g, present in (("dense", n_dense > 0), ("moe", n_moe > 0),
                                            ("embed", stage == 0), ("head", stage == last),
                                            ("boundary", layout.pp > 1)) if present)
        best = by_groups.get(groups)
        if best is None:
            best = 0.0
            for phase in (Phase.PREFILL, Phase.DECODE):
                for req in rows:
                    p = peaks(phase, req, stage)
                    best = max(best, *(p[g] for g in groups)) if groups else best
            by_groups[groups] = best
        out[stage] = best
    return out


def activation_bytes_by_stage(model: Model, workload: Workload, cluster: Cluster, layout: Layout) -> dict[int, float]:
    """The DAG's activation working set per stage, from the builder's op shapes (no DAG built).

    Only for strategies whose structure is sound (the rules found no error other than E401/E402).
    """

    d = rank_dims(model, layout)
    cache: dict[tuple, dict[str, float]] = {}

    def peaks(phase: Phase, req: tuple, stage: int) -> dict[str, float]:
        # The stage only places the ops (node crossings); their working sets are the same on every stage.
        key = (phase, req)
        if key not in cache:
            shapes = OpShapes(model, workload, layout, d, phase, np.array(req), stage)
            cache[key] = shape_activation_peaks(shapes, model)
        return cache[key]

    return stage_activation_bytes(model, workload, layout, peaks)


def memory(model: Model, workload: Workload, cluster: Cluster, layout: Layout,
           activations: dict[int, float] | None = None) -> MemoryBreakdown:
    """Per-stage memory of one rank, by SPEC 6.2/6.3.

    `activations` (stage → bytes, from `activation_bytes_by_stage`) replaces the first
    estimate with the DAG's largest working set.

    Example:
        >>> from dagc.lang.lower import model_from_preset
        >>> from dagc.layout.layout import resolve
        >>> from dagc.plan.plan import Cluster, Strategy, Workload
        >>> from dagc.plan.presets import GPU_PRESETS
        >>> m = model_from_preset("mixtral-8x7b")
        >>> c = Cluster(gpus=8, gpu=GPU_PRESETS["h100-sxm"], intra_node_bytes_per_s=450e9)
        >>> w = Workload(batch=8, prompt=1024, generate=128)
        >>> lay = resolve(m, c, w, Strategy(text="tp 8", tp=8))
        >>> round(memory(m, w, c, lay).worst.weights_bytes / 1e9, 2)
        11.68
    """
    figures, kinds = resident_figures(model, workload, layout)
    capacity = cluster.gpu.memory_bytes
    estimates: dict[tuple[int, int, bool, bool], float] = {}
    stages = []
    for s, ((a, b), key) in enumerate(zip(layout.stage_layers, kinds, strict=True)):
        if activations is not None and s in activations:
            act = activations[s]
        else:
            if key not in estimates:
                estimates[key] = activation_bytes(model, workload, layout, (a, b), key[2], key[3])
            act = estimates[key]
        stages.append(StageMemory(stage=s, layers=(a, b), **figures[key], activation_bytes=act, capacity_bytes=capacity,
                                  reserve_bytes=cluster.reserve_bytes))
    return MemoryBreakdown(tuple(stages), layout)


def with_activations(breakdown: MemoryBreakdown, activations: dict[int, float]) -> MemoryBreakdown:
    """`breakdown` with each stage's activation bytes of `activations` (stage → bytes) instead of its
    first estimate: what `memory` gives with `activations`, without computing the rest again."""
    return MemoryBreakdown(tuple(replace(st, activation_bytes=activations[st.stage])
                                 if st.stage in activations else st for st in breakdown.stages), breakdown.layout)


WeightTotals = dict[tuple[int, int, bool, bool], float]     # `weight_totals`: a kind of stage → its weight bytes


def weight_totals(weights: StageFigures) -> WeightTotals:
    """Each kind of stage of `resident_weight_figures` (in order of first appearance) with its weight
    bytes summed as `StageMemory.weights_bytes` sums them (its fields in order, to the bit): what
    `resident_bytes_exceed` and `working_set_exceeds` read, made once per degrees and stages."""
    by_kind, _ = weights
    return {key: sum(fig.values()) for key, fig in by_kind.items()}


def resident_bytes_exceed(cluster: Cluster, totals: WeightTotals, kv_per_layer: float) -> bool:
    """Whether some stage's weights, KV cache and runtime reserve alone — `with_kv_cache(weights,
    kv_per_layer)`, the `memory` figures without activations — exceed a GPU's memory: `check` then
    rejects the strategy with E402 whatever its activations (the search sets such candidates aside
    before any bound). `totals`: the weights' `weight_totals`. `StageMemory`'s sums in their
    order, to the bit, without making one."""
    return any(weights + key[0] * kv_per_layer + cluster.reserve_bytes > cluster.gpu.memory_bytes
               for key, weights in totals.items())


def working_set_exceeds(cluster: Cluster, layout: Layout, op: Op, peak: Callable[[tuple], float],
                        totals: WeightTotals, kv_per_layer: float) -> bool:
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
    return any(totals[key] + key[0] * kv_per_layer + act + cluster.reserve_bytes > cluster.gpu.memory_bytes
               for key in holders)


def _holds(kind: tuple[int, int, bool, bool], op: Op) -> bool:
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
StageFigures = tuple[dict[tuple[int, int, bool, bool], dict[str, float]], list[tuple[int, int, bool, bool]]]


def resident_figures(model: Model, workload: Workload, layout: Layout) -> StageFigures:
    """`StageMemory`'s weight and KV cache fields (what a rank holds besides activations) of each
    kind of stage (its layers, its dense layers, whether first, whether last: stages of one kind
    hold the same amounts), and each stage's kind in order."""
    weights = resident_weight_figures(model, layout.tp, layout.ep, layout.etp, layout.stage_layers)
    return with_kv_cache(weights, kv_cache_bytes_per_layer(model, workload, layout.tp, layout.cp,
                                                           layout.requests_per_rank))


def resident_weight_figures(model: Model, tp: int, ep: int, etp: int, stage_layers: StageBounds) -> StageFigures:
    """The weight fields of `resident_figures` of each kind of stage (no KV cache), and each stage's
    kind in order: what a layout's degrees and stages alone decide."""
    wbytes = model.weights.bytes
    h = model.hidden
    attn_pr = attention_params_per_rank(model, tp)
    expert_pr = (model.moe.experts // ep if ep else 0) * ffn_params(model, model.moe.ffn) / etp
    shared_pr = model.moe.shared * ffn_params(model, model.moe.shared_ffn_size) / tp
    dense_pr = ffn_params(model, model.moe.dense_ffn) / tp
    emb, router = embedding_params(model), router_params(model)
    figures: dict[tuple[int, int, bool, bool], dict[str, float]] = {}
    kinds = []
    last_stage = len(stage_layers) - 1
    for s, (a, b) in enumerate(stage_layers):
        n = b - a
        n_dense, n_moe = stage_layer_counts(model, a, b)
        first, last = s == 0, s == last_stage
        key = (n, n_dense, first, last)
        kinds.append(key)
        if key in figures:
            continue
        embed = emb / tp if first else 0.0
        head = 0.0
        if last and not (model.tied and first):
            head = emb / tp
        replicated = n * 2 * h + n_moe * router + (h if last else 0)
        figures[key] = dict(
            attention_bytes=n * attn_pr * wbytes,
            routed_expert_bytes=n_moe * expert_pr * wbytes,
            shared_expert_bytes=n_moe * shared_pr * wbytes,
            dense_ffn_bytes=n_dense * dense_pr * wbytes,
            replicated_bytes=replicated * wbytes,
            embedding_bytes=embed * wbytes,
            lm_head_bytes=head * wbytes,
        )
    return figures, kinds


def kv_cache_bytes_per_layer(model: Model, workload: Workload, tp: int, cp: int, requests_per_rank: int) -> float:
    """The KV cache one rank holds per layer: its requests' prompt and generated tokens (split by cp)."""
    kv_tokens = math.ceil(requests_per_rank * (workload.prompt + workload.generate) / cp)
    return kv_tokens * kv_bytes_per_token_layer(model, tp)


def with_kv_cache(weights: StageFigures, kv_per_layer: float) -> StageFigures:
    """`resident_weight_figures` with each kind's KV cache (`kv_cache_bytes`, its layers' worth) last."""
    by_kind, kinds = weights
    return {key: {**fig, "kv_cache_bytes": key[0] * kv_per_layer} for key, fig in by_kind.items()}, kinds

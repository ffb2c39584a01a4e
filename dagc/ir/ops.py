"""The op catalogue: what each op of a layer is, and its per-rank figures at a shape (SPEC 5, 6).

Input: a `Model`, a `Workload`, a `Layout`, a phase, the requests of one micro-batch per
attention-DP group, and a stage. Output: `OpTemplate`s — per-rank numpy vectors of tokens,
FLOPs, HBM bytes, bytes sent and working set — one per `Op`, and `layer_ops`: the ops of one
layer in order, with their dependencies.

Each `Op` has a typed `Recipe`: its DAG node kind (`OpKind`), the parallel axis whose group
runs it together (`Axis`, None for compute), which dtype's peak applies (`Peak`) and the
function that derives its figures. `dagc.ir.build` assembles the DAG from these templates;
`dagc.memory.activations` and `dagc.schedule.timer` read the same templates without building a DAG, so every
figure of an op is derived in the catalogue, once: the shapes and helpers in `dagc.ir.op_shapes`,
the figures of attention and the dense ops in `dagc.ir.op_attention`, of the MoE ops in
`dagc.ir.op_moe`; this module names the ops, their recipes and a layer's order.

Conventions (see docs/decisions.md): activations are 2 bytes per value; decode attention
reads a context of prompt + generate/2 tokens (the mean over the generation); with tp > 1
every layer ends with a TP all-reduce (reduce-scatter with sp, the all-gather then opens the
next block); tokens entering the expert domain are shared among the TP ranks (each rank
dispatches 1/tp of its attention group's tokens).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from typing import cast

import numpy as np

from ..enums import FastEnum
from ..layout.layout import Layout
from ..plan.model import Model
from ..plan.strategy import Axis
from ..plan.workload import Workload
from .dag import OpKind, OpTemplate, Phase
from .op_attention import (
    attention,
    attention_reads,
    cp_gather,
    cp_gather_reads,
    dense_ffn,
    dense_ffn_distinct,
    dense_ffn_reads,
    embed,
    embed_distinct,
    embed_reads,
    final_norm,
    final_norm_distinct,
    final_norm_reads,
    lm_head,
    lm_head_distinct,
    lm_head_reads,
    norm,
    norm_distinct,
    norm_reads,
    o_proj,
    o_proj_distinct,
    o_proj_reads,
    qkv,
    qkv_distinct,
    qkv_reads,
    send,
    send_reads,
    tp_gather,
    tp_gather_reads,
    tp_reduce,
    tp_reduce_reads,
)
from .op_moe import (
    a2a_reads,
    combine,
    dispatch,
    dispatch_dtype,
    etp_reduce,
    etp_reduce_lower,
    etp_reduce_reads,
    expert_ffn,
    expert_ffn_act_floor,
    expert_ffn_distinct,
    expert_ffn_lower,
    expert_ffn_reads,
    router,
    router_distinct,
    router_reads,
    shared_expert,
    shared_expert_distinct,
    shared_expert_reads,
)
from .op_shapes import (
    ALIGN_ROWS,
    REFERENCE,
    Peak,
    RankDims,
    Recipe,
    Shapes,
    decode_context,
    experts_inside_tp,
    phase_chunk,
)

__all__ = ["Op", "ATTENTION_SPLIT_OPS", "attention_split_key", "attention_split_peak_key",
           "attention_split_ranks_key", "Peak", "Recipe", "RECIPES", "RankDims", "rank_dims", "OpShapes", "LayerOp",
           "Layers", "layer_ops", "model_layers", "decode_context", "REFERENCE", "ALIGN_ROWS", "dispatch_dtype",
           "experts_inside_tp"]


class Op(FastEnum):
    """Every op a layer, a stage's ends or a stage boundary is made of."""

    EMBED = "embed"
    NORM = "norm"
    TP_GATHER = "tp_gather"
    QKV = "qkv"
    CP_GATHER = "cp_gather"
    ATTENTION = "attention"
    O_PROJ = "o_proj"
    TP_REDUCE = "tp_reduce"
    ROUTER = "router"
    DISPATCH = "dispatch"
    SHARED_EXPERT = "shared_expert"
    EXPERT_FFN = "expert_ffn"
    ETP_REDUCE = "etp_reduce"
    COMBINE = "combine"
    DENSE_FFN = "dense_ffn"
    FINAL_NORM = "final_norm"
    LM_HEAD = "lm_head"
    SEND = "send"
    RECV = "recv"

    @property
    def recipe(self) -> Recipe:
        return RECIPES[self]


def rank_dims(m: Model, lay: Layout) -> RankDims:
    """The per-rank dimensions of `m` under `lay`'s attention split: the layout's own (`Layout.dims`, made once
    when it is resolved)."""
    return lay.dims


class OpShapes(Shapes):
    """The op templates of one (phase, micro-batch shape, stage placement), each made once."""

    def get(self, op: Op) -> OpTemplate:
        """The template of `op` at this shape (made once, then shared)."""
        return self.template(op, RECIPES[op])

    def make(self, op: Op) -> OpTemplate:
        """The template of `op`, made afresh and not kept (for callers that hold one at a time)."""
        recipe = RECIPES[op]
        return self._cache.get(op) or recipe.figures(self, recipe)

    def reads(self, op: Op) -> Hashable:
        """What `op`'s template reads of these shapes beside the model and workload (`Recipe.reads`, and the count
        its totals read, `Recipe.distinct`): shapes with equal keys make equal templates."""
        recipe = RECIPES[op]
        return recipe.reads(self) if recipe.distinct is None else (recipe.reads(self), recipe.distinct(self)[0])

    def lower_template(self, op: Op) -> OpTemplate:
        """A template of `op` whose time under `dagc.cost.cost.template_lower_s` bounds from below that of
        `op`'s template: the catalogue's cheaper one where it has one (`LOWER_TEMPLATES`: no routing
        statistics), else the template itself, made afresh and not kept."""
        lower = LOWER_TEMPLATES.get(op)
        return lower(self, RECIPES[op]) if lower is not None else self.make(op)

    def working_set_floor(self, op: Op) -> float:
        """A lower bound of the largest per-rank working set (`act_bytes`) of `op`'s template: the
        catalogue's cheaper floor where it has one (`WORKING_SET_FLOORS`), else the template's own."""
        floor = WORKING_SET_FLOORS.get(op)
        if floor is not None:
            return floor(self)
        act = self.make(op).act_bytes
        return float(np.max(act)) if np.size(act) else 0.0


def _same_as(op: Op) -> Callable[[Shapes, Recipe], OpTemplate]:
    """The other end of a transfer: the same figures as `op`'s template, under this recipe's kind."""
    def figures(s: Shapes, r: Recipe) -> OpTemplate:
        return replace(s.template(op, RECIPES[op]), kind=r.kind)
    return figures


# Ops with a lower bound of their largest working set cheaper than their template (`OpShapes.working_set_floor`).
WORKING_SET_FLOORS: dict[Op, Callable[[Shapes], float]] = {Op.EXPERT_FFN: expert_ffn_act_floor}

# Ops with a template cheaper to make whose time bounds theirs from below (`OpShapes.lower_template`).
LOWER_TEMPLATES: dict[Op, Callable[[Shapes, Recipe], OpTemplate]] = {Op.EXPERT_FFN: expert_ffn_lower,
                                                                      Op.ETP_REDUCE: etp_reduce_lower}

_C, _W, _E, _KV = None, Peak.WEIGHTS, Peak.EXPERTS, Peak.KV_CACHE
RECIPES: dict[Op, Recipe] = {
    Op.EMBED: Recipe(OpKind.EMBED, _C, _W, embed, embed_reads, embed_distinct),
    Op.NORM: Recipe(OpKind.NORM, _C, _W, norm, norm_reads, norm_distinct),
    Op.TP_GATHER: Recipe(OpKind.ALL_GATHER, Axis.TP, Peak.NONE, tp_gather, tp_gather_reads),
    Op.QKV: Recipe(OpKind.QKV_PROJ, _C, _W, qkv, qkv_reads, qkv_distinct),
    Op.CP_GATHER: Recipe(OpKind.ALL_GATHER, Axis.CP, Peak.NONE, cp_gather, cp_gather_reads),
    Op.ATTENTION: Recipe(OpKind.ATTENTION, _C, _KV, attention, attention_reads),
    Op.O_PROJ: Recipe(OpKind.O_PROJ, _C, _W, o_proj, o_proj_reads, o_proj_distinct),
    Op.TP_REDUCE: Recipe(OpKind.ALL_REDUCE, Axis.TP, Peak.NONE, tp_reduce, tp_reduce_reads),   # reduce-scatter with sp
    Op.ROUTER: Recipe(OpKind.ROUTER, _C, _W, router, router_reads, router_distinct),
    Op.DISPATCH: Recipe(OpKind.ALL_TO_ALL_DISPATCH, Axis.EP, Peak.NONE, dispatch, a2a_reads),
    Op.SHARED_EXPERT: Recipe(OpKind.SHARED_EXPERT, _C, _E, shared_expert, shared_expert_reads, shared_expert_distinct),
    Op.EXPERT_FFN: Recipe(OpKind.EXPERT_FFN, _C, _E, expert_ffn, expert_ffn_reads, expert_ffn_distinct),
    Op.ETP_REDUCE: Recipe(OpKind.ALL_REDUCE, Axis.ETP, Peak.NONE, etp_reduce, etp_reduce_reads),
    Op.COMBINE: Recipe(OpKind.ALL_TO_ALL_COMBINE, Axis.EP, Peak.NONE, combine, a2a_reads),
    Op.DENSE_FFN: Recipe(OpKind.DENSE_FFN, _C, _W, dense_ffn, dense_ffn_reads, dense_ffn_distinct),
    Op.FINAL_NORM: Recipe(OpKind.NORM, _C, _W, final_norm, final_norm_reads, final_norm_distinct),
    Op.LM_HEAD: Recipe(OpKind.LM_HEAD, _C, _W, lm_head, lm_head_reads, lm_head_distinct),
    Op.SEND: Recipe(OpKind.SEND, Axis.PP, Peak.NONE, send, send_reads),
    Op.RECV: Recipe(OpKind.RECV, Axis.PP, Peak.NONE, _same_as(Op.SEND), send_reads),
}


# The compute ops whose templates read only the attention split (tp, cp, sp: `RankDims`), the stage
# group's size, the phase, the requests and the workload's prompt and generate (`attention_split_key`):
# not the expert domain, not where the stage sits. Stage shapes that differ only there share them
# (the search's timer, `dagc.schedule.timer`; tests/test_timer_sharing.py compares them field by field).
ATTENTION_SPLIT_OPS = frozenset({Op.EMBED, Op.NORM, Op.QKV, Op.ATTENTION, Op.O_PROJ, Op.DENSE_FFN, Op.FINAL_NORM,
                                 Op.LM_HEAD, Op.SHARED_EXPERT})    # shared experts: split by tp, on every token


def attention_split_key(lay: Layout, workload: Workload, phase: Phase, req: tuple[float, ...]) -> tuple[Hashable, ...]:
    """What the templates of `ATTENTION_SPLIT_OPS` depend on, the model aside: a mixed pass's chunk ranks too
    (`Workload.chunk_ranks`: the chunk on the first group or on every group; until 2026-12-02 left out, so that
    the step with a chunk on every rank and the one with a chunk on the busiest alone took each other's entries
    where an engine's two scales differ, tests/test_chunk_ranks_key.py)."""
    return (phase, req, lay.tp, lay.cp, lay.sp, lay.group_size, workload.prompt, workload.generate,
            _chunk_ranks(workload, phase), phase_chunk(workload, lay, phase))


def attention_split_peak_key(lay: Layout, workload: Workload, phase: Phase, req: tuple[float, ...]
                             ) -> tuple[Hashable, ...]:
    """What the largest per-rank figures (slowest rank's time, floor, working set) of the templates of
    `ATTENTION_SPLIT_OPS` depend on: `attention_split_key`, but when every attention-DP group has the
    same requests, the ranks of every group do the same, so neither how many groups there are nor
    the requests' repetition matters (in a mixed step, whose first group alone carries a chunk, the
    search's timer prices them on two groups: `dagc.schedule.timer.Timer`)."""
    if _same_everywhere(req):
        return (phase, (req[0],), lay.tp, lay.cp, lay.sp, None, workload.prompt, workload.generate,
                _chunk_ranks(workload, phase), phase_chunk(workload, lay, phase))
    return attention_split_key(lay, workload, phase, req)


def _chunk_ranks(workload: Workload, phase: Phase) -> int:
    """The attention groups a pass's chunk is on (`Workload.chunk_ranks`): a mixed pass's; 1 for any other."""
    return workload.chunk_ranks if phase is Phase.MIXED else 1


def attention_split_ranks_key(split: tuple[Hashable, ...]) -> tuple[Hashable, ...]:
    """`attention_split_peak_key` `split` of a decode pass whose attention-DP groups hold different requests, keyed by
    the distinct requests a group holds (sorted) rather than each group's: a decode pass's `ATTENTION_SPLIT_OPS` are
    each rank's own work on its group's requests, so their largest per-rank figures (slowest rank's seconds, floor,
    working set) are the largest over those distinct values, however many groups hold each — 100 requests on 32
    groups (4 groups of 4, 28 of 3) and 101 (5 of 4, 27 of 3) alike. A mixed pass alike but for the groups its chunk
    is on, its first `Workload.chunk_ranks` (since 2026-12-02), each kept with its requests: the rest by their
    distinct requests. Their totals (the ranks' FLOPs and bytes) are not the same: a timer reads them where the
    engine's compute and memory scales differ (`dagc.cost.op_price.OpPrice`), and keys its split by `split` there
    (`dagc.schedule.timer.Timer`). Any other split as it is.

    Example:
        >>> split = (Phase.DECODE, (4.0, 4.0, 3.0, 3.0, 3.0), 1, 1, False, 5, 1000, 200, 1, 0)
        >>> attention_split_ranks_key(split)
        (<Phase.DECODE: 'decode'>, (3.0, 4.0), 1, 1, False, 'ranks', 1000, 200, 1, 0)
        >>> attention_split_ranks_key(split[:1] + ((4.0,),) + split[2:5] + (None,) + split[6:])[5] is None
        True
        >>> attention_split_ranks_key((Phase.MIXED, *split[1:]))[1]        # its chunk on the first group
        ((4.0,), (3.0, 4.0))
    """
    if split[0] not in (Phase.DECODE, Phase.MIXED) or split[5] is None:
        return split
    req = cast(tuple[float, ...], split[1])
    if split[0] is Phase.DECODE:
        return (split[0], _distinct_requests(req), *split[2:5], "ranks", *split[6:])
    chunked = cast(int, split[8])       # a mixed pass: its chunk on its first groups (`Workload.chunk_ranks`)
    return (split[0], (req[:chunked], _distinct_requests(req[chunked:])), *split[2:5], "ranks", *split[6:])


@functools.lru_cache(maxsize=4096)
def _distinct_requests(req: tuple[float, ...]) -> tuple[float, ...]:
    """The distinct requests of `req`, sorted (`attention_split_ranks_key`: a run asks of the same rows again)."""
    return tuple(sorted(set(req)))


@functools.lru_cache(maxsize=4096)
def _same_everywhere(req: tuple[float, ...]) -> bool:
    """Whether every attention-DP group has the same requests (the search asks of the same rows often)."""
    return bool(req) and all(r == req[0] for r in req)


@dataclass(frozen=True)
class LayerOp:
    """One op of a layer: its indices of predecessors within the layer (-1: the layer's input)."""

    op: Op
    preds: tuple[int, ...]


def layer_ops(lay: Layout, m: Model, dense: bool) -> tuple[tuple[LayerOp, ...], tuple[int, ...]]:
    """A layer's ops in order, and the indices of the ops whose outputs leave the layer (made once
    per combination of what they read: the degrees, whether experts sit inside the TP group,
    whether the model has shared experts)."""
    return _layer_ops(dense, lay.sp and lay.tp > 1, lay.tp > 1, lay.cp > 1,
                      lay.ep * lay.etp > 1 and not experts_inside_tp(lay), lay.etp > 1, bool(m.moe.shared))


# A model's layers on a layout: each kind of layer it has (dense: True, MoE: False, in that order) and that
# layer's ops in order (`layer_ops`), made once for a pass and handed to what sums, lists or bounds its ops
Layers = dict[bool, tuple[LayerOp, ...]]


def model_layers(lay: Layout, m: Model) -> Layers:
    """`layer_ops` of every kind of layer the model has (`Model.layer_kinds`), dense first."""
    return {dense: layer_ops(lay, m, dense)[0] for dense in m.layer_kinds}


@functools.lru_cache(maxsize=256)
def _layer_ops(dense: bool, sp: bool, tp: bool, cp: bool, a2a: bool, etp: bool, shared: bool
               ) -> tuple[tuple[LayerOp, ...], tuple[int, ...]]:
    """`layer_ops`: `sp` with tp > 1, tp > 1, cp > 1, an all-to-all to the experts (ep > 1, not inside
    the TP group), etp > 1, shared experts."""
    ops: list[LayerOp] = []

    def add(op: Op, preds: list[int] | None = None) -> int:
        ops.append(LayerOp(op, tuple([len(ops) - 1] if preds is None else preds)))
        return len(ops) - 1

    add(Op.NORM, [-1])
    if sp:
        add(Op.TP_GATHER)
    add(Op.QKV)
    if cp:
        add(Op.CP_GATHER)
    add(Op.ATTENTION)
    add(Op.O_PROJ)
    if tp:
        add(Op.TP_REDUCE)
    n2 = add(Op.NORM)
    if sp:
        n2 = add(Op.TP_GATHER)
    if dense:
        last = [add(Op.DENSE_FFN, [n2])]
    else:
        r = add(Op.ROUTER, [n2])
        if a2a:                     # experts inside the TP group: no all-to-all, the TP reduce combines
            r = add(Op.DISPATCH, [r])
        # Shared experts need only the normed input: they run beside the dispatch.
        after = [add(Op.SHARED_EXPERT, [n2])] if shared else []
        e = add(Op.EXPERT_FFN, [r])
        if a2a and etp:
            e = add(Op.ETP_REDUCE, [e])
        if a2a:
            e = add(Op.COMBINE, [e])
        last = [e] + after
    if tp:
        last = [add(Op.TP_REDUCE, last)]
    return tuple(ops), tuple(last)

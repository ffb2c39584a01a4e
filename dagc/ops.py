"""The op catalogue: what each op of a layer is, and its per-rank figures at a shape (SPEC 5, 6).

Input: a `Model`, a `Workload`, a `Layout`, a phase, the requests of one micro-batch per
attention-DP group, and a stage. Output: `OpTemplate`s — per-rank numpy vectors of tokens,
FLOPs, HBM bytes, bytes sent and working set — one per `Op`, and `layer_ops`: the ops of one
layer in order, with their dependencies.

Each `Op` has a typed `Recipe`: its DAG node kind (`OpKind`), the parallel axis whose group
runs it together (`Axis`, None for compute), which dtype's peak applies (`Peak`) and the
function that derives its figures. `dagc.build` assembles the DAG from these templates;
`dagc.memory` and `dagc.fastsched` read the same templates without building a DAG, so every
figure of an op is derived here, once.

Conventions (see docs/decisions.md): activations are 2 bytes per value; decode attention
reads a context of prompt + generate/2 tokens (the mean over the generation); with tp > 1
every layer ends with a TP all-reduce (reduce-scatter with sp, the all-gather then opens the
next block); tokens entering the expert domain are shared among the TP ranks (each rank
dispatches 1/tp of its attention group's tokens).
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from .dag import OpKind, OpTemplate, Phase
from .layout import Layout
from .params import attention_params, ffn_params
from .plan import AttentionKind, Axis, DType, Model, Workload
from .shards import (
    ACTIVATION_BYTES,
    attention_dims,
    expected_distinct_experts,
    kv_bytes_per_token_layer,
    kv_heads_per_rank,
    qkv_params_per_rank,
)

__all__ = ["Op", "Peak", "Recipe", "RECIPES", "RankDims", "rank_dims", "OpShapes", "LayerOp", "layer_ops",
           "decode_context"]

AB = ACTIVATION_BYTES


class Op(enum.Enum):
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


class Peak(enum.Enum):
    """Which dtype's peak FLOPs a compute op runs at."""

    WEIGHTS = "weights"          # matmuls against the model's weights
    KV_CACHE = "kv_cache"        # attention against the KV cache (fp8 cache: the fp8 peak)
    NONE = "none"                # communication


def decode_context(workload: Workload) -> int:
    """Context length a decode step attends to: the mean over the generation."""
    return workload.prompt + workload.generate // 2


@dataclass(frozen=True)
class RankDims:
    """Model dimensions per rank, derived once per layout."""

    h: int
    wb: float
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


def rank_dims(m: Model, lay: Layout) -> RankDims:
    """The per-rank dimensions of `m` under `lay`'s attention split."""
    tp, h = lay.tp, m.hidden
    heads_r = m.heads / tp
    dk, dv = attention_dims(m)
    o_full = m.heads * dv * h
    qkv_r = qkv_params_per_rank(m, tp)
    if m.attention is AttentionKind.MLA and m.mla is not None:
        kv_out = heads_r * (m.mla.qk_nope + m.mla.v_head)
    else:
        kv_out = 2 * kv_heads_per_rank(m, tp) * dk
    q_out, o_in = heads_r * dk, heads_r * dv
    return RankDims(h=h, wb=m.weights.bytes, gate=3 if m.moe.gated else 2, tp=tp, cp=lay.cp, sp=lay.sp,
                    heads_r=heads_r, dk=dk, dv=dv, q_out=q_out, kv_out=kv_out, o_in=o_in, qkv_params_r=qkv_r,
                    qkv_params_full=attention_params(m) - o_full, o_params_r=o_full / tp, o_params_full=o_full,
                    kvb_token=kv_bytes_per_token_layer(m, tp))


@dataclass(frozen=True)
class Recipe:
    """How one op is made: its node kind, the axis of its group, its peak, and its figures."""

    kind: OpKind
    group: Axis | None
    peak: Peak
    figures: Callable[[OpShapes, Recipe], OpTemplate]


class OpShapes:
    """The op templates of one (phase, micro-batch shape, stage placement), each made once."""

    def __init__(self, m: Model, w: Workload, lay: Layout, d: RankDims, phase: Phase, req: np.ndarray,
                 stage: int):
        self.m, self.w, self.lay, self.d, self.phase = m, w, lay, d, phase
        g = lay.group_size
        a_idx = np.arange(g) // (lay.tp * lay.cp)
        self.n_seq = req[a_idx]                                   # requests of each rank's attention group
        per_seq = w.prompt if phase is Phase.PREFILL else 1
        self.t = self.n_seq * per_seq / lay.cp                    # tokens through linear ops, per rank
        self.u = self.t / lay.tp                                  # each rank's share of distinct tokens
        self.T = float(req.sum() * per_seq)                       # distinct tokens of the stage
        self.R = float(req.sum())                                 # requests of the micro-batch
        self.start_rank = stage * g
        self._cache: dict[Op, OpTemplate] = {}
        self.zero = np.zeros(g)

    def get(self, op: Op) -> OpTemplate:
        """The template of `op` at this shape (made once, then shared)."""
        tpl = self._cache.get(op)
        if tpl is None:
            recipe = RECIPES[op]
            tpl = self._cache[op] = recipe.figures(self, recipe)
        return tpl

    def make(self, op: Op) -> OpTemplate:
        """The template of `op`, made afresh and not kept (for callers that hold one at a time)."""
        recipe = RECIPES[op]
        return self._cache.get(op) or recipe.figures(self, recipe)

    # ----------------------------------------------------------- helpers
    def crosses(self, size: int, span: int | None = None) -> bool:
        """Whether a group of `size` ranks (spread over blocks of `span`) of this stage spans nodes."""
        return size > 1 and self.lay.blocks_cross_nodes(self.start_rank, self.lay.group_size, span or size)

    def peak_dtype(self, peak: Peak) -> DType:
        if peak is Peak.KV_CACHE:
            return DType.FP8 if self.m.kv_cache.is_8bit_or_less else DType.BF16
        return self.m.weights

    def compute(self, r: Recipe, tokens, flops, hbm, act, tokens_total, flops_total, out) -> OpTemplate:
        return OpTemplate(kind=r.kind, group=None, group_size=1, tokens=tokens, flops=flops, hbm_bytes=hbm,
                          comm_bytes=self.zero, act_bytes=act, tokens_total=float(tokens_total),
                          flops_total=float(flops_total), hbm_bytes_total=float(hbm.sum()), comm_bytes_total=0.0,
                          out_bytes_total=float(np.sum(out)), peak_dtype=self.peak_dtype(r.peak))

    def comm(self, r: Recipe, n: int, tokens, nbytes, crosses: bool) -> OpTemplate:
        return OpTemplate(kind=r.kind, group=r.group, group_size=n, tokens=tokens, flops=self.zero,
                          hbm_bytes=self.zero, comm_bytes=nbytes, act_bytes=nbytes, tokens_total=float(tokens.sum()),
                          flops_total=0.0, hbm_bytes_total=0.0, comm_bytes_total=float(nbytes.sum()),
                          out_bytes_total=float(nbytes.sum()), crosses_nodes=crosses)

    def matmul(self, r: Recipe, params_r: float, params_full: float, tokens, in_w: float, out_w: float,
               distinct: float) -> OpTemplate:
        act = tokens * (in_w + out_w) * AB
        return self.compute(r, tokens, 2 * params_r * tokens, params_r * self.d.wb + act, act, distinct,
                            2 * params_full * distinct, tokens * out_w * AB)

    @functools.cached_property
    def expert_tokens(self) -> tuple[np.ndarray, np.ndarray]:
        """Token-expert assignments per rank and distinct experts hit per rank."""
        lay, moe = self.lay, self.m.moe
        size = lay.ep * lay.etp
        groups = self.u.reshape(-1, size)                     # EP groups are consecutive local ranks
        origin = groups.sum(axis=1)                           # distinct tokens entering each EP group
        mean = origin * moe.top_k / lay.ep                    # assignments per ep index
        x = min(self.w.routing_imbalance, float(lay.ep))
        factor = np.full(lay.ep, 1.0 if lay.ep == 1 else (lay.ep - x) / (lay.ep - 1))
        factor[0] = x if lay.ep > 1 else 1.0                  # ep index 0 is the busiest
        ep_idx = (np.arange(size) // lay.etp) % lay.ep
        e = (mean[:, None] * factor[ep_idx][None, :]).reshape(-1)
        local_experts = moe.experts // lay.ep
        hit = np.repeat(expected_distinct_experts(moe.experts, moe.top_k, origin, local=local_experts), size)
        return e, hit


# ------------------------------------------------------------------ the recipes' figures
def _embed(s: OpShapes, r: Recipe) -> OpTemplate:
    d, t = s.d, s.t
    return s.compute(r, t, s.zero, t * d.h * (d.wb + AB), t * d.h * AB, s.T, 0.0, t * d.h * AB)


def _norm(s: OpShapes, r: Recipe) -> OpTemplate:
    d = s.d
    t = s.t / d.tp if d.sp else s.t
    act = 2 * t * d.h * AB
    return s.compute(r, t, 2 * d.h * t, act + d.h * d.wb, act, s.T, 2 * d.h * s.T, act / 2)


def _qkv(s: OpShapes, r: Recipe) -> OpTemplate:
    d = s.d
    return s.matmul(r, d.qkv_params_r, d.qkv_params_full, s.t, d.h, d.q_out + d.kv_out, s.T)


def _attention(s: OpShapes, r: Recipe) -> OpTemplate:
    d, w, m = s.d, s.w, s.m
    if s.phase is Phase.PREFILL:
        flops = s.n_seq * w.prompt ** 2 * d.heads_r * (d.dk + d.dv) / d.cp
        total = s.R * w.prompt ** 2 * m.heads * (d.dk + d.dv)
        act = s.t * (d.q_out + d.kv_out + d.o_in) * AB
        hbm = act + s.t * d.kvb_token                         # writes this layer's KV cache
        out = s.t * d.o_in * AB
    else:
        ctx = decode_context(w)
        flops = 2 * s.n_seq * ctx * d.heads_r * (d.dk + d.dv) / d.cp
        total = 2 * s.R * ctx * m.heads * (d.dk + d.dv)
        act = s.n_seq * (d.q_out + d.o_in) * AB
        hbm = act + s.n_seq * ctx / d.cp * d.kvb_token        # reads the KV cache
        out = s.n_seq * d.o_in * AB
    return s.compute(r, s.t, flops, hbm, act, s.T, total, out)


def _o_proj(s: OpShapes, r: Recipe) -> OpTemplate:
    d = s.d
    return s.matmul(r, d.o_params_r, d.o_params_full, s.t, d.o_in, d.h, s.T)


def _tp_reduce(s: OpShapes, r: Recipe) -> OpTemplate:
    d = s.d
    kind = OpKind.REDUCE_SCATTER if d.sp else OpKind.ALL_REDUCE
    return s.comm(replace(r, kind=kind), d.tp, s.t, s.t * d.h * AB, s.crosses(d.tp))


def _tp_gather(s: OpShapes, r: Recipe) -> OpTemplate:
    d = s.d
    return s.comm(r, d.tp, s.t, s.t * d.h * AB, s.crosses(d.tp))


def _cp_gather(s: OpShapes, r: Recipe) -> OpTemplate:
    d = s.d
    return s.comm(r, d.cp, s.t, s.t * d.kv_out * AB, s.crosses(d.cp, d.tp * d.cp))


def _router(s: OpShapes, r: Recipe) -> OpTemplate:
    m, d = s.m, s.d
    p = d.h * m.moe.experts
    act = s.u * (d.h + m.moe.experts) * AB
    return s.compute(r, s.u, 2 * p * s.u, p * d.wb + act, act, s.T, 2 * p * s.T, s.u * m.moe.experts * AB)


def _dispatch(s: OpShapes, r: Recipe) -> OpTemplate:
    lay, moe, d = s.lay, s.m.moe, s.d
    nbytes = s.u * moe.top_k * d.h * AB * lay.etp
    return s.comm(r, lay.ep * lay.etp, s.u * moe.top_k, nbytes, s.crosses(lay.ep * lay.etp))


def _expert_ffn(s: OpShapes, r: Recipe) -> OpTemplate:
    m, lay, d = s.m, s.lay, s.d
    e, hit = s.expert_tokens
    per = ffn_params(m, m.moe.ffn) / lay.etp
    act = e * (d.h + d.gate * m.moe.ffn / lay.etp) * AB
    assignments = s.T * m.moe.top_k
    return s.compute(r, e, 2 * per * e, hit * per * d.wb + act, act, assignments,
                     2 * ffn_params(m, m.moe.ffn) * assignments, e * d.h * AB)


def _etp_reduce(s: OpShapes, r: Recipe) -> OpTemplate:
    lay, d = s.lay, s.d
    e, _ = s.expert_tokens
    return s.comm(r, lay.etp, e, e * d.h * AB, s.crosses(lay.etp))


def _shared_expert(s: OpShapes, r: Recipe) -> OpTemplate:
    m, d = s.m, s.d
    full = m.moe.shared * ffn_params(m, m.moe.shared_ffn_size)
    return s.matmul(r, full / d.tp, full, s.t, d.h, d.gate * m.moe.shared * m.moe.shared_ffn_size / d.tp, s.T)


def _dense_ffn(s: OpShapes, r: Recipe) -> OpTemplate:
    m, d = s.m, s.d
    full = ffn_params(m, m.moe.dense_ffn)
    return s.matmul(r, full / d.tp, full, s.t, d.h, d.gate * m.moe.dense_ffn / d.tp, s.T)


def _final_norm(s: OpShapes, r: Recipe) -> OpTemplate:
    d = s.d
    n = s.n_seq / d.cp
    act = 2 * n * d.h * AB
    return s.compute(r, n, 2 * d.h * n, act + d.h * d.wb, act, s.R, 2 * d.h * s.R, act / 2)


def _lm_head(s: OpShapes, r: Recipe) -> OpTemplate:
    m, d = s.m, s.d
    n = s.n_seq / d.cp
    full = m.vocab * d.h
    return s.matmul(r, full / d.tp, full, n, d.h, m.vocab / d.tp, s.R)


def _send(s: OpShapes, r: Recipe) -> OpTemplate:
    g = s.lay.group_size
    t = s.t / s.d.tp if s.d.sp else s.t
    ranks = s.start_rank + np.arange(g)
    gpn = s.lay.gpus_per_node
    cross = bool(np.any(ranks // gpn != (ranks + g) // gpn))
    return s.comm(r, 2, t, t * s.d.h * AB, cross)


def _same_as(op: Op) -> Callable[[OpShapes, Recipe], OpTemplate]:
    """The other end of a transfer: the same figures as `op`'s template, under this recipe's kind."""
    def figures(s: OpShapes, r: Recipe) -> OpTemplate:
        return replace(s.get(op), kind=r.kind)
    return figures


_C, _W, _KV = None, Peak.WEIGHTS, Peak.KV_CACHE
RECIPES: dict[Op, Recipe] = {
    Op.EMBED: Recipe(OpKind.EMBED, _C, _W, _embed),
    Op.NORM: Recipe(OpKind.NORM, _C, _W, _norm),
    Op.TP_GATHER: Recipe(OpKind.ALL_GATHER, Axis.TP, Peak.NONE, _tp_gather),
    Op.QKV: Recipe(OpKind.QKV_PROJ, _C, _W, _qkv),
    Op.CP_GATHER: Recipe(OpKind.ALL_GATHER, Axis.CP, Peak.NONE, _cp_gather),
    Op.ATTENTION: Recipe(OpKind.ATTENTION, _C, _KV, _attention),
    Op.O_PROJ: Recipe(OpKind.O_PROJ, _C, _W, _o_proj),
    Op.TP_REDUCE: Recipe(OpKind.ALL_REDUCE, Axis.TP, Peak.NONE, _tp_reduce),   # reduce-scatter with sp
    Op.ROUTER: Recipe(OpKind.ROUTER, _C, _W, _router),
    Op.DISPATCH: Recipe(OpKind.ALL_TO_ALL_DISPATCH, Axis.EP, Peak.NONE, _dispatch),
    Op.SHARED_EXPERT: Recipe(OpKind.SHARED_EXPERT, _C, _W, _shared_expert),
    Op.EXPERT_FFN: Recipe(OpKind.EXPERT_FFN, _C, _W, _expert_ffn),
    Op.ETP_REDUCE: Recipe(OpKind.ALL_REDUCE, Axis.ETP, Peak.NONE, _etp_reduce),
    Op.COMBINE: Recipe(OpKind.ALL_TO_ALL_COMBINE, Axis.EP, Peak.NONE, _same_as(Op.DISPATCH)),
    Op.DENSE_FFN: Recipe(OpKind.DENSE_FFN, _C, _W, _dense_ffn),
    Op.FINAL_NORM: Recipe(OpKind.NORM, _C, _W, _final_norm),
    Op.LM_HEAD: Recipe(OpKind.LM_HEAD, _C, _W, _lm_head),
    Op.SEND: Recipe(OpKind.SEND, Axis.PP, Peak.NONE, _send),
    Op.RECV: Recipe(OpKind.RECV, Axis.PP, Peak.NONE, _same_as(Op.SEND)),
}


@dataclass(frozen=True)
class LayerOp:
    """One op of a layer: its indices of predecessors within the layer (-1: the layer's input)."""

    op: Op
    preds: tuple[int, ...]


def layer_ops(lay: Layout, m: Model, dense: bool) -> tuple[tuple[LayerOp, ...], tuple[int, ...]]:
    """A layer's ops in order, and the indices of the ops whose outputs leave the layer."""
    ops: list[LayerOp] = []

    def add(op: Op, preds: list[int] | None = None) -> int:
        ops.append(LayerOp(op, tuple([len(ops) - 1] if preds is None else preds)))
        return len(ops) - 1

    add(Op.NORM, [-1])
    if lay.sp and lay.tp > 1:
        add(Op.TP_GATHER)
    add(Op.QKV)
    if lay.cp > 1:
        add(Op.CP_GATHER)
    add(Op.ATTENTION)
    add(Op.O_PROJ)
    if lay.tp > 1:
        add(Op.TP_REDUCE)
    n2 = add(Op.NORM)
    if lay.sp and lay.tp > 1:
        n2 = add(Op.TP_GATHER)
    if dense:
        last = [add(Op.DENSE_FFN, [n2])]
    else:
        r = add(Op.ROUTER, [n2])
        if lay.ep > 1:
            r = add(Op.DISPATCH, [r])
        # Shared experts need only the normed input: they run beside the dispatch.
        shared = [add(Op.SHARED_EXPERT, [n2])] if m.moe.shared else []
        e = add(Op.EXPERT_FFN, [r])
        if lay.ep > 1 and lay.etp > 1:
            e = add(Op.ETP_REDUCE, [e])
        if lay.ep > 1:
            e = add(Op.COMBINE, [e])
        last = [e] + shared
    if lay.tp > 1:
        last = [add(Op.TP_REDUCE, last)]
    return tuple(ops), tuple(last)

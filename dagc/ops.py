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

from .dag import Kernel, KernelClass, OpKind, OpTemplate, Phase
from .layout import Layout
from .params import attention_params, ffn_params
from .plan import AttentionKind, Axis, DType, Model, Workload
from .shards import (
    ACTIVATION_BYTES,
    attention_dims,
    busiest_rank_factor,
    expected_distinct_experts,
    expected_distinct_nodes,
    expected_distinct_ranks,
    kv_bytes_per_token_layer,
    kv_heads_per_rank,
    qkv_params_per_rank,
)

__all__ = ["Op", "Peak", "Recipe", "RECIPES", "RankDims", "rank_dims", "OpShapes", "LayerOp", "layer_ops",
           "decode_context"]

AB = ACTIVATION_BYTES

# The reference implementation whose kernels dagc costs: plain, unfused PyTorch, as the calibration's
# end-to-end runs (bench/calibration/measure_e2e.py) execute a layer. Each entry is how many kernels
# a step launches; every launch costs at least the profile's per-kernel floor. Serving engines fuse
# several of these (docs/cost-model.md says what that means for the estimates).
REFERENCE: dict[str, int] = {
    "rope": 26,              # q and k: positions → cos, sin, two casts, 4 multiplies, add, sub, cat (13 each)
    "o_layout": 1,           # attention output transposed to tokens × heads·dim
    "kv_write": 2,           # the decode token's K and V copied into the cache
    "residual_add": 1,
    "routing_index": 24,     # top-k weights normalised, per-expert counts, padded offsets (cumsums), argsort,
                             # row positions and gathers of the sorted assignments
    "zero_fill": 2,          # the padded expert input and the combined output zeroed
    "combine_weights": 3,    # expert outputs gathered back to assignment order and scaled by their weights
}
ALIGN_ROWS = 16              # rows per expert are padded to a multiple of this for the grouped GEMM


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
        # Each rank routes and dispatches its share of its attention group's tokens — unless the
        # expert group lies inside the TP group, which already holds every token (no all-to-all).
        self.u = self.t if experts_inside_tp(lay) else self.t / lay.tp
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

    def nodes(self, size: int, span: int | None = None) -> int:
        """Nodes a group of `size` ranks (spread over blocks of `span`) spans: 1 inside a node."""
        if not self.crosses(size, span):
            return 1
        return min(size, max(2, -(-(span or size) // self.lay.gpus_per_node)))

    def peak_dtype(self, peak: Peak) -> DType:
        if peak is Peak.KV_CACHE:
            return DType.FP8 if self.m.kv_cache.is_8bit_or_less else DType.BF16
        return self.m.weights

    def compute(self, r: Recipe, tokens, flops, hbm, act, tokens_total, flops_total, out,
                kernels: tuple[Kernel, ...]) -> OpTemplate:
        if self.phase is Phase.PREFILL:              # engines capture decode in CUDA graphs, not prefill
            kernels = tuple(replace(k, eager=True) for k in kernels)
        return OpTemplate(kind=r.kind, group=None, group_size=1, tokens=tokens, flops=flops, hbm_bytes=hbm,
                          comm_bytes=self.zero, act_bytes=act, tokens_total=float(tokens_total),
                          flops_total=float(flops_total), hbm_bytes_total=float(hbm.sum()), comm_bytes_total=0.0,
                          out_bytes_total=float(np.sum(out)), peak_dtype=self.peak_dtype(r.peak), kernels=kernels)

    # ----------------------------------------------------------- kernels
    def vec(self, x) -> np.ndarray:
        """`x` as a per-rank vector."""
        return np.broadcast_to(np.asarray(x, dtype=np.float64), self.zero.shape)

    def gemm(self, name: str, m, n: float, k: float, dtype: DType | None = None) -> Kernel:
        return Kernel(name, KernelClass.GEMM, (self.vec(m), self.vec(n), self.vec(k)), dtype or self.m.weights)

    def memory_pass(self, name: str, nbytes, op: str, launches: int = 1) -> Kernel:
        return Kernel(name, KernelClass.MEMORY, (self.vec(nbytes),), memory_op=op, launches=launches)

    def ffn_kernels(self, tokens, ffn_r: float) -> tuple[Kernel, ...]:
        """A dense FFN on `tokens` rows with `ffn_r` intermediate columns per rank: the up (gate·up fused
        when gated) GEMM, the activation, the down GEMM."""
        d = self.d
        up_n = (d.gate - 1) * ffn_r
        act_bytes = (6 if d.gate == 3 else 4) * tokens * ffn_r
        return (self.gemm("gate_up" if d.gate == 3 else "up", tokens, up_n, d.h),
                self.memory_pass("activation", act_bytes, "silu_mul"),
                self.gemm("down", tokens, d.h, ffn_r))

    def comm(self, r: Recipe, n: int, tokens, nbytes, crosses: bool, nodes: int = 1) -> OpTemplate:
        return OpTemplate(kind=r.kind, group=r.group, group_size=n, tokens=tokens, flops=self.zero,
                          hbm_bytes=self.zero, comm_bytes=nbytes, act_bytes=nbytes, tokens_total=float(tokens.sum()),
                          flops_total=0.0, hbm_bytes_total=0.0, comm_bytes_total=float(nbytes.sum()),
                          out_bytes_total=float(nbytes.sum()), crosses_nodes=crosses, nodes=nodes)

    def matmul(self, r: Recipe, params_r: float, params_full: float, tokens, in_w: float, out_w: float,
               distinct: float, kernels: tuple[Kernel, ...] | None = None) -> OpTemplate:
        """A projection of `params_r` weights per rank on `tokens` rows; by default one GEMM."""
        act = tokens * (in_w + out_w) * AB
        if kernels is None:
            kernels = (self.gemm(r.kind.value, tokens, params_r / in_w, in_w),)
        return self.compute(r, tokens, 2 * params_r * tokens, params_r * self.d.wb + act, act, distinct,
                            2 * params_full * distinct, tokens * out_w * AB, kernels)

    @functools.cached_property
    def expert_tokens(self) -> tuple[np.ndarray, np.ndarray]:
        """Token-expert assignments per rank and distinct experts hit per rank."""
        lay, moe = self.lay, self.m.moe
        size = lay.ep * lay.etp
        groups = self.u.reshape(-1, size)                     # EP groups are consecutive local ranks
        # distinct tokens entering each EP group (inside a TP group every rank holds all of them)
        origin = groups[:, 0] if experts_inside_tp(lay) else groups.sum(axis=1)
        mean = origin * moe.top_k / lay.ep                    # assignments per ep index
        busiest = float(origin.max()) if origin.size else 0.0
        x = busiest_rank_factor(self.w.routing_imbalance, busiest, moe.top_k, moe.experts, lay.ep)
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
    return s.compute(r, t, s.zero, t * d.h * (d.wb + AB), t * d.h * AB, s.T, 0.0, t * d.h * AB,
                     (s.memory_pass("gather", 2 * t * d.h * AB, "copy"),))


def _norm(s: OpShapes, r: Recipe) -> OpTemplate:
    d = s.d
    t = s.t / d.tp if d.sp else s.t
    act = 2 * t * d.h * AB
    return s.compute(r, t, 2 * d.h * t, act + d.h * d.wb, act, s.T, 2 * d.h * s.T, act / 2,
                     (s.memory_pass("rms_norm", 2 * t * d.h * AB, "rms_norm"),))


def _qkv(s: OpShapes, r: Recipe) -> OpTemplate:
    d = s.d
    # MLA's several projections are costed as one GEMM of the same weights (N = params / hidden).
    return s.matmul(r, d.qkv_params_r, d.qkv_params_full, s.t, d.h, d.q_out + d.kv_out, s.T)


def _attention(s: OpShapes, r: Recipe) -> OpTemplate:
    d, w, m = s.d, s.w, s.m
    if s.phase is Phase.PREFILL:
        flops = s.n_seq * w.prompt ** 2 * d.heads_r * (d.dk + d.dv) / d.cp
        total = s.R * w.prompt ** 2 * m.heads * (d.dk + d.dv)
        act = s.t * (d.q_out + d.kv_out + d.o_in) * AB
        hbm = act + s.t * d.kvb_token                         # writes this layer's KV cache
        out = s.t * d.o_in * AB
        # cp: each rank computes 1/cp of every sequence's attention
        kernel = Kernel("flash_prefill", KernelClass.ATTN_PREFILL,
                        (s.n_seq / d.cp, s.vec(w.prompt), s.vec(d.heads_r), s.vec(_kv_heads_attn(s)),
                         s.vec((d.dk + d.dv) / 2)))
    else:
        ctx = decode_context(w)
        flops = 2 * s.n_seq * ctx * d.heads_r * (d.dk + d.dv) / d.cp
        total = 2 * s.R * ctx * m.heads * (d.dk + d.dv)
        act = s.n_seq * (d.q_out + d.o_in) * AB
        hbm = act + s.n_seq * ctx / d.cp * d.kvb_token        # reads the KV cache
        out = s.n_seq * d.o_in * AB
        kernel = _decode_kernel(s, ctx / d.cp)
    return s.compute(r, s.t, flops, hbm, act, s.T, total, out, (*_rope_kernels(s), kernel, *_attention_glue(s)))


def _rope_kernels(s: OpShapes) -> tuple[Kernel, ...]:
    """Rotary embedding of q and k, unfused (REFERENCE): per element 9 bf16 reads and writes, 13
    launches per tensor; MLA rotates only its rope dimensions."""
    m, d = s.m, s.d
    if m.attention is AttentionKind.MLA and m.mla is not None:
        width = (d.heads_r + 1) * m.mla.qk_rope
    else:
        width = d.q_out + d.kv_out / 2
    return (s.memory_pass("rope", 9 * AB * s.t * width, "copy", REFERENCE["rope"]),)


def _attention_glue(s: OpShapes) -> tuple[Kernel, ...]:
    """The attention output made contiguous for the O projection and, in decode, the new token's K
    and V written into the cache (REFERENCE)."""
    d = s.d
    glue = [s.memory_pass("o_layout", 2 * AB * s.t * d.o_in, "copy", REFERENCE["o_layout"])]
    if s.phase is Phase.DECODE:
        glue.append(s.memory_pass("kv_write", 2 * AB * s.t * d.kv_out, "copy", REFERENCE["kv_write"]))
    return tuple(glue)


def _kv_heads_attn(s: OpShapes) -> float:
    """KV heads a rank's attention reads per query head group (MLA prefill runs as multi-head)."""
    m = s.m
    if m.attention is AttentionKind.MLA:
        return s.d.heads_r
    return float(kv_heads_per_rank(m, s.d.tp))


def _decode_kernel(s: OpShapes, ctx: float) -> Kernel:
    """Decode attention over `ctx` cached tokens per request; an 8-bit cache reads half the bytes of
    the bf16 cache the profile measured, so it counts as half the context."""
    m, d = s.m, s.d
    ctx_eff = ctx * m.kv_cache.bytes / 2
    if m.attention is AttentionKind.MLA and m.mla is not None:
        return Kernel("mla_decode", KernelClass.MLA_DECODE, (s.n_seq, s.vec(ctx_eff), s.vec(d.heads_r),
                                                             s.vec(m.mla.kv_lora), s.vec(m.mla.qk_rope)))
    return Kernel("decode_attention", KernelClass.ATTN_DECODE,
                  (s.n_seq, s.vec(ctx_eff), s.vec(d.heads_r), s.vec(_kv_heads_attn(s)), s.vec(d.dk)))


def _o_proj(s: OpShapes, r: Recipe) -> OpTemplate:
    d = s.d
    kernels = (s.gemm("o_proj", s.t, d.h, d.o_in), _residual_add(s, s.t))
    return s.matmul(r, d.o_params_r, d.o_params_full, s.t, d.o_in, d.h, s.T, kernels)


def _residual_add(s: OpShapes, tokens) -> Kernel:
    """x + f(x): two reads and a write of the hidden state."""
    return s.memory_pass("residual_add", 3 * AB * tokens * s.d.h, "copy", REFERENCE["residual_add"])


def _tp_reduce(s: OpShapes, r: Recipe) -> OpTemplate:
    d = s.d
    kind = OpKind.REDUCE_SCATTER if d.sp else OpKind.ALL_REDUCE
    return s.comm(replace(r, kind=kind), d.tp, s.t, s.t * d.h * AB, s.crosses(d.tp), s.nodes(d.tp))


def _tp_gather(s: OpShapes, r: Recipe) -> OpTemplate:
    d = s.d
    return s.comm(r, d.tp, s.t, s.t * d.h * AB, s.crosses(d.tp), s.nodes(d.tp))


def _cp_gather(s: OpShapes, r: Recipe) -> OpTemplate:
    d = s.d
    return s.comm(r, d.cp, s.t, s.t * d.kv_out * AB, s.crosses(d.cp, d.tp * d.cp), s.nodes(d.cp, d.tp * d.cp))


def _router(s: OpShapes, r: Recipe) -> OpTemplate:
    m, d = s.m, s.d
    p = d.h * m.moe.experts
    act = s.u * (d.h + m.moe.experts) * AB
    kernels = (s.gemm("router_gemm", s.u, m.moe.experts, d.h, DType.BF16),
               s.memory_pass("softmax_topk", 4 * s.u * m.moe.experts, "router_topk"))
    return s.compute(r, s.u, 2 * p * s.u, p * d.wb + act, act, s.T, 2 * p * s.T, s.u * m.moe.experts * AB, kernels)


def dispatch_dtype(m: Model, w: Workload) -> DType:
    """The EP dispatch payload's dtype: as written, else fp8 for 8-bit weights, else bf16."""
    if w.dispatch is not None:
        return w.dispatch
    return DType.FP8 if m.weights.is_8bit_or_less else DType.BF16


def experts_inside_tp(lay: Layout) -> bool:
    """Whether each EP group is one attention TP group (`tp N ; ep N`): after the TP
    collective every rank holds all the group's tokens, so experts run on them without an
    all-to-all and the TP reduce sums their outputs (SPEC 6.5)."""
    size = lay.ep * lay.etp
    return size > 1 and lay.cp == 1 and lay.tp == size


def _a2a(s: OpShapes, r: Recipe, payload_bytes: float) -> OpTemplate:
    """An EP all-to-all: each token goes once to each EP rank holding one of its top-k experts (to
    every etp shard of it), in `payload_bytes` per value; across nodes once per destination node,
    then forwarded over NVLink (SPEC 6.5)."""
    lay, moe, d = s.lay, s.m.moe, s.d
    size = lay.ep * lay.etp
    ranks_hit = expected_distinct_ranks(moe.top_k, moe.experts, lay.ep)
    per_token = d.h * payload_bytes * lay.etp
    nbytes = s.u * ranks_hit * per_token
    nodes = s.nodes(size)
    network = None
    if nodes > 1:
        per_node = max(1, lay.ep // nodes)
        nodes_hit = expected_distinct_nodes(moe.top_k, moe.experts, lay.ep, per_node)
        network = s.u * nodes_hit * per_token
    tpl = s.comm(r, size, s.u * moe.top_k, nbytes, s.crosses(size))
    return replace(tpl, nodes=nodes, network_bytes=network)


def _dispatch(s: OpShapes, r: Recipe) -> OpTemplate:
    return _a2a(s, r, dispatch_dtype(s.m, s.w).bytes)


def _combine(s: OpShapes, r: Recipe) -> OpTemplate:
    return _a2a(s, r, AB)                                 # combine stays bf16


def _expert_ffn(s: OpShapes, r: Recipe) -> OpTemplate:
    m, lay, d = s.m, s.lay, s.d
    e, hit = s.expert_tokens
    per = ffn_params(m, m.moe.ffn) / lay.etp
    act = e * (d.h + d.gate * m.moe.ffn / lay.etp) * AB
    assignments = s.T * m.moe.top_k
    return s.compute(r, e, 2 * per * e, hit * per * d.wb + act, act, assignments,
                     2 * ffn_params(m, m.moe.ffn) * assignments, e * d.h * AB, _expert_kernels(s, e, hit))


def _expert_kernels(s: OpShapes, e: np.ndarray, hit: np.ndarray) -> tuple[Kernel, ...]:
    """The routed experts as engines run them: permute the arriving tokens' rows into expert order
    (`e` token-expert rows), the grouped gate·up GEMM over the `hit` experts with rows, the
    activation, the grouped down GEMM, and the un-permutation (scatter-add of the rows back into
    their tokens). Bytes follow the measured glue kernels (bench/calibration/measure_ops.py)."""
    m, d = s.m, s.d
    k = m.moe.top_k
    ffn_r = m.moe.ffn / s.lay.etp
    arriving = e / k                                      # distinct tokens behind the rows, about
    tpe = np.divide(e, hit, out=np.zeros_like(e), where=hit > 0)
    up_n = (d.gate - 1) * ffn_r
    grouped = KernelClass.GROUPED_GEMM
    rows_padded = e + m.moe.experts / s.lay.ep * (ALIGN_ROWS - 1)
    return (
        s.memory_pass("routing_index", 40 * e, "copy", REFERENCE["routing_index"]),
        s.memory_pass("zero_fill", AB * d.h * (rows_padded + arriving), "copy", REFERENCE["zero_fill"]),
        s.memory_pass("permute", AB * d.h * (arriving + 2 * e), "permute"),
        Kernel("gate_up" if d.gate == 3 else "up", grouped, (hit, tpe, s.vec(d.h), s.vec(up_n)), m.weights),
        s.memory_pass("activation", (6 if d.gate == 3 else 4) * e * ffn_r, "silu_mul"),
        Kernel("down", grouped, (hit, tpe, s.vec(ffn_r), s.vec(d.h)), m.weights),
        s.memory_pass("combine_weights", 4 * AB * d.h * e, "copy", REFERENCE["combine_weights"]),
        s.memory_pass("unpermute", AB * d.h * (2 * e + 2 * arriving), "unpermute"),
        _residual_add(s, arriving),
    )


def _etp_reduce(s: OpShapes, r: Recipe) -> OpTemplate:
    lay, d = s.lay, s.d
    e, _ = s.expert_tokens
    return s.comm(r, lay.etp, e, e * d.h * AB, s.crosses(lay.etp), s.nodes(lay.etp))


def _shared_expert(s: OpShapes, r: Recipe) -> OpTemplate:
    m, d = s.m, s.d
    full = m.moe.shared * ffn_params(m, m.moe.shared_ffn_size)
    ffn_r = m.moe.shared * m.moe.shared_ffn_size / d.tp
    return s.matmul(r, full / d.tp, full, s.t, d.h, d.gate * ffn_r, s.T, s.ffn_kernels(s.t, ffn_r))


def _dense_ffn(s: OpShapes, r: Recipe) -> OpTemplate:
    m, d = s.m, s.d
    full = ffn_params(m, m.moe.dense_ffn)
    ffn_r = m.moe.dense_ffn / d.tp
    return s.matmul(r, full / d.tp, full, s.t, d.h, d.gate * ffn_r, s.T,
                    (*s.ffn_kernels(s.t, ffn_r), _residual_add(s, s.t)))


def _final_norm(s: OpShapes, r: Recipe) -> OpTemplate:
    d = s.d
    n = s.n_seq / d.cp
    act = 2 * n * d.h * AB
    return s.compute(r, n, 2 * d.h * n, act + d.h * d.wb, act, s.R, 2 * d.h * s.R, act / 2,
                     (s.memory_pass("rms_norm", 2 * n * d.h * AB, "rms_norm"),))


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
    Op.COMBINE: Recipe(OpKind.ALL_TO_ALL_COMBINE, Axis.EP, Peak.NONE, _combine),
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
        a2a = lay.ep > 1 and not experts_inside_tp(lay)      # inside the TP group: the TP reduce combines
        if a2a:
            r = add(Op.DISPATCH, [r])
        # Shared experts need only the normed input: they run beside the dispatch.
        shared = [add(Op.SHARED_EXPERT, [n2])] if m.moe.shared else []
        e = add(Op.EXPERT_FFN, [r])
        if a2a and lay.etp > 1:
            e = add(Op.ETP_REDUCE, [e])
        if a2a:
            e = add(Op.COMBINE, [e])
        last = [e] + shared
    if lay.tp > 1:
        last = [add(Op.TP_REDUCE, last)]
    return tuple(ops), tuple(last)

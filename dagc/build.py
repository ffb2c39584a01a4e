"""Build the SPMD DAG of a checked plan (SPEC 5).

Input: a `Plan`'s model, cluster and workload, and a `Layout`. Output: a `Dag` with the
prefill (every micro-batch through every stage) and a two-step decode, for one
representative DP replica (the busiest one: ceil(batch/dp) requests).

Per-rank figures are numpy vectors over the local ranks of a stage group, computed once per
op shape (`OpTemplate`) and shared by every layer and stage with that shape: building costs
layers × micro-batches small Python objects, independent of the GPU count.

Conventions (see docs/decisions.md): activations are 2 bytes per value; decode attention
reads a context of prompt + generate/2 tokens (the mean over the generation); with tp > 1
every layer ends with a TP all-reduce (reduce-scatter with sp, the all-gather then opens the
next block); tokens entering the expert domain are shared among the TP ranks (each rank
dispatches 1/tp of its attention group's tokens).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .dag import GROUP_BUDGET, NODE_BUDGET, Dag, DagTooLarge, OpKind, OpTemplate, Phase, estimate_nodes
from .layout import Layout
from .params import attention_params, ffn_params
from .plan import AttentionKind, Cluster, Model, Workload
from .shards import (
    ACTIVATION_BYTES,
    attention_dims,
    expected_distinct_experts,
    kv_bytes_per_token_layer,
    kv_heads_per_rank,
    qkv_params_per_rank,
)

__all__ = ["build", "decode_context", "requests_per_microbatch", "distinct_request_rows"]

AB = ACTIVATION_BYTES


def decode_context(workload: Workload) -> int:
    """Context length a decode step attends to: the mean over the generation."""
    return workload.prompt + workload.generate // 2


def requests_per_microbatch(workload: Workload, layout: Layout) -> np.ndarray:
    """Requests of the representative replica per (micro-batch, attention-DP group): the layout's."""
    return layout.requests()


def distinct_request_rows(workload: Workload, layout: Layout) -> list[tuple[float, ...]]:
    """The distinct rows of `requests_per_microbatch`, in order of first appearance: the layout's."""
    return layout.distinct_request_rows()


@dataclass(frozen=True)
class _Dims:
    """Model dimensions per rank, derived once."""

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


def _dims(m: Model, lay: Layout) -> _Dims:
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
    return _Dims(h=h, wb=m.weights.bytes, gate=3 if m.moe.gated else 2, tp=tp, cp=lay.cp, sp=lay.sp,
                 heads_r=heads_r, dk=dk, dv=dv, q_out=q_out, kv_out=kv_out, o_in=o_in, qkv_params_r=qkv_r,
                 qkv_params_full=attention_params(m) - o_full, o_params_r=o_full / tp, o_params_full=o_full,
                 kvb_token=kv_bytes_per_token_layer(m, tp))


class _Shapes:
    """The op templates of one (phase, micro-batch shape, stage placement)."""

    def __init__(self, m: Model, w: Workload, c: Cluster, lay: Layout, d: _Dims, phase: Phase,
                 req: np.ndarray, stage: int):
        self.m, self.w, self.c, self.lay, self.d, self.phase = m, w, c, lay, d, phase
        g = lay.group_size
        local = np.arange(g)
        a_idx = local // (lay.tp * lay.cp)
        self.n_seq = req[a_idx]                                   # requests of each rank's attention group
        per_seq = w.prompt if phase is Phase.PREFILL else 1
        self.t = self.n_seq * per_seq / lay.cp                    # tokens through linear ops, per rank
        self.u = self.t / lay.tp                                  # each rank's share of distinct tokens
        self.T = float(req.sum() * per_seq)                       # distinct tokens of the stage
        self.R = float(req.sum())                                 # requests of the micro-batch
        self.start_rank = stage * g
        self._cache: dict[str, OpTemplate] = {}
        self.zero = np.zeros(g)

    # ----------------------------------------------------------- helpers
    def crosses(self, size: int, span: int | None = None) -> bool:
        """Whether a group of `size` ranks (spread over blocks of `span`) of this stage spans nodes."""
        return size > 1 and self.lay.blocks_cross_nodes(self.start_rank, self.lay.group_size, span or size)

    def compute(self, kind: OpKind, tokens, flops, hbm, act, tokens_total, flops_total, out,
                peak: str | None = None) -> OpTemplate:
        return OpTemplate(kind=kind, group=None, group_size=1, tokens=tokens, flops=flops, hbm_bytes=hbm,
                          comm_bytes=self.zero, act_bytes=act, tokens_total=float(tokens_total),
                          flops_total=float(flops_total), hbm_bytes_total=float(hbm.sum()), comm_bytes_total=0.0,
                          out_bytes_total=float(np.sum(out)), peak_dtype=peak or self.m.weights.value)

    def comm(self, kind: OpKind, group: str, n: int, tokens, nbytes, crosses: bool) -> OpTemplate:
        return OpTemplate(kind=kind, group=group, group_size=n, tokens=tokens, flops=self.zero, hbm_bytes=self.zero,
                          comm_bytes=nbytes, act_bytes=nbytes, tokens_total=float(tokens.sum()), flops_total=0.0,
                          hbm_bytes_total=0.0, comm_bytes_total=float(nbytes.sum()),
                          out_bytes_total=float(nbytes.sum()), crosses_nodes=crosses)

    def matmul(self, kind: OpKind, params_r: float, params_full: float, tokens, in_w: float, out_w: float,
               distinct: float) -> OpTemplate:
        d = self.d
        act = tokens * (in_w + out_w) * AB
        return self.compute(kind, tokens, 2 * params_r * tokens, params_r * d.wb + act, act, distinct,
                            2 * params_full * distinct, tokens * out_w * AB)

    def get(self, name: str) -> OpTemplate:
        if name not in self._cache:
            self._cache[name] = getattr(self, "_" + name)()
        return self._cache[name]

    # ----------------------------------------------------------- ops
    def _embed(self):
        d, t = self.d, self.t
        return self.compute(OpKind.EMBED, t, self.zero, t * d.h * (d.wb + AB), t * d.h * AB, self.T, 0.0,
                            t * d.h * AB)

    def _norm(self):
        d = self.d
        t = self.t / d.tp if d.sp else self.t
        act = 2 * t * d.h * AB
        return self.compute(OpKind.NORM, t, 2 * d.h * t, act + d.h * d.wb, act, self.T, 2 * d.h * self.T, act / 2)

    def _qkv(self):
        d = self.d
        return self.matmul(OpKind.QKV_PROJ, d.qkv_params_r, d.qkv_params_full, self.t, d.h, d.q_out + d.kv_out,
                           self.T)

    def _attention(self):
        d, w, m = self.d, self.w, self.m
        if self.phase is Phase.PREFILL:
            flops = self.n_seq * w.prompt ** 2 * d.heads_r * (d.dk + d.dv) / d.cp
            total = self.R * w.prompt ** 2 * m.heads * (d.dk + d.dv)
            act = self.t * (d.q_out + d.kv_out + d.o_in) * AB
            hbm = act + self.t * d.kvb_token                      # writes this layer's KV cache
        else:
            ctx = decode_context(w)
            flops = 2 * self.n_seq * ctx * d.heads_r * (d.dk + d.dv) / d.cp
            total = 2 * self.R * ctx * m.heads * (d.dk + d.dv)
            act = self.n_seq * (d.q_out + d.o_in) * AB
            hbm = act + self.n_seq * ctx / d.cp * d.kvb_token     # reads the KV cache
        peak = "fp8" if m.kv_cache.is_8bit_or_less else "bf16"
        out = (self.t if self.phase is Phase.PREFILL else self.n_seq) * d.o_in * AB
        return self.compute(OpKind.ATTENTION, self.t, flops, hbm, act, self.T, total, out, peak)

    def _o_proj(self):
        d = self.d
        return self.matmul(OpKind.O_PROJ, d.o_params_r, d.o_params_full, self.t, d.o_in, d.h, self.T)

    def _tp_reduce(self):
        d = self.d
        kind = OpKind.REDUCE_SCATTER if d.sp else OpKind.ALL_REDUCE
        return self.comm(kind, "tp", d.tp, self.t, self.t * d.h * AB, self.crosses(d.tp))

    def _tp_gather(self):
        d = self.d
        return self.comm(OpKind.ALL_GATHER, "tp", d.tp, self.t, self.t * d.h * AB, self.crosses(d.tp))

    def _cp_gather(self):
        d = self.d
        return self.comm(OpKind.ALL_GATHER, "cp", d.cp, self.t, self.t * d.kv_out * AB,
                         self.crosses(d.cp, d.tp * d.cp))

    def _router(self):
        m, d = self.m, self.d
        p = d.h * m.moe.experts
        act = self.u * (d.h + m.moe.experts) * AB
        return self.compute(OpKind.ROUTER, self.u, 2 * p * self.u, p * d.wb + act, act, self.T, 2 * p * self.T,
                            self.u * m.moe.experts * AB)

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

    def _dispatch(self):
        lay, moe, d = self.lay, self.m.moe, self.d
        nbytes = self.u * moe.top_k * d.h * AB * lay.etp
        return self.comm(OpKind.ALL_TO_ALL_DISPATCH, "ep", lay.ep * lay.etp, self.u * moe.top_k, nbytes,
                         self.crosses(lay.ep * lay.etp))

    def _combine(self):
        t = self._dispatch()
        return OpTemplate(**{**t.__dict__, "kind": OpKind.ALL_TO_ALL_COMBINE})

    def _expert_ffn(self):
        m, lay, d = self.m, self.lay, self.d
        e, hit = self.expert_tokens
        per = ffn_params(m, m.moe.ffn) / lay.etp
        act = e * (d.h + d.gate * m.moe.ffn / lay.etp) * AB
        assignments = self.T * m.moe.top_k
        return self.compute(OpKind.EXPERT_FFN, e, 2 * per * e, hit * per * d.wb + act, act, assignments,
                            2 * ffn_params(m, m.moe.ffn) * assignments, e * d.h * AB)

    def _etp_reduce(self):
        lay, d = self.lay, self.d
        e, _ = self.expert_tokens
        return self.comm(OpKind.ALL_REDUCE, "etp", lay.etp, e, e * d.h * AB, self.crosses(lay.etp))

    def _shared_expert(self):
        m, d = self.m, self.d
        full = m.moe.shared * ffn_params(m, m.moe.shared_ffn_size)
        return self.matmul(OpKind.SHARED_EXPERT, full / d.tp, full, self.t, d.h,
                           d.gate * m.moe.shared * m.moe.shared_ffn_size / d.tp, self.T)

    def _dense_ffn(self):
        m, d = self.m, self.d
        full = ffn_params(m, m.moe.dense_ffn)
        return self.matmul(OpKind.DENSE_FFN, full / d.tp, full, self.t, d.h, d.gate * m.moe.dense_ffn / d.tp, self.T)

    def _final_norm(self):
        d = self.d
        n = self.n_seq / d.cp
        act = 2 * n * d.h * AB
        return self.compute(OpKind.NORM, n, 2 * d.h * n, act + d.h * d.wb, act, self.R, 2 * d.h * self.R, act / 2)

    def _lm_head(self):
        m, d = self.m, self.d
        n = self.n_seq / d.cp
        full = m.vocab * d.h
        return self.matmul(OpKind.LM_HEAD, full / d.tp, full, n, d.h, m.vocab / d.tp, self.R)

    def _send(self):
        g = self.lay.group_size
        t = self.t / self.d.tp if self.d.sp else self.t
        ranks = self.start_rank + np.arange(g)
        gpn = self.lay.gpus_per_node
        cross = bool(np.any(ranks // gpn != (ranks + g) // gpn))
        return self.comm(OpKind.SEND, "pp", 2, t, t * self.d.h * AB, cross)

    def _recv(self):
        t = self._send()
        return OpTemplate(**{**t.__dict__, "kind": OpKind.RECV})


def _layer_ops(s: _Shapes, dense: bool) -> tuple[list[tuple[str, list[int]]], list[int]]:
    """A layer as (template name, indices of its predecessors within the layer; -1 = the layer's
    input) and the indices of the ops whose outputs leave the layer."""
    lay, m = s.lay, s.m
    ops: list[tuple[str, list[int]]] = []

    def add(name: str, preds: list[int] | None = None) -> int:
        ops.append((name, [len(ops) - 1] if preds is None else preds))
        return len(ops) - 1

    add("norm", [-1])
    if lay.sp and lay.tp > 1:
        add("tp_gather")
    add("qkv")
    if lay.cp > 1:
        add("cp_gather")
    add("attention")
    add("o_proj")
    if lay.tp > 1:
        add("tp_reduce")
    n2 = add("norm")
    if lay.sp and lay.tp > 1:
        n2 = add("tp_gather")
    if dense:
        last = [add("dense_ffn", [n2])]
    else:
        r = add("router", [n2])
        if lay.ep > 1:
            r = add("dispatch", [r])
        # Shared experts need only the normed input: they run beside the dispatch.
        shared = [add("shared_expert", [n2])] if m.moe.shared else []
        e = add("expert_ffn", [r])
        if lay.ep > 1 and lay.etp > 1:
            e = add("etp_reduce", [e])
        if lay.ep > 1:
            e = add("combine", [e])
        last = [e] + shared
    if lay.tp > 1:
        last = [add("tp_reduce", last)]
    return ops, last


def build(model: Model, workload: Workload, cluster: Cluster, layout: Layout, budget: int = NODE_BUDGET) -> Dag:
    """Build the prefill and two-step decode DAG of one representative replica.

    Example:
        >>> from dagc.check import load_plan_text
        >>> from dagc.layout import resolve
        >>> from dagc.flatten import flatten
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 16 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 8 prompt = 128 generate = 8 } strategy pp 2 < tp 2 ; ep 8 >')
        >>> lay = resolve(p.model, p.cluster, p.workload, flatten(p.strategies[0])[0])
        >>> dag = build(p.model, p.workload, p.cluster, lay)
        >>> # (prefill + 2 decode steps) × 2 micro-batches × (32 layers × 11 ops + send, recv, embed,
        >>> # final norm, lm_head)
        >>> len(dag) == 3 * 2 * (32 * 11 + 5)
        True

    Raises:
        DagTooLarge: when the DAG would exceed `budget` nodes (`dagc.dag.estimate_nodes`, an upper
            bound) or its stage group `dagc.dag.GROUP_BUDGET` GPUs; nothing is built then, so no
            plan can make dagc build an unbounded graph.
    """
    estimate = estimate_nodes(layout)
    if estimate > budget:
        raise DagTooLarge(f"the DAG would have about {estimate:,} nodes, above the budget of {budget:,}")
    if layout.group_size > GROUP_BUDGET:
        raise DagTooLarge(f"a stage group of {layout.group_size:,} GPUs is above the budget of {GROUP_BUDGET:,} "
                          "for per-rank figures")
    d = _dims(model, layout)
    reqs = requests_per_microbatch(workload, layout)
    dag = Dag(layout.group_size, layout.pp, layout.dp, layout.microbatches)
    shapes: dict[tuple, _Shapes] = {}
    layer_plans: dict[bool, tuple] = {}
    last_stage = layout.pp - 1
    g, gpn = layout.group_size, layout.gpus_per_node

    def shape(phase: Phase, j: int, stage: int) -> _Shapes:
        # Stages whose first rank sits at the same offset in a node have the same templates.
        key = (phase, tuple(reqs[j]), (stage * g) % gpn, stage == last_stage)
        if key not in shapes:
            shapes[key] = _Shapes(model, workload, cluster, layout, d, phase, reqs[j], stage)
        return shapes[key]

    lm_head_of: dict[tuple[int, int], int] = {}
    for phase, step in ((Phase.PREFILL, 0), (Phase.DECODE, 0), (Phase.DECODE, 1)):
        for j in range(layout.microbatches):
            prev: list[int] = []
            for stage, (first_layer, end_layer) in enumerate(layout.stage_layers):
                s = shape(phase, j, stage)
                if stage == 0:
                    # The second decode step starts from the token the first one produced.
                    preds = [lm_head_of[(j, 0)]] if (phase is Phase.DECODE and step == 1) else []
                    prev = [dag.add(s.get("embed"), phase, step, stage, -1, j, preds, pos=-1.0)]
                for layer in range(first_layer, end_layer):
                    dense = not model.is_moe_layer(layer)
                    if dense not in layer_plans:
                        layer_plans[dense] = _layer_ops(s, dense)
                    ops, outputs = layer_plans[dense]
                    ids: list[int] = []
                    for seq, (name, preds) in enumerate(ops):
                        pred_ids = [x for p in preds for x in (prev if p < 0 else [ids[p]])]
                        ids.append(dag.add(s.get(name), phase, step, stage, layer, j, pred_ids,
                                           pos=layer + seq / 100))
                    prev = [ids[k] for k in outputs]
                if stage == last_stage:
                    norm = dag.add(s.get("final_norm"), phase, step, stage, -1, j, prev, pos=model.layers + 0.1)
                    lm_head_of[(j, step)] = dag.add(s.get("lm_head"), phase, step, stage, -1, j, [norm],
                                                    pos=model.layers + 0.2)
                else:
                    send_tpl = s.get("send")
                    boundary = end_layer - 1 + 0.995
                    send = dag.add(send_tpl, phase, step, stage, -1, j, prev, pos=boundary)
                    # The recv is the same transfer, seen from the receiving stage.
                    recv = dag.add(s.get("recv"), phase, step, stage + 1, -1, j, prev, pos=boundary)
                    dag.tie(send, recv)
                    prev = [recv]
    return dag

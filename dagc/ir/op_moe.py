"""The figures of the MoE ops of a layer (SPEC 5, 6.5): the router, the EP dispatch and combine,
the routed experts with their glue kernels, the ETP reduce and the shared experts.

Input: the `Shapes` of one (phase, micro-batch shape, stage placement) and the op's `Recipe`.
Output: the op's `OpTemplate`. Tokens entering the expert domain are shared among the TP ranks
(each rank dispatches 1/tp of its attention group's tokens) unless the expert group is the TP
group (`experts_inside_tp`); the busiest EP rank gets the expected maximum of the routing.
Beside each figure function, its `_reads` (as in `dagc.ir.op_attention`).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import replace

import numpy as np

from ..kernels.series import moe_a2a
from ..layout.routing import expected_distinct_nodes, expected_distinct_ranks, routing_slots
from ..layout.shards import fused_moe_shape
from ..plan.model import DType, Model
from ..plan.params import ffn_params
from ..plan.workload import Workload
from .dag import Kernel, KernelClass, OpTemplate
from .op_shapes import AB, ALIGN_ROWS, REFERENCE, Projection, Recipe, Shapes, Work

__all__ = ["BOARD_GPUS", "combine", "dispatch", "dispatch_dtype", "gathers_tokens",
           "etp_reduce", "etp_reduce_lower", "expert_ffn", "expert_ffn_lower",
           "router", "shared_expert", "a2a_reads", "etp_reduce_reads", "expert_ffn_reads", "router_reads",
           "shared_expert_reads", "expert_ffn_distinct", "router_distinct", "shared_expert_distinct"]


# GPUs on one NVLink board (HGX/DGX): a larger NVLink domain is a multi-node one (GB200/GB300 NVL72: `gpus_per_node`
# 72 from the preset's `nvlink_domain`)
BOARD_GPUS = 8


def router(s: Shapes, r: Recipe) -> OpTemplate:
    m, d = s.m, s.d
    p = _router_params(s)
    act = s.u * (d.h + m.moe.experts) * AB
    kernels = (s.gemm("router_gemm", s.u, m.moe.experts, d.h, DType.BF16),
               s.memory_pass("softmax_topk", 4 * s.u * m.moe.experts, "router_topk"))
    count, per = router_distinct(s)
    return s.compute(r, Work(s.u, 2 * p * s.u, p * d.wb + act, act, count, per * count, s.u * m.moe.experts * AB),
                     kernels)



def router_reads(s: Shapes) -> Hashable:
    return s.u_key


def router_distinct(s: Shapes) -> tuple[float, float]:
    return s.T, 2 * _router_params(s)


def _router_params(s: Shapes) -> float:
    return s.d.h * s.m.moe.experts

def dispatch_dtype(m: Model, w: Workload) -> DType:
    """The EP dispatch payload's dtype: as written, else fp8 for 8-bit weights, else bf16."""
    if w.dispatch is not None:
        return w.dispatch
    return DType.FP8 if m.weights.is_8bit_or_less else DType.BF16


def _a2a(s: Shapes, r: Recipe, payload_bytes: float) -> OpTemplate:
    """An EP all-to-all: each token goes once to each EP rank holding one of its top-k experts (to
    every etp shard of it), in `payload_bytes` per value; across nodes once per destination node,
    then forwarded over NVLink (SPEC 6.5). The picks land on `routing_slots`: the experts, or the
    experts and the redundant slots when only those split evenly over ep. An engine that all-gathers
    the tokens instead (`gathers_tokens`) sends each to every EP rank and every node of the group."""
    lay, moe, d = s.lay, s.m.moe, s.d
    size = lay.ep * lay.etp
    slots = routing_slots(moe.experts, lay.redundant, lay.ep)
    gathered = gathers_tokens(s)
    ranks_hit = _ranks_hit(s)
    per_token = d.h * payload_bytes * lay.etp
    nbytes = s.u * ranks_hit * per_token
    nodes = s.nodes(size)
    network = None
    if nodes > 1:
        per_node = max(1, lay.ep // nodes)
        nodes_hit = float(nodes) if gathered else expected_distinct_nodes(moe.top_k, slots, lay.ep, per_node)
        network = s.u * nodes_hit * per_token
    tpl = s.comm(r, size, s.u * moe.top_k, nbytes, s.crosses(size))
    return replace(tpl, nodes=nodes, network_bytes=network)


def gathers_tokens(s: Shapes) -> bool:
    """Whether the EP exchange of `s` is an all-gather of the attention-DP ranks' tokens to every EP rank and a
    reduce-scatter of the outputs (`EngineTerms.ep_all_gather`: TensorRT-LLM's CUTLASS MoE), not an all-to-all to the
    ranks a token's experts are on: on attention-DP ranks, unless the EP group is larger than the top-k and spans a
    multi-node NVLink domain (an NVLink domain of more than `BOARD_GPUS` GPUs: GB200 and GB300 NVL72), where the
    engine's all-to-all runs."""
    lay = s.lay
    if s.engine is None or not s.engine.ep_all_gather or lay.adp <= 1:
        return False
    return not (lay.ep > s.m.moe.top_k and lay.gpus_per_node > BOARD_GPUS)


def _ranks_hit(s: Shapes) -> float:
    """The EP ranks a token is sent to: each one holding one of its top-k picks (expected), or every one where the
    engine all-gathers the tokens (`gathers_tokens`)."""
    lay, moe = s.lay, s.m.moe
    return float(lay.ep) if gathers_tokens(s) else \
        expected_distinct_ranks(moe.top_k, routing_slots(moe.experts, lay.redundant, lay.ep), lay.ep)


def dispatch(s: Shapes, r: Recipe) -> OpTemplate:
    return _a2a(s, r, dispatch_dtype(s.m, s.w).bytes)


def combine(s: Shapes, r: Recipe) -> OpTemplate:
    return _a2a(s, r, AB)                                 # combine stays bf16



def a2a_reads(s: Shapes) -> Hashable:
    """What `dispatch` and `combine` read."""
    lay = s.lay
    return s.u_key, lay.ep, lay.etp, routing_slots(s.m.moe.experts, lay.redundant, lay.ep), \
        s.placement_key(lay.ep * lay.etp), gathers_tokens(s)

def expert_ffn(s: Shapes, r: Recipe) -> OpTemplate:
    return _expert_ffn(s, r, *s.expert_tokens)


def expert_ffn_lower(s: Shapes, r: Recipe) -> OpTemplate:
    """`expert_ffn` with every rank of an EP group at the group's mean rows (`Shapes.expert_tokens_mean`:
    no routing statistics). Its kernels' shapes are nowhere above those of `expert_ffn`'s busiest
    rank, so priced by `dagc.cost.cost.template_lower_s` it bounds `expert_ffn`'s time from below."""
    return _expert_ffn(s, r, *s.expert_tokens_mean)


def _expert_ffn(s: Shapes, r: Recipe, e: np.ndarray, hit: np.ndarray) -> OpTemplate:
    """The routed experts' template with `e` assignments and `hit` experts hit per rank."""
    m, lay, d = s.m, s.lay, s.d
    per, held = lay.held.params, lay.held     # an expert's parameters on the rank, as its engine pads them
    act = e * (d.h + d.gate * m.moe.ffn / lay.etp) * AB
    assignments, per_assignment = expert_ffn_distinct(s)
    work = Work(e, 2 * per * e, hit * per * held.read_bytes_per_param + act, act, assignments,
                per_assignment * assignments, e * d.h * AB)
    kernels = _expert_kernels(s, e, hit)
    # As an engine runs it: one fused MoE layer, measured by the tokens entering the EP group routed evenly —
    # a rank taking e rows sees what e · ep / top_k such tokens give it (engine profiles price this instead);
    # a wide EP group across attention-DP ranks runs DeepEP's kernels where the profile measured them.
    shape = fused_moe_shape(m, lay.ep, lay.etp)
    dims = (shape.hidden, shape.inter, shape.topk, shape.experts, shape.tp, shape.ep)
    a2a = s.vec(float(moe_a2a(lay.ep, lay.etp, lay.adp)))
    fused = Kernel("fused_moe", KernelClass.FUSED_MOE, (s.vec(e * lay.ep / m.moe.top_k), *map(s.vec, dims), a2a),
                   shape.dtype, eager=s.eager)
    return s.compute(r, work, kernels, fused=fused)



def expert_ffn_reads(s: Shapes) -> Hashable:
    """What `expert_ffn` reads: its rows and routing, and the all-to-all its fused MoE kernel runs
    behind (DeepEP over a wide EP group across attention-DP ranks, `moe_a2a`)."""
    lay = s.lay
    return s.u_key, lay.ep, lay.etp, lay.redundant, lay.eplb, moe_a2a(lay.ep, lay.etp, lay.adp), lay.held


def expert_ffn_distinct(s: Shapes) -> tuple[float, float]:
    """The routed experts' token-expert assignments over the ranks, and the FLOPs of each."""
    m = s.m
    return s.T * m.moe.top_k, 2 * ffn_params(m, m.moe.ffn)

def expert_ffn_act_floor(s: Shapes) -> float:
    """A lower bound of the largest per-rank working set of `expert_ffn` (its `act_bytes`: the rows
    arriving and the ffn's output of each) that needs neither its kernels nor the routing's
    statistics: the busiest rank of an EP group takes at least the group's mean assignments (the
    ranks' factors average to one, `Shapes.expert_tokens`)."""
    origin = s.expert_origin
    if not origin.size:
        return 0.0
    mean = float(origin.max()) * s.m.moe.top_k / s.lay.ep
    return mean * (s.d.h + s.d.gate * s.m.moe.ffn / s.lay.etp) * AB


def _expert_kernels(s: Shapes, e: np.ndarray, hit: np.ndarray) -> tuple[Kernel, ...]:
    """The routed experts as engines run them: permute the arriving tokens' rows into expert order
    (`e` token-expert rows), the grouped gate·up GEMM over the `hit` experts with rows, the
    activation, the grouped down GEMM, and the un-permutation (scatter-add of the rows back into
    their tokens). Bytes follow the measured glue kernels (bench/calibration/measure_ops.py)."""
    m, d = s.m, s.d
    k = m.moe.top_k
    ffn_r = m.moe.ffn / s.lay.etp
    # the GEMMs run at the expert's dimensions as its engine holds them (vLLM pads mxfp4 experts' to its tiles)
    h_gemm, ffn_gemm = s.lay.held.hidden, s.lay.held.ffn
    arriving = e / k                                      # distinct tokens behind the rows, about
    tpe = np.divide(e, hit, out=np.zeros_like(e), where=hit > 0)
    up_n = (d.gate - 1) * ffn_gemm
    grouped = KernelClass.GROUPED_GEMM
    rows_padded = e + (m.moe.experts + s.lay.redundant) / s.lay.ep * (ALIGN_ROWS - 1)
    return (
        # one fused sort reads the assignments' expert ids and writes their sorted positions (4 B each): 8 of 40
        s.memory_pass("routing_index", 40 * e, "copy", REFERENCE["routing_index"], one_pass=0.2),
        s.memory_pass("zero_fill", AB * d.h * (rows_padded + arriving), "copy", REFERENCE["zero_fill"]),
        s.memory_pass("permute", AB * d.h * (arriving + 2 * e), "permute"),
        s.kernel("gate_up" if d.gate == 3 else "up", grouped, (hit, tpe, s.vec(h_gemm), s.vec(up_n)), m.expert_weights),
        s.memory_pass("activation", (6 if d.gate == 3 else 4) * e * ffn_r, "silu_mul"),
        s.kernel("down", grouped, (hit, tpe, s.vec(ffn_gemm), s.vec(h_gemm)), m.expert_weights),
        s.memory_pass("combine_weights", 4 * AB * d.h * e, "copy", REFERENCE["combine_weights"]),
        # a fused sum (vLLM's `moe_sum`) reads each row once and writes each token once: half the bytes
        s.memory_pass("unpermute", AB * d.h * (2 * e + 2 * arriving), "unpermute", one_pass=0.5),
        s.residual_add(arriving),
    )


def etp_reduce(s: Shapes, r: Recipe) -> OpTemplate:
    return _etp_reduce(s, r, s.expert_tokens[0])


def etp_reduce_lower(s: Shapes, r: Recipe) -> OpTemplate:
    """`etp_reduce` of `expert_ffn_lower`'s rows (`Shapes.expert_tokens_mean`: no routing statistics):
    nowhere more bytes than `etp_reduce`'s busiest rank, so no longer."""
    return _etp_reduce(s, r, s.expert_tokens_mean[0])


def _etp_reduce(s: Shapes, r: Recipe, e: np.ndarray) -> OpTemplate:
    """The etp shards' partial outputs summed: one row of the hidden size per token the rank holds, its top-k picks
    already weighed and summed on the rank (`expert_ffn`'s `combine_weights` and `unpermute`). A rank of `e` rows
    holds e · ranks hit / top-k tokens (each token it holds brings it top-k / ranks-hit picks on average: all of the
    group's tokens at ep 1). Until 2026-11-29 one row per pick, top-k / ranks-hit times the bytes."""
    lay, d = s.lay, s.d
    tokens = e * _ranks_hit(s) / s.m.moe.top_k
    return s.comm(r, lay.etp, tokens, tokens * d.h * AB, s.crosses(lay.etp), s.nodes(lay.etp))


def etp_reduce_reads(s: Shapes) -> Hashable:
    lay = s.lay
    return s.u_key, lay.ep, lay.etp, s.placement_key(lay.etp), \
        routing_slots(s.m.moe.experts, lay.redundant, lay.ep), gathers_tokens(s)

def shared_expert(s: Shapes, r: Recipe) -> OpTemplate:
    p, ffn_r = _shared_projection(s)
    return s.matmul(r, p, s.t, s.T, s.ffn_kernels(s.t, ffn_r, s.m.expert_weights), wb=s.d.ewb)


def _shared_projection(s: Shapes) -> tuple[Projection, float]:
    """The shared experts' weights and their intermediate columns per rank."""
    m, d = s.m, s.d
    full = m.moe.shared * ffn_params(m, m.moe.shared_ffn_size)
    ffn_r = m.moe.shared * m.moe.shared_ffn_size / d.tp
    return Projection(full / d.tp, full, d.h, d.gate * ffn_r), ffn_r


def shared_expert_reads(s: Shapes) -> Hashable:
    return s.t_key, s.d.tp


def shared_expert_distinct(s: Shapes) -> tuple[float, float]:
    return s.T, _shared_projection(s)[0].flops_per_row

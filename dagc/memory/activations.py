"""Activation working sets (SPEC 6.3): the largest inputs + outputs of any op on a rank, per stage.

Input: a `Model`, `Workload`, `Cluster` and `Layout`. Output: per stage, the largest working set
(2 bytes per value) of any op the DAG places on one of its ranks, from the op templates of the
catalogue (`dagc.ir.ops.OpShapes`, the shapes the DAG is built from, without building the DAG):
`activation_bytes_by_stage` for `check`, `stage_activation_bytes` with the search's own peaks;
`activation_bytes`, a first estimate for strategies too broken to have op shapes.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping

import numpy as np

from ..ir.dag import OpTemplate, Phase, StagePass, step_passes
from ..ir.ops import Layers, Op, OpShapes, model_layers
from ..layout.eplb import ExpertSplit, ep_nodes
from ..layout.layout import Layout
from ..layout.modes import mode_of
from ..layout.routing import busiest_rank_factor
from ..layout.shards import ACTIVATION_BYTES
from ..plan.cluster import Cluster
from ..plan.model import AttentionKind, Model
from ..plan.workload import Workload
from .resident import requests_per_rank

__all__ = ["activation_bytes", "activation_bytes_by_stage", "stage_activation_bytes", "shape_activation_peaks",
           "template_activation_peak"]


def activation_bytes(model: Model, workload: Workload, layout: Layout, stage: int) -> float:
    """Estimate: the largest inputs + outputs of one op for one prefill micro-batch on a rank of `stage`.

    Candidates: the qkv projection, a dense FFN, the routed experts (tokens that reach the
    rank: stage tokens·top_k/(ep·edp) times the routing imbalance) and the LM head (logits of
    the last token of each request). With `sp`, the hidden states are sharded by tp. In flight a
    step holds its token budget (`chunk`), or its decode tokens where they fill it (E307), not
    the micro-batch's whole prompts: the tokens are scaled down to that step's (`_step_share`).
    """
    h, tp = model.hidden, layout.tp
    mb = layout.microbatches
    reqs = requests_per_rank(workload, layout)
    share = _step_share(workload, math.ceil(reqs / mb))
    tokens = math.ceil(reqs / mb) * workload.prompt * share / layout.cp
    hidden_share = h / tp if layout.sp else h
    gate = 2 if model.moe.gated else 1
    if model.attention is AttentionKind.MLA and model.mla is not None:
        mla = model.mla
        qkv_out = model.heads / tp * (2 * (mla.qk_nope + mla.qk_rope) + mla.v_head)
    else:
        qkv_out = (model.heads / tp + 2 * layout.shards.kv_heads) * model.head_dim
    cands = [tokens * (hidden_share + qkv_out)]
    n_dense, n_moe, _ = layout.stage_counts[stage]
    if n_dense:
        cands.append(tokens * (hidden_share + gate * model.moe.dense_ffn / tp))
    if n_moe > 0:
        stage_tokens = layout.busiest_microbatch_requests * workload.prompt * share
        moe = model.moe
        split = ExpertSplit(moe.experts, layout.ep, layout.redundant,
                            ep_nodes(layout.ep, layout.etp, layout.gpus_per_node), layout.eplb, moe.groups)
        factor = busiest_rank_factor(workload.routing, stage_tokens / layout.edp, moe.top_k, split)
        expert_tokens = stage_tokens * moe.top_k / (layout.ep * layout.edp) * factor
        cands.append(expert_tokens * (h + gate * model.moe.ffn / layout.etp))
        if model.moe.shared:
            cands.append(tokens * (hidden_share + gate * model.moe.shared * model.moe.shared_ffn_size / tp))
    if stage == layout.pp - 1:
        cands.append(math.ceil(reqs / mb) * (h + model.vocab / tp))
    return max(cands) * ACTIVATION_BYTES


def _step_share(workload: Workload, requests: int) -> float:
    """The share of a micro-batch's prompt tokens (`requests` prompts on a rank) that one step holds: 1 for a
    static batch's prefill; in flight its token budget's, or its decode tokens' where they fill the budget.

    Example:
        >>> w = Workload(batch=256, prompt=4000, generate=500, serving="inflight", chunk=256)
        >>> _step_share(w, 256) * 256 * 4000         # the step's 256 decode tokens, not 1,024,000 prompt ones
        256.0
    """
    whole = requests * workload.prompt
    if not mode_of(workload).continuous or whole <= 0:
        return 1.0
    return min(whole, max(workload.chunk_tokens, requests * workload.step_positions)) / whole


Peaks = Callable[[Phase, tuple[float, ...], int], Mapping[str, float]]


def template_activation_peak(template: OpTemplate) -> float:
    """The largest per-rank working set (`act_bytes`) of one op template."""
    act = template.act_bytes
    if type(act) is np.ndarray:          # a per-rank vector (the usual case): its largest, reduced directly
        return float(np.maximum.reduce(act, axis=None)) if act.size else 0.0
    return float(np.max(act)) if np.size(act) else 0.0


def shape_activation_peaks(shapes: OpShapes, layers: Layers, peak: Callable[[Op], float] | None = None
                           ) -> dict[str, float]:
    """The largest per-rank `act_bytes` of the ops of one `dagc.ir.ops.OpShapes` (a phase, a
    micro-batch's requests, a stage placement), by where the DAG places them: `embed` (first
    stage), `dense` / `moe` (a layer of each kind), `head` (final norm and LM head, last stage),
    `boundary` (the send of a stage and the recv of the next: the same transfer).

    `layers` are the ops of each kind of layer the model has (`dagc.ir.ops.model_layers`, made once for
    the layout). `peak(op)` gives the peak of the shape's template of `op` (the search's timer passes its
    own, which times the op too); by default templates are made one at a time and not kept,
    so a large stage group holds one op's per-rank vectors at a time.
    """

    if peak is None:
        def peak(op: Op) -> float:
            return template_activation_peak(shapes.make(op))

    out = {"embed": peak(Op.EMBED), "head": max(peak(Op.FINAL_NORM), peak(Op.LM_HEAD)), "boundary": peak(Op.SEND)}
    for dense in (True, False):           # a kind of layer the model does not have holds nothing
        ops = layers.get(dense, ())
        out["dense" if dense else "moe"] = max((peak(op) for op in dict.fromkeys(lop.op for lop in ops)), default=0.0)
    return out


def stage_activation_bytes(model: Model, workload: Workload, layout: Layout, peaks: Peaks) -> dict[int, float]:
    """Per stage, the largest working set of any op the DAG places on one of its ranks.

    `peaks(phase, requests, stage)` gives `shape_activation_peaks` of that stage's shape for
    a micro-batch with those requests (per attention-DP group). This is exactly
    `Dag.activation_bytes_by_stage()` of the built DAG: the same templates, the same ops per
    stage (embed on the first, the layers of the stage, final norm and LM head on the last, a
    send before and a recv after each boundary), every phase of the DAG (prefill and decode; in
    flight decode and the mixed step, so one step's working sets: the chunk and the decode
    tokens, not a whole batch's prefill), every micro-batch.

    The working sets of an op do not depend on where its stage sits (only its node crossings
    do), so stages that hold the same kinds of ops share one figure: it is computed once per
    distinct kind of stage (dense layers, MoE layers, first, last), not once per stage.
    """
    rows = layout.distinct_request_rows()
    phases = tuple(dict.fromkeys(phase for phase, _ in step_passes(workload)))
    last = layout.pp - 1
    by_groups: dict[tuple[str, ...], float] = {}
    out: dict[int, float] = {}
    for stage, (n_dense, n_moe, _) in enumerate(layout.stage_counts):
        groups = tuple(g for g, present in (("dense", n_dense > 0), ("moe", n_moe > 0),
                                            ("embed", stage == 0), ("head", stage == last),
                                            ("boundary", layout.pp > 1)) if present)
        best = by_groups.get(groups)
        if best is None:
            best = 0.0
            for phase in phases:
                # a mixed step's chunk rides in its first micro-batch (rows[0]); the others decode
                for req in rows[:1] if phase is Phase.MIXED else rows:
                    p = peaks(phase, req, stage)
                    best = max(best, *(p[g] for g in groups)) if groups else best
            by_groups[groups] = best
        out[stage] = best
    return out


def activation_bytes_by_stage(model: Model, workload: Workload, cluster: Cluster, layout: Layout) -> dict[int, float]:
    """The DAG's activation working set per stage, from the builder's op shapes (no DAG built).

    Only for strategies whose structure is sound (the rules found no error other than E401/E402).
    The steps are the cluster's engine's: a decode or mixed step padded to its CUDA graph holds the
    padded tokens' working sets, as the built DAG's templates do. They read neither the workload's traffic
    nor the engine's priced terms (`EngineTerms.unpriced`): the last `KEEP_ACTIVATIONS` are kept, which a
    calibration's simulations of one run, one a set of terms, share.
    """
    key = (model, workload.model_copy(update={"traffic": None}), cluster.engine.terms.unpriced(), *layout.timing_key)
    kept = _ACTIVATIONS.get(key)
    if kept is None:
        kept = _ACTIVATIONS[key] = _activation_bytes_by_stage(model, workload, cluster, layout)
        while len(_ACTIVATIONS) > KEEP_ACTIVATIONS:
            _ACTIVATIONS.popitem(last=False)
    _ACTIVATIONS.move_to_end(key)
    return dict(kept)


KEEP_ACTIVATIONS = 256      # `activation_bytes_by_stage` of this many strategies' workloads kept
_ACTIVATIONS: OrderedDict[Hashable, dict[int, float]] = OrderedDict()


def _activation_bytes_by_stage(model: Model, workload: Workload, cluster: Cluster, layout: Layout) -> dict[int, float]:
    d, layers = layout.dims, model_layers(layout, model)
    cache: dict[tuple[Phase, tuple[float, ...]], dict[str, float]] = {}

    def peaks(phase: Phase, req: tuple[float, ...], stage: int) -> dict[str, float]:
        # The stage only places the ops (node crossings); their working sets are the same on every stage.
        key = (phase, req)
        if key not in cache:
            shapes = OpShapes(model, workload, layout, d, StagePass(phase, np.array(req), stage),
                              engine=cluster.engine.terms)
            cache[key] = shape_activation_peaks(shapes, layers)
        return cache[key]

    return stage_activation_bytes(model, workload, layout, peaks)

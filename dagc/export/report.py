"""The report object of SPEC 8 (report.json, and `dagc check --format json`).

Input: a `StrategyResult`. Output: a dict of plain JSON types with the stable keys of
SPEC 8; metrics not computed are None (null), never invented. Extra keys (`layout`,
`memory.stages`, `memory.model`, `assumptions`) carry the placement evidence, the model's
memory in total and the figures the estimates rest on; report.md shows the same dicts.
"""

from __future__ import annotations

from typing import Any

from ..cost.cost_model import cost_basis
from ..ir.op_moe import dispatch_dtype
from ..layout.layout import Layout
from ..layout.modes import mode_of
from ..layout.speculative import draft_kv_bytes_per_token
from ..memory.draft import WEIGHT_FIELDS, draft_bytes, draft_stage_bytes
from ..memory.memory import MemoryBreakdown, StageMemory
from ..memory.resident import kv_cache_bytes_per_request, kv_cache_bytes_per_token, request_kv_bytes
from ..plan.model import Model
from ..plan.params import active_params, bytes_per_param, params_by_category, total_params, weight_bytes
from ..plan.plan import Plan
from ..verdict.bands import bands_of
from ..verdict.check import StrategyResult
from .optimal_words import evidence_json
from .result_json import (
    bands_json,
    load_json,
    metrics_json,
    next_step_json,
    odds_json,
    requirement_json,
    serving_json,
    verdict_json,
)
from .techniques import eplb_json, speculative_json, strategy_cost

__all__ = ["load_of", "metrics_of", "pools_json", "report_json", "METRIC_KEYS", "REPORT_VERSION", "memory_totals",
           "assumptions", "fp4_compute", "WEIGHT_CATEGORIES"]

REPORT_VERSION = 1
METRIC_KEYS = ("ttft_s", "tpot_s", "prefill_tokens_per_s", "decode_tokens_per_s", "throughput_tokens_per_s")


def _stage_json(s: StageMemory) -> dict[str, Any]:
    return {
        "stage": s.stage, "layers": [s.layers[0], s.layers[1] - 1] if s.layers[1] > s.layers[0] else [],
        "weights_bytes": s.weights_bytes, "kv_cache_bytes": s.kv_cache_bytes,
        "activation_bytes": s.activation_bytes, "reserve_bytes": s.reserve_bytes, "total_bytes": s.total_bytes,
        "weights": {"attention": s.attention_bytes, "routed_experts": s.routed_expert_bytes,
                    "shared_experts": s.shared_expert_bytes, "dense_ffn": s.dense_ffn_bytes,
                    "norms_and_routers": s.replicated_bytes, "embedding": s.embedding_bytes,
                    "lm_head": s.lm_head_bytes},
    }


# The categories of the model's weights in memory: name → (keys of `params_by_category`, the
# `StageMemory` fields that hold them). The embedding and the LM head are one category: a tied
# model's LM head is the embedding, held again by the last stage.
WEIGHT_CATEGORIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "attention": (("attention",), ("attention_bytes",)),
    "routed_experts": (("routed_experts",), ("routed_expert_bytes",)),
    "shared_experts": (("shared_experts",), ("shared_expert_bytes",)),
    "dense_ffn": (("dense_ffn",), ("dense_ffn_bytes",)),
    "embedding_and_lm_head": (("embedding", "lm_head"), ("embedding_bytes", "lm_head_bytes")),
    "norms_and_routers": (("norms_and_routers",), ("replicated_bytes",)),
}


def memory_totals(result: StrategyResult) -> dict[str, Any] | None:
    """The model's memory in total and what the strategy holds of it over all its GPUs.

    Per weight category: the model's parameters and bytes (parameters × bytes per parameter),
    the bytes summed over every used rank and `copies` (that sum over the model's bytes: how
    many times the strategy holds the category). KV cache: per token and per request of the
    whole model, for the batch, and summed over the ranks. A speculative draft's layer (MTP, EAGLE) is none of the
    model's: `draft` holds its weights and its KV cache (null without one), the categories and `kv_cache` the
    model's alone — until 2026-11-30 they held the draft's too, so DeepSeek-V3's MTP layer read as 1.02 copies of
    the routed experts. None without a memory breakdown.
    """
    mem, plan = result.memory, result.plan
    if mem is None:
        return None
    m, w = plan.model, plan.workload
    params = params_by_category(m)
    draft = _draft_held(result)
    cats = []
    for name, (keys, fields) in WEIGHT_CATEGORIES.items():
        n = sum(params[k] for k in keys)
        held = float(sum(mem.per_rank(f).sum() for f in fields)) - (draft["held"][name] if draft else 0.0)
        if n == 0 and held == 0:
            continue
        nbytes = sum(params[k] * bytes_per_param(m, k) for k in keys)
        cats.append({"category": name, "params": n, "bytes": nbytes, "all_ranks_bytes": held,
                     "copies": held / nbytes if n else None})
    held_total = float(mem.per_rank("weights_bytes").sum()) - (draft["all_ranks_bytes"] if draft else 0.0)
    ctx = w.prompt + w.generate
    per_request = kv_cache_bytes_per_request(m, ctx)
    kv_all = float(mem.per_rank("kv_cache_bytes").sum())
    kv_held = kv_all * _model_kv_share(m, ctx, mem.layout) if draft else kv_all
    if draft:
        draft["kv_all_ranks_bytes"] = kv_all - kv_held
        del draft["held"]
    return {
        "bytes_per_param": m.weights.bytes, "ranks": int(mem.per_rank().size), "categories": cats,
        "expert_bytes_per_param": m.expert_weights.bytes,
        "weights": {"params": sum(params.values()), "bytes": weight_bytes(m), "all_ranks_bytes": held_total,
                    "copies": held_total / weight_bytes(m)},
        "kv_cache": {"bytes_per_token": kv_cache_bytes_per_token(m), "bytes_per_request": per_request,
                     "batch_bytes": per_request * w.batch, "all_ranks_bytes": kv_held,
                     "copies": kv_held / (per_request * w.batch) if per_request else None},
        "draft": draft,
    }


def _model_kv_share(m: Model, ctx: int, lay: Layout) -> float:
    """Of a request's KV cache on the layout's ranks, the model's layers' share (the rest the draft layer's, at its
    own KV bytes a token: an EAGLE draft's attention is its own, `dagc.layout.speculative.draft_kv_bytes_per_token`)."""
    per_token = lay.shards.kv_bytes_per_token
    model_kv = request_kv_bytes(m, ctx, per_token)
    return model_kv / request_kv_bytes(m, ctx, per_token, draft_kv_bytes_per_token(m, lay.draft, lay.tp))


def _draft_held(result: StrategyResult) -> dict[str, Any] | None:
    """The speculative draft's layer (`dagc.memory.draft`): its method, its bytes as one copy, what all the ranks hold
    of it and its copies, and `held`, that by weight category; None without one."""
    mem, m = result.memory, result.plan.model
    spec = result.plan.workload.speculative
    assert mem is not None
    by_stage, whole = draft_stage_bytes(m, mem.layout), draft_bytes(m, mem.layout)
    if by_stage is None or whole is None or spec is None:
        return None
    stages = mem.layout.coords["stage"]
    per_field = {f: float(sum(by_stage[int(s)][f] for s in stages)) for f in WEIGHT_FIELDS}
    held = {name: sum(per_field[f] for f in fields) for name, (_, fields) in WEIGHT_CATEGORIES.items()}
    experts = ("routed_expert_bytes", "shared_expert_bytes")
    n = sum(b / (m.expert_weights if f in experts else m.weights).bytes for f, b in whole.items())
    nbytes, total = sum(whole.values()), sum(per_field.values())
    return {"method": spec.method, "params": round(n), "bytes": nbytes, "all_ranks_bytes": total,
            "copies": total / nbytes if nbytes else None, "held": held}


def assumptions(plan: Plan, microbatches: int | None) -> dict[str, Any]:
    """What the time and memory figures rest on besides the cost model (`cost_basis`): the GPU's
    peaks, how fp4 weights are computed, the interconnect, the per-GPU reserve, the serving engine and
    how tokens are routed and dispatched."""
    c, w, gpu = plan.cluster, plan.workload, plan.cluster.gpu
    return {
        "gpu": {"name": gpu.name, "memory_bytes": gpu.memory_bytes, "flops_16bit": gpu.flops_16bit,
                "flops_8bit": gpu.flops_8bit, "flops_4bit": gpu.flops_4bit, "hbm_bytes_per_s": gpu.hbm_bytes_per_s},
        "fp4": fp4_compute(plan),
        "gpus_per_node": c.gpus_per_node,
        "intra_node_bytes_per_s": c.intra_node_bytes_per_s, "inter_node_bytes_per_s": c.inter_node_bytes_per_s,
        "intra_node_latency_s": c.latency.intra_s, "inter_node_latency_s": c.latency.inter_s,
        "reserve_bytes": c.reserve_bytes,
        "engine": {"name": c.engine.name, "release": c.engine.release, "frontend_s": c.engine.terms.frontend_s,
                   "ingest_s": c.engine.terms.ingest_s,  # the front end's per request, queued (docs/load.md)
                   "step_s": c.engine.terms.step_s,      # both the calibration's with `calibration from "FILE"`
                   "step_request_s": c.engine.terms.step_request_s, "layer_s": c.engine.terms.layer_s,
                   "compute_time_scale": c.engine.terms.compute_time_scale,     # 1 but a calibration's
                   "memory_time_scale": c.engine.terms.memory_time_scale,
                   "kv_cache_share": c.engine.terms.kv_cache_share,        # 1 but a calibration's
                   "calibration": plan.calibration.file if plan.calibration is not None else None},
        "routing": "measured" if w.expert_load else "random" if w.routing_imbalance is None else "imbalance",
        "routing_imbalance": w.routing_imbalance,
        "dispatch": dispatch_dtype(plan.model, w).value if plan.model.has_experts else None,
        "overlap": w.overlap.value, "microbatches": microbatches,
    }


def fp4_compute(plan: Plan) -> dict[str, Any] | None:
    """How the model's fp4 weights (nvfp4, mxfp4) are computed, None when it has none: on the GPU's
    fp4 tensor cores at its fp4 peak, or weight-only — dequantised to bf16 and multiplied at the
    16-bit peak, their bytes still 4-bit (SPEC 12; `dagc.plan.cluster.peak_flops`)."""
    m, gpu = plan.model, plan.cluster.gpu
    fp4 = [d for d in (m.weights, m.expert_weights) if d.is_fp4]
    if not fp4:
        return None
    return {"dtypes": sorted({d.value for d in fp4}), "compute": "fp4" if gpu.flops_4bit else "weight-only",
            "peak_flops": gpu.peak_flops(fp4[0])}


def _layout_json(result: StrategyResult) -> dict[str, Any] | None:
    lay = result.layout
    if lay is None:
        return None
    return {
        "dp": lay.dp, "pp": lay.pp, "tp": lay.tp, "cp": lay.cp, "sp": lay.sp, "ep": lay.ep, "etp": lay.etp,
        "stage_group": lay.group_size, "attention_dp": lay.adp, "expert_dp": lay.edp,
        "microbatches": lay.microbatches, "experts_per_gpu": lay.experts_per_ep_rank,
        "stages": [
            {"stage": s, "layers": [a, b - 1] if b > a else [],
             "ranks": [lay.stage_ranks(0, s).start, lay.stage_ranks(0, s).stop - 1]}
            for s, (a, b) in enumerate(lay.stage_layers)
        ],
    }


def _workload_json(plan: Plan, lay: Layout | None) -> dict[str, Any]:
    """The workload the figures are for: with `batch = max`, the batch chosen for this strategy and
    what one more request would break."""
    w = plan.workload
    chosen = not w.batch_max or w.batch_note is not None        # batch = max chose none for a wrong strategy
    return {"batch": w.batch if chosen else None, "batch_max": w.batch_max,
            "batch_breaks": w.batch_breaks if w.batch_max else None, "prompt": w.prompt, "generate": w.generate,
            "microbatches": lay.microbatches if lay else w.microbatches, "overlap": w.overlap.value,
            "serving": w.serving.value, "chunk": w.chunk_tokens if mode_of(w).continuous else None}


def _max_rank(mem: MemoryBreakdown) -> dict[str, Any]:
    """report.json's `max_rank` of a memory breakdown: the fullest rank and what it holds (SPEC 8)."""
    w = mem.worst
    return {"rank": mem.worst_rank(), "weights_bytes": w.weights_bytes, "kv_cache_bytes": w.kv_cache_bytes,
            "activation_bytes": w.activation_bytes, "reserve_bytes": w.reserve_bytes, "total_bytes": w.total_bytes}


def pools_json(result: StrategyResult) -> dict[str, Any]:
    """report.json's `serving` of a disaggregated strategy (docs/outputs.md): its pools, each with its
    instances, strategy, GPUs, requests and capacity per instance and its memory by stage."""
    pooled, w = result.pooled, result.plan.workload
    assert pooled is not None
    f = pooled.figures
    pools = []
    for p in pooled.pools:
        mem = p.analysis.memory
        pools.append({"role": p.pool.role, "instances": p.pool.instances, "strategy": p.pool.strategy.text,
                      "gpus_per_instance": p.gpus_per_instance, "batch_per_instance": p.batch_per_instance,
                      "running_per_instance": p.running_per_instance,
                      "capacity_requests_per_s": f.capacity[p.pool.role] if f else None,
                      "memory": {"capacity_bytes": mem.worst.capacity_bytes, "reserve_bytes": mem.worst.reserve_bytes,
                                 "max_rank": _max_rank(mem), "max_rank_bytes": mem.worst.total_bytes,
                                 "fraction": mem.worst.fraction, "stages": [_stage_json(s) for s in mem.stages]}
                      if mem is not None else None})
    # the keys `serving` holds in every mode, null where a disaggregated strategy has no such figure (each pool's
    # instance serves one phase: no mixed step, no one attention-DP group or sustainable batch of the whole)
    return {"mode": "disaggregated", "chunk": w.chunk_tokens, "chunked_prefill": None, "requests_per_rank": None,
            "chunk_prompt_tokens": None,
            "mixed_step_share": None, "mixed_step_share_group": None, "attention_dp_group": None,
            "first_token_steps": None, "sustainable_batch": None, "keeps_up": None,
            "prefill_batch": pooled.pools[0].batch_per_instance
            if pooled.pools else None, "kv_transfer": w.kv_transfer,
            "kv_bytes_per_request": pooled.kv_bytes_per_request, "kv_transfer_s": f.transfer_s if f else None,
            "binding_pool": f.binding_pool if f else None,
            "balance": {"prefill": f.balance[0], "decode": f.balance[1]} if f else None,
            "served_requests_per_s": f.served_requests_per_s if f else None, "pools": pools}


def load_of(result: StrategyResult) -> dict[str, Any] | None:
    """report.json's `load`: the workload's traffic simulated through the strategy and its capacity
    (`dagc.verdict.under_load`), None without traffic or for a strategy that was not simulated."""
    return load_json(result.load) if result.load is not None else None


def metrics_of(result: StrategyResult) -> dict[str, Any]:
    """report.json's `metrics` but the keys every report has (`METRIC_KEYS`): the steady state's figures that
    were computed ({} when none were)."""
    return metrics_json(result.metrics) if result.metrics is not None else {}


def report_json(result: StrategyResult) -> dict[str, Any]:
    """The report.json object of one strategy.

    Example:
        >>> from dagc.verdict.check import load_plan_text, check
        >>> plan = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                       'workload { batch = 8 prompt = 512 generate = 64 } strategy tp 8')
        >>> r = report_json(check(plan)[0])
        >>> r["gpus"], r["verdict"]["correct"]
        ({'used': 8, 'available': 8}, True)
    """
    plan, lay, mem = result.plan, result.layout, result.memory
    metrics = metrics_of(result)
    banded = bands_of(result)       # each figure's error band and each requirement's odds (docs/bands.md)
    max_rank = _max_rank(mem) if mem is not None else None
    return {
        "version": REPORT_VERSION,
        "plan": plan.name,
        "overrides": list(plan.overrides),
        "strategy": result.decl.text if result.decl.name is None else f"{result.decl.name} = {result.decl.text}",
        "strategy_name": result.decl.name,
        "valid": result.valid,
        "gpus": {"used": result.gpus_used, "available": plan.cluster.gpus},
        "workload": _workload_json(plan, lay),
        "model": {"name": plan.model.name, "params_total": total_params(plan.model),
                  "params_active": active_params(plan.model)},
        "memory": {
            "capacity_bytes": plan.cluster.gpu.memory_bytes,
            "reserve_bytes": plan.cluster.reserve_bytes,
            "max_rank": max_rank,
            "stages": [_stage_json(s) for s in mem.stages] if mem else [],
            "model": memory_totals(result),
        },
        "metrics": {**{k: metrics.get(k) for k in METRIC_KEYS}, **metrics},
        "metrics_at_requests": result.figures_requests,
        "serving": pools_json(result) if result.pooled is not None else serving_json(*result.running),
        "speculative": speculative_json(result),
        "eplb": eplb_json(result),
        "load": load_of(result),
        "cost": strategy_cost(result),
        "next_steps": [next_step_json(s) for s in result.next_steps],
        "cost_model": cost_basis(plan.cluster),
        "assumptions": assumptions(plan, lay.microbatches if lay else None),
        "bands": bands_json(banded),
        "requirements": [{**requirement_json(r, result.valid), **odds_json(o)}
                         for r, o in zip(result.requirements, banded.requirements, strict=True)],
        "diagnostics": [d.to_json() for d in result.diagnostics],
        "verdict": {**verdict_json(result.verdict), "optimal_evidence": evidence_json(result.optimality, result)},
        "layout": _layout_json(result),
    }

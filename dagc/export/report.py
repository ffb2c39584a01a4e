"""The report object of SPEC 8 (report.json, and `dagc check --format json`).

Input: a `StrategyResult`. Output: a dict of plain JSON types with the stable keys of
SPEC 8; metrics not computed are None (null), never invented. Extra keys (`layout`,
`memory.stages`) carry the placement evidence.
"""

from __future__ import annotations

from ..check import StrategyResult
from ..cost import cost_basis
from ..params import active_params, total_params

__all__ = ["report_json", "METRIC_KEYS", "REPORT_VERSION"]

REPORT_VERSION = 1
METRIC_KEYS = ("ttft_s", "tpot_s", "prefill_tokens_per_s", "decode_tokens_per_s", "throughput_tokens_per_s")


def _stage_json(s) -> dict:
    return {
        "stage": s.stage, "layers": [s.layers[0], s.layers[1] - 1] if s.layers[1] > s.layers[0] else [],
        "weights_bytes": s.weights_bytes, "kv_cache_bytes": s.kv_cache_bytes,
        "activation_bytes": s.activation_bytes, "reserve_bytes": s.reserve_bytes, "total_bytes": s.total_bytes,
        "weights": {"attention": s.attention_bytes, "routed_experts": s.routed_expert_bytes,
                    "shared_experts": s.shared_expert_bytes, "dense_ffn": s.dense_ffn_bytes,
                    "norms_and_routers": s.replicated_bytes, "embedding": s.embedding_bytes,
                    "lm_head": s.lm_head_bytes},
    }


def _layout_json(result: StrategyResult) -> dict | None:
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


def report_json(result: StrategyResult) -> dict:
    """The report.json object of one strategy.

    Example:
        >>> from dagc.check import load_plan_text, check
        >>> plan = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                       'workload { batch = 8 prompt = 512 generate = 64 } strategy tp 8')
        >>> r = report_json(check(plan)[0])
        >>> r["gpus"], r["verdict"]["correct"]
        ({'used': 8, 'available': 8}, True)
    """
    plan, lay, mem = result.plan, result.layout, result.memory
    metrics = result.metrics or {}
    max_rank = None
    if mem is not None:
        w = mem.worst
        max_rank = {"rank": mem.worst_rank(), "weights_bytes": w.weights_bytes, "kv_cache_bytes": w.kv_cache_bytes,
                    "activation_bytes": w.activation_bytes, "reserve_bytes": w.reserve_bytes,
                    "total_bytes": w.total_bytes}
    return {
        "version": REPORT_VERSION,
        "plan": plan.name,
        "strategy": result.decl.text if result.decl.name is None else f"{result.decl.name} = {result.decl.text}",
        "strategy_name": result.decl.name,
        "valid": result.valid,
        "gpus": {"used": lay.gpus_used if lay else None, "available": plan.cluster.gpus},
        "model": {"name": plan.model.name, "params_total": total_params(plan.model),
                  "params_active": active_params(plan.model)},
        "memory": {
            "capacity_bytes": plan.cluster.gpu.memory_bytes,
            "reserve_bytes": plan.cluster.reserve_bytes,
            "max_rank": max_rank,
            "stages": [_stage_json(s) for s in mem.stages] if mem else [],
        },
        "metrics": {**{k: metrics.get(k) for k in METRIC_KEYS}, **metrics},
        "cost_model": cost_basis(plan.cluster),
        "requirements": [r.to_json() for r in result.requirements],
        "diagnostics": [d.to_json() for d in result.diagnostics],
        "verdict": {**result.verdict.to_json(), "optimal_evidence": result.optimality},
        "layout": _layout_json(result),
    }

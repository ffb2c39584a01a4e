"""A strategy's results as JSON: the parts of report.json made of the verdict's, the serving's and the schedule's
typed values.

Input: the typed results of the stages below — a `dagc.verdict.verdict.Verdict` and its `RequirementResult`s, a
`dagc.verdict.check.NextStep`, a `dagc.verdict.optimal.OptimalEvidence`, a `dagc.verdict.bands.Bands` (its `Band`s,
its `Odds`), a `dagc.verdict.steady.SteadyMetrics` (its critical paths, `dagc.schedule.schedule.PathBreakdown`),
a `dagc.verdict.under_load.UnderLoad` (its `dagc.serve.load_figures.LoadFigures` and `dagc.serve.binding.Binding`)
and a workload's serving (`serving_json`). Output: JSON data in report.json's key order (docs/outputs.md). With
`dagc.export.search_json` (a search's rows) and `dagc.export.fleet_json` (a fleet's), the only place results
become JSON; a diagnostic's is its own (`dagc.diagnostics.Diagnostic.to_json`, the public API's).
"""

from __future__ import annotations

import math
from dataclasses import fields
from typing import TypedDict

from ..layout.layout import Layout
from ..layout.mix import shares
from ..layout.modes import mode_of
from ..plan.workload import Workload
from ..schedule.schedule import PathBreakdown
from ..search.rejections import rule_title
from ..serve.binding import Binding
from ..serve.load_figures import LoadFigures, Percentiles
from ..serve.load_result import QueueGrowth
from ..verdict.bands import Band, BandJson, Bands, Odds
from ..verdict.check import NextStep
from ..verdict.optimal import ObjectivePick, OptimalEvidence
from ..verdict.searched import Rejection
from ..verdict.steady import SteadyMetrics
from ..verdict.under_load import UnderLoad
from ..verdict.verdict import ERRORS_UNMET, RequirementResult, Verdict

__all__ = ["ServingJson", "band_json", "bands_json", "binding_json", "evidence_of", "load_figures_json", "load_json",
           "metrics_json", "next_step_json", "odds_json", "path_json", "percentiles_json", "rejection_json",
           "requirement_json", "serving_json", "verdict_json"]


def verdict_json(v: Verdict) -> dict[str, bool | None]:
    """report.json's `verdict` but its `optimal_evidence`."""
    return {"correct": v.correct, "meets_requirements": v.meets_requirements, "optimal": v.optimal}


def requirement_json(q: RequirementResult, correct: bool = True) -> dict[str, object]:
    """report.json's entry of a requirement; for a strategy with errors (`correct` false) `met` false whatever the
    figure, as `met_text` and the verdict say: what cannot be deployed meets nothing (`not_met_because` says so)."""
    r = q.requirement
    met, because = (q.met, q.unmet) if correct else (False, ERRORS_UNMET)
    return {"name": r.name, "op": r.op, "target": r.target,
            "value": q.value, "met": met, "judged_on": q.judged_on, "load_value": q.load_value,
            "not_met_because": because}


def next_step_json(s: NextStep) -> dict[str, object]:
    """report.json's entry of `next_steps`."""
    return {"kind": s.kind, "change": s.change, "options": list(s.options), "meets": s.meets,
            "missed": list(s.missed), **s.figures,
            **({"load_figures": dict(s.load_figures)} if s.load_figures else {}),
            **({"short_of_traffic": s.short_of_traffic} if s.short_of_traffic else {}),
            **({"not_judged": list(s.not_judged)} if s.not_judged else {}),
            **({"missed_figures": dict(s.missed_figures)} if s.missed_figures else {})}


def evidence_of(e: OptimalEvidence, note: str) -> dict[str, object]:
    """report.json's `optimal_evidence`, with `note`, the evidence in words (`dagc.export.optimal_words`). Its keys
    are the same whatever the verdict, null (or empty) where a figure does not apply: no best candidate, no factor
    (an optimal strategy), no engine that refuses the best (until 2026-12-03 they were left out, and a script's
    `d["factor"]` raised where jq read null)."""
    b, st = e.best, e.startable
    out: dict[str, object] = {
        "objective": e.objective if b is not None else None, "best_strategy": b.text if b else None,
        "best_score": b.score if b else None, "best_gpus": b.gpus if b else None,
        "best_microbatches": b.microbatches if b else None, "best_overlap": b.overlap if b else None,
        "best_batch": b.batch if b else None, "best_batch_breaks": b.batch_breaks if b else None,
        "best_meets_requirements": b.meets_requirements if b else None, "best_judged": b.judged if b else None,
        "best_load_requirements_missed": list(b.load_missed) if b else [],
        "own_score": e.own_score if b else None, "tolerance": e.tolerance if b else None,
        "evaluated": e.evaluated, "total": e.total, "complete": e.complete,
        "best_figures": e.best_figures if b else None, "own_figures": e.own_figures if b else None,
        "factor": e.factor if b else None, "error_band_ratio": e.error_band_ratio if b and e.factor is not None
        else None, "within_error": e.within_error if b and e.factor is not None else None,
        "best_engine_refusals": list(e.best_refused) if b else [],
        "best_startable": None if b is None or not e.best_refused or st is None else {
            "strategy": st.text, "batch": st.batch, "meets_requirements": st.meets_requirements,
            "figures": e.startable_figures},
        "rejected_by": [rejection_json(r) for r in e.rejected_by] if b is None else [],
        "note": note}
    if e.by_objective is not None:
        out["by_objective"] = {o: None if p is None else objective_pick_json(p) for o, p in e.by_objective.items()}
    return out


def rejection_json(r: Rejection) -> dict[str, object]:
    """One rule's share of a search's rejected candidates (`verdict.optimal_evidence.rejected_by[]`, and `dagc search
    --format json`'s `rejected_by[]`): its code and title, how many it rejected, its first and, once checked, the
    rule's message and hint for that one."""
    return {"code": r.code, "title": rule_title(r.code), "candidates": r.candidates, "example": r.example,
            "message": r.message, "hint": r.hint}


def objective_pick_json(p: ObjectivePick) -> dict[str, object]:
    """One objective's pick in report.json's `by_objective`: its strategy, requirements and figures, flat."""
    return {"strategy": p.strategy, "meets_requirements": p.meets_requirements, "judged": p.judged,
            "load_requirements_missed": list(p.load_missed), "batch": p.batch,
            "concurrency_effective": p.concurrency_effective, **p.figures}


def band_json(b: Band) -> BandJson:
    """report.json's `bands` of one figure."""
    out: BandJson = {"low": b.low, "high": b.high, "confidence": b.confidence, "regime": b.regime,
                     "runs": b.runs, "note": b.note}
    if b.bound is not None:
        out |= {"bound": b.bound, "share_of_bound": b.value / b.bound, "past_bound": b.past_bound}
    if b.clamped is not None:
        out["clamped"] = b.clamped
    if b.floored is not None:
        out["floored"] = b.floored
    return out


def odds_json(o: Odds) -> dict[str, float | str | None]:
    """A requirement's odds, as report.json's entry of it carries them."""
    return {"probability": o.probability, "class": o.klass}


def bands_json(bands: Bands) -> dict[str, BandJson]:
    """report.json's `bands`: every banded figure's, by its key."""
    return {k: band_json(b) for k, b in bands.figures.items()}


def path_json(p: PathBreakdown) -> dict[str, float]:
    """A phase's critical path, as report.json's `metrics.critical_path` holds it."""
    return {"makespan_s": p.makespan_s, "compute_s": p.compute_s, "host_s": p.host_s,
            "tp_comm_s": p.tp_comm_s, "ep_comm_s": p.ep_comm_s, "pp_comm_s": p.pp_comm_s,
            "waiting_s": p.waiting_s, "ops": len(p.nodes)}


def metrics_json(m: SteadyMetrics) -> dict[str, object]:
    """report.json's `metrics` (and a search candidate's): the figures these have, in field order."""
    out: dict[str, object] = {}
    for f in fields(m):
        value = getattr(m, f.name)
        if value is None:
            continue
        if f.name == "critical_path":
            value = {phase.value: path_json(path) for phase, path in m.critical_path.items()} \
                if m.critical_path is not None else None
        out[f.name] = value
    return out


def percentiles_json(p: Percentiles) -> dict[str, float | None]:
    """A latency's mean and percentiles, as report.json's `load` holds them."""
    return {f.name: getattr(p, f.name) for f in fields(p)}


def _queue_json(q: QueueGrowth) -> dict[str, object]:
    return {"arrived": q.arrived, "ended": q.ended, "grown": q.grown, "allowance": q.allowance, "behind": q.behind,
            "first_token": q.first_token, "whole": q.whole}


def load_figures_json(figures: LoadFigures) -> dict[str, object]:
    """report.json's `load` of the run (docs/outputs.md): every figure but `misses`, in field order."""
    out: dict[str, object] = {}
    for f in fields(figures):
        if f.name == "misses":
            continue
        value: object = getattr(figures, f.name)
        if isinstance(value, Percentiles):
            value = percentiles_json(value)
        elif isinstance(value, QueueGrowth):
            value = _queue_json(value)
        out[f.name] = value
    return out


def binding_json(b: Binding) -> dict[str, str | int | float | list[str] | None]:
    """report.json's `load.binding` (docs/outputs.md)."""
    def num(x: float | None) -> float | None:
        return None if x is None or not math.isfinite(x) else float(x)
    return {"limit": b.limit.value, "requests_cap": b.cap, "running_mean": num(b.running_mean),
            "running_mean_while_waiting": num(b.running_mean_waiting), "waiting_mean": num(b.waiting_mean),
            "queue_growth_requests_per_s": num(b.queue_growth_requests_per_s),
            "admission_wait_s": num(b.admission_wait_s), "kv_share_mean": num(b.kv_share_mean),
            "kv_share_peak": num(b.kv_share_peak), "kv_share_while_waiting": num(b.kv_share_waiting),
            "preemptions": b.preemptions, "arrival_rate_requests_per_s": num(b.arrival_rate_requests_per_s),
            "little_concurrency": num(b.little_concurrency), "step": b.step, "step_s": num(b.step_s),
            "step_compute_share": num(b.step_compute_share), "step_host_share": num(b.step_host_share),
            "step_communication_share": num(b.step_communication_share),
            "prefill_utilisation": num(b.prefill_utilisation), "prefill_instances": b.prefill_instances,
            "goodput_unreachable_requests_per_s": num(b.goodput_unreachable), "run_step_s": num(b.run_step_s),
            "steady_mean_step_s": num(b.steady_mean_step_s),
            "missed_latencies": list(b.missed), "frontend_s": num(b.frontend_s),
            "frontend_ttft_share": num(b.frontend_ttft_share),
            "frontend_utilisation": num(b.frontend_utilisation)}


def load_json(u: UnderLoad, capacity: bool = True) -> dict[str, object]:
    """report.json's `load` (docs/outputs.md); without `capacity`, less its `capacity_*` keys (`dagc search
    --rate`'s rows)."""
    out: dict[str, object] = {**load_figures_json(u.figures), "binding": binding_json(u.binding)}
    if capacity:
        out |= {"capacity_requests_per_s": u.capacity_requests_per_s, "capacity_judged": u.capacity_judged,
                "capacity_work_events": u.capacity_work_events, "capacity_min_requests": u.capacity_min_requests}
    return out | {"carries_traffic": u.carries_traffic, "not_carried_because": u.not_carried_because}


class ServingJson(TypedDict):
    """report.json's `serving` of a strategy served statically or in flight (docs/outputs.md), in its key order;
    a disaggregated strategy's is `dagc.export.report.pools_json`, with its binding pool and pools."""

    mode: str
    chunk: int | None
    chunked_prefill: bool | None
    requests_per_rank: int | None
    chunk_prompt_tokens: int | None
    mixed_step_share: float | None
    mixed_step_share_group: float | None
    attention_dp_group: int | None
    first_token_steps: int | None
    sustainable_batch: int | None
    keeps_up: bool | None
    binding_pool: None
    pools: None


def serving_json(workload: Workload, lay: Layout | None) -> ServingJson:
    """report.json's `serving` object: the mode and, in flight, its shares (`dagc.layout.mix.shares`; null where
    the mode has no such figure, or no layout was resolved)."""
    inflight = mode_of(workload).continuous
    s = shares(workload, lay) if inflight and lay is not None else None
    return {
        "mode": workload.serving.value,
        "chunk": workload.chunk_tokens if inflight else None,
        "chunked_prefill": workload.chunked_prefill if inflight else None,
        "requests_per_rank": s.requests_per_rank if s else None,
        "chunk_prompt_tokens": s.chunk_prompt_tokens if s else None,
        "mixed_step_share": s.share if s else None,
        "mixed_step_share_group": s.group_share if s else None,
        "attention_dp_group": s.group if s else None,
        "first_token_steps": s.first_token_steps if s else None,
        "sustainable_batch": s.sustainable_batch if s else None,
        "keeps_up": s.keeps_up if s else None,
        "binding_pool": None,
        "pools": None,
    }

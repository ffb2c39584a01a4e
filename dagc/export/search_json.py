"""`dagc search --format json`: a `SearchResult` as JSON (docs/outputs.md), and `dagc search --rate`'s rows.

Input: a `dagc.search.result.SearchResult`, or a `dagc.search.at_rate.RankedAtRate`. Output: its JSON document —
the candidates shown (each `candidate_json`), the Pareto front, the counts, and what weighing disaggregated
candidates did (`pooled_json` of its `PooledSummary`); the at-rate ranking (`ranked_at_rate_json`, each row
`at_rate_json`: a fleet's pick is one). The only place a search's result becomes a dict.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..plan.plan import Plan
from ..search.at_rate import AtRate, RankedAtRate
from ..search.result import Candidate, PooledSummary, SearchResult
from ..search.row_odds import row_odds
from ..serve.price import token_cost
from ..verdict.bands import Odds
from ..verdict.verdict import RequirementResult
from .result_json import load_json, metrics_json, odds_json, rejection_json, requirement_json

__all__ = ["at_rate_json", "candidate_json", "pooled_json", "ranked_at_rate_json", "requirements_json", "search_json"]


def candidate_json(c: Candidate) -> dict[str, object]:
    """A search's row: the strategy, its GPUs and workload, its figures (`metrics_json`) and how it was judged."""
    return {"strategy": c.text, "gpus": c.gpus,
            "workload": {"microbatches": c.microbatches, "overlap": c.overlap.value,
                         **({"batch": c.batch} if c.batch is not None else {}),
                         **({"speculative_tokens": c.speculative_tokens}
                            if c.speculative_tokens is not None else {})},
            "metrics": metrics_json(c.metrics), "meets_requirements": c.meets_requirements,
            "requirements_missed": c.misses, "score": c.score,
            "memory_headroom": 1.0 - c.memory_fraction, "binding_requirement": c.binding,
            "exact": c.exact, "judged": c.judged, "load_requirements_missed": list(c.load_missed),
            **({"load_figures": dict(c.load_figures)} if c.load_figures else {}),
            **({"engine_refusals": list(c.engine_refusals)} if c.engine_refusals else {}),
            **({"short_of_traffic": True} if c.short_of_traffic else {}),
            **({"capacity_judged": True} if c.capacity_judged else {}),
            **({"other_requirements_missed": list(c.others_missed)} if c.others_missed else {}),
            **({"replicas": c.replicas} if c.replicas > 1 else {})}


def at_rate_json(a: AtRate) -> dict[str, object]:
    """A row of `dagc search --rate` (and a fleet's pick): the candidate's row, its goodput per GPU, its run without
    the capacity (`load_json`), its goodput's band and its requirements at the rate with their odds."""
    band = None if a.goodput_band is None else {"low": a.goodput_band[0], "high": a.goodput_band[1]}
    return {**candidate_json(a.candidate), "goodput_requests_per_s_per_gpu": a.goodput_per_gpu,
            "headroom": a.headroom, "capacity_judged": a.capacity_judged,
            "load": load_json(a.load, capacity=False), "goodput_band": band,
            # report.json's `requirements` of that check, each with the line as written
            "requirements": requirements_json(zip(a.requirements, a.odds, strict=True))}


def requirements_json(judged: Iterable[tuple[RequirementResult, Odds]]) -> list[dict[str, object]]:
    """A row's `requirements`: report.json's entry of each, with its odds and the line as written (`text`)."""
    return [{**requirement_json(q), **odds_json(o), "text": q.requirement.text} for q, o in judged]


def ranked_at_rate_json(r: RankedAtRate, top: int) -> dict[str, object]:
    """`dagc search --rate --format json`'s `at_rate`: the run's traffic and counts, and its first `top` rows."""
    return {"shown_percentiles": {"ttft": r.percentiles[0], "tpot": r.percentiles[1]},
            "rate_requests_per_s": r.rate, "requests": r.traffic.requests, "seed": r.traffic.seed,
            "simulated": len(r.ranked), "not_simulated": r.skipped, "beyond_shown": r.beyond,
            "ranked": [at_rate_json(a) for a in r.ranked[:top]]}


def pooled_json(d: PooledSummary) -> dict[str, int | bool]:
    """The search's `disaggregated`: instances evaluated, pruned, pairs weighed, legal, complete; with
    `batch = max`, the batches probed, the decode instances left out and the cap on probes."""
    out: dict[str, int | bool] = {"prefill_instances": d.prefill_instances, "decode_instances": d.decode_instances,
                                  "pruned": d.pruned, "pairs": d.pairs, "legal": d.legal, "complete": d.complete}
    if d.batch_max is not None:
        out.update(batch_probes=d.batch_max.probes, left_out=d.batch_max.left_out,
                   max_batch_probes=d.batch_max.max_probes)
    return out


def _within_error(objective: str, shown: Sequence[Candidate], plan: Plan | None) -> dict[str, object]:
    """`error_band_ratio` and `within_error_of_best`: the candidates shown that dagc cannot tell from the first within
    its error (their score within the objective's 80 % band ratio of the first's, among those judged as the first
    is), as the table's "indistinguishable within dagc's error from #1" names them; null without the plan."""
    if plan is None:
        return {"error_band_ratio": None, "within_error_of_best": None}
    from ..verdict.ledger import within_error_of_best
    peers = [c for c in shown if c.meets_requirements is shown[0].meets_requirements] if shown else []
    ratio, close = within_error_of_best(plan, objective, [c.score for c in peers])
    return {"error_band_ratio": ratio, "within_error_of_best": [{"rank": i + 1, "strategy": peers[i].text}
                                                                 for i in close]}


def search_json(found: SearchResult, top: int | None = None, plan: Plan | None = None) -> dict[str, object]:
    """The search's JSON document, with its best `top` candidates (`SearchResult.shown`), each — when `plan` is
    given — with its `cost` on its steady state (`dagc.serve.price.token_cost` at the plan's price: the figure
    `--objective cost` ranks by and its table shows) and its `requirements` with their odds within dagc's error
    (`dagc.search.row_odds`, as the table's `yes*` weighs them: for these rows alone)."""
    def candidate(c: Candidate) -> dict[str, object]:
        if plan is None:
            return candidate_json(c)
        w = plan.workload
        return {**candidate_json(c),
                "cost": token_cost(c.metrics, plan.cluster.price_per_gpu_hour, w.prompt, w.generate),
                "requirements": requirements_json(row_odds(plan, c))}

    shown = found.shown(top)
    return {"objective": found.objective, "evaluated": found.evaluated, "legal": found.legal,
            "seconds": found.seconds, "candidates": [candidate(c) for c in shown],
            **_within_error(found.objective, shown, plan),
            "pareto": [candidate_json(c) for c in found.pareto] if found.pareto_kept else None,
            "total": found.total, "complete": found.complete,
            "stopped": None if found.complete else found.stopped, "skipped": list(found.skipped),
            "pruned": found.pruned, "rejected": found.rejected,
            "rejected_by": [rejection_json(r) for r in found.rejected_by],
            "disaggregated": pooled_json(found.disaggregated) if found.disaggregated is not None else None}

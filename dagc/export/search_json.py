"""`dagc search --format json`: a `SearchResult` as JSON (docs/outputs.md).

Input: a `dagc.search.result.SearchResult`. Output: its JSON document — the candidates shown (each
`Candidate.to_json`), the Pareto front, the counts, and what weighing disaggregated candidates did
(`pooled_json` of its `PooledSummary`). The only place a search's result becomes a dict.
"""

from __future__ import annotations

from ..plan.plan import Plan
from ..search.result import Candidate, PooledSummary, SearchResult
from ..serve.price import token_cost

__all__ = ["pooled_json", "search_json"]


def pooled_json(d: PooledSummary) -> dict[str, int | bool]:
    """The search's `disaggregated`: instances evaluated, pruned, pairs weighed, legal, complete; with
    `batch = max`, the batches probed, the decode instances left out and the cap on probes."""
    out: dict[str, int | bool] = {"prefill_instances": d.prefill_instances, "decode_instances": d.decode_instances,
                                  "pruned": d.pruned, "pairs": d.pairs, "legal": d.legal, "complete": d.complete}
    if d.batch_max is not None:
        out.update(batch_probes=d.batch_max.probes, left_out=d.batch_max.left_out,
                   max_batch_probes=d.batch_max.max_probes)
    return out


def search_json(found: SearchResult, top: int | None = None, plan: Plan | None = None) -> dict[str, object]:
    """The search's JSON document, with its best `top` candidates (`SearchResult.shown`), each with its `cost` on
    its steady state (`dagc.serve.price.token_cost` at the plan's price: the figure `--objective cost` ranks by
    and its table shows) when `plan` is given."""
    def candidate(c: Candidate) -> dict[str, object]:
        if plan is None:
            return c.to_json()
        w = plan.workload
        return {**c.to_json(), "cost": token_cost(c.metrics, plan.cluster.price_per_gpu_hour, w.prompt, w.generate)}

    return {"objective": found.objective, "evaluated": found.evaluated, "legal": found.legal,
            "seconds": found.seconds, "candidates": [candidate(c) for c in found.shown(top)],
            "pareto": [c.to_json() for c in found.pareto] if found.pareto_kept else None,
            "total": found.total, "complete": found.complete,
            "stopped": None if found.complete else found.stopped, "skipped": list(found.skipped),
            "pruned": found.pruned, "rejected": found.rejected,
            "disaggregated": pooled_json(found.disaggregated) if found.disaggregated is not None else None}

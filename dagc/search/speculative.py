"""`dagc search --vary speculative`: the search of every count of drafted tokens, merged.

Input: a `Plan` whose workload drafts with a given `acceptance` (`workload { speculative { … } }`) and
the search's arguments. Output: one `SearchResult` — each candidate of each search with the tokens it
drafts (`Candidate.speculative_tokens`), ranked together, the front of them all, the counts summed.
A search per count: the tokens drafted change every figure of a candidate (its verify step, its draft
passes, the tokens a step emits), as the batch does with `--vary batch`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Unpack

from ..plan.plan import Plan
from .options import SearchKeywords, SearchOptions, with_keywords
from .rejections import summed
from .result import PooledSummary, SearchResult, pareto_front, rank_key
from .search import search

__all__ = ["SPECULATIVE_TOKENS", "search_speculative"]

SPECULATIVE_TOKENS = (1, 2, 3, 4, 5)      # tokens drafted per step that `--vary speculative` compares


def search_speculative(plan: Plan, tokens: tuple[int, ...] = SPECULATIVE_TOKENS, options: SearchOptions | None = None,
                       **keywords: Unpack[SearchKeywords]) -> SearchResult:
    """The search of `plan` with each count of `tokens` drafted per step, merged (module docstring): each search
    as `options` and `keywords` ask (`dagc.search.search.search`).

    Raises:
        ValueError: the plan does not speculate, or states an `accept_length` (which holds for one
            count of drafted tokens only: give `acceptance` to vary them).
    """
    spec = plan.workload.speculative
    if spec is None or spec.acceptance is None:
        raise ValueError("--vary speculative needs `speculative { method = …  tokens = …  acceptance = … }` in the "
                         "workload (an accept_length holds for one count of drafted tokens)")
    found = []
    o = with_keywords(options, keywords)
    for k in tokens:
        workload = plan.workload.model_copy(update={"speculative": spec.model_copy(update={"tokens": k})})
        r = search(plan.model_copy(update={"workload": workload}), o)
        found.append((k, r))
    ranked = sorted((replace(c, speculative_tokens=k) for k, r in found for c in r.ranked), key=rank_key)
    front = pareto_front(replace(c, speculative_tokens=k) for k, r in found for c in r.pareto)
    first = found[0][1]
    return SearchResult(objective=first.objective, evaluated=sum(r.evaluated for _, r in found),
                        legal=sum(r.legal for _, r in found), seconds=sum(r.seconds for _, r in found),
                        ranked=tuple(ranked), pareto=front, total=sum(r.total for _, r in found),
                        stopped=next((r.stopped for _, r in found if r.stopped), None), limit=first.limit,
                        pareto_complete=all(r.pareto_complete for _, r in found),
                        skipped=tuple(dict.fromkeys(s for _, r in found for s in r.skipped)),
                        pruned=sum(r.pruned for _, r in found), splits=sum(r.splits for _, r in found),
                        exact_top=min(r.exact_top for _, r in found), pareto_kept=first.pareto_kept,
                        best_first=first.best_first, disaggregated=_pooled([r.disaggregated for _, r in found]),
                        rejected_by=summed(r.rejected_by for _, r in found))


def _pooled(summaries: list[PooledSummary | None]) -> PooledSummary | None:
    """The searches' disaggregated summaries summed, or None when none weighed pools."""
    kept = [c for c in summaries if c is not None]
    return PooledSummary.merged(kept) if kept else None

"""An optimal verdict the search's best left "not judged" because it is further than the strategy from a line both
miss (`Why.FURTHER`), weighed again on the candidates below the best that beat the strategy on every count.

Input: the plan, the checked results, the search and what each objective picks. Output: the results, a verdict
`Why.FURTHER` judged again against those candidates re-scored exactly (`dagc.search.rescore.exact_figures`, at
most `RESCORED` of them), so that a "no" names a strategy whose figures `check --strategy` gives
(`dagc.verdict.optimal.dominating`). A plan with traffic is left as it is: a candidate re-scored here is not
simulated under it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from ..plan.plan import Plan
from ..search.rescore import exact_figures
from ..search.result import Candidate, SearchResult
from ..search.under_traffic import judged_under_traffic
from ..verdict.check import StrategyResult
from ..verdict.optimal import Why, dominating, judge_optimal

__all__ = ["RESCORED", "rejudged"]

RESCORED = 3    # the search's estimates, best first, re-scored exactly for one verdict


def rejudged(plan: Plan, results: Sequence[StrategyResult], found: SearchResult | None,
             picks: Mapping[str, Candidate | None] | None) -> list[StrategyResult]:
    """`results`, each verdict `Why.FURTHER` judged again against the search's estimates that beat its strategy on
    every count, re-scored exactly (unchanged when none is left better once exact)."""
    if found is None or judged_under_traffic(plan):
        return list(results)
    out = []
    for r in results:
        ev = r.optimality
        if ev is None or ev.why is not Why.FURTHER or ev.own_score is None:
            out.append(r)
            continue
        estimated = dominating(found.ranked, r, ev.own_score, ev.tolerance, exact=False)[:RESCORED]
        exact = tuple(e for c in estimated if (e := exact_figures(plan, c, found.objective)) is not None)
        optimal, evidence = judge_optimal(r, replace(found, ranked=(*found.ranked, *exact)), picks=picks)
        out.append(replace(r, verdict=replace(r.verdict, optimal=optimal), optimality=evidence))
    return out

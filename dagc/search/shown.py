"""What `dagc search` prints carries the figures `dagc check --strategy` gives it: the rows and Pareto points
shown, re-scored exactly.

Input: a `Plan` and its `SearchResult` after `dagc.search.under_traffic.judge_under_traffic` (which may bring
into the first rows candidates the search never re-scored: the ones it judged fell below them), and how many
rows are shown. Output: the `SearchResult` whose first `need` candidates and first `FRONT_EXACT` Pareto points
(by TPOT, as the table lists them) carry the full DAG schedule's figures (`dagc.search.rescore`), each keeping
its judgement (a candidate judged under the traffic already carries its check's figures), ranked again, the
front made again over the points as re-scored; one the full check rejects leaves them. Lazy: only what is
shown, each once. What it leaves an estimate (a point of the front past `FRONT_EXACT`; a candidate of
`--vary speculative`, whose search re-scores its own at each count) keeps `exact` false,
which the table and the JSON say; so does every one of a search whose time budget left no time to re-score
its best (`SKIPPED_RESCORE`): then nothing is re-scored here either.
"""

from __future__ import annotations

from dataclasses import replace

from ..plan.plan import Plan
from .rescore import exact_figures
from .result import SKIPPED_RESCORE, Candidate, SearchResult, front_key, pareto_front
from .under_traffic import STEADY, judged_under_traffic, ranking_key

__all__ = ["FRONT_EXACT", "exact_shown"]

FRONT_EXACT = 40        # Pareto points re-scored exactly at most (the text table lists 20)


def exact_shown(plan: Plan, found: SearchResult, need: int) -> SearchResult:
    """`found` with its shown rows and Pareto points re-scored exactly (module docstring)."""
    if SKIPPED_RESCORE in found.skipped:         # the search's time budget is spent
        return found
    done: dict[tuple[str, int | None, int | None], Candidate | None] = {}

    def exact(c: Candidate) -> Candidate | None:
        if c.exact:
            return c
        if _key(c) not in done:
            done[_key(c)] = _rescored(plan, c, found.objective)
        return done[_key(c)]

    ranked: list[Candidate] = list(found.ranked)
    while todo := [c for c in ranked[:need] if not c.exact and _key(c) not in done]:
        for c in todo:
            exact(c)
        ranked = sorted((x for x in (exact(c) if _key(c) in done else c for c in ranked) if x is not None),
                        key=ranking_key(found))   # as the walk under the traffic ranked them
    front = found.pareto
    if found.pareto_kept and front:
        by_tpot = sorted(front, key=lambda c: c.metrics.tpot_s)
        redone = [exact(c) for c in by_tpot[:FRONT_EXACT]]
        # the rows shown, as re-scored and judged, join (a point that is one of them, as the row): one may now
        # dominate a point it tied before (docs/search.md, "Ties")
        points = (*(c for c in redone if c is not None), *by_tpot[FRONT_EXACT:], *ranked[:need])
        pool = {front_key(c): c for c in points}
        front = pareto_front(pool.values())
    return replace(found, ranked=tuple(ranked), pareto=front, exact_top=min(found.exact_top, len(ranked)))


def _key(c: Candidate) -> tuple[str, int | None, int | None]:
    return c.text, c.batch, c.speculative_tokens


def _rescored(plan: Plan, c: Candidate, objective: str) -> Candidate | None:
    """`c` with the full schedule's figures and its own judgement: one judged on the steady state alone meets
    the requirements when it misses none of the steady state's, as `dagc.search.under_traffic` says. None: the
    full check rejects it. `--vary speculative` candidates keep their estimate (`exact` false)."""
    if c.speculative_tokens is not None:
        return c
    e = exact_figures(plan, c, objective)
    if e is None:
        return None
    if c.judged == STEADY:
        return replace(e, judged=STEADY, meets_requirements=e.misses == 0, speculative_tokens=c.speculative_tokens)
    if judged_under_traffic(plan):       # judged under the traffic (at another batch): its judgement stands
        return replace(e, judged=c.judged, load_missed=c.load_missed, meets_requirements=c.meets_requirements,
                       misses=c.misses, binding=c.binding, odds_basis=c.odds_basis, load_figures=c.load_figures,
                       others_missed=c.others_missed, short_of_traffic=c.short_of_traffic,
                       capacity_judged=c.capacity_judged)
    return e

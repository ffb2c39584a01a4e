"""One notion of "meets": the search's best candidates judged again under the plan's traffic.

Input: a `Plan` whose requirements include some judged on the simulated load (`Requirement.on_load`: a
percentile such as `ttft_p99`, `e2e`, `itl`, goodput) and a `SearchResult` of it, which judges each
candidate on the steady state alone. Output: the `SearchResult` with its first candidates judged as
`dagc check --strategy` judges their text — by `check_strategy` itself: the plan's traffic simulated through
each, without the capacity bisection, which no requirement reads — and ranked again (`rank_key`): a
candidate that misses a load requirement falls below those that miss fewer, and says which it misses
(`Candidate.load_missed`).

The walk is lazy and bounded: it judges the highest-ranked candidate not yet judged among the first `need`
(the rows a table prints, the best a verdict compares), ranks again, and stops when those `need` are all
judged or `JUDGE_LIMIT` candidates have been simulated — fewer when their runs together would pass the plan's
load work budget (`Plan.load_budget_events`: none past it, as `dagc check` emits W518). Every candidate it did
not simulate keeps its steady-state verdict and says so (`judged = "steady-state"`), and a Pareto front point
found to miss a load requirement leaves the front (the front is of candidates that meet the requirements).
Judgments are kept for the last plan judged (`_Memo`), so the searches under each objective
(`objective_picks`) share them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from ..diagnostics import PlanError
from ..lang.load import parse_strategy
from ..plan.plan import Plan
from ..plan.workload import Requirement
from ..verdict.check import StrategyResult, check_strategy
from ..verdict.under_load import load_events
from .result import Candidate, SearchResult, rank_key
from .score import binding_of

__all__ = ["ALL", "STEADY", "JUDGE_LIMIT", "judge_under_traffic", "judged_best", "load_requirements",
           "steady_only_text"]

ALL, STEADY = "all", "steady-state"      # `Candidate.judged`
JUDGE_LIMIT = 10          # candidates of one ranking simulated under the traffic at most (a second each, or so)

Key = tuple[str, int | None, int | None]


def load_requirements(plan: Plan) -> tuple[Requirement, ...]:
    """The plan's requirements judged on the simulated load, which the search's steady state cannot judge."""
    return tuple(r for r in plan.requirements if r.on_load)


def steady_only_text(plan: Plan) -> str:
    """What a candidate that was not simulated under the traffic has been judged on, in words."""
    names = ", ".join(f"`{r.text}`" for r in load_requirements(plan))
    return (f"meets the steady-state requirements; the load requirements ({names}) are judged by "
            "`dagc check --strategy`")


class _Memo:
    """The judgments of the last plan judged, by candidate (its text, batch and drafted tokens): None for
    a candidate `check` rejects, the candidate itself for one whose text does not parse back."""

    def __init__(self) -> None:
        self.plan: Plan | None = None
        self.judged: dict[Key, Candidate | None] = {}

    def of(self, plan: Plan) -> dict[Key, Candidate | None]:
        if self.plan is not plan:
            self.plan, self.judged = plan, {}
        return self.judged


_MEMO = _Memo()


def _key(c: Candidate) -> Key:
    return c.text, c.batch, c.speculative_tokens


def judge_under_traffic(plan: Plan, found: SearchResult, need: int, limit: int = JUDGE_LIMIT,
                        progress: Callable[[int, int], None] | None = None) -> SearchResult:
    """`found` with its first `need` candidates judged under the plan's traffic (module docstring); as it is
    when the plan has no load requirement. `progress(done, total)` follows the candidates simulated."""
    if not load_requirements(plan) or plan.workload.traffic is None:
        return found
    budget, events = plan.load_budget_events, load_events(plan, plan.workload.traffic.requests)
    if budget is not None:          # the candidates' runs together within one run's work budget (W518)
        limit = min(limit, budget // max(events, 1))
    memo = _MEMO.of(plan)
    tried: set[Key] = set()                 # simulated or not parsed back: never tried twice
    ranked = _ranked(_known(memo, c) for c in found.ranked)
    spent = 0
    while spent < limit:
        todo = [c for c in ranked[:need] if c.judged != ALL and _key(c) not in tried]
        if not todo:
            break
        c = todo[0]
        tried.add(_key(c))
        if progress is not None:
            progress(spent, limit)
        if _key(c) not in memo:
            memo[_key(c)] = _judged(plan, c)
            spent += 1
        ranked = _ranked(_known(memo, x) for x in ranked)      # each copy of its text too
    if progress is not None:
        progress(limit, limit)
    kept = tuple(ranked)
    front = tuple(j for j in (_known(memo, c) for c in found.pareto) if j is not None and j.meets_requirements)
    return replace(found, ranked=kept, pareto=front, exact_top=min(found.exact_top, len(kept)))


def _ranked(cands: Iterable[Candidate | None]) -> list[Candidate]:
    """The candidates (None: rejected by check) best first (`rank_key`)."""
    return sorted((c for c in cands if c is not None), key=rank_key)


def judged_best(plan: Plan, found: SearchResult) -> Candidate | None:
    """The best candidate of `found` judged on every requirement (`judge_under_traffic` with `need` 1)."""
    return judge_under_traffic(plan, found, 1).best


def _known(memo: dict[Key, Candidate | None], c: Candidate) -> Candidate | None:
    """The candidate as judged under the traffic when it was, else as the search judged it: on the steady
    state alone — it meets the requirements when it misses none of the steady state's (the search's fast
    check cannot value a load requirement, which it does not count as missed)."""
    if _key(c) in memo:
        return memo[_key(c)]
    if c.judged == STEADY:
        return c
    return replace(c, judged=STEADY, meets_requirements=c.misses == 0)


def _judged(plan: Plan, c: Candidate) -> Candidate | None:
    """The candidate judged as `dagc check --strategy` judges its text: None when check rejects it; as the
    search judged it (steady state) when its text does not parse back."""
    try:
        decl = parse_strategy(c.text)
    except PlanError:
        return replace(c, judged=STEADY)
    trial = plan
    spec = plan.workload.speculative
    if c.speculative_tokens is not None and spec is not None:        # `--vary speculative`: its own count
        trial = plan.model_copy(update={"workload": plan.workload.model_copy(
            update={"speculative": spec.model_copy(update={"tokens": c.speculative_tokens})})})
    r = check_strategy(trial, decl, with_capacity=False)
    if not r.valid or r.metrics is None:
        return None
    return _as_judged(c, r)


def _as_judged(c: Candidate, r: StrategyResult) -> Candidate:
    """The candidate with the verdict of its check, which judged every requirement."""
    missed = tuple(q.requirement.text for q in r.requirements if q.requirement.on_load and q.met is not True)
    return replace(c, meets_requirements=r.verdict.meets_requirements is True, judged=ALL, load_missed=missed,
                   misses=sum(1 for q in r.requirements if q.met is not True),
                   binding=binding_of(r.requirements, r.plan.workload))

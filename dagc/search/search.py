"""Strategy search: is there a better plan on this cluster? (SPEC 9)

Input: a `Plan` and an objective. Output: `SearchResult`: the best legal strategies
evaluated, ranked best first, subject to the plan's `require` block, with their Pareto front.

Enumeration (`candidates`) covers dp, pp (divisors of the layers and powers of two up to 16; the
default split, plus a cost-balanced explicit split when it differs), tp (divisors of the heads
that divide the KV heads or are multiples of them, at most a node), cp ∈ {1, 2} (2 only for
prompts of 4096 tokens or more), sp, the expert domain (none — experts follow tp — or ep
dividing the experts with etp ∈ {1, 2, 4} dividing the expert ffn), micro-batches ∈ {pp, 2·pp}
(1 and 2 without pp; at most the requests of an attention-DP group) and overlap — using at most
the GPUs available (fewer is a result in itself). dp takes the powers of two and the largest
value that fits. On a serving engine the plan chose, the candidates that engine cannot start are left
out (`dagc.search.space.engine_left_out`: the E7xx `check` gives them, from the launch mapping of
`dagc launch`) and counted among the rejected. Candidates are generated fewest GPUs first and visited best bound first
(`dagc.search.screen.Columns.best_first`; a `batch = max` search, or one without pruning: most GPUs
first under the `ttft`, `tpot` and `throughput` objectives, whose best use many GPUs, else fewest
GPUs first), and pruned by the very rules `check` runs.

Evaluation (`evaluate`) uses the cost model of `compile` on op templates shared between
candidates (`dagc.schedule.recurrence`: exact for `overlap = none`, an estimate with overlap) and the
memory model of `check` (activations: the working sets of the DAG's ops, so a candidate
called legal is never rejected by check with E402); the top candidates are re-scored by the
full scheduler (`dagc.verdict.analyse.analyse`, the route of `check_strategy`), on the candidates'
`Strategy` objects themselves.

Bounded memory: the search streams candidates and keeps only the best `RANKED_KEEP`, the
Pareto front (at most `PARETO_MAX` points) and counters. It evaluates at most
`MAX_SEARCH_CANDIDATES` candidates (and stops early on `budget_s`); a partial search says so
(`complete`, `stopped`) and its verdicts are never claims about what it did not see.

Time budget: an absolute `time.monotonic()` deadline (or one of the `clock` given, in one
process), checked before every candidate (in the worker processes too: a chunk in flight
stops at the deadline and returns what it evaluated),
and before every balanced split and every exact re-scoring; the steps it cut short are named
in `SearchResult.skipped`. A search overruns its budget by at most one candidate, one chunk's
screen (the bounds of at most `CHUNK` candidates, `dagc.search.screen`), one balanced split or one
re-scoring (with worker processes, the evaluation waits `DEADLINE_GRACE_S` at most past the
deadline for a worker's last candidate).

The search's parts: the space (`dagc.search.space`), scoring one candidate (`dagc.search.score`),
the branch and bound (`dagc.search.bound`), the evaluation in chunks (`dagc.search.chunks`), the
balanced splits and the exact re-scoring (`dagc.search.rescore`), the ranking and the front
(`dagc.search.result`) and the worker processes (`dagc.search.pool`, which says how Ctrl-C
and a dying parent stop them).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TypedDict, Unpack

from ..plan.objective import OBJECTIVES, objective as named_objective
from ..plan.plan import Plan
from ..schedule.timer import Timer as _Timer, times_alike
from ..verdict.optimal import OPTIMAL_TOLERANCE, judge_optimal
from .bar import BAR_LAG, BAR_LAG_BATCH_MAX, BarKeeper
from .bound import Pruner
from .chunks import Tally, evaluate_all
from .options import SearchKeywords, SearchOptions, with_keywords
from .pool import (
    DEADLINE_GRACE_S as DEADLINE_GRACE_S,
    WORKER_STOP_TIMEOUT_S as WORKER_STOP_TIMEOUT_S,
    cpu_count,
)
from .pooled import pooled_search, searches_pools
from .rescore import balanced_candidates, rescore_best
from .result import (
    MAX_SEARCH_CANDIDATES,
    PARETO_MAX,
    SKIPPED_RESCORE,
    SKIPPED_SPLITS,
    Candidate,
    ParetoFront,
    SearchResult,
    TopK,
    pareto_front,
)
from .run import Run
from .screen import Columns
from .space import Item, candidates, count_candidates, engine_refused, space_items, strategy_text
from .startable import marked_refusals
from .under_traffic import BEST_LIMIT, JUDGE_LIMIT, judged_best, judged_under_traffic

__all__ = ["Candidate", "SearchOptions", "SearchResult", "candidates", "count_candidates", "search",
           "objective_picks",
           "strategy_text", "judge_optimal", "pareto_front", "OPTIMAL_TOLERANCE", "MAX_SEARCH_CANDIDATES",
           "RANKED_KEEP", "PARETO_MAX", "SPLIT_CANDIDATES", "OPTIMAL_SEARCH_BUDGET_S", "cpu_count",
           "SKIPPED_SPLITS", "SKIPPED_RESCORE"]

RANKED_KEEP = 5_000             # best candidates kept for the ranking, re-scoring and pareto.svg
SPLIT_CANDIDATES = 10           # best pipelined candidates tried again with a cost-balanced split
OPTIMAL_SEARCH_BUDGET_S = None  # check/compile search the whole space: no time budget changes a verdict


def search(plan: Plan, options: SearchOptions | None = None, **keywords: Unpack[SearchKeywords]) -> SearchResult:
    """Enumerate, prune by the rules, score, rank; re-score the best exactly (module docstring).

    Branch and bound (`dagc.search.bound`): the best max(`SPLIT_CANDIDATES`, `rescore`, `top`) (`exact_top`),
    the front and the verdict are what `prune=False` gives (`ranked` then the best `RANKED_KEEP` of all), sooner:
    a candidate that provably can enter none of them is not evaluated in full (`pruned`). In flight,
    disaggregated candidates are weighed after the aggregated ones (`dagc.search.pooled`, `pooled_max`).

    What to search and how: `options` (`dagc.search.options.SearchOptions`, which says what each does), or its
    fields as keyword arguments (`search(plan, objective="ttft", top=5)`), in place of those of `options`.

    Raises:
        ValueError: an unknown objective, jobs < 1, top, rescore, max_candidates or max_pool_probes < 0, a
            negative or NaN budget, a `clock` other than `time.monotonic` with jobs > 1.
        TypeError: `options` is no `SearchOptions` (name an objective: `objective=…`), or an unknown keyword.

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 32 prompt = 512 generate = 64 } strategy tp 8')
        >>> r = search(p, rescore=0)
        >>> r.best.meets_requirements and r.best.gpus <= 8 and r.complete
        True
    """
    o = with_keywords(options, keywords)
    rescore = o.top if o.rescore is None else o.rescore
    _check_arguments(replace(o, rescore=rescore))
    top, prune, clock = o.top, o.prune, o.clock
    t0 = clock()
    run = Run(plan, o.objective, _timer_for(plan, o.timer), None if o.budget_s is None else t0 + o.budget_s, clock)
    space, (exact, walk) = count_candidates(plan), _exact_depth(plan, rescore, top)
    tally = Tally(TopK(max(RANKED_KEEP, exact)), ParetoFront() if o.front else None,
                  BarKeeper(exact if prune else 0), min(space, o.max_candidates), o.progress,
                  BAR_LAG_BATCH_MAX if plan.workload.batch_max else BAR_LAG)
    best_first = prune and not plan.workload.batch_max   # a `batch = max` plan's bounds are at its largest batch
    stopped = _evaluate(run, tally, min(o.jobs, cpu_count()), best_first, space)
    # disaggregated candidates beside the aggregated ones
    pooled = pooled_search(run, tally, prune, exact if prune else RANKED_KEEP, o.max_pool_probes) \
        if o.pools and searches_pools(plan) and stopped is None else None
    stopped = "budget" if pooled is not None and pooled.stopped else stopped
    extra, skipped = _add_splits(run, tally)
    ranked, cut = rescore_best(plan, tally.best.ranked(), rescore, o.objective, run.deadline, clock)
    skipped += [SKIPPED_RESCORE] if cut else []
    ranked = marked_refusals(plan, ranked, exact - walk + JUDGE_LIMIT)  # the default engine's: of those shown, judged
    rejected = tally.rejected           # and those left out of the stream (E7xx: the engine cannot start them)
    refused = rejected.add_all(engine_refused(plan))
    return SearchResult(objective=o.objective, evaluated=tally.done + len(extra) + refused,
                        legal=tally.legal + len(extra), seconds=clock() - t0, ranked=tuple(ranked),
                        total=space + len(extra) + refused, stopped=stopped, limit=o.max_candidates,
                        **_front_fields(tally.front), best_first=best_first, skipped=tuple(skipped),
                        pruned=tally.pruned, splits=len(extra),
                        exact_top=min(exact if prune else RANKED_KEEP, len(ranked)),
                        disaggregated=pooled.summary() if pooled is not None else None,
                        left_out=pooled.left_out_text() if pooled is not None else None,
                        rejected_by=rejected.by_code())


def _exact_depth(plan: Plan, rescore: int, top: int) -> tuple[int, int]:
    """How many of the best the search ranks as `prune=False` would (`exact_top`), and how many of those are there
    for the judgments under the plan's traffic: as deep again as that walk may go past the rows shown (each
    candidate found missing sinks: `dagc.search.under_traffic`), so that the verdict's best after it is the same
    whatever the search keeps beside it (`front`); none without traffic."""
    walk = JUDGE_LIMIT * BEST_LIMIT if judged_under_traffic(plan) else 0
    return max(SPLIT_CANDIDATES, rescore, top) + walk, walk


def _evaluate(run: Run, tally: Tally, jobs: int, best_first: bool, space: int) -> str | None:
    """Evaluate the first `tally.limit` candidates of the plan into `tally`, in `jobs` processes, in the order
    they are visited: best bound first (the bar tightens soonest), else most GPUs first under the objectives
    whose best use many GPUs (found first, they prune the rest), else the space's order, fewest GPUs first.
    Why it stopped short of the `space`'s candidates: "budget" (the deadline), "cap" (`tally.limit`), or None."""
    pruner = Pruner(run.plan, run.objective, run.timer)
    stream: Iterator[Item] = itertools.islice(space_items(run.plan), tally.limit)
    columns = None
    if best_first:
        columns = Columns(pruner, list(stream)).best_first()
        stream = iter(columns.items)
        if jobs > 1:
            columns = None                           # each worker screens its chunks alone
    elif OBJECTIVES[run.objective].most_gpus_first:
        stream = reversed(list(stream))
    stopped = evaluate_all(run, jobs, stream, tally, pruner, columns)
    return None if tally.done >= space else stopped or "cap"


class _FrontFields(TypedDict):
    pareto: tuple[Candidate, ...]
    pareto_complete: bool
    pareto_kept: bool


def _front_fields(front: ParetoFront | None) -> _FrontFields:
    """What `SearchResult` says of the Pareto front kept (None: none was)."""
    if front is None:
        return {"pareto": (), "pareto_complete": True, "pareto_kept": False}
    return {"pareto": front.result(), "pareto_complete": front.complete, "pareto_kept": True}


def _add_splits(run: Run, tally: Tally) -> tuple[list[Candidate], list[str]]:
    """The best pipelined candidates again with a cost-balanced split, added to `tally`: those added, and the
    steps the deadline cut short (`SearchResult.skipped`). Of the aggregated candidates' best `SPLIT_CANDIDATES`:
    the disaggregated ones weighed beside them take no place there, so that a search with pools splits what one
    without them splits."""
    aggregated = [c for c in tally.best.ranked() if not c.strategy.disaggregated]
    extra, cut = balanced_candidates(run, aggregated[:SPLIT_CANDIDATES])
    for c in extra:
        tally.best.add(c)
        if c.meets_requirements and tally.front is not None:
            tally.front.add(c)
    return extra, [SKIPPED_SPLITS] if cut else []


def objective_picks(plan: Plan, found: SearchResult, top: int = 5, jobs: int = 1,
                    progress: Callable[[int, int], None] | None = None, budget_s: float | None = None,
                    timer: _Timer | None = None) -> dict[str, Candidate | None]:
    """What the search picks under each objective (`dagc.plan.objective.OBJECTIVES`), for a report to
    say where they disagree: `found`'s best for its own objective, and for every other one the
    best of a search of the same space (the plan's requirements, the best `top` re-scored
    exactly, as `found` was). None for an objective whose search is not complete (a budget) or
    found no legal strategy. `progress(done, total)` counts the candidates of those searches.
    `timer`: the `dagc.schedule.timer.Timer` that `found`'s search used, so its stage costs and figures
    serve these searches too (by default a new one, shared by these searches)."""
    others = [o for o in OBJECTIVES if o != found.objective]
    total = found.total * len(others)

    def step(k: int) -> Callable[[int, int], None] | None:
        if progress is None:
            return None
        return lambda done, _total: progress(k * found.total + done, total)

    picks: dict[str, Candidate | None] = {found.objective: found.best if found.complete else None}
    timer = _timer_for(plan, timer)                 # the stage costs do not depend on the objective: timed once
    for k, o in enumerate(others):
        r = search(plan, SearchOptions(objective=o, top=top, jobs=jobs, progress=step(k), budget_s=budget_s,
                                       timer=timer, front=False))
        picks[o] = judged_best(plan, r) if r.complete else None      # on every requirement, the load's too
    return {o: picks[o] for o in OBJECTIVES}


def _timer_for(plan: Plan, timer: _Timer | None) -> _Timer:
    """`timer` when it times this plan as its own (`times_alike`: another count of the same GPUs), else a new one."""
    return timer if timer is not None and times_alike(timer.plan, plan) else _Timer(plan)


def _check_arguments(o: SearchOptions) -> None:
    """Raise ValueError on the options `search` refuses (its docstring lists them)."""
    named_objective(o.objective)       # ValueError: no objective has that name
    given = [("jobs", o.jobs, 1), *((name, getattr(o, name), 0) for name in _COUNTS)]
    for name, value, least in given:
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be a whole number of at least {least}, not {value!r}")
    if o.budget_s is not None and not o.budget_s >= 0:
        raise ValueError(f"budget_s must be a number of seconds of at least 0, not {o.budget_s!r}")
    if o.jobs > 1 and o.clock is not time.monotonic:
        raise ValueError("with jobs > 1 the budget is measured by time.monotonic (the clock of the workers)")


_COUNTS = ("top", "rescore", "max_candidates", "max_pool_probes")   # the whole numbers of at least 0, in this order

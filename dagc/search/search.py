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
value that fits. Candidates are generated fewest GPUs first and visited best bound first
(`dagc.search.screen.Columns.best_first`; a `batch = max` search, or one without pruning: most GPUs
first under the `ttft`, `tpot` and `throughput` objectives, whose best use many GPUs, else fewest
GPUs first), and pruned by the very rules `check` runs.

Evaluation (`evaluate`) uses the cost model of `compile` on op templates shared between
candidates (`dagc.serve.fastsched`: exact for `overlap = none`, an estimate with overlap) and the
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

The search's parts: the space (`dagc.search.space`), the ranking and the front
(`dagc.search.result`) and the worker processes (`dagc.search.pool`, which says how Ctrl-C
and a dying parent stop them).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..ir.dag import Phase
from ..layout.layout import default_split, resolve
from ..plan.plan import Overlap, Plan, Strategy, Workload
from ..serve.fastsched import Timer as _Timer
from ..verdict.analyse import analyse
from ..verdict.batch_max import fast_largest_batch, fast_largest_batch_bounded
from ..verdict.fastcheck import fast_check
from ..verdict.verdict import OPTIMAL_TOLERANCE, Objective, judge_optimal
from .bound import BAR_LAG, BAR_LAG_BATCH_MAX, Bar, BarKeeper, Pruner, Screen
from .pool import (
    _WORKER,
    DEADLINE_GRACE_S as DEADLINE_GRACE_S,
    WORKER_STOP_TIMEOUT_S as WORKER_STOP_TIMEOUT_S,
    _evaluate_in_workers,
    cpu_count,
)
from .result import (
    MAX_SEARCH_CANDIDATES,
    MOST_GPUS_FIRST,
    PARETO_MAX,
    SKIPPED_RESCORE,
    SKIPPED_SPLITS,
    Candidate,
    SearchResult,
    _Best,
    _Front,
    _rank_key,
    pareto_front,
)
from .screen import Columns
from .space import _Item, _items, _strategy, candidates, count_candidates, strategy_text

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

__all__ = ["Objective", "Candidate", "SearchResult", "candidates", "count_candidates", "evaluate", "search",
           "objective_picks",
           "strategy_text", "judge_optimal", "pareto_front", "OPTIMAL_TOLERANCE", "MAX_SEARCH_CANDIDATES",
           "RANKED_KEEP", "PARETO_MAX", "SPLIT_CANDIDATES", "CHUNK", "OPTIMAL_SEARCH_BUDGET_S", "cpu_count",
           "SKIPPED_SPLITS", "SKIPPED_RESCORE"]

RANKED_KEEP = 5_000             # best candidates kept for the ranking, re-scoring and pareto.svg
SPLIT_CANDIDATES = 10           # best pipelined candidates tried again with a cost-balanced split
CHUNK = 16                      # candidates per unit of work of a worker process, at most (and per bar: _chunks)
WINDOW = 16                     # chunks screened together in one process (`dagc.search.screen.Columns.screen`)
RAMP = 16                       # chunks of each size (1, 2, 4, …) before chunks of `CHUNK` (`_chunks`)
OPTIMAL_SEARCH_BUDGET_S = None  # check/compile search the whole space: no time budget changes a verdict


def _binding(requirements, workload: Workload) -> str | None:
    """What binds the candidate: with `batch = max`, what one more request would break (a requirement,
    or memory); otherwise the requirement with the least margin."""
    if workload.batch_max and workload.batch_breaks is not None:
        return workload.batch_breaks.replace("`", "")
    judged = [r for r in requirements if r.margin is not None]
    if not judged:
        return None
    return min(judged, key=lambda r: r.margin).requirement.text


def evaluate(plan: Plan, strategy: Strategy, mb: int, overlap: Overlap, objective: str,
             timer: _Timer | None = None) -> Candidate | None:
    """Score one candidate, or None when a rule rejects it (`dagc.verdict.fastcheck`: the same rules and
    memory as `check`). With `batch = max` the candidate runs the largest batch it serves
    (`dagc.verdict.batch_max`, probed with the same fast check)."""
    timer = timer or _Timer(plan)
    workload = plan.workload.model_copy(update={"microbatches": mb, "overlap": overlap})
    if workload.batch_max:
        workload = fast_largest_batch(plan, strategy, workload, timer)
    return _scored(plan, strategy, mb, workload, objective, timer)


def _scored(plan: Plan, strategy: Strategy, mb: int, workload: Workload, objective: str, timer: _Timer
            ) -> Candidate | None:
    """`evaluate`'s candidate with `mb` micro-batches once its workload (those, its overlap, its batch)
    is chosen."""
    fc = fast_check(plan, strategy, workload, timer)
    if isinstance(fc, str):
        return None
    gpus = fc.layout.gpus_used
    return Candidate(strategy=strategy, microbatches=mb, overlap=workload.overlap, gpus=gpus, metrics=fc.metrics,
                     meets_requirements=fc.meets_requirements, score=Objective.score(objective, fc.metrics, gpus),
                     memory_fraction=fc.memory.worst.fraction, binding=_binding(fc.requirements, workload),
                     batch=workload.batch if workload.batch_max else None, misses=_misses(fc.requirements))


def _misses(requirements) -> int:
    """Requirements a candidate does not meet."""
    return sum(1 for r in requirements if r.met is False)


def _workload_of(plan: Plan, c: Candidate) -> Workload:
    """The workload a candidate ran: its micro-batches, overlap and (`batch = max`) its own batch."""
    update: dict[str, object] = {"microbatches": c.microbatches, "overlap": c.overlap}
    if c.batch is not None:
        update["batch"] = c.batch
    return plan.workload.model_copy(update=update)


def _balanced_split(plan: Plan, cand: Candidate, timer: _Timer) -> tuple[int, ...] | None:
    """A split that balances stage time (dense layers, embedding and LM head weigh differently)."""
    s = cand.strategy
    if s.pp == 1:
        return None
    workload = _workload_of(plan, cand)
    lay = resolve(plan.model, plan.cluster, workload, s)
    req = tuple(lay.requests()[0])
    t = timer.pass_times(workload, lay, Phase.PREFILL, req, 0)
    t_last = timer.pass_times(workload, lay, Phase.PREFILL, req, lay.pp - 1)
    m = plan.model
    cost = [t["dense"] if not m.is_moe_layer(i) else t["moe"] for i in range(m.layers)]
    cost[0] += t["embed"]
    cost[-1] += t_last["head"]
    best: tuple[float, tuple[int, ...]] | None = None
    # binary search on the largest stage time, greedy packing
    lo, hi = max(cost), sum(cost)
    for _ in range(60):
        mid = (lo + hi) / 2
        counts, acc = [0], 0.0
        for c in cost:
            if counts[-1] and acc + c > mid:
                counts.append(0)
                acc = 0.0
            counts[-1] += 1
            acc += c
        if len(counts) <= s.pp:
            hi = mid
            best = (mid, tuple(counts))
        else:
            lo = mid
    if best is None:
        return None
    counts = list(best[1])
    while len(counts) < s.pp:            # split the largest stage until there are pp of them
        k = max(range(len(counts)), key=lambda i: counts[i])
        if counts[k] < 2:
            return None
        counts[k:k + 1] = [counts[k] - counts[k] // 2, counts[k] // 2]
    split = tuple(counts)
    return None if split == default_split(m.layers, s.pp) else split


def _evaluate_items(items: list[_Item], deadline: float | None = None, bar: Bar | None = None,
                    plan: Plan | None = None, objective: str | None = None, timer: _Timer | None = None,
                    clock: Callable[[], float] = time.monotonic, pruner: Pruner | None = None,
                    screened: list[Screen | None] | None = None) -> tuple[list[Candidate], int, int]:
    """The legal candidates of a chunk, how many of its items were evaluated (all, or those started
    before the `clock` deadline) and how many of those the `bar` pruned (`dagc.search.bound`).
    `screened`: what the screen of the chunk's window (`dagc.search.screen.Columns.screen`) decided
    of each item; by default the chunk is screened alone. In a worker: with the plan of
    `_init_worker`."""
    plan = plan or _WORKER["plan"]
    objective = objective or _WORKER["objective"]
    timer = timer or _WORKER["timer"]
    pruner = pruner or _WORKER.get("pruner") or Pruner(plan, objective, timer)
    bar = bar or Bar()
    batch_max = plan.workload.batch_max
    if screened is None and not batch_max:
        screened = Columns(pruner, items).screen([(0, len(items), bar)])
    out: list[Candidate] = []
    pruned = 0
    strategy, shape, whole, lay = None, None, None, None
    for n, item in enumerate(items):
        if deadline is not None and clock() >= deadline:
            return out, n, pruned
        degrees = item[:7]
        first = degrees != shape         # the micro-batch and overlap variants of a strategy come in a row
        if first:
            strategy, shape, whole, lay = None, degrees, None, None
        elif whole is not None:          # decided with its first variant: the same splits, requests, GPUs
            pruned += whole is Screen.PRUNED_ALL
            continue
        if batch_max:
            strategy = strategy or _strategy(item)
            found, was_pruned = _evaluate_batch_max(plan, strategy, item, objective, timer, pruner, bar)
            pruned += was_pruned
            out.extend(found)
            continue
        assert screened is not None
        step = screened[n]
        if step is not None:
            pruned += step in (Screen.PRUNED, Screen.PRUNED_ALL)
            whole = step if step in (Screen.ASIDE_ALL, Screen.PRUNED_ALL) else None
            continue
        strategy = strategy or _strategy(item)
        mb, overlap = item[7], Overlap(item[8])
        workload = pruner.workload(mb, overlap)
        if lay is None or lay.microbatches_requested != workload.microbatches_for(strategy.pp):
            lay = resolve(plan.model, plan.cluster, workload, strategy)     # not of the overlap: shared
        step = pruner.screen(workload, lay, bar, strategy.text, mb, overlap, first)
        if step is not None:
            pruned += step in (Screen.PRUNED, Screen.PRUNED_ALL)
            whole = step if step in (Screen.ASIDE_ALL, Screen.PRUNED_ALL) else None
            continue
        c = evaluate(plan, strategy, mb, overlap, objective, timer)
        if c is not None:
            out.append(c)
    return out, len(items), pruned


def _evaluate_batch_max(plan: Plan, strategy: Strategy, item: _Item, objective: str, timer: _Timer,
                        pruner: Pruner, bar: Bar) -> tuple[list[Candidate], bool]:
    """A `batch = max` candidate's search of its largest batch, stopped as soon as no batch it can
    still end with could matter (`Pruner.batch_needed`): its candidate (none when a rule rejects
    it) and whether it was pruned."""
    mb, overlap = item[7], Overlap(item[8])
    chosen = fast_largest_batch_bounded(plan, strategy, pruner.workload(mb, overlap), timer,
                                        lambda fc, lo, most: pruner.batch_needed(fc, lo, most, bar, strategy.text,
                                                                                 mb, overlap))
    if chosen is None:
        return [], True
    c = _scored(plan, strategy, mb, chosen, objective, timer)
    return ([] if c is None else [c]), False


def search(plan: Plan, objective: str = "tokens-per-gpu", top: int = 10, jobs: int = 1,
           progress: Callable[[int, int], None] | None = None, rescore: int | None = None,
           budget_s: float | None = None, max_candidates: int = MAX_SEARCH_CANDIDATES, *,
           clock: Callable[[], float] = time.monotonic, prune: bool = True, timer: _Timer | None = None,
           front: bool = True) -> SearchResult:
    """Enumerate, prune by the rules, score, rank; re-score the top `rescore` exactly (default: the
    `top` that will be shown, so every strategy dagc prints carries the figures `check` gives it).

    Candidates are evaluated from the fewest GPUs up, at most `max_candidates` of them; with
    `budget_s` the evaluation stops when the budget is spent (checked before every candidate),
    and the balanced splits and the re-scoring are cut short (`skipped`). The result says how
    many were evaluated of how many (`complete`, `stopped`). `jobs` worker processes (at most
    the CPUs available) evaluate chunks of candidates; Ctrl-C stops them and raises
    KeyboardInterrupt. `clock` (seconds, for tests) measures the budget; worker processes read
    `time.monotonic()`, so with `jobs` > 1 it must be that clock.

    Branch and bound (`prune`, `dagc.search.bound`): a candidate that provably can enter neither
    the best max(`SPLIT_CANDIDATES`, `rescore`, `top`) nor the Pareto front is not evaluated in
    full (`pruned`); those best (`exact_top`), the front and the verdict are what `prune=False`
    (every candidate in full, `ranked` then holding the best `RANKED_KEEP` of all) gives.

    `timer`, a `dagc.serve.fastsched.Timer` of this `plan`, keeps the stage costs between searches of one
    plan (`objective_picks`); in this process only (workers have their own).

    `front=False` keeps no Pareto front (`pareto` is empty and `pareto_kept` False): what only
    the best matter for — a verdict — is answered sooner, since a candidate that could join the
    front but not the best is then pruned too. The ranking is the same.

    Raises:
        ValueError: an unknown objective, jobs < 1, top, rescore or max_candidates < 0, a
            negative or NaN budget, a `clock` other than `time.monotonic` with jobs > 1.

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 32 prompt = 512 generate = 64 } strategy tp 8')
        >>> r = search(p, rescore=0)
        >>> r.best.meets_requirements and r.best.gpus <= 8 and r.complete
        True
    """
    rescore = top if rescore is None else rescore
    _check_arguments(objective, jobs, top, rescore, max_candidates, budget_s, clock)
    jobs = min(jobs, cpu_count())
    t0 = clock()
    deadline = None if budget_s is None else t0 + budget_s       # monotonic: the same clock in the workers
    space = count_candidates(plan)
    limit = min(space, max_candidates)
    stream: Iterator[_Item] = itertools.islice(_items(plan), limit)
    timer = _timer_for(plan, timer)
    pruner = Pruner(plan, objective, timer)
    best_first = prune and not plan.workload.batch_max   # a `batch = max` plan's bounds are at its largest batch
    columns = None
    if best_first:                                   # the bar tightens soonest: the most promising first
        columns = Columns(pruner, list(stream)).best_first()
        stream = iter(columns.items)
        if jobs > 1:
            columns = None                           # each worker screens its chunks alone
    elif objective in MOST_GPUS_FIRST:                # their best use many GPUs: found first, they prune the rest
        stream = reversed(list(stream))
    exact = max(SPLIT_CANDIDATES, rescore, top)
    tally = _Tally(_Best(max(RANKED_KEEP, exact)), _Front() if front else None, BarKeeper(exact if prune else 0),
                   limit, progress, BAR_LAG_BATCH_MAX if plan.workload.batch_max else BAR_LAG)
    stopped = _evaluate_all(plan, objective, jobs, stream, limit, deadline, clock, tally, pruner, columns)
    if tally.done >= space:
        stopped = None
    elif stopped is None:
        stopped = "cap"
    skipped: list[str] = []
    extra, cut = _balanced_candidates(plan, tally.best.ranked(), objective, deadline, clock, timer)
    if cut:
        skipped.append(SKIPPED_SPLITS)
    for c in extra:
        tally.best.add(c)
        if c.meets_requirements and tally.front is not None:
            tally.front.add(c)
    ranked = tally.best.ranked()
    if rescore and ranked:
        ranked, cut = _rescore(plan, ranked, rescore, objective, deadline, clock)
        if cut:
            skipped.append(SKIPPED_RESCORE)
    return SearchResult(objective=objective, evaluated=tally.done + len(extra), legal=tally.legal + len(extra),
                        seconds=clock() - t0, ranked=tuple(ranked),
                        pareto=tally.front.result() if tally.front is not None else (),
                        total=space + len(extra), stopped=stopped, limit=max_candidates,
                        pareto_complete=tally.front.complete if tally.front is not None else True,
                        pareto_kept=tally.front is not None, best_first=best_first, skipped=tuple(skipped),
                        pruned=tally.pruned, splits=len(extra),
                        exact_top=min(exact if prune else RANKED_KEEP, len(ranked)))


def objective_picks(plan: Plan, found: SearchResult, top: int = 5, jobs: int = 1,
                    progress: Callable[[int, int], None] | None = None, budget_s: float | None = None,
                    timer: _Timer | None = None) -> dict[str, Candidate | None]:
    """What the search picks under each objective (`Objective.NAMES`, SPEC 3.4), for a report to
    say where they disagree: `found`'s best for its own objective, and for every other one the
    best of a search of the same space (the plan's requirements, the best `top` re-scored
    exactly, as `found` was). None for an objective whose search is not complete (a budget) or
    found no legal strategy. `progress(done, total)` counts the candidates of those searches.
    `timer`: the `dagc.serve.fastsched.Timer` that `found`'s search used, so its stage costs and figures
    serve these searches too (by default a new one, shared by these searches)."""
    others = [o for o in Objective.NAMES if o != found.objective]
    total = found.total * len(others)

    def step(k: int) -> Callable[[int, int], None] | None:
        if progress is None:
            return None
        return lambda done, _total: progress(k * found.total + done, total)

    picks: dict[str, Candidate | None] = {found.objective: found.best if found.complete else None}
    timer = _timer_for(plan, timer)                 # the stage costs do not depend on the objective: timed once
    for k, o in enumerate(others):
        r = search(plan, objective=o, top=top, jobs=jobs, progress=step(k), budget_s=budget_s, timer=timer,
                   front=False)
        picks[o] = r.best if r.complete else None
    return {o: picks[o] for o in Objective.NAMES}


def _timer_for(plan: Plan, timer: _Timer | None) -> _Timer:
    """`timer` when it times this plan, else a new one."""
    return timer if timer is not None and timer.plan is plan else _Timer(plan)


def _check_arguments(objective: str, jobs: int, top: int, rescore: int, max_candidates: int,
                     budget_s: float | None, clock: Callable[[], float]) -> None:
    """Raise ValueError on the arguments `search` refuses (its docstring lists them)."""
    if objective not in Objective.NAMES:
        raise ValueError(f"unknown objective {objective!r}; one of {', '.join(Objective.NAMES)}")
    for name, value, least in (("jobs", jobs, 1), ("top", top, 0), ("rescore", rescore, 0),
                               ("max_candidates", max_candidates, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be a whole number of at least {least}, not {value!r}")
    if budget_s is not None and not budget_s >= 0:
        raise ValueError(f"budget_s must be a number of seconds of at least 0, not {budget_s!r}")
    if jobs > 1 and clock is not time.monotonic:
        raise ValueError("with jobs > 1 the budget is measured by time.monotonic (the clock of the workers)")


@dataclass
class _Tally:
    """What the evaluation has taken so far: the best candidates, the front and the counts."""

    best: _Best
    front: _Front | None                            # None: no front is kept (`search(…, front=False)`)
    keeper: BarKeeper                               # the best rank keys, for the bars
    limit: int                                      # the candidates to evaluate, for `progress`
    progress: Callable[[int, int], None] | None
    lag: int = BAR_LAG                              # chunks between a bar's making and its use (`bar_for`)
    legal: int = 0
    done: int = 0
    pruned: int = 0
    chunks: int = 0                                 # chunks taken
    bars: dict[int, Bar] = field(default_factory=dict)   # the bar after chunk i, kept `lag` chunks

    def take(self, found: list[Candidate], n: int, pruned: int = 0) -> None:
        """The legal candidates `found` among `n` evaluated, `pruned` of which were pruned."""
        for c in found:
            self.best.add(c)
            self.keeper.take(c)
            if c.meets_requirements and self.front is not None:    # the front holds only what could deploy
                self.front.add(c)
        self.legal += len(found)
        self.done += n
        self.pruned += pruned
        last = self.bars.get(self.chunks - 1)
        self.bars[self.chunks] = last if last is not None and not found else \
            self.keeper.bar(None if self.front is None else [c for _, c in self.front.points])   # none found: the same
        self.bars.pop(self.chunks - self.lag, None)
        self.chunks += 1
        if self.progress:
            self.progress(self.done, self.limit)

    def known_bar(self, chunk: int) -> Bar:
        """The freshest bar made so far that is no stronger than `bar_for(chunk)`: that one when it is
        made, else the one after the last chunk taken (bars only tighten: a candidate out of reach
        of this one is out of reach of chunk `chunk`'s own) — unless the front has dropped points
        (more than `PARETO_MAX`), after which an older bar may hold a point a later one lacks: then
        no bar (`Bar()`: nothing decided before the chunk's own)."""
        if chunk - self.lag < self.chunks:
            return self.bar_for(chunk)
        if not self.chunks or (self.front is not None and not self.front.complete):
            return Bar()
        return self.bars[self.chunks - 1]

    def bar_for(self, chunk: int) -> Bar:
        """The bar chunk number `chunk` is evaluated against: the one after chunk `chunk − lag`,
        whatever the number of processes."""
        if chunk < self.lag:
            return Bar()
        assert chunk - self.lag in self.bars, "a chunk is handed out only after the chunk `lag` before it is taken"
        return self.bars[chunk - self.lag]


def process_pool(**kw: Any) -> ProcessPoolExecutor:
    """The worker processes' pool of a search with `jobs` > 1: `concurrent.futures.process` (and
    multiprocessing, a fiftieth of a second) is imported here, by the searches that use workers,
    not by every `dagc check`."""
    from concurrent.futures import ProcessPoolExecutor
    return ProcessPoolExecutor(**kw)


def _evaluate_all(plan: Plan, objective: str, jobs: int, stream: Iterator[_Item], limit: int,
                  deadline: float | None, clock: Callable[[], float], tally: _Tally, pruner: Pruner,
                  columns: Columns | None = None) -> str | None:
    """Evaluate the candidates of `stream` in chunks, in this process or in `jobs` worker processes,
    each against the bar `tally` gives it, handing each chunk's results to `tally.take`. Returns
    "budget" when the deadline stopped it. `columns`: the stream's items as columns
    (`dagc.search.screen.Columns`), screened `WINDOW` chunks at a time in this process (one at a
    time under a deadline, so that a search overruns it by at most one chunk's screen).

    A window's chunks are screened against the freshest bars made when it starts (`_Tally.known_bar`),
    then each chunk's items the screen leaves undecided against the chunk's own bar (`_Tally.bar_for`,
    made by then): since bars only tighten, whatever the screen prunes or sets aside its own bar
    would too, so every count is what screening each chunk alone against its own bar gives — what
    worker processes do."""
    if jobs > 1 and limit > CHUNK:
        chunks = ((items, tally.bar_for(i)) for i, items in enumerate(_chunks(stream)))  # the bar made when asked for
        return _evaluate_in_workers(plan, objective, jobs, chunks, deadline, tally.take, _evaluate_items,
                                    process_pool, in_flight=min(2 * jobs, tally.lag))
    size, start = WINDOW if columns is not None and deadline is None else 1, 0
    numbered = enumerate(_chunks(stream))
    while window := list(itertools.islice(numbered, size)):
        bounds = []
        for i, items in window:
            bounds.append((start, start + len(items), tally.known_bar(i)))
            start += len(items)
        screened = columns.screen(bounds) if columns is not None else None
        first = bounds[0][0]
        for (i, items), (lo, hi, _) in zip(window, bounds, strict=True):
            found, n, pruned = _evaluate_items(items, deadline, tally.bar_for(i), plan, objective, pruner.timer, clock,
                                               pruner, None if screened is None else screened[lo - first:hi - first])
            if n:
                tally.take(found, n, pruned)
            if n < len(items):
                return "budget"
    return None


def _chunks(stream: Iterator[_Item]) -> Iterator[list[_Item]]:
    """The candidates in chunks: `RAMP` chunks of 1, then of 2, 4, … up to `CHUNK`, so that the bars
    (chunk `i`'s made after chunk `i − lag`) are a few candidates old, not `lag`·`CHUNK`, while
    they change most: before the tenth legal candidate and the front's first points are found."""
    for i in itertools.count():
        chunk = list(itertools.islice(stream, min(CHUNK, 1 << (i // RAMP))))
        if not chunk:
            return
        yield chunk


def _balanced_candidates(plan: Plan, ranked: list[Candidate], objective: str, deadline: float | None,
                         clock: Callable[[], float], timer: _Timer) -> tuple[list[Candidate], bool]:
    """The best pipelined candidates again with a cost-balanced explicit split (those legal and
    different from the default split), and whether the `clock` deadline cut them short."""
    extra: list[Candidate] = []
    for c in ranked[:SPLIT_CANDIDATES]:
        if c.strategy.pp == 1:
            continue
        if deadline is not None and clock() >= deadline:
            return extra, True
        split = _balanced_split(plan, c, timer)
        if split is not None:
            s = c.strategy
            text = strategy_text(s.dp, s.pp, split, s.tp, s.cp, s.sp, (s.ep, s.etp or 1) if s.ep else None)
            alt = evaluate(plan, s.model_copy(update={"pp_split": split, "text": text}), c.microbatches, c.overlap,
                           objective, timer)
            if alt is not None:
                extra.append(alt)
    return extra, False


def _rescore(plan: Plan, ranked: list[Candidate], n: int, objective: str,
             deadline: float | None = None,
             clock: Callable[[], float] = time.monotonic) -> tuple[list[Candidate], bool]:
    """Replace the figures of the top n by the full DAG schedule (exact under both overlaps) until
    the top n after re-ranking are all exact, while the `clock` deadline allows. Returns the new
    ranking and whether it was cut."""
    current: list[Candidate | None] = list(ranked)
    while True:
        todo = [k for k, c in enumerate(current[:n]) if c is not None and not c.exact]
        if not todo:
            return [c for c in current if c is not None], False
        for k in todo:
            if deadline is not None and clock() >= deadline:
                return sorted((c for c in current if c is not None), key=_rank_key), True
            c = current[k]
            current[k] = _exact(plan, c, objective) if c is not None else None
        ordered: list[Candidate] = sorted((c for c in current if c is not None), key=_rank_key)
        current = [*ordered]


def _exact(plan: Plan, c: Candidate, objective: str) -> Candidate | None:
    """A candidate with the figures `check` gives its printed text (None: the full check rejects it)."""
    r = analyse(plan, c.strategy, _workload_of(plan, c))
    if not r.valid or r.metrics is None:
        return None
    assert r.memory is not None, "a scheduled strategy has its memory breakdown"
    metrics = {k: r.metrics[k] for k in c.metrics}
    return Candidate(strategy=c.strategy, microbatches=c.microbatches, overlap=c.overlap, gpus=c.gpus,
                     metrics=metrics, meets_requirements=r.verdict.meets_requirements is not False,
                     score=Objective.score(objective, metrics, c.gpus),
                     memory_fraction=r.memory.worst.fraction, exact=True,
                     binding=c.binding if c.batch is not None else _binding(r.requirements, r.plan.workload),
                     batch=c.batch, misses=_misses(r.requirements))

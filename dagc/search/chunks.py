"""The search's evaluation loop: candidates in chunks, each against the bar of the chunks before it.

Input: the plan, the objective, the stream of search items (`dagc.search.space.Item`), the
`Pruner` and the deadline. Output: what `Tally` takes of each chunk — the legal candidates, the
counts of evaluated and pruned — in this process (screened `WINDOW` chunks at a time:
`dagc.search.screen.Columns`) or in worker processes (`dagc.search.pool`), the same whatever the
number of processes (`dagc.search.bar`: the bars lag `BAR_LAG` chunks).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..layout.layout import resolve
from ..plan.plan import Plan
from ..plan.workload import Overlap
from ..verdict.fastcheck import MEMORY
from .bar import BAR_LAG, Bar, BarKeeper
from .bound import Pruner, Screen
from .pool import WORKER, ChunkResult, WorkerInit, Workers, evaluate_in_workers
from .rejections import Rejections
from .result import Candidate, ParetoFront, TopK
from .run import Run
from .score import assess, evaluate_batch_max
from .screen import Columns
from .space import Item, item_strategy

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

__all__ = ["CHUNK", "WINDOW", "RAMP"]

CHUNK = 16                      # candidates per unit of work of a worker process, at most (and per bar: _chunks)
WINDOW = 16                     # chunks screened together in one process (`dagc.search.screen.Columns.screen`)
RAMP = 16                       # chunks of each size (1, 2, 4, …) before chunks of `CHUNK` (`_chunks`)


@dataclass
class Tally:
    """What the evaluation has taken so far: the best candidates, the front and the counts."""

    best: TopK
    front: ParetoFront | None                            # None: no front is kept (`search(…, front=False)`)
    keeper: BarKeeper                               # the best rank keys, for the bars
    limit: int                                      # the candidates to evaluate, for `progress`
    progress: Callable[[int, int], None] | None
    lag: int = BAR_LAG                              # chunks between a bar's making and its use (`bar_for`)
    legal: int = 0
    done: int = 0
    pruned: int = 0
    chunks: int = 0                                 # chunks taken
    rejected: Rejections = field(default_factory=Rejections)    # the rules that rejected the others, by code
    bars: dict[int, Bar] = field(default_factory=dict)   # the bar after chunk i, kept `lag` chunks

    def take(self, found: list[Candidate], n: int, pruned: int = 0, rejected: Rejections | None = None) -> None:
        """The legal candidates `found` among `n` evaluated, `pruned` of which were pruned and the others
        `rejected` by the rules of their codes."""
        assert rejected is None or n == len(found) + pruned + rejected.total, "each is legal, pruned or rejected"
        for c in found:
            self.best.add(c)
            self.keeper.take(c)
            if c.meets_requirements and self.front is not None:    # the front holds only what could deploy
                self.front.add(c)
        self.legal += len(found)
        self.done += n
        self.pruned += pruned
        if rejected is not None:
            self.rejected.merge(rejected)
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


def process_pool(*, max_workers: int, initializer: WorkerInit, initargs: tuple[Plan, str, int | None]
                 ) -> ProcessPoolExecutor:
    """The worker processes' pool of a search with `jobs` > 1: `concurrent.futures.process` (and
    multiprocessing, a fiftieth of a second) is imported here, by the searches that use workers,
    not by every `dagc check`."""
    from concurrent.futures import ProcessPoolExecutor
    return ProcessPoolExecutor(max_workers=max_workers, initializer=initializer, initargs=initargs)


def evaluate_all(run: Run, jobs: int, stream: Iterator[Item], tally: Tally, pruner: Pruner,
                 columns: Columns | None = None) -> str | None:
    """Evaluate the first `tally.limit` candidates of `stream` in chunks, in this process or in `jobs` worker
    processes, each against the bar `tally` gives it, handing each chunk's results to `tally.take`. Returns
    "budget" when the deadline stopped it. `columns`: the stream's items as columns
    (`dagc.search.screen.Columns`), screened `WINDOW` chunks at a time in this process (one at a
    time under a deadline, so that a search overruns it by at most one chunk's screen).

    A window's chunks are screened against the freshest bars made when it starts (`Tally.known_bar`),
    then each chunk's items the screen leaves undecided against the chunk's own bar (`Tally.bar_for`,
    made by then): since bars only tighten, whatever the screen prunes or sets aside its own bar
    would too, so every count is what screening each chunk alone against its own bar gives — what
    worker processes do."""
    deadline = run.deadline
    if jobs > 1 and tally.limit > CHUNK:
        chunks = ((items, tally.bar_for(i)) for i, items in enumerate(_chunks(stream)))  # the bar made when asked for
        workers = Workers(jobs, _evaluate_items, process_pool, in_flight=min(2 * jobs, tally.lag))
        return evaluate_in_workers(run.plan, run.objective, workers, chunks, deadline, tally.take)
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
            found, n, pruned, rejected = _evaluate_items(items, deadline, tally.bar_for(i), run, pruner,
                                               None if screened is None else screened[lo - first:hi - first])
            if n:
                tally.take(found, n, pruned, rejected)
            if n < len(items):
                return "budget"
    return None


def _chunks(stream: Iterator[Item]) -> Iterator[list[Item]]:
    """The candidates in chunks: `RAMP` chunks of 1, then of 2, 4, … up to `CHUNK`, so that the bars
    (chunk `i`'s made after chunk `i − lag`) are a few candidates old, not `lag`·`CHUNK`, while
    they change most: before the tenth legal candidate and the front's first points are found."""
    for i in itertools.count():
        chunk = list(itertools.islice(stream, min(CHUNK, 1 << (i // RAMP))))
        if not chunk:
            return
        yield chunk


def _evaluate_items(items: list[Item], deadline: float | None = None, bar: Bar | None = None, run: Run | None = None,
                    pruner: Pruner | None = None, screened: list[Screen | None] | None = None) -> ChunkResult:
    """The legal candidates of a chunk, how many of its items were evaluated (all, or those started
    before the `clock` deadline), how many of those the `bar` pruned (`dagc.search.bound`) and the others'
    rules (`Rejections`: each evaluated item is legal, pruned or rejected).
    `screened`: what the screen of the chunk's window (`dagc.search.screen.Columns.screen`) decided
    of each item; by default the chunk is screened alone. `run`: the search's plan, objective, stage costs
    and clock; in a worker (None), the plan of `_init_worker` and `time.monotonic`."""
    plan = run.plan if run is not None else WORKER["plan"]
    objective = run.objective if run is not None else WORKER["objective"]
    timer = run.timer if run is not None else WORKER["timer"]
    clock = run.clock if run is not None else time.monotonic
    pruner = pruner or WORKER.get("pruner") or Pruner(plan, objective, timer)
    bar = bar or Bar()
    batch_max = plan.workload.batch_max
    if screened is None and not batch_max:
        screened = Columns(pruner, items).screen([(0, len(items), bar)])
    out = _Chunk()
    strategy, shape, whole, lay = None, None, None, None
    for n, item in enumerate(items):
        if deadline is not None and clock() >= deadline:
            return out.result(n)
        degrees = item[:7]
        first = degrees != shape         # the micro-batch and overlap variants of a strategy come in a row
        if first:
            strategy, shape, whole, lay = None, degrees, None, None
        elif whole is not None:          # decided with its first variant: the same splits, requests, GPUs
            out.screened(whole, item)
            continue
        if batch_max:
            strategy = strategy or item_strategy(item)
            out.scored(evaluate_batch_max(plan, strategy, item, objective, timer, pruner, bar), item)
            continue
        assert screened is not None
        step = screened[n]
        if step is None:
            strategy = strategy or item_strategy(item)
            mb, overlap = item[7], Overlap(item[8])
            workload = pruner.bounds.workload(mb, overlap)
            if lay is None or lay.microbatches_requested != workload.microbatches_for(strategy.pp):
                lay = resolve(plan.model, plan.cluster, workload, strategy)     # not of the overlap: shared
            step = pruner.screen(workload, lay, bar, strategy.text, mb, overlap, first)
            if step is None:
                out.scored(assess(plan, strategy, mb, overlap, objective, timer), item)
                continue
        out.screened(step, item)
        whole = step if step in (Screen.ASIDE_ALL, Screen.PRUNED_ALL) else None
    return out.result(len(items))


class _Chunk:
    """What `_evaluate_items` found of a chunk's items so far: the legal candidates, how many were pruned, and
    the rules that rejected the others."""

    def __init__(self) -> None:
        self.found: list[Candidate] = []
        self.pruned = 0
        self.rejected = Rejections()

    def screened(self, step: Screen, item: Item) -> None:
        """An item the screen decided (`dagc.search.bound.Screen`): pruned, or set aside for memory (E402)."""
        if step in (Screen.PRUNED, Screen.PRUNED_ALL):
            self.pruned += 1
        else:
            self.rejected.add(MEMORY, item)

    def scored(self, c: Candidate | str | None, item: Item) -> None:
        """An item evaluated (`dagc.search.score`): legal, rejected by the rule of that code, or (None) pruned."""
        if c is None:
            self.pruned += 1
        elif isinstance(c, str):
            self.rejected.add(c, item)
        else:
            self.found.append(c)

    def result(self, n: int) -> ChunkResult:
        """The chunk's result when `n` of its items were evaluated."""
        return self.found, n, self.pruned, self.rejected

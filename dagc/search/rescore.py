"""After the search's evaluation: its best candidates with a cost-balanced split, and re-scored exactly.

Input: a `Plan`, the ranked candidates, the objective, the plan's `dagc.schedule.timer.Timer` and the
search's deadline. Output: the best pipelined candidates again with a split that balances stage time
(`balanced_candidates`), and the top `n` with the figures of the full DAG schedule, which `check`
gives their printed text (`rescore_best`: `dagc.verdict.analyse.analyse`), re-ranked; each with whether
the deadline cut it short.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..layout.layout import resolve
from ..layout.modes import mode_of
from ..layout.stages import default_split
from ..plan.objective import OBJECTIVES
from ..plan.plan import Plan
from ..plan.printer import with_split
from ..plan.workload import Overlap
from ..schedule.timer import Timer as _Timer, shared_timer
from ..verdict.analyse import analyse
from ..verdict.batch_max import choose_batch
from ..verdict.steady import SteadyMetrics
from ..verdict.verdict import MemoryFigures
from .floor import floored_for
from .pooled import exact_pooled
from .result import Candidate, rank_key
from .run import Run
from .score import binding_of, evaluate, misses, workload_of


def _balanced_split(plan: Plan, cand: Candidate, timer: _Timer) -> tuple[int, ...] | None:
    """A split that balances stage time (dense layers, embedding and LM head weigh differently)."""
    s = cand.strategy
    if s.pp == 1:
        return None
    workload = workload_of(plan, cand)
    lay = resolve(plan.model, plan.cluster, workload, s)
    req = tuple(lay.requests()[0])
    phase = mode_of(workload).first      # the pass TTFT is made of
    t = timer.pass_times(workload, lay, phase, req, 0)
    t_last = timer.pass_times(workload, lay, phase, req, lay.pp - 1)
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


def balanced_candidates(run: Run, ranked: list[Candidate]) -> tuple[list[Candidate], bool]:
    """The pipelined candidates of `ranked` (the search's best `SPLIT_CANDIDATES`) again with a
    cost-balanced explicit split (those legal and different from the default split), and whether the
    search's deadline cut them short."""
    extra: list[Candidate] = []
    for c in ranked:
        if c.strategy.pp == 1:
            continue
        if run.late():
            return extra, True
        split = _balanced_split(run.plan, c, run.timer)
        if split is not None:
            alt = evaluate(run.plan, with_split(c.strategy, split), c.microbatches, c.overlap, run.objective,
                           run.timer)
            if alt is not None:
                extra.append(alt)
    return extra, False


def rescore_best(plan: Plan, ranked: list[Candidate], n: int, objective: str,
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
                return sorted((c for c in current if c is not None), key=rank_key), True
            c = current[k]
            current[k] = exact_figures(plan, c, objective) if c is not None else None
        ordered: list[Candidate] = sorted((c for c in current if c is not None), key=rank_key)
        current = [*ordered]


def exact_figures(plan: Plan, c: Candidate, objective: str) -> Candidate | None:
    """A candidate with the figures `check` gives its printed text (None: the full check rejects it)."""
    if c.strategy.disaggregated:
        return exact_pooled(plan.model_copy(update={"workload": workload_of(plan, c)}), c, objective)
    workload, binding = workload_of(plan, c), c.binding
    if c.batch is not None and plan.workload.batch_max and c.overlap is not Overlap.NONE:
        # the fast check's batch is an estimate under an overlap: the largest batch as `check` chooses it, the
        # schedule's (`choose_batch`), so that the row's batch is the one `--set workload.batch=max` gives
        workload = choose_batch(plan, c.strategy, workload.model_copy(update={"batch": plan.workload.batch}),
                                shared_timer(plan))
        binding = binding_of((), workload)
    r = analyse(plan, c.strategy, workload)
    if not r.valid or not isinstance(r.metrics, SteadyMetrics):
        return None
    assert r.memory is not None, "a scheduled strategy has its memory breakdown"
    metrics = r.metrics.like(c.metrics)
    return floored_for(Candidate(strategy=c.strategy, microbatches=c.microbatches, overlap=c.overlap, gpus=c.gpus,
                                 metrics=metrics, meets_requirements=r.verdict.meets_requirements is not False,
                                 score=OBJECTIVES[objective].score_of(metrics, c.gpus),
                                 memory_fraction=r.memory.worst.fraction, exact=True,
                                 memory_figures=MemoryFigures.of(r.memory),
                                 binding=binding if c.batch is not None else binding_of(r.requirements,
                                                                                         r.plan.workload),
                                 batch=workload.batch if c.batch is not None else None,
                                 misses=misses(r.requirements)), plan)

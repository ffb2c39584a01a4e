"""Scoring one candidate of the search: its fast check, as a `Candidate`.

Input: a `Plan`, a strategy, its micro-batches and overlap, an objective and the plan's
`dagc.schedule.timer.Timer`. Output: the `Candidate` (its metrics, score, memory, what binds it),
or — None from `evaluate`, the code of the rule from `assess` — none when a rule rejects it
(`dagc.verdict.fastcheck`: the same rules and memory as `check`), or the engine the plan chose would not start it
for want of KV cache (E732, `dagc.search.kv_screen`).
With `batch = max` the candidate runs the largest batch it serves (`dagc.verdict.batch_max`, probed
with the same fast check); in the search its probing stops as soon as no batch it can still end
with could matter (`evaluate_batch_max`, `dagc.search.bound.Pruner.batch_needed`).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..launch.kv_start import CODE as KV_CODE
from ..plan.objective import OBJECTIVES
from ..plan.plan import Plan
from ..plan.strategy import Strategy
from ..plan.workload import Overlap, Workload
from ..schedule.timer import Timer as _Timer
from ..verdict.batch_max import fast_largest_batch, fast_largest_batch_bounded
from ..verdict.fastcheck import Refused, fast_check
from ..verdict.verdict import MemoryFigures, RequirementResult
from .bar import Bar
from .bound import Pruner
from .floor import floored_for
from .kv_screen import kv_refused
from .result import Candidate
from .space import Item

__all__ = ["assess", "evaluate", "EMPTY_MICROBATCHES"]

EMPTY_MICROBATCHES = "W510"     # a `batch = max` candidate whose largest batch leaves micro-batches empty


def binding_of(requirements: Iterable[RequirementResult], workload: Workload,
               carries: bool | None = None) -> str | None:
    """What binds the candidate: with `batch = max`, what one more request would break (a requirement,
    or memory); otherwise the requirement with the least margin — of a run that does not carry its traffic
    (`carries` false), among the lines it misses, every load line counted so (`requirements_missed`): not the
    memory it meets by 7.4 % beside `ttft_p99` met on a run past its capacity, as until 2026-12-03."""
    if workload.batch_max and workload.batch_breaks is not None:
        return workload.batch_breaks.replace("`", "")
    lines = tuple(requirements)
    if carries is False:
        lines = tuple(r for r in lines if r.requirement.on_load or r.met is not True) or lines
    judged = [(r.margin, r) for r in lines if r.margin is not None]
    if not judged:
        return None
    return min(judged, key=lambda m: m[0])[1].requirement.text


def evaluate(plan: Plan, strategy: Strategy, mb: int, overlap: Overlap, objective: str,
             timer: _Timer | None = None) -> Candidate | None:
    """Score one candidate, or None when a rule rejects it (`dagc.verdict.fastcheck`: the same rules and
    memory as `check`). With `batch = max` the candidate runs the largest batch it serves
    (`dagc.verdict.batch_max`, probed with the same fast check)."""
    c = assess(plan, strategy, mb, overlap, objective, timer)
    return c if isinstance(c, Candidate) else None


def assess(plan: Plan, strategy: Strategy, mb: int, overlap: Overlap, objective: str,
           timer: _Timer | None = None) -> Candidate | str:
    """`evaluate`'s candidate, or the code of the rule that rejects it (`_scored`)."""
    timer = timer or _Timer(plan)
    workload = plan.workload.model_copy(update={"microbatches": mb, "overlap": overlap})
    if workload.batch_max:
        workload = fast_largest_batch(plan, strategy, workload, timer)
    return _scored(plan, strategy, mb, workload, objective, timer)


def _scored(plan: Plan, strategy: Strategy, mb: int, workload: Workload, objective: str, timer: _Timer
            ) -> Candidate | str:
    """`evaluate`'s candidate with `mb` micro-batches once its workload (those, its overlap, its batch)
    is chosen; else the code of what rejects it: the first error of its fast check, W510 when its largest batch
    (`batch = max`) leaves some of its micro-batches without a request, E732 when the plan's engine would not
    start it."""
    fc = fast_check(plan, strategy, workload, timer)
    if isinstance(fc, Refused):
        return fc.code
    if workload.batch_max and fc.layout.microbatches_dropped:
        # at the batch it serves, micro-batches beyond its requests would carry none (W510): it runs fewer, the
        # candidate with fewer micro-batches where the space has it, so this one is not proposed
        return EMPTY_MICROBATCHES
    if kv_refused(plan, strategy, workload, fc):
        return KV_CODE                # the plan's engine would not start it (E732), as `check` says
    gpus = fc.layout.gpus_used
    metrics = fc.deployment
    c = Candidate(strategy=strategy, microbatches=mb, overlap=workload.overlap, gpus=gpus, metrics=metrics,
                  meets_requirements=fc.meets_requirements, score=OBJECTIVES[objective].score_of(metrics, gpus),
                  memory_fraction=fc.memory.worst.fraction, binding=binding_of(fc.requirements, workload),
                  memory_figures=MemoryFigures.of(fc.memory),
                  batch=workload.batch if workload.batch_max else None, misses=misses(fc.requirements))
    return floored_for(c, plan)       # short of the plan's traffic: misses the ranking reads


def misses(requirements: Iterable[RequirementResult]) -> int:
    """Requirements a candidate does not meet."""
    return sum(1 for r in requirements if r.met is False)


def workload_of(plan: Plan, c: Candidate) -> Workload:
    """The workload a candidate ran: its micro-batches, overlap and (`batch = max`) its own batch."""
    update: dict[str, object] = {"microbatches": c.microbatches, "overlap": c.overlap}
    if c.batch is not None:
        update["batch"] = c.batch
    return plan.workload.model_copy(update=update)


def evaluate_batch_max(plan: Plan, strategy: Strategy, item: Item, objective: str, timer: _Timer,
                        pruner: Pruner, bar: Bar) -> Candidate | str | None:
    """A `batch = max` candidate's search of its largest batch, stopped as soon as no batch it can
    still end with could matter (`Pruner.batch_needed`): its candidate, the code of the rule that rejects
    it (`_scored`), or None when it was pruned."""
    mb, overlap = item[7], Overlap(item[8])
    chosen = fast_largest_batch_bounded(plan, strategy, pruner.bounds.workload(mb, overlap), timer,
                                        lambda fc, lo, most: pruner.batch_needed(fc, lo, most, bar, strategy.text,
                                                                                 mb, overlap))
    if chosen is None:
        return None
    return _scored(plan, strategy, mb, chosen, objective, timer)

"""`batch = max` (SPEC 3.3): the largest batch a strategy serves.

Input: a `Plan` whose workload says `batch = max` (or a search that varies the batch), a
`Strategy` and the `Workload` it runs. Output: that workload with the batch chosen and a note
saying how (`Workload.batch_note`, reported as N605).

A batch is *served* when the strategy is legal at it — it fits in memory — and meets every
requirement that more requests can only make harder: the `<=`/`<` limits on TTFT, TPOT and
memory. Throughput floors (`>=`) and `gpus` do not choose the batch (throughput grows with the
batch); they are judged at the batch chosen, like any other requirement. Memory and latency
only grow with the batch, so "served" holds up to a boundary and not beyond: `largest_batch`
finds it by doubling from 1, then bisecting — about 2·log2(batch) checks — and says what one
more request breaks.

`fast_largest_batch` probes with `dagc.fastcheck` (the search's evaluator, exact for `overlap =
none`); `choose_batch` (what `check` uses) confirms the batch with the full `analyse` and, if
the schedule disagrees (an overlap estimate), bisects again below it with `analyse` itself.
"""

from __future__ import annotations

from collections.abc import Callable

from .analyse import analyse
from .fastcheck import MEMORY, fast_check
from .fastsched import Timer
from .fields import BATCH_LIMIT
from .plan import Plan, RequirementKind, Strategy, Workload
from .verdict import RequirementResult

__all__ = ["BATCH_LIMIT", "largest_batch", "fast_largest_batch", "choose_batch"]

_UPPER_LIMITED = frozenset({RequirementKind.TTFT, RequirementKind.TPOT, RequirementKind.MEMORY})

Served = Callable[[int], str | None]        # a batch → None when served, else what it breaks


def largest_batch(served: Served, limit: int = BATCH_LIMIT) -> tuple[int, str | None]:
    """The largest batch b in [1, `limit`] with `served(b)` None (0 when not even 1 is served), and
    what b + 1 breaks (None when b is `limit`). Exact when being served is monotone.

    Example:
        >>> largest_batch(lambda b: None if b <= 37 else "memory")
        (37, 'memory')
    """
    why = served(1)
    if why is not None:
        return 0, why
    lo, hi = 1, 2                            # served(lo) holds; hi is the next probe
    while True:
        if hi >= limit:
            hi = limit
            why = served(hi) if hi > lo else None
            if why is None:
                return limit, None
            break
        why = served(hi)
        if why is not None:
            break
        lo, hi = hi, 2 * hi
    while hi - lo > 1:                       # served(lo) holds, served(hi) breaks `why`
        mid = (lo + hi) // 2
        broken = served(mid)
        if broken is None:
            lo = mid
        else:
            hi, why = mid, broken
    return lo, why


def _broken(requirements: tuple[RequirementResult, ...]) -> str | None:
    for r in requirements:
        if r.met is False and r.requirement.kind in _UPPER_LIMITED and r.requirement.op in ("<=", "<"):
            return f"`{r.requirement.text}`"
    return None


def _reason(code: str) -> str:
    return "memory (E402)" if code == MEMORY else f"the rules ({code})"


def _chosen(workload: Workload, batch: int, why: str | None, limit: int) -> Workload:
    if batch == 0:
        note = f"batch = max: not even one request is served — it breaks {why}; the figures are for one request"
    elif why is None:
        note = f"batch = max: {batch:,} requests, the largest dagc considers ({limit:,})"
    else:
        note = f"batch = max: {batch:,} requests, the largest this strategy serves — {batch + 1:,} would break {why}"
    return workload.model_copy(update={"batch": max(batch, 1), "batch_note": note, "batch_breaks": why})


def _fast_search(plan: Plan, strategy: Strategy, workload: Workload, timer: Timer,
                 limit: int) -> tuple[int, str | None]:
    def served(b: int) -> str | None:
        fc = fast_check(plan, strategy, workload.model_copy(update={"batch": b}), timer)
        return _reason(fc) if isinstance(fc, str) else _broken(fc.requirements)

    return largest_batch(served, limit)


def fast_largest_batch(plan: Plan, strategy: Strategy, workload: Workload, timer: Timer,
                       limit: int = BATCH_LIMIT) -> Workload:
    """`workload` at the largest batch `strategy` serves, probed with the fast check."""
    batch, why = _fast_search(plan, strategy, workload, timer, limit)
    return _chosen(workload, batch, why, limit)


def choose_batch(plan: Plan, strategy: Strategy, workload: Workload, timer: Timer | None = None) -> Workload:
    """`workload` at the largest batch `strategy` serves, as `check` reports it: probed with the fast
    check, confirmed by `analyse` (and searched again with it below the fast answer if they differ)."""
    batch, why = _fast_search(plan, strategy, workload, timer or Timer(plan), BATCH_LIMIT)

    def served(b: int) -> str | None:
        a = analyse(plan, strategy, workload.model_copy(update={"batch": b}))
        error = next((d.code for d in a.diagnostics if d.is_error), None)
        return _reason(error) if error is not None else _broken(a.requirements)

    if batch > 0:
        broken = served(batch)
        if broken is not None:       # the full schedule disagrees with the estimate (overlap): search below it
            below, why_below = largest_batch(served, batch - 1) if batch > 1 else (0, broken)
            batch, why = below, why_below or broken
    return _chosen(workload, batch, why, BATCH_LIMIT)

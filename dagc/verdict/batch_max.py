"""`batch = max` (SPEC 3.3): the largest batch a strategy serves.

Input: a `Plan` whose workload says `batch = max` (or a search that varies the batch), a
`Strategy` and the `Workload` it runs. Output: that workload with the batch chosen and a note
saying how (`Workload.batch_note`, reported as N605).

A batch is *served* when the strategy is legal at it — it fits in memory — and meets every
requirement that more requests can only make harder: the `<=`/`<` limits on TTFT, TPOT and
memory; in flight, also when the chunk keeps up with the prompts it admits (W513) and the KV cache
admits every request of the batch at once (W520, `dagc.memory.admission`: past that the engine runs
no more requests, however large the cap). Throughput
floors (`>=`) and `gpus` do not choose the batch (throughput grows with the
batch); they are judged at the batch chosen, like any other requirement. Memory and latency
only grow with the batch, so "served" holds up to a boundary and not beyond: `largest_batch`
finds it by doubling from 1, then bisecting — about 2·log2(batch) checks — and says what one
more request breaks.

`fast_largest_batch` probes with `dagc.verdict.fastcheck` (the search's evaluator, exact for `overlap =
none`); `choose_batch` (what `check` uses) confirms the batch with the full `analyse` and, if
the schedule disagrees (an overlap estimate), bisects again below it with `analyse` itself; under
an overlap it also asks the schedule about one request more, and when the estimate was pessimistic
there, searches above it with the schedule, so the batch chosen is the one `--set workload.batch`
confirms.
"""

from __future__ import annotations

from collections.abc import Callable

from ..lang.fields import BATCH_LIMIT
from ..layout.layout import Layout
from ..layout.modes import mode_of
from ..memory.admission import Admission
from ..plan.plan import Plan
from ..plan.strategy import Strategy
from ..plan.workload import Overlap, RequirementKind, Workload
from ..rules.requirements import BROKEN_CHUNK, BROKEN_KV, broken_text
from ..schedule.timer import Timer, shared_timer
from ..units import count_text
from .analyse import analyse
from .fastcheck import FastCheck, Refused, fast_check
from .verdict import RequirementResult

__all__ = ["BATCH_LIMIT", "largest_batch", "bounded_largest_batch", "fast_largest_batch", "fast_largest_batch_bounded",
           "choose_batch", "decode_pool_plan", "probed_largest_batch"]

_UPPER_LIMITED = frozenset({RequirementKind.TTFT, RequirementKind.TPOT, RequirementKind.MEMORY})

Served = Callable[[int], str | None]        # a batch → None when served, else what it breaks
# (the largest batch known served, the largest the answer can be) → the least batch that matters
Need = Callable[[int, int], int | None]
Needed = Callable[[FastCheck, int, int], int | None]   # `Need` given the fast check at the former too


def largest_batch(served: Served, limit: int = BATCH_LIMIT) -> tuple[int, str | None]:
    """The largest batch b in [1, `limit`] with `served(b)` None (0 when not even 1 is served), and
    what b + 1 breaks (None when b is `limit`). Exact when being served is monotone.

    Example:
        >>> largest_batch(lambda b: None if b <= 37 else "memory")
        (37, 'memory')
    """
    found = bounded_largest_batch(served, limit)
    assert found is not None, "with no `need` the search always ends with a batch"
    return found


def bounded_largest_batch(served: Served, limit: int = BATCH_LIMIT, need: Need | None = None
                          ) -> tuple[int, str | None] | None:
    """`largest_batch`, or None when the answer cannot matter to the caller.

    Whenever the bracket narrows, `need(lo, most)` — `lo` the largest batch known served (at least
    1), `most` the largest the answer can still be — says whether the answer could matter at some
    batch of [lo, most] (None: none, and None is returned) and, if so, a batch b of [lo, least],
    `least` the least such batch, with no power of two in (b, least] (least itself will do).
    While no batch is known broken, the largest power of two not above b, when it is above `lo`,
    is probed next: broken, the answer is below `least`, and None is returned. Otherwise the
    batches probed are those of `largest_batch`: 1, then the powers of two up to the first broken
    one, then the bisection between the last two (what every strategy's search probes, so that
    their stage costs are shared).

    Both find the boundary of a monotone `served` (memory and latency only grow with the batch),
    so with `need` the answer is `largest_batch`'s or None.

    Example:
        >>> def served(b): return None if b <= 37 else "memory"
        >>> bounded_largest_batch(served, need=lambda lo, most: 40 if most >= 40 else None)
        >>> bounded_largest_batch(served, need=lambda lo, most: max(lo, 30) if most >= 30 else None)
        (37, 'memory')
    """
    why = served(1)
    if why is not None:
        return 0, why
    lo, hi = 1, None                         # served(lo) holds; served(hi) breaks `why` (None: none known)
    while True:
        most = limit if hi is None else hi - 1
        if lo >= most:
            return lo, why
        if need is not None:
            least = need(lo, most)
            if least is None:
                return None
            # The answer matters only if it reaches the least batch `need` stands for. The probes stay
            # those of `largest_batch`'s steps (what every strategy's search probes, so that their stage
            # costs are shared): while no batch is known broken, the largest power of two not above it.
            jump = 1 << (least.bit_length() - 1)
            if hi is None and jump > lo:
                if served(jump) is not None:
                    return None
                lo = jump
                continue
        probe = min(1 << lo.bit_length(), limit) if hi is None else (lo + hi) // 2
        broken = served(probe)
        if broken is None:
            lo = probe
        else:
            hi, why = probe, broken


def _breaks(adm: Admission | None, workload: Workload, lay: Layout,
            requirements: tuple[RequirementResult, ...]) -> str | None:
    """What a batch breaks, None when it is served (module docstring), the first of: in flight, the KV cache
    admitting fewer of its requests at once (W520: the engine would run fewer, so a larger `batch` serves no more,
    `dagc.memory.admission`); in flight, the chunk not keeping up with its admissions (W513); a requirement that
    more requests can only make harder, missed."""
    if adm is not None and adm.limited:
        return BROKEN_KV
    if not mode_of(workload).keeps_up(workload, lay):
        return BROKEN_CHUNK
    for r in requirements:
        if r.met is False and r.requirement.kind in _UPPER_LIMITED and r.requirement.op in ("<=", "<"):
            return f"`{r.requirement.text}`"
    return None


def _chosen(workload: Workload, batch: int, why: str | None, limit: int) -> Workload:
    if batch == 0:
        note = f"batch = max: not even one request is served — it breaks {why}; the figures are for one request"
    elif why is None:
        note = f"batch = max: {count_text(batch, 'request')}, the largest dagc considers ({limit:,})"
    else:
        note = (f"batch = max: {count_text(batch, 'request')}, the largest this strategy serves — {batch + 1:,} "
                f"would break {why}")
    return workload.model_copy(update={"batch": max(batch, 1), "batch_note": note, "batch_breaks": why})


def _fast_search(plan: Plan, strategy: Strategy, workload: Workload, timer: Timer, limit: int,
                 needed: Needed | None = None) -> tuple[int, str | None] | None:
    return _probed(plan, strategy, workload, timer, limit, needed)[0]


def _probed(plan: Plan, strategy: Strategy, workload: Workload, timer: Timer, limit: int,
            needed: Needed | None = None) -> tuple[tuple[int, str | None] | None, dict[int, FastCheck], int]:
    """`_fast_search`'s answer, the served batches' fast checks and how many batches were probed."""
    checks: dict[int, FastCheck] = {}            # the served batches' fast checks
    probes = [0]

    def served(b: int) -> str | None:
        probes[0] += 1
        probe = workload.model_copy(update={"batch": b})
        fc = fast_check(plan, strategy, probe, timer)
        if isinstance(fc, Refused):
            return broken_text(fc.code)
        why = _breaks(fc.admission, probe, fc.layout, fc.requirements)
        if why is None:
            checks[b] = fc
        return why

    need = None if needed is None else lambda lo, most: needed(checks[lo], lo, most)
    return bounded_largest_batch(served, limit, need), checks, probes[0]


def decode_pool_plan(plan: Plan) -> Plan:
    """What a decode instance's largest batch is judged by (`batch = max` with pools): the plan with
    only its TPOT and memory requirements — TTFT and the throughputs are the deployment's (its prefill
    pool's and both pools' figures), not one decode instance's."""
    keep = (RequirementKind.TPOT, RequirementKind.MEMORY)
    return plan.model_copy(update={"requirements": tuple(r for r in plan.steady_requirements if r.kind in keep)})


def probed_largest_batch(plan: Plan, strategy: Strategy, workload: Workload, timer: Timer, needed: Needed,
                         limit: int = BATCH_LIMIT) -> tuple[Workload | None, FastCheck | None, int]:
    """`fast_largest_batch_bounded`, with the fast check at the batch chosen (None when not even one
    request is served, or when the batch cannot matter) and how many batches were probed (the work a
    search counts: `dagc.search.pooled_max`)."""
    found, checks, probes = _probed(plan, strategy, workload, timer, limit, needed)
    if found is None:
        return None, None, probes
    return _chosen(workload, *found, limit), checks.get(found[0]), probes


def fast_largest_batch(plan: Plan, strategy: Strategy, workload: Workload, timer: Timer,
                       limit: int = BATCH_LIMIT) -> Workload:
    """`workload` at the largest batch `strategy` serves, probed with the fast check."""
    found = _fast_search(plan, strategy, workload, timer, limit)
    assert found is not None, "a search with no `needed` always ends with a batch"
    return _chosen(workload, *found, limit)


def fast_largest_batch_bounded(plan: Plan, strategy: Strategy, workload: Workload, timer: Timer,
                               needed: Needed, limit: int = BATCH_LIMIT) -> Workload | None:
    """`fast_largest_batch`, or None when the batch it would choose cannot matter: `needed(fc, lo, most)`
    says the least batch of [lo, most] at which it could (`bounded_largest_batch`'s `need`), given
    `fc`, the fast check at `lo` (the search's branch and bound: `dagc.search.bound.Pruner.batch_needed`)."""
    found = _fast_search(plan, strategy, workload, timer, limit, needed)
    return None if found is None else _chosen(workload, *found, limit)


def choose_batch(plan: Plan, strategy: Strategy, workload: Workload, timer: Timer | None = None) -> Workload:
    """`workload` at the largest batch `strategy` serves, as `check` reports it: probed with the fast
    check, confirmed by `analyse` (and searched again with it below the fast answer if they differ)."""
    found = _fast_search(plan, strategy, workload, timer or shared_timer(plan), BATCH_LIMIT)
    assert found is not None, "a search with no `needed` always ends with a batch"
    batch, why = found

    def served(b: int) -> str | None:
        a = analyse(plan, strategy, workload.model_copy(update={"batch": b}))
        error = next((d.code for d in a.diagnostics if d.is_error), None)
        if error is not None:
            return broken_text(error)
        return _breaks(a.admission, a.plan.workload, a.layout, a.requirements)

    if batch > 0:
        broken = served(batch)
        if broken is not None:       # the full schedule disagrees with the estimate (overlap): search below it
            below, why_below = largest_batch(served, batch - 1) if batch > 1 else (0, broken)
            return _chosen(workload, below, why_below or broken, BATCH_LIMIT)
    exact = strategy.workload_for(workload).overlap is Overlap.NONE
    if not exact and why is not None and batch < BATCH_LIMIT and served(batch + 1) is None:
        # the estimate was pessimistic (overlap): the schedule serves one more, so search above it with the schedule
        known = batch + 1
        batch, why = largest_batch(lambda b: None if b <= known else served(b), BATCH_LIMIT)
    return _chosen(workload, batch, why, BATCH_LIMIT)

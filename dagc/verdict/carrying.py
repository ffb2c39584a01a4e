"""Whether a strategy's simulated load carries its traffic, and why not (`not_carried_because`): report.json's
`load.carries_traffic` and `load.not_carried_because` (docs/load.md, "Carrying the traffic").

Input: the run's figures (its queue's growth, whether it is overloaded), its binding (Little's law's requests in
flight and the cap) and its capacity. Output: the reason in words, None when the deployment carries its traffic.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Literal

from ..plan.plan import Plan
from ..plan.workload import RequirementKind
from ..serve.binding import Binding
from ..serve.load_figures import LoadFigures
from ..serve.load_result import CEILING_MARGIN, PACE_SHARE, QueueGrowth
from ..units import format_figure
from .verdict import RequirementResult

__all__ = ["CAPACITY_TOLERANCE", "LONGER_RUN", "MISSED_ALREADY", "PAST_CAPACITY", "REACHES", "CapacityMode", "Trials",
           "bracket_below", "faster_weights", "implied", "missed_already", "needs_of", "not_carried_because", "paced",
           "queue_behind",
           "reaches_of", "requirements_missed", "settled", "speculated"]

CAPACITY_TOLERANCE = 0.01     # the bisection stops when the bracket is within 1 % of its upper end
PAST_CAPACITY = "it keeps pace in this "    # how the reason of a deployment short of the rate by its capacity opens
# `dagc.verdict.under_load.under_load`'s `with_capacity` beside True, False and `AT_RATE`: whether the capacity the
# bisection gives reaches the plan's rate, its trials stopped once its path settles it (`reaches_of`, `settled`): the
# whole bisection's verdict in fewer trials, and nothing else — its figure not reported, `not_carried_because` naming
# the last rate that held (docs/load.md, "Carrying the traffic"); for a verdict that prints nothing of the capacity
REACHES: Literal["reaches"] = "reaches"
CapacityMode = bool | Literal["at-rate", "reaches"]


def requirements_missed(requirements: Iterable[RequirementResult], carries: bool | None) -> int:
    """How many requirements a strategy judged under its traffic misses, as the search ranks by them and the optimal
    verdict compares them: each line not met; and, when it does not carry its traffic (`carries` false), every line
    judged on the load — its queue keeps growing, and its percentiles with it, whatever its run's own figures — and
    at least one, beside the steady state's lines it misses (docs/load.md, "Carrying the traffic"): what a
    candidate short of the traffic counts unsimulated (`dagc.search.floor.traffic_misses`).

    Example:
        >>> from dagc.plan.workload import Requirement, RequirementKind
        >>> def line(kind, target, met, percentile=None):
        ...     req = Requirement(text=f"{kind.value} <= {target}", kind=kind, op="<=", target=target,
        ...                       percentile=percentile)
        ...     return RequirementResult(req, target * (0.5 if met else 2))
        >>> lines = [line(RequirementKind.TTFT, 3.0, True, 99), line(RequirementKind.TPOT, 0.06, False, 90),
        ...          line(RequirementKind.MEMORY, 0.9, True)]
        >>> requirements_missed(lines, True), requirements_missed(lines, False), requirements_missed(lines[2:], False)
        (1, 2, 1)
    """
    lines = tuple(requirements)
    if carries is False:
        steady = sum(1 for q in lines if not q.requirement.on_load and q.met is not True)
        return steady + max(1, sum(1 for q in lines if q.requirement.on_load))
    return sum(1 for q in lines if q.met is not True)


def not_carried_because(overloaded: bool, growth: QueueGrowth | None, rate: float | None, most: float | None,
                        requests: int | None = None, needs: tuple[float, int] | None = None,
                        ceiling: float | None = None) -> str | None:
    """Why a run's deployment cannot carry its traffic, None when it can: its queue
    grows past what its arrivals' noise allows (`load.overloaded`, `Load.queue_growth`); or it grows by more
    than the pace the capacity is placed by (`QueueGrowth.behind`) while the requests in flight Little's law
    needs at the arrival rate are more than its cap allows by more than `CAPACITY_TOLERANCE` (`needs`): the most
    it serves, its cap over a request's time in flight, is below the arrival rate, as the run's own counts say;
    or its capacity — when bisected — lies below the arrival rate by more than `CAPACITY_TOLERANCE`, whatever
    the run's own percentiles: the run keeps pace, but the capacity is the rate the deployment sustains over
    runs at least as long as its trials, and above it they miss a percentile requirement or fall behind (the
    reason then opens with `PAST_CAPACITY`; docs/load.md, "Carrying the traffic"); or, its capacity not
    judged, the arrival rate lies above its `ceiling` — the most it serves: the steady state's rate and
    `CEILING_MARGIN` — by more than
    `CAPACITY_TOLERANCE` (a capacity, when judged, is never above it). A deployment that cannot
    carry its traffic does not meet its requirements; a run whose queue grows (`queue_behind`) meets none of
    its load requirements, whose figures grow with its length.

    Args:
        overloaded: the run's queue grows past its arrivals' noise (`Load.overloaded`), by `growth`.
        rate: the run's arrival rate (`Binding.arrival_rate_requests_per_s`).
        most: its capacity (None: not judged).
        requests: the run's requests, as its reason names them (None: not named).
        needs: the requests in flight Little's law needs and the cap on them (`Binding.little_concurrency`,
            `Binding.cap`; None: either unknown).
        ceiling: the most requests per second it serves (`Load.ceiling`; None: not known).

    Example:
        >>> not_carried_because(False, None, 10.0, 9.2, 1000)[:73]
        'it keeps pace in this 1,000-request run, but its capacity, 9.2 requests/s'
    """
    if (behind := queue_behind(overloaded, growth, needs)) is not None:
        return behind
    rate = None if rate is None or not math.isfinite(rate) else rate      # as report.json's binding holds it
    cap = most
    run = "run" if requests is None else f"{requests:,}-request run"
    if rate is not None and cap is None and ceiling is not None and ceiling < rate * (1 - CAPACITY_TOLERANCE):
        margin = f"{CEILING_MARGIN * 100:.0f} %"
        return (f"{PAST_CAPACITY}{run}, but the most it serves, {format_figure(ceiling)} requests/s (its steady "
                f"state's rate, every request slot busy, and {margin} for the simulation), is below the arrival rate "
                f"of {format_figure(rate)} requests/s: the run is too short to fill it, and a longer one falls behind")
    if rate is not None and cap is not None and cap < rate * (1 - CAPACITY_TOLERANCE):
        return (f"{PAST_CAPACITY}{run}, but its capacity, {format_figure(cap)} requests/s (the highest arrival "
                f"rate at which its percentile requirements hold and its queue keeps pace, over runs as long as "
                f"the capacity's trials), is below the arrival rate of {format_figure(rate)} requests/s: {LONGER_RUN}")
    return None


# how `not_carried_because`'s reason past a capacity ends, and how it ends of a run that misses a percentile itself
LONGER_RUN = "at this rate a longer run misses a percentile requirement or falls behind"
MISSED_ALREADY = "at this rate this run already misses a percentile requirement, and a longer one may fall behind too"


def missed_already(reason: str | None, missed: bool = True) -> str | None:
    """`not_carried_because`'s reason of a run that itself misses a percentile requirement (`missed`): past its
    capacity, it says this run misses one already rather than that a longer run would (until 2026-12-02 "a longer
    run misses a percentile requirement" followed "this run misses `tpot_p90 <= 45 ms`"); any other as it is.

    Example:
        >>> missed_already(not_carried_because(False, None, 10.0, 9.2, 1000))[-86:]
        'this run already misses a percentile requirement, and a longer one may fall behind too'
    """
    if not missed or not reason or not reason.endswith(LONGER_RUN):
        return reason
    return reason.removesuffix(LONGER_RUN) + MISSED_ALREADY


# how `queue_behind` starts when the run needs more requests in flight than its cap: the cap and Little's law said
NEEDS_LEAD = "it needs ≈ "


def queue_behind(overloaded: bool, growth: QueueGrowth | None, needs: tuple[float, int] | None) -> str | None:
    """Why a run's queue grows — past its arrivals' noise, or past a trial's pace with its cap short of Little's
    law (`not_carried_because`) —, None when it keeps pace: its percentiles then grow with its length, and its
    load requirements are not met whatever their figures (`dagc.verdict.under_load.judge_on_load`)."""
    if overloaded and growth is not None:
        return (f"the queue keeps growing: {_grown(growth)} — past the {growth.allowance:.0f} its arrivals' noise "
                "allows")
    if growth is not None and growth.behind and needs is not None and needs[0] > needs[1] * (1 + CAPACITY_TOLERANCE):
        return (f"{NEEDS_LEAD}{needs[0]:,.0f} requests in flight at this rate (Little's law: the arrival rate × a "
                f"request's time in flight), more than its cap of {needs[1]:,}, and its queue grows: {_grown(growth)}"
                f" — past the {growth.pace:,.0f} ({PACE_SHARE * 100:.0f} % of the arrivals) a capacity's trial allows; "
                f"the arrivals' noise alone could make {growth.allowance:,.0f}, but with the cap short of Little's "
                "law the growth is the cap's, not the noise's")
    return None


def _grown(growth: QueueGrowth) -> str:
    """How the queue grew, in words: by how many requests over the run's second half (or, `whole`, over the run), of
    those arriving in it and those ending (or given their first token) in it. Until 2026-12-03 it read "of the 199
    requests arriving over the run's second half, 192 ended in it, 7 more in the system", which read as 192 held."""
    if growth.whole:
        return (f"it grew by {growth.grown:,} over the run ({growth.arrived:,} requests arrived, {growth.ended:,} "
                "were given their first token by its last arrival)")
    ended = "were given their first token" if growth.first_token else "ended"
    queue = "the queue waiting for a first token" if growth.first_token else "it"
    return (f"{queue} grew by {growth.grown:,} over the run's second half ({growth.arrived:,} requests arrived, "
            f"{growth.ended:,} {ended})")


def needs_of(b: Binding) -> tuple[float, int] | None:
    """The requests in flight Little's law needs at the arrival rate and the cap on them, when both are known."""
    return None if b.little_concurrency is None or not b.cap else (b.little_concurrency, b.cap)


def bracket_below(ok: Callable[[float], bool], hi: float, more: Callable[[], bool]) -> tuple[float, float] | None:
    """The capacity's bracket (`dagc.verdict.under_load.capacity`: a rate that holds, one that does not) below `hi`,
    which does not hold: halving until a rate holds, while `more()` says a run may be spent; None when none held.
    Three quarters of `hi` is tried first — the bisection's first point of [hi / 2, hi], above which most capacities
    lie (9 of the 15 strategies docs/load.md measures, 3 more above hi / 2): when it holds, the bracket is the one
    halving then bisecting reaches, one trial fewer (that of hi / 2, which a rate that holds above it says holds);
    when not, the trials and the bracket are halving's, with one trial more only when hi / 2 does not hold either."""
    first = (hi / 2 + hi) / 2           # as the bisection computes its midpoint of [hi / 2, hi]
    if ok(first):
        return first, hi
    while more():
        if ok(hi / 2):
            return hi / 2, min(hi, first)
        hi /= 2
    return None


def speculated(estimate: float) -> float:
    """The rate `dagc.verdict.under_load.capacity` tries first: the bisection's midpoint of the bracket [3/4, 1] of the
    `estimate`, computed as `bracket_below` and the bisection compute it (the very rate: the trial they would run)."""
    first = (estimate / 2 + estimate) / 2
    return (first + estimate) / 2


def reaches_of(plan: Plan, with_capacity: CapacityMode, rate: float | None) -> float | None:
    """The rate `REACHES` compares the capacity with, as `not_carried_because` does: the arrival rate less
    `CAPACITY_TOLERANCE`; None — the bisection whole — otherwise: without a rate, and with a goodput requirement,
    whose odds read the capacity's figure (`dagc.verdict.goodput_band`)."""
    goodput = any(r.kind is RequirementKind.GOODPUT for r in plan.requirements)
    if with_capacity != REACHES or rate is None or not math.isfinite(rate) or goodput:
        return None
    return rate * (1 - CAPACITY_TOLERANCE)


def settled(lo: float, hi: float | None, rate: float | None) -> bool:
    """Whether the capacity's bisection path (`dagc.verdict.under_load.capacity`) settles how the capacity it gives
    compares with `rate` (None: no rate asked, `REACHES`): at least it once a rate that held (`lo`, which the path
    only raises, and returns) is; below it once its bracket is found (`hi`, a rate that failed, which it only
    lowers, None before) and `hi` is at most `rate`.

    Example:
        >>> settled(9.9, None, 9.9), settled(9.8, None, 9.9), settled(9.0, 9.9, 9.9), settled(12.0, None, None)
        (True, False, True, False)
    """
    return rate is not None and (lo >= rate or hi is not None and 0 < lo < hi <= rate)


def implied(rate: float, tried: dict[float, bool]) -> bool | None:
    """Whether a capacity trial at `rate` holds, as the trials already run say (`tried`: rate → held): at or below
    a rate that held, it holds; at or above one that did not, it does not (as the plan's own run decides those on
    its side, `dagc.verdict.under_load.capacity`); None when they do not say, or say both (trials on either side of
    each other's verdict, the seeds' noise: the trial decides).

    Example:
        >>> implied(5.0, {6.0: True, 7.0: False}), implied(7.5, {6.0: True, 7.0: False}), implied(6.5, {6.0: True})
        (True, False, None)
    """
    held = any(rate <= r for r, h in tried.items() if h)
    failed = any(rate >= r for r, h in tried.items() if not h)
    return None if held == failed else held


class Trials:
    """A capacity's trials (`dagc.verdict.under_load.capacity`): a rate's verdict as the trials already run imply it
    (`implied`), else `hold(rate)` run — its verdict kept and `each_run(trials run)` told."""

    def __init__(self, hold: Callable[[float], bool], each_run: Callable[[int], None] | None = None) -> None:
        self.hold, self.each_run = hold, each_run
        self.tried: dict[float, bool] = {}

    @property
    def runs(self) -> int:
        """The trials run."""
        return len(self.tried)

    def __call__(self, rate: float) -> bool:
        if (held := implied(rate, self.tried)) is not None:
            return held
        held = self.tried[rate] = self.hold(rate)
        if self.each_run is not None:
            self.each_run(self.runs)
        return held


def faster_weights(plan: Plan) -> str | None:
    """The weights that would make the plan's steps faster, as `dagc.verdict.next_steps` tries them: 8-bit weights
    for 16-bit ones, fp4 weights on a GPU with fp4 units; None when the weights are already as small as its GPU
    computes (DeepSeek-V3's fp8 on an H200). `dagc check`'s binding line and `dagc fleet`'s rows say it."""
    m = plan.model
    if m.weights.bytes >= 2:
        return "8-bit weights"
    if plan.cluster.gpu.flops_4bit and not m.weights.is_fp4:
        return "fp4 weights"
    return None


def paced(out: LoadFigures) -> bool:
    """Whether a run keeps the capacity's trials' pace: not overloaded, and its queue waiting for a first token
    growing by at most `PACE_SHARE` of its second half's arrivals (`Load.keeps_pace`, as the served rate counts a
    run) — for a request log and for arrivals drawn from the traffic's seed alike. The count of requests in the
    system is no such test: its growth over a trial's second half follows the seed's own swings, the same at every
    rate (arrival times are the seed's draws over the rate). DeepSeek-V3 on 16 H200s with a cap of 128, trials of
    2,000 requests from seed 1: that count grew by 30–51 of 999 arrivals at every rate from 3.5 to 4.4 requests/s
    with no request waiting, where runs of 8,000 grew by 3–7 (−34 at 4.4) — the deployment keeps up there, and is
    overloaded at 4.8 in both, its queue waiting; read as falling behind, the count put the capacity at 3.465
    requests/s, below the 3.9 at which its TPOT p90 reaches its 50 ms. So did a conversation log's bursts: 1,000
    requests at 25 requests/s onto Qwen3-30B-A3B on 8 H100s, every first token within 94 ms, ended 477 of the 499
    arriving over the second half, that count moving between 477 and 495 from 19 to 30 requests/s with no trend."""
    return out.keeps_pace

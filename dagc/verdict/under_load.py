"""The verdict under load: the workload's traffic simulated through a strategy, its percentile and goodput
requirements judged, and the capacity — the highest arrival rate at which they hold.

Input: a `Plan` whose workload has traffic, a sound strategy with its `Layout` and steady-state metrics.
Output: `UnderLoad` — the simulated `dagc.serve.load.Load`, its figures (`dagc.serve.load_figures.LoadFigures`),
the limit that binds it, its capacity and whether it carries its traffic: report.json's `load` — and
`judge_on_load`, which fills the values of the requirements judged on the load (`Requirement.on_load`).
The capacity is a bisection over seeded open-loop runs of the traffic's requests at trial rates
(`CAPACITY_STEPS` runs at most), each judged on the percentile requirements and on keeping pace (its queue
grows by at most `dagc.serve.load_result.PACE_SHARE` of its arrivals); without percentile requirements, on
keeping pace alone; the plan's own run stands for the trials on its side.
A capacity run simulates `CAPACITY_REQUESTS` requests drawn from the traffic's seed (of a request log,
its first ones), whatever the traffic's own count, and a run of millions costs one long simulation and
two dozen short ones. A deployment whose run is `overloaded` (its queue's growth past its arrivals' noise)
or whose capacity is below the arrival rate does not carry its traffic (`not_carried_because`): it does not
meet its requirements (`dagc.verdict.verdict.verdict`); a run whose queue grows meets none of its load
requirements, a run that keeps pace is judged on its own figures (`judge_on_load`).

Both are bounded before they start (`load_events`) by the plan's work budget (`Plan.load_budget_events`,
`LOAD_BUDGET_EVENTS` unless `--load-budget` changes it): a run past it is not simulated at all
(`not_simulated`: W518, the load requirements not judged), a capacity past it is not judged (W518).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from ..diagnostics import Diagnostic
from ..layout.layout import Layout
from ..plan.plan import LOAD_BUDGET_EVENTS, Plan
from ..plan.strategy import Strategy
from ..plan.workload import RequirementKind
from ..rules.serving import load_over_budget
from ..serve.binding import Binding, Limit, diagnose
from ..serve.load import Load, StepPrices, simulate_sized
from ..serve.load_figures import LoadFigures, load_figures
from ..serve.load_pools import PoolPrices, simulate_pools
from ..serve.load_result import CEILING_MARGIN
from ..serve.price import request_tokens
from ..serve.shared import shared_load, shared_prices
from ..serve.watch import Missed
from ..units import format_figure
from .carrying import (
    CAPACITY_TOLERANCE,
    REACHES,
    CapacityMode,
    Trials,
    bracket_below,
    missed_already,
    needs_of,
    not_carried_because,
    paced,
    queue_behind,
    reaches_of,
    settled,
    speculated,
)
from .load_size import (
    CAPACITY_MIN_REQUESTS,
    CAPACITY_REQUESTS,
    capacity_min_requests,
    capacity_requests,
    load_events,
    not_simulated,
)
from .load_warnings import over_chunk, over_context, over_kv
from .pools import PooledCheck
from .steady import Steady, SteadyMetrics
from .verdict import RequirementResult

__all__ = ["AT_RATE", "CAPACITY_MIN_REQUESTS", "CAPACITY_REQUESTS", "CAPACITY_STEPS", "CAPACITY_TOLERANCE",
           "CAPACITY_WORK_BUDGET", "REACHES", "CapacityMode", "Progress", "Run", "UnderLoad",
           "capacity", "capacity_min_requests", "capacity_requests", "carries_traffic", "judge_on_load", "load_events",
           "not_carried_because", "not_simulated", "pools_run", "strategy_run", "under_load"]

CAPACITY_STEPS = 24           # simulated runs at most per capacity (bracketing and bisection)
CAPACITY_WORK_BUDGET = LOAD_BUDGET_EVENTS   # the default budget of the capacity's runs, as of one run
# `with_capacity`'s third way: whether the capacity reaches the plan's rate — one trial just under it, the bisection
# only when it fails (a next step's judgement: `dagc.verdict.next_steps`), the capacity then not reported
AT_RATE: Literal["at-rate"] = "at-rate"
OWN_LENGTHS = 0.05      # a run's mean tokens a request this far (relative) from the workload's are its own lengths

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class UnderLoad:
    """A strategy under its plan's traffic: the run, its figures, the limit that binds it, its capacity
    (None: not judged, `capacity_judged`) and why it does not carry its traffic (None: it does)."""

    load: Load
    figures: LoadFigures
    binding: Binding
    capacity_requests_per_s: float | None
    capacity_judged: bool
    capacity_work_events: int
    not_carried_because: str | None
    diagnostics: tuple[Diagnostic, ...] = ()      # W518 when the capacity's work is past the budget; W519
    capacity_min_requests: int = CAPACITY_MIN_REQUESTS    # a trial's fewest requests (`capacity_min_requests`)

    @property
    def carries_traffic(self) -> bool:
        return self.not_carried_because is None

    def shortfall(self) -> str:
        """That the deployment does not carry its traffic, in a few words (a next step's miss): the requests it
        serves of those arriving while its queue grows, else its capacity below the rate."""
        rate, served = self.binding.arrival_rate_requests_per_s, self.figures.served_requests_per_s
        rate_text = "its arrivals" if rate is None else f"the {format_figure(rate)} requests/s arriving"
        if self.queue_grows is not None or self.capacity_requests_per_s is None:
            return f"the traffic ({format_figure(served)} requests/s served of {rate_text}, its queue growing)"
        cap = format_figure(self.capacity_requests_per_s)
        return f"the traffic (its capacity, {cap} requests/s, below {rate_text})"

    @property
    def queue_grows(self) -> str | None:
        """Why the run's own queue grows (`dagc.verdict.carrying.queue_behind`), None when it keeps pace — a
        deployment short of the rate by its capacity alone keeps pace in its run, whose figures stand."""
        return queue_behind(self.figures.overloaded, self.figures.queue_growth, needs_of(self.binding))


class Run(Protocol):
    """The traffic of a plan (as checked) through one strategy. `watch`: the caller reads the run's verdict on
    its percentile requirements alone, and a run may stop once it misses one whatever its remaining requests
    do, raising `dagc.serve.watch.Missed` (`dagc.serve.load.simulate`)."""

    def __call__(self, plan: Plan, progress: Progress | None, watch: bool = False, /) -> Load: ...


def strategy_run(strategy: Strategy, lay: Layout, prices: StepPrices, kv_tokens: int) -> Run:
    """A run through one strategy (`dagc.serve.load.simulate_sized`), each step priced once over every run
    and every check of the same strategy in this process, an identical run made once (`dagc.serve.shared`; a
    watched run that stopped is none). `kv_tokens`: a rank's KV cache in tokens, from the strategy's memory
    as the check sized it (`dagc.serve.kv_blocks.kv_capacity_of`), the same for every run."""
    prices = shared_prices(prices)

    def run(plan: Plan, progress: Progress | None, watch: bool = False, /) -> Load:
        return shared_load(plan, strategy, lay,
                           lambda: simulate_sized(plan, strategy, lay, prices, kv_tokens, progress, watch), watch,
                           kv_tokens)
    return run


def pools_run(pooled: PooledCheck, strategy: Strategy | None = None, lay: Layout | None = None) -> Run:
    """A run through a disaggregated strategy's pools (`dagc.serve.load_pools.simulate_pools`, a watched one stopped
    as `strategy_run`'s); given the `strategy` and its decode pool's layout `lay`, an identical run made once
    (`dagc.serve.shared`: `sized`, each pool's requests an instance runs and admits and the KV's link, as checked)."""
    prices = PoolPrices(pooled)
    sized = (tuple((p.pool.role, p.pool.instances, p.batch_per_instance, p.running_per_instance) for p in pooled.pools),
             pooled.link_bytes_per_s)

    def run(plan: Plan, progress: Progress | None, watch: bool = False, /) -> Load:
        def made() -> Load:
            return simulate_pools(plan, pooled, progress, prices, watch)
        return made() if strategy is None or lay is None else shared_load(plan, strategy, lay, made, watch, sized)
    return run


def under_load(plan: Plan, run: Run, steady: Steady, progress: Progress | None = None,
               with_capacity: CapacityMode = True) -> UnderLoad:
    """Simulate the plan's traffic with `run` (`strategy_run`, `pools_run`), and bisect its capacity (module
    docstring; without `with_capacity`, `capacity_requests_per_s` is None). `progress(done, total)` follows
    the requests simulated, the capacity's runs included. `steady`: the steady state beside it (its rate is
    the capacity's first estimate; its steps say what binds the run)."""
    metrics, steps = steady.metrics, steady.steps
    traffic = plan.workload.traffic
    assert traffic is not None, "under_load needs traffic"
    n, m = traffic.requests, capacity_requests(traffic) if with_capacity else 0
    span = n + m * CAPACITY_STEPS       # the run, then the capacity's runs at most: requests to simulate

    def each_run(runs: int) -> None:
        if progress is not None:
            progress(n + m * runs, span)

    raw = run(plan, None if progress is None else (lambda done, _: progress(done, span)))
    # the most it serves: no run keeps pace with more, and no capacity is above it
    steady_rate, ceiling = _rate_and_ceiling(plan, _steady_rate(plan, metrics), raw)
    main = replace(raw, ceiling=ceiling)
    figures = load_figures(plan, main)
    missed, goodput = figures.misses.latencies, figures.misses.goodput
    binding = diagnose(main, missed, steps, goodput)
    each_run(0)
    work = load_events(plan, m) * CAPACITY_STEPS
    budget = plan.load_budget_events
    least = capacity_min_requests(traffic.log is not None, main.cap if main.static else None)
    enough = m >= least
    judged = with_capacity and enough and (budget is None or work <= budget)
    known = _run_stands_for(figures, m, ceiling)
    rate = figures.rate_requests_per_s        # `AT_RATE`: a trial just under the rate that holds says enough
    reached = judged and with_capacity == AT_RATE and known is None and not missed and rate is not None \
        and _trial_holds(plan, run, rate * (1 - CAPACITY_TOLERANCE), m)
    reaches = reaches_of(plan, with_capacity, binding.arrival_rate_requests_per_s)
    most = capacity(plan, run, steady_rate, each_run, known, ceiling, reaches) if judged and not reached else None
    reason = not_carried_because(figures.overloaded, figures.queue_growth, binding.arrival_rate_requests_per_s, most,
                                 figures.requests, needs_of(binding), ceiling)
    reached = reached or reaches is not None      # `REACHES`: the capacity's verdict alone, its figure not reported
    if reason is not None and binding.limit is Limit.NONE:     # behind by its capacity alone: as a queue
        binding = diagnose(main, missed, steps, goodput, behind=True)
    if progress is not None:
        progress(span, span)
    over = () if judged or not with_capacity or budget is None or not enough else (
        load_over_budget(plan, work, budget, m * CAPACITY_STEPS, capacity=True),)
    return UnderLoad(main, figures, binding, None if reached else most, judged and not reached, work,  # a miss its own
                     missed_already(reason, bool(missed)), (*over_kv(plan, main), *over_chunk(plan, main),
                                                            *over_context(plan, main), *over), least)


def carries_traffic(load: UnderLoad | None) -> bool | None:
    """Whether a strategy's simulated load carries its traffic (`not_carried_because`); None without a load."""
    return None if load is None else load.carries_traffic


def _steady_rate(plan: Plan, metrics: SteadyMetrics) -> float | None:
    """The requests per second the steady state serves: its end-to-end tokens/s over a request's tokens."""
    if not metrics.throughput_tokens_per_s:
        return None
    w = plan.workload
    return float(metrics.throughput_tokens_per_s) / (w.prompt + w.generate)


def _rate_and_ceiling(plan: Plan, steady_rate: float | None, run: Load) -> tuple[float | None, float | None]:
    """The capacity's first estimate and the most the deployment serves (`Load.ceiling`): the steady state's request
    rate, and `CEILING_MARGIN` above it. A run whose requests have lengths of their own — a request log's, whose mean
    tokens a request (`dagc.serve.price.request_tokens`) differ from the workload's `prompt` + `generate` by more
    than `OWN_LENGTHS` — is not the steady state's requests: the estimate is the steady state's tokens/s over the
    run's tokens a request, and no ceiling is known. Until 2026-11-29 seed 001's 1,000 Azure requests (1,261 tokens
    on average, the workload's 10,496) were capped at the steady state's 13.1 requests/s and 10 %: a run at 30
    requests/s that kept pace within every target was "PAST ITS CAPACITY, 14.42 requests/s"."""
    if steady_rate is None:
        return None, None
    w = plan.workload
    prompt, generate = request_tokens(run, w.prompt, w.generate)
    ratio = (w.prompt + w.generate) / (prompt + generate)
    if abs(ratio - 1.0) > OWN_LENGTHS:
        return steady_rate * ratio, None
    return steady_rate, steady_rate * (1 + CEILING_MARGIN)


def _run_stands_for(out: LoadFigures, trial_requests: int,
                    ceiling: float | None = None) -> tuple[float, bool] | None:
    """The plan's own run as the capacity's trial at its arrival rate (`capacity`'s `known`): (rate, False) when
    it misses a percentile requirement or is `overloaded` (its queue's growth past its noise: a test, which a
    verdict may rest on), or arrives faster than the `ceiling` (the steady state's rate and `CEILING_MARGIN`: none
    keeps pace with more, whatever a run too short to fill it shows); (rate, True) when it meets them, keeps pace
    as a trial must (`_holds`) and is as long as a trial (`trial_requests`); None — the trials decide —
    otherwise: a run that grows past that pace (`paced`) within its noise, or one shorter
    than a trial, whose last arrivals come before its deployment has filled (200 requests of DeepSeek-V3 at 0.9
    requests/s, each in flight a minute, served every first token at once and pinned a capacity of 0.9; the
    trials of 2,000 requests give 0.79 at any rate). None without a rate."""
    rate = out.rate_requests_per_s
    if rate is None:
        return None
    if out.overloaded or out.misses.latencies or ceiling is not None and rate > ceiling:
        return rate, False
    return None if out.requests < trial_requests or not paced(out) else (rate, True)


def _holds(out: LoadFigures) -> bool:
    """Whether a capacity trial meets the percentile requirements and keeps the trials' pace (`paced`)."""
    return paced(out) and not out.misses.latencies


def _trial_holds(plan: Plan, run: Run, rate: float, requests: int) -> bool:
    """Whether a capacity trial — `requests` of the plan's traffic at `rate` — holds (`_holds`), the run stopped
    once it misses a percentile requirement whatever the rest of it does (`dagc.serve.watch`)."""
    traffic = plan.workload.traffic
    assert traffic is not None, "a capacity trial needs traffic"
    trial = plan.model_copy(update={"workload": plan.workload.model_copy(
        update={"traffic": traffic.at_rate(rate).model_copy(update={"requests": requests})})})
    try:
        out = load_figures(trial, run(trial, None, True))
    except Missed:
        return False
    return _holds(out)


def capacity(plan: Plan, run: Run, estimate: float | None, each_run: Callable[[int], None] | None = None,
             known: tuple[float, bool] | None = None, ceiling: float | None = None,
             reaches: float | None = None) -> float | None:
    """The highest arrival rate (requests/s) at which the traffic's requests, arriving open loop from its
    seed, meet the percentile requirements and keep pace (`_holds`); None when not even the lowest rate tried does (or
    there is no estimate to start from). Starts from the steady state's rate, brackets by doubling or halving
    (`dagc.verdict.carrying.bracket_below`), then bisects to `CAPACITY_TOLERANCE` — the trial at 7/8 of that rate run
    first, and none whose verdict those run imply (`Trials`): the same bracket in fewer trials (docs/load.md).
    `each_run(trials run)` follows it. Given `reaches` (`REACHES`), it stops once its path settles whether the capacity
    it gives is at least that rate (`dagc.verdict.carrying.settled`), and returns the rate that held last.

    No rate above the `ceiling` holds, and none is tried: the steady state's rate (every request slot busy) and
    `CEILING_MARGIN` is the most the deployment serves, and a trial of fewer requests than its cap on those in
    flight admits each at once, its queue level however fast they arrive (Mixtral 8x7B on 8 H100s, 2,048 in
    flight, its steady state serving 14.28 requests/s, had a capacity of 29.68).

    `known` is the plan's own run: its arrival rate and whether it held. It stands for every trial on its
    side — a rate at or below one that held holds, one at or above one that did not does not — so that
    the capacity is at least the arrival rate of a run that held and below that of one that did not: the
    capacity never contradicts the run it is printed beside (a trial of 2,000 requests near the capacity
    may hold where the run did not, or the other way round: the queue's noise)."""
    traffic = plan.workload.traffic
    if traffic is None or not estimate or estimate <= 0:
        return None
    runs = 0                  # the bisection's trials as it counts them (some implied by others: `Trials`)
    m = capacity_requests(traffic)
    trial = Trials(lambda rate: _trial_holds(plan, run, rate, m), each_run)

    def ok(rate: float) -> bool:
        nonlocal runs
        if (decided := _decided(rate, known, ceiling)) is not None:
            return decided                  # no trial run spent
        runs += 1
        return trial(rate)

    def more(steps: int) -> bool:           # at most `steps` trials as the bisection counts them (one more run at most)
        return runs < steps and not settled(lo, None, reaches)

    lo, hi = 0.0, estimate
    ahead = speculated(estimate)            # its trial decides the one at `estimate` or at three quarters of it
    if _decided(ahead, known, ceiling) is None and trial(ahead) and settled(ahead, None, reaches):
        return ahead                        # a held `ahead` is on the bisection's path (docs/load.md)
    if ok(hi):
        lo = hi
        while more(CAPACITY_STEPS // 2):
            hi = lo * 2
            if not ok(hi):
                break
            lo = hi
        else:
            return lo
    else:
        bracket = bracket_below(ok, hi, lambda: more(CAPACITY_STEPS // 2))
        if bracket is None:
            return None
        lo, hi = bracket
    while more(CAPACITY_STEPS) and hi - lo > CAPACITY_TOLERANCE * hi and not settled(lo, hi, reaches):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return max(lo, known[0]) if known is not None and known[1] else lo


def _decided(rate: float, known: tuple[float, bool] | None, ceiling: float | None) -> bool | None:
    """Whether a capacity trial at `rate` holds, when that is known without running it (`capacity`): not above
    the `ceiling`; as the plan's own run (`known`) on its side of it; None: the trial decides."""
    if ceiling is not None and rate > ceiling:
        return False
    if known is not None and (rate <= known[0] if known[1] else rate >= known[0]):
        return known[1]
    return None


def judge_on_load(requirements: tuple[RequirementResult, ...],
                  load: UnderLoad | None) -> tuple[RequirementResult, ...]:
    """The requirements with those judged on the load (`Requirement.on_load`) valued from the run's figures;
    the others as they were, judged on the steady state (report.json's `metrics`: the serving mode
    without queueing, docs/outputs.md "Requirements and the load"), a `ttft` or `tpot` line with the load's
    mean of that latency beside it (`RequirementResult.load_value`). Of a run whose queue grows
    (`UnderLoad.queue_grows`), each requirement judged on the load is not met: one whose figure holds says why
    (`RequirementResult.unmet`). A run that keeps pace is judged on its figures, also when the capacity lies
    below the rate: the verdict then says the deployment does not carry its traffic (`not_carried_because`)."""
    unmet = None if load is None else load.queue_grows
    figures = None if load is None else load.figures
    out = []
    for r in requirements:
        if not r.requirement.on_load:
            out.append(replace(r, load_value=_load_mean(r, figures)))
            continue
        value = None if figures is None else figures.value_of(r.requirement)
        held = value is not None and bool(r.requirement.holds(value))      # a figure that misses says why itself
        out.append(replace(r, value=value, unmet=unmet if held else None))
    return tuple(out)


def _load_mean(r: RequirementResult, load: LoadFigures | None) -> float | None:
    """The simulated load's mean of a steady-state `ttft` or `tpot` requirement's latency (the client's TTFT,
    as the steady state's `ttft_s`); None for other requirements and without a load."""
    kind = r.requirement.kind
    if load is None or kind not in (RequirementKind.TTFT, RequirementKind.TPOT):
        return None
    return load.latency(kind).mean

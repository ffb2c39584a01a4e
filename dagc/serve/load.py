"""Load: requests arriving at a deployment, simulated one step at a time through its serving mode.

Input: a `Plan` whose workload has `Traffic` (`rate`, `concurrency` or a request log), one of its
strategies, and the strategy's `Layout`. Output: `simulate`'s `Load` — every request's arrival, lengths,
first token, end, preemptions and cached prompt tokens, the steps' gaps and the run's timeline, whose
figures `dagc.serve.load_figures` gives. The library never prints; `progress` hears how far a run is.

The requests are `dagc.serve.requests.requests_of`'s. In flight, each data-parallel replica serves its
share of them (every dp-th arrival, or every dp-th client) through `dagc.serve.replica`: first come first
served admission while a rank has fewer than its share of `batch` and KV blocks for the prompt
(`dagc.serve.kv_blocks`: its KV cache from dagc's memory model), chunked prefill within `chunk`,
preemption when the blocks run out, a prefix cache; each step priced by the surrogate of
`dagc.serve.surrogate` over dagc's exact step prices (`dagc.serve.step_prices`). Statically, the waiting
requests are taken `batch` at a time (`dagc.serve.static_load`). docs/load.md tells it whole.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from ..layout.layout import Layout
from ..layout.mix import shares
from ..layout.modes import mode_of
from ..plan.plan import Plan
from ..plan.strategy import Strategy
from ..plan.workload import Traffic, Workload
from .kv_blocks import BLOCK_TOKENS, kv_capacity_tokens
from .load_result import Load, Timeline, percentiles, sample_percentiles
from .replica import Replica
from .requests import Requests, requests_of
from .run import Run
from .sources import ClosedLoop, FrontEnd, OpenLoop, Source
from .static_load import static_load
from .step_prices import StepPrices
from .surrogate import surface_for
from .watch import Observers, Watch

__all__ = ["Load", "StepPrices", "Timeline", "percentiles", "sample_percentiles", "simulate", "simulate_sized"]


def simulate(plan: Plan, strategy: Strategy, lay: Layout, prices: StepPrices | None = None,
             progress: Callable[[int, int], None] | None = None, kv_tokens: int | None = None,
             watch: bool = False) -> Load:
    """Run the workload's traffic through the strategy (module docstring).

    Args:
        prices: the strategy's step prices, when the caller has some priced already.
        progress: called with (requests ended, requests) about 20 times over the run, the last at the end.
        kv_tokens: the tokens one attention-DP rank's KV cache holds (None: `kv_capacity_tokens`).
        watch: stop an in-flight run once it misses a percentile requirement whatever its remaining
            requests do, raising `dagc.serve.watch.Missed` (`Watch`): for a caller that reads that verdict alone
            (a capacity's trial). A watched in-flight run records no timeline (`Load.timeline` None): its verdict
            reads its requests' figures alone.

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.verdict.check import check
        >>> plan = load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 8 gpu preset "h200" } '
        ...     'workload { batch = 64 prompt = 4000 generate = 500 serving = inflight '
        ...     'rate = 2 requests/s requests = 200 } strategy tp 8')
        >>> r = check(plan)[0]
        >>> load = simulate(plan, r.strategy, r.layout)
        >>> len(load.finish), load.overloaded, int(load.preemptions.sum())
        (200, False, 0)
    """
    capacity = kv_capacity_tokens(plan, strategy, lay) if kv_tokens is None else kv_tokens
    return simulate_sized(plan, strategy, lay, prices or StepPrices(plan, strategy, lay), capacity, progress, watch)


def simulate_sized(plan: Plan, strategy: Strategy, lay: Layout, prices: StepPrices, capacity: int,
                   progress: Callable[[int, int], None] | None = None, watch: bool = False) -> Load:
    """`simulate` of a strategy whose prices and KV cache are sized already: `capacity`, the tokens one
    attention-DP rank's KV cache holds (`dagc.serve.kv_blocks.kv_capacity_of`, from the check's memory)."""
    traffic = plan.workload.traffic
    assert traffic is not None, "simulate needs traffic"
    requests = requests_of(traffic, plan.workload)
    tick = _ticker(len(requests), progress)
    if not mode_of(plan.workload).continuous:          # whole batches (the mode's load scheduler)
        load = replace(static_load(plan, traffic, requests, prices, capacity, lay.dp * lay.adp, tick),
                       cap=plan.workload.batch, kv_tokens=capacity,
                       frontend_s=plan.cluster.engine.terms.frontend_alone_s,      # no queue: a request's own
                       static=True)
    else:
        # a watched run is a capacity's trial: its verdict reads no timeline (`Observers.timeline`)
        observers = Observers(tick, Watch(plan, requests.output) if watch else None, timeline=not watch)
        load = replace(_inflight(plan, traffic, requests, lay, prices, capacity, observers),
                       cap=sum(sum(c) for c in _caps(lay)), kv_tokens=capacity,
                       frontend_s=plan.cluster.engine.terms.frontend_s)
    if progress is not None:
        progress(len(requests), len(requests))
    return load


def _ticker(total: int, progress: Callable[[int, int], None] | None) -> Callable[[int], None] | None:
    """`progress` called at every twentieth of `total` requests ended (the last call is simulate's)."""
    if progress is None:
        return None
    every = max(1, -(-total // 20))
    mark = [every]

    def tick(done: int) -> None:
        if done >= mark[0] and done < total:
            mark[0] = done + every
            progress(done, total)
    return tick


def _caps(lay: Layout) -> list[list[int]]:
    """The most requests in flight on each attention-DP rank of each replica: the plan's batch split as
    dagc splits it (`Layout.group_requests`), at least one."""
    return [[max(1, k) for k in lay.group_requests(r)] for r in range(lay.dp)]


def _inflight(plan: Plan, traffic: Traffic, requests: Requests, lay: Layout, prices: StepPrices, kv_tokens: int,
              observers: Observers) -> Load:
    w = plan.workload
    n = len(requests)
    run = Run.of(requests)
    caps = _caps(lay)
    surface = surface_for(prices, max(sum(c) for c in caps), lay.adp, w.chunk_tokens, w.prompt,
                          shares(w, lay).chunk_prompt_tokens)
    longest = int(((requests.prompt + requests.output) // BLOCK_TOKENS).max()) + 1 if n else 1
    blocks = max(kv_tokens // BLOCK_TOKENS, longest)       # a rank holds at least the longest request

    def replica(r: int, source: Source) -> None:
        Replica(run, source, caps[r], blocks, surface, w, observers).run()

    warm = 0.0
    ingest_s = plan.cluster.engine.terms.ingest_s       # one front end per replica (docs/load.md, "The front end")
    if requests.arrival is not None:
        for r in range(lay.dp):
            replica(r, OpenLoop(list(range(r, n, lay.dp)), requests.arrival[r::lay.dp].tolist(), FrontEnd(ingest_s)))
    else:
        clients = traffic.concurrency or 1
        per_replica = max(1, -(-min(clients, w.batch) // lay.dp))
        ttft, tpot = prices.steady(min(per_replica, max(sum(c) for c in caps)))
        life = ttft + (w.generate - 1) * tpot / w.tokens_per_step
        warm = life if traffic.ramp is None else traffic.ramp
        steps = first_steps(traffic, w, lay) if traffic.ramp is None else None
        for r in range(lay.dp):
            mine = [c for c in range(r, clients, lay.dp) if c < n]
            if mine:
                replica(r, ClosedLoop(mine, warm, clients, n, steps, FrontEnd(ingest_s)))
    arrive, first, finish, preemptions, cached = run.arrays()
    return Load(traffic, arrive, first, finish, w.generate, np.frombuffer(run.itl, dtype=float),
                np.frombuffer(run.weight, dtype=float), run.area, warm,
                merge_timelines(run.series) if run.series else None,
                prompt=requests.prompt, output=requests.output, preemptions=preemptions,
                cached_tokens=cached, frontend_rate=lay.dp / ingest_s if ingest_s > 0 else None)


def merge_timelines(series: list[tuple[np.ndarray, ...]]) -> Timeline:
    """The replicas' timelines as one: requests running and waiting summed, the fullest rank's KV share."""
    if len(series) == 1:
        return Timeline(*series[0])
    t = np.unique(np.concatenate([s[0] for s in series])) if series else np.zeros(0)
    running, waiting, kv = np.zeros(len(t)), np.zeros(len(t)), np.zeros(len(t))
    for ts, run_s, wait_s, kv_s in series:
        if not len(ts):
            continue
        at = np.searchsorted(ts, t, side="right") - 1
        seen = at >= 0
        at = np.maximum(at, 0)
        running += np.where(seen, run_s[at], 0.0)
        waiting += np.where(seen, wait_s[at], 0.0)
        kv = np.maximum(kv, np.where(seen, kv_s[at], 0.0))
    return Timeline(t, running, waiting, kv)


def first_steps(traffic: Traffic, w: Workload, lay: Layout) -> list[int]:
    """The default ramp of a closed loop: the engine step at which each client sends its first request,
    drawn uniformly (from the traffic's seed, a stream of its own) over one request's life in steps — its
    prompt's mixed steps and its decode steps. Each client keeps that phase for the whole run (a request
    lives as many steps as the last), so the prompts of the ranks that step together fall on the steps
    independently, as the steady state's share of mixed steps counts them (`dagc.layout.mix`); starts
    spaced evenly in time would interleave them in lockstep, and starts drawn in time would bunch them
    into the long mixed steps."""
    life = shares(w, lay).first_token_steps + math.ceil((w.generate - 1) / w.tokens_per_step)
    rng = np.random.default_rng([traffic.seed, 3])
    starts: list[int] = rng.integers(0, max(1, life), traffic.concurrency or 1).tolist()
    return starts


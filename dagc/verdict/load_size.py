"""How large a load run and its capacity's trials are, before they run: the engine events a run takes
(`load_events`, which the plan's work budget bounds: `not_simulated`), the requests of a capacity trial
(`capacity_requests`) and the fewest a trial needs to be judged (`capacity_min_requests`). Read by
`dagc.verdict.under_load` and by what plans runs ahead of it (the search's rankings at a rate, a fleet's).
"""

from __future__ import annotations

from ..diagnostics import Diagnostic
from ..layout.modes import mode_of
from ..plan.plan import Plan
from ..plan.workload import Traffic
from ..rules.serving import load_over_budget
from ..serve.load_result import RAMP_LIFETIMES

__all__ = ["CAPACITY_MIN_REQUESTS", "CAPACITY_REQUESTS", "EVENTS_PER_REQUEST", "capacity_min_requests",
           "capacity_requests", "load_events", "not_simulated"]

CAPACITY_REQUESTS = 2_000     # requests per capacity run (a log's first ones, all when it has fewer)
# the fewest requests a capacity run may have: a log of fewer gets no capacity (capacity_judged false), its runs
# too short for their queue's growth to tell a rate kept up with from one that is not (docs/language.md)
CAPACITY_MIN_REQUESTS = 100
EVENTS_PER_REQUEST = 3        # events a request costs beyond its prompt's chunks (admission, decode stretch, end)


def not_simulated(plan: Plan) -> Diagnostic | None:
    """W518 when the run of the plan's traffic would take more engine events (`load_events`) than the plan's
    budget allows (`Plan.load_budget_events`; None: no budget); None when it may run."""
    traffic, budget = plan.workload.traffic, plan.load_budget_events
    if traffic is None or budget is None:
        return None
    events = load_events(plan, traffic.requests)
    return None if events <= budget else load_over_budget(plan, events, budget, traffic.requests)


def load_events(plan: Plan, requests: int) -> int:
    """The engine events a run of `requests` of the plan's workload takes at most, before it runs: in flight,
    each request's prompt in chunks of `chunk` tokens (one mixed step each, when its rank prefills it
    alone) and `EVENTS_PER_REQUEST` more; statically, `EVENTS_PER_REQUEST` a request. Measured: 2.5 events
    a request at 4,000-token prompts and `chunk = 8192`, 313 at 20,000 tokens and `chunk = 64`; an event
    takes 13–32 µs on one core."""
    w = plan.workload
    chunks = -(-w.prompt // w.chunk_tokens) if mode_of(w).continuous else 0
    return requests * (chunks + EVENTS_PER_REQUEST)


def capacity_min_requests(log: bool, cap: int | None) -> int:
    """The fewest requests a capacity trial needs to be judged: `CAPACITY_MIN_REQUESTS`; of a request `log` (whose
    trials are its own requests, `capacity_requests`) served in static batches of `cap` requests (None: in flight),
    also `RAMP_LIFETIMES` + 1 times the cap — near its capacity such a deployment runs full batches, taking its cap in
    a request's lifetime (Little's law), and a trial tells its pace from the requests arriving `RAMP_LIFETIMES`
    lifetimes after its first, a quarter of them at least (`dagc.serve.load_result.Load.queue_growth`). Until
    2026-12-03 300 requests of a log onto static batches of 128 were bisected to a capacity of 268.7 requests/s,
    where the same deployment served 25.5 at 100 requests/s (1,000 of the same log: 24.37). In flight, where a
    deployment bound by its steps holds fewer than its cap, the runs' own stretch decides.

    Example:
        >>> capacity_min_requests(True, 128), capacity_min_requests(True, 16), capacity_min_requests(False, 128)
        (512, 100, 100)
    """
    if not log or cap is None:
        return CAPACITY_MIN_REQUESTS
    return max(CAPACITY_MIN_REQUESTS, (RAMP_LIFETIMES + 1) * cap)


def capacity_requests(traffic: Traffic) -> int:
    """The requests of one capacity run: `CAPACITY_REQUESTS`, of a request log at most its own."""
    return CAPACITY_REQUESTS if traffic.log is None else min(traffic.requests, CAPACITY_REQUESTS)

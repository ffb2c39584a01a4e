"""Whether a strategy's simulated load carries its traffic, and why not (`not_carried_because`): report.json's
`load.carries_traffic` and `load.not_carried_because` (docs/load.md, "Carrying the traffic").

Input: the run's figures (its queue's growth, whether it is overloaded), its binding (Little's law's requests in
flight and the cap) and its capacity. Output: the reason in words, None when the deployment carries its traffic.
"""

from __future__ import annotations

import math

from ..serve.binding import Binding
from ..serve.load_result import PACE_SHARE, QueueGrowth
from ..units import format_figure

__all__ = ["CAPACITY_TOLERANCE", "needs_of", "not_carried_because"]

CAPACITY_TOLERANCE = 0.01     # the bisection stops when the bracket is within 1 % of its upper end


def not_carried_because(overloaded: bool, growth: QueueGrowth | None, rate: float | None, most: float | None,
                        percentile_missed: bool = False, needs: tuple[float, int] | None = None) -> str | None:
    """Why a run's deployment cannot carry its traffic, None when it can: its queue
    grows past what its arrivals' noise allows (`load.overloaded`, `Load.queue_growth`); or it grows by more
    than the pace the capacity is placed by (`QueueGrowth.behind`) while the requests in flight Little's law
    needs at the arrival rate are more than its cap allows by more than `CAPACITY_TOLERANCE` (`needs`): the most
    it serves, its cap over a request's time in flight, is below the arrival rate, as the run's own counts say;
    or its capacity — when bisected — lies below the arrival rate by more than `CAPACITY_TOLERANCE` while the
    run itself meets its percentile requirements (the capacity's longer runs fall behind where this one did not;
    docs/load.md, "Carrying the traffic"). A run that keeps up but misses a percentile (`percentile_missed`)
    carries its traffic: its capacity is below the rate by that percentile, which is missed on its own figure,
    and the requirements that hold stay met. A deployment that cannot carry its traffic meets none of its load
    requirements.

    Args:
        overloaded: the run's queue grows past its arrivals' noise (`Load.overloaded`), by `growth`.
        rate: the run's arrival rate (`Binding.arrival_rate_requests_per_s`).
        most: its capacity (None: not judged).
        needs: the requests in flight Little's law needs and the cap on them (`Binding.little_concurrency`,
            `Binding.cap`; None: either unknown).

    Example:
        >>> not_carried_because(False, None, 10.0, 9.2)[:64]
        'its capacity, 9.2 requests/s (the highest arrival rate at which '
    """
    if overloaded and growth is not None:
        ended = "were given their first token" if growth.first_token else "ended"
        where = "waiting to be served" if growth.first_token else "in the system"
        return (f"the queue keeps growing: of the {growth.arrived:,} requests arriving over the run's second "
                f"half, {growth.ended:,} {ended} in it, {growth.grown:,} more {where} — past the "
                f"{growth.allowance:.0f} its arrivals' noise allows")
    if growth is not None and growth.behind and needs is not None and needs[0] > needs[1] * (1 + CAPACITY_TOLERANCE):
        ended = "were given their first token" if growth.first_token else "ended"
        where = "waiting to be served" if growth.first_token else "in the system"
        return (f"it needs ≈ {needs[0]:,.0f} requests in flight at this rate (Little's law: the arrival rate × a "
                f"request's time in flight), more than its cap of {needs[1]:,}, and its queue grows: of the "
                f"{growth.arrived:,} requests arriving over the run's second half, {growth.ended:,} {ended} in it, "
                f"{growth.grown:,} more {where} — more than the {PACE_SHARE * 100:.0f} % of them a capacity's trial "
                f"allows, within the {growth.allowance:.0f} this run's noise allows")
    rate = None if rate is None or not math.isfinite(rate) else rate      # as report.json's binding holds it
    cap = most
    if rate is not None and cap is not None and cap < rate * (1 - CAPACITY_TOLERANCE) and not percentile_missed:
        return (f"its capacity, {format_figure(cap)} requests/s (the highest arrival rate at which its percentile "
                f"requirements hold and its queue does not grow), is below the arrival rate of "
                f"{format_figure(rate)} requests/s")
    return None


def needs_of(b: Binding) -> tuple[float, int] | None:
    """The requests in flight Little's law needs at the arrival rate and the cap on them, when both are known."""
    return None if b.little_concurrency is None or not b.cap else (b.little_concurrency, b.cap)

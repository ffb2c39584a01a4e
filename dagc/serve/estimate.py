"""Metrics of a candidate from the static schedule's recurrence, no DAG built (the search's estimate).

Input: a `Plan`, a `Layout`, a workload and a `dagc.schedule.timer.Timer` of the plan. Output: the serving
mode's rates (`dagc.serve.mode_rates`: `dagc.serve.rates.Rates`, in flight `dagc.serve.inflight.InflightRates`,
a pool's instance its `InstanceRates`) of the steps of `dagc.schedule.recurrence` (exact for
`overlap = none`, an estimate with overlap).
"""

from __future__ import annotations

from ..layout.layout import Layout
from ..plan.plan import Plan
from ..plan.workload import Workload
from ..schedule.recurrence import Recurrence
from ..schedule.timer import Timer
from .mode_rates import mode_rates
from .rates import InstanceRates, Rates

__all__ = ["fast_metrics"]


def fast_metrics(plan: Plan, lay: Layout, workload: Workload, timer: Timer) -> Rates[float] | InstanceRates:
    """TTFT and TPOT by the static schedule's recurrence (exact for overlap = none), as the workload's serving
    mode makes them of its steps (`dagc.serve.mode_rates`, as `dagc.serve.metrics` of the DAG's): in flight
    from its decode and mixed steps; a pool's instance of a disaggregated strategy (`Workload.role`) prices
    its own figure alone, the other left at 0 — a prefill instance its prefill's makespan, a decode instance
    its decode step."""
    recurrence = Recurrence(plan, lay, workload, timer)
    return mode_rates(recurrence.step, recurrence.mode, workload, lay, plan.cluster.engine.terms.frontend_s)

"""Metrics of a candidate from the static schedule's recurrence, no DAG built (the search's estimate).

Input: a `Plan`, a `Layout`, a workload and a `dagc.schedule.timer.Timer` of the plan. Output: the
`dagc.serve.rates.Rates` of `rate_metrics` (in flight `dagc.serve.inflight.InflightRates`; a pool's instance
its `InstanceRates`) from the TTFT and TPOT of `dagc.schedule.recurrence` (exact for `overlap = none`, an
estimate with overlap).
"""

from __future__ import annotations

from ..layout.layout import Layout
from ..plan.plan import Plan
from ..plan.workload import PoolRole, Workload
from ..schedule.recurrence import Recurrence, fast_tpot, fast_ttft
from ..schedule.timer import Timer
from .inflight import inflight_rates
from .rates import InstanceRates, Rates, per_token, rate_metrics

__all__ = ["fast_metrics"]


def fast_metrics(plan: Plan, lay: Layout, workload: Workload, timer: Timer) -> Rates[float] | InstanceRates:
    """TTFT and TPOT by the static schedule's recurrence (exact for overlap = none); in flight from
    its decode and mixed steps (`dagc.serve.inflight.inflight_rates`). A pool's instance of a disaggregated
    strategy (`Workload.role`) prices its own figure alone, the other left at 0, as
    `dagc.serve.metrics` reports it: a prefill instance its prefill's makespan, a decode instance its
    decode step."""
    if workload.role == PoolRole.PREFILL:
        return InstanceRates(ttft_s=fast_ttft(plan, lay, workload, timer), tpot_s=0.0)
    if workload.role == PoolRole.DECODE:
        return InstanceRates(ttft_s=0.0, tpot_s=per_token(fast_tpot(plan, lay, workload, timer), workload))
    frontend_s = plan.cluster.engine.terms.frontend_s          # the client's TTFT, as `dagc.serve.metrics`'
    if workload.inflight:
        rec = Recurrence(plan, lay, workload, timer)
        return inflight_rates(rec.decode_step(), rec.mixed_step(), workload, lay, frontend_s)
    return rate_metrics(fast_ttft(plan, lay, workload, timer), fast_tpot(plan, lay, workload, timer), workload,
                        lay.gpus_used, frontend_s=frontend_s)

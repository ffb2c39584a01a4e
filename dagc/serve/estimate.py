"""Metrics of a candidate from the static schedule's recurrence, no DAG built (the search's estimate).

Input: a `Plan`, a `Layout`, a workload and a `dagc.schedule.timer.Timer` of the plan. Output: the
metrics dict of `dagc.serve.metrics.rate_metrics` from the TTFT and TPOT of
`dagc.schedule.recurrence` (exact for `overlap = none`, an estimate with overlap).
"""

from __future__ import annotations

from ..layout.layout import Layout
from ..plan.plan import Plan
from ..plan.workload import Workload
from ..schedule.recurrence import fast_tpot, fast_ttft
from ..schedule.timer import Timer
from .metrics import rate_metrics

__all__ = ["fast_metrics"]


def fast_metrics(plan: Plan, lay: Layout, workload: Workload, timer: Timer) -> dict:
    """TTFT and TPOT by the static schedule's recurrence (exact for overlap = none)."""
    return rate_metrics(fast_ttft(plan, lay, workload, timer), fast_tpot(plan, lay, workload, timer), workload,
                        lay.gpus_used)

"""Metrics of a scheduled DAG (SPEC 7): TTFT, TPOT, throughputs, bubble, time on the critical path.

Input: a `Dag`, its `Schedule`, the workload and the layout. Output: `Metrics`, whose rates come
from `dagc.serve.rates.rate_metrics` (statically: the prefill makespan and the decode step) or
`dagc.serve.inflight.inflight_rates` (in flight: the decode and mixed steps), both shared with
`dagc.serve.estimate`; a disaggregated pool's instance has its own figure alone (`InstanceRates`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir.dag import Dag, OpKind, Phase
from ..layout.layout import Layout
from ..plan.workload import PoolRole, Workload
from ..schedule.schedule import PathBreakdown, Schedule
from .inflight import inflight_rates
from .rates import InstanceRates, Rates, per_token, rate_metrics

__all__ = ["Metrics", "metrics", "step_gap"]


@dataclass(frozen=True)
class Metrics:
    rates: Rates[float] | InstanceRates    # rate_metrics() (in flight inflight_rates()), or a pool's instance's
    bubble_fraction: float
    paths: dict[Phase, PathBreakdown]      # the schedule's critical path of each phase (`Schedule.paths`)

    @property
    def ttft_s(self) -> float:
        return self.rates.ttft_s

    @property
    def ttft_server_s(self) -> float:
        """The TTFT at the server: without the engine's front end (`EngineTerms.frontend_s`); a disaggregated pool's
        instance's figure is its own, the server's (`_pool_metrics`)."""
        return self.rates.ttft_server_s

    @property
    def tpot_s(self) -> float:
        return self.rates.tpot_s




def _bubble(dag: Dag, idx: list[int], start: np.ndarray, finish: np.ndarray, makespan: float) -> float:
    """Share of stage-time during which a stage runs nothing (the pipeline bubble)."""
    if makespan <= 0:
        return 0.0
    idle = 0.0
    by_stage: dict[int, list[tuple[float, float]]] = {}
    began, ended, stage = start.tolist(), finish.tolist(), dag.stage     # Python floats: no numpy element reads
    for i in idx:
        by_stage.setdefault(stage[i], []).append((began[i], ended[i]))
    for spans in by_stage.values():
        spans.sort()
        busy = 0.0
        cur_s, cur_f = spans[0]   # a stage is listed only with a span
        for s, f in spans[1:]:
            if s > cur_f:
                busy += cur_f - cur_s
                cur_s, cur_f = s, f
            else:
                cur_f = max(cur_f, f)
        busy += cur_f - cur_s
        idle += makespan - busy
    return idle / (dag.pp * makespan)


def step_gap(dag: Dag, finish: np.ndarray, phase: Phase, microbatches: int) -> float:
    """The steady-state time of a step of `phase`: the gap between a request's tokens of its two
    steps, the slowest micro-batch's."""
    heads = {(dag.step[i], dag.mb[i]): i for i in dag.indices(phase) if dag.kind[i] is OpKind.LM_HEAD}
    return max(float(finish[heads[(1, j)]] - finish[heads[(0, j)]]) for j in range(microbatches))


def metrics(dag: Dag, sched: Schedule, workload: Workload, layout: Layout, frontend_s: float = 0.0) -> Metrics:
    """TTFT (the prefill makespan), TPOT (the steady-state gap between a request's two decode
    tokens, the slowest micro-batch's), the throughputs, the bubble and the critical paths. In
    flight, TTFT and TPOT come from the decode and mixed steps' gaps (`dagc.serve.inflight`), and
    the bubble is the mixed steps'. The TTFT is the client's: the server's (`ttft_server_s`) plus the
    serving engine's front-end time `frontend_s` (`dagc.serve.rates.rate_metrics` adds it)."""
    finish = sched.finish
    if workload.role is not None:       # a pool's instance: its own figure alone (`dagc.verdict.pools`)
        return _pool_metrics(dag, sched, workload, layout)
    t_decode = step_gap(dag, finish, Phase.DECODE, layout.microbatches)
    rates: Rates[float]
    if workload.inflight:
        rates = inflight_rates(t_decode, step_gap(dag, finish, Phase.MIXED, layout.microbatches), workload, layout,
                               frontend_s)
        first = Phase.MIXED
    else:
        rates = rate_metrics(sched.prefill_path.makespan_s, t_decode, workload, layout.gpus_used, frontend_s=frontend_s)
        first = Phase.PREFILL
    return Metrics(rates=rates,
                   bubble_fraction=_bubble(dag, dag.indices(first), sched.start, finish, sched.paths[first].makespan_s),
                   paths=dict(sched.paths))


def _pool_metrics(dag: Dag, sched: Schedule, workload: Workload, layout: Layout) -> Metrics:
    """A disaggregated pool's instance: a prefill instance's TTFT is its prefill's makespan, a decode
    instance's TPOT its decode step; the other figure and the throughputs are the deployment's
    (`dagc.serve.disagg`), left at 0 here."""
    if workload.role == PoolRole.PREFILL:
        phase, ttft, tpot = Phase.PREFILL, sched.paths[Phase.PREFILL].makespan_s, 0.0
    else:
        phase, ttft = Phase.DECODE, 0.0
        tpot = per_token(step_gap(dag, sched.finish, Phase.DECODE, layout.microbatches), workload)
    return Metrics(rates=InstanceRates(ttft_s=ttft, tpot_s=tpot), paths=dict(sched.paths),
                   bubble_fraction=_bubble(dag, dag.indices(phase), sched.start, sched.finish,
                                           sched.paths[phase].makespan_s))

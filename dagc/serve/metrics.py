"""Metrics of a scheduled DAG (SPEC 7): TTFT, TPOT, throughputs, bubble, time on the critical path.

Input: a `Dag`, its `Schedule`, the workload and the layout. Output: `Metrics`, whose rates are the
serving mode's of the DAG's steps (`dagc.serve.mode_rates`: statically the prefill makespan and the decode
step, in flight the decode and mixed steps), as `dagc.serve.estimate` makes them of the recurrence's; a
disaggregated pool's instance has its own figure alone (`InstanceRates`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir.dag import Dag, OpKind, Phase
from ..layout.layout import Layout
from ..layout.modes import mode_of
from ..plan.workload import Workload
from ..schedule.schedule import PathBreakdown, Schedule
from .mode_rates import mode_rates
from .rates import InstanceRates, Rates

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
    """TTFT, TPOT, the throughputs, the bubble and the critical paths, as the workload's serving mode makes
    them of its steps (`dagc.serve.mode_rates`): statically TTFT is the prefill makespan and TPOT the
    steady-state gap between a request's two decode tokens (the slowest micro-batch's); in flight they come
    from the decode and mixed steps' gaps (`dagc.serve.inflight`); a disaggregated pool's instance has its own
    figure alone (`dagc.serve.disagg` makes the deployment's). The bubble is that of the pass the first token
    is made of. The TTFT is the client's: the server's (`ttft_server_s`) plus the serving engine's front-end
    time `frontend_s` (`dagc.serve.rates.rate_metrics` adds it; an instance's is the server's)."""
    mode = mode_of(workload)
    first = mode.first

    def step(phase: Phase) -> float:
        if phase is Phase.PREFILL:
            return sched.paths[Phase.PREFILL].makespan_s
        return step_gap(dag, sched.finish, phase, layout.microbatches)

    return Metrics(rates=mode_rates(step, mode, workload, layout, frontend_s),
                   bubble_fraction=_bubble(dag, dag.indices(first), sched.start, sched.finish,
                                           sched.paths[first].makespan_s),
                   paths=dict(sched.paths))

"""A serving mode's rates from the prices of its steps: one route for the DAG's schedule and the search's
recurrence.

Input: a step price (`dagc.layout.modes.StepPrice`: the DAG's step gaps and prefill makespan, or the
recurrence's steps), a `Workload` and its `Layout`. Output: the mode's rates (`mode_rates`) —
`dagc.serve.rates.Rates` statically, `dagc.serve.inflight.InflightRates` in flight (with its two step times),
and a disaggregated pool's instance its own figure alone (`InstanceRates`). The mode (`dagc.layout.modes`)
says which steps make its TTFT and TPOT; each step is priced once.
"""

from __future__ import annotations

from ..layout.layout import Layout
from ..layout.modes import ServingMode, StepPrice
from ..plan.workload import Phase, Workload
from .inflight import InflightRates
from .rates import InstanceRates, Rates, per_token, rates_in

__all__ = ["mode_rates"]


def mode_rates(step: StepPrice, mode: ServingMode, workload: Workload, lay: Layout, frontend_s: float = 0.0
               ) -> Rates[float] | InstanceRates:
    """The rates of the workload's serving mode `mode` (`dagc.layout.modes.mode_of`, handed by the caller that
    priced its steps) from the prices of its steps (module docstring); the engine's front-end time `frontend_s`
    is added to a deployment's TTFT (`rate_metrics`), never to an instance's."""
    priced: dict[Phase, float] = {}

    def once(phase: Phase) -> float:
        if phase not in priced:
            priced[phase] = step(phase)
        return priced[phase]

    ttft, tpot = mode.figures(once, workload, lay)
    if mode.role is not None:
        return InstanceRates(ttft_s=ttft, tpot_s=per_token(tpot, workload))
    r = rates_in(mode, ttft, tpot, workload, lay.gpus_used, frontend_s=frontend_s)
    if not any(phase is Phase.MIXED for phase, _ in mode.steps):
        return r
    return InflightRates.of(r, priced[Phase.DECODE], priced[Phase.MIXED])     # with the two step times

"""Whether `dagc check` refuses a run's plan and strategy: a run whose deployment dagc holds impossible is not fitted.

Input: a lowered plan with its one strategy (the run's, `dagc.calibrate.manifest.plan_for`). Output: the error
diagnostics `dagc check` gives the strategy — E401 for a strategy of more GPUs than the cluster has, E302 for a
degree the model does not divide, … — located where `dagc check` locates them (the plan's line, or the `--strategy`
argument). dagc's figures of a strategy it refuses are not a deployment's: until 2026-11-27 `--strategy "tp 8"` on
a plan of 4 GPUs was fitted on a run of 4 requests/s that dagc's figures served at 18 requests/s, and the file said
`gpus` 4 and `instance_gpus` [8, 8].
"""

from __future__ import annotations

from ..diagnostics import Diagnostic
from ..plan.plan import Plan

__all__ = ["refusals"]


def refusals(plan: Plan) -> list[Diagnostic]:
    """The errors `dagc check` gives the plan's first strategy. They are the strategy's and the plan's, not its
    traffic's (a load's diagnostics are warnings), so the check runs at the steady state only: its DAG is the one
    the fit's simulations reuse (`dagc.verdict.analyse.compile_dag` keeps it)."""
    from ..verdict.check import check_strategy  # the verdict is loaded when a plan is first checked
    steady = plan.model_copy(update={"workload": plan.workload.model_copy(update={"traffic": None})})
    return [d for d in check_strategy(steady, plan.strategies[0], with_capacity=False).diagnostics if d.is_error]

"""The checks a strategy's next steps run (`dagc.verdict.next_steps`): each changed plan checked as `dagc check`
checks it, at most so many per strategy (`Tries`), and what one gives, as a `NextStep` (`make_step`).
"""

from __future__ import annotations

from collections.abc import Callable

from ..plan.plan import Plan
from ..plan.strategy import StrategyDecl
from ..rules.requirements import broken_text
from .check import TRAFFIC_NOT_SIMULATED, NextStep, StepFigures, StrategyResult, check_strategy
from .under_load import AT_RATE

__all__ = ["Judge", "Tries", "make_step", "meets"]

Judge = Callable[[StrategyResult], StrategyResult]      # what `dagc check` adds to a check (the engine's refusals)


class Tries:
    """Checks of changed plans, at most `limit` of them, as `dagc check --strategy` checks each (module docstring):
    a run that keeps pace past its capacity does not carry its traffic, so none is listed as meeting beside it."""

    def __init__(self, plan: Plan, decl: StrategyDecl, limit: int, judge: Judge | None = None):
        self.plan, self.decl, self.left, self.judge = plan, decl, limit, judge
        self.said: list[str] = []       # what a kind of change tried found helps not, in words (`no_step`)

    def __call__(self, plan: Plan, decl: StrategyDecl | None = None) -> StrategyResult | None:
        if self.left <= 0:
            return None
        self.left -= 1
        decl = decl or self.decl
        r = check_strategy(plan, decl, with_capacity=False, engine=self.judge)
        return check_strategy(plan, decl, with_capacity=AT_RATE, engine=self.judge) if meets(r) and r.load else r


def make_step(kind: str, change: str, options: tuple[str, ...], r: StrategyResult) -> NextStep:
    m = r.metrics
    figures = StepFigures(gpus=r.gpus_used, ttft_s=m.ttft_s if m else None, tpot_s=m.tpot_s if m else None,
                          decode_tokens_per_s_per_gpu=m.decode_tokens_per_s_per_gpu if m else None)
    short = None if r.load is None or r.load.carries_traffic else r.load.shortfall()
    # a line NO only because the traffic is not carried, its figure within its target, is that miss, said once (`short`)
    missed = tuple(q.requirement.text for q in r.requirements if q.met is False and not (
        short is not None and q.unmet is not None and q.value is not None and q.requirement.holds(q.value)))
    broken = tuple(dict.fromkeys(broken_text(d.code) for d in r.diagnostics if d.is_error))   # an invalid change's
    loads = tuple((q.requirement.name, q.value) for q in r.requirements if q.requirement.on_load)
    unjudged = (*(q.requirement.text for q in r.requirements if q.met is None and r.valid),
                *((TRAFFIC_NOT_SIMULATED,) if r.traffic_unjudged else ()))
    reached = tuple((q.requirement.text, q.value) for q in r.requirements
                    if q.requirement.text in missed and not q.requirement.on_load)
    return NextStep(kind, change, options, bool(r.valid and r.verdict.meets_requirements), broken + missed, figures,
                    loads, short, unjudged, reached)


def meets(r: StrategyResult | None) -> bool:
    return r is not None and r.valid and r.verdict.meets_requirements is True

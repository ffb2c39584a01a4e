"""What every step of one search reads: `Run`, the plan, the objective, the stage costs and when to stop.

Input: the search's arguments (`dagc.search.search.search`). Output: one frozen value handed to each
step — the evaluation in chunks, the disaggregated candidates, the balanced splits — in place of the
same five arguments to each.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ..plan.plan import Plan
from ..schedule.timer import Timer

__all__ = ["Run"]


@dataclass(frozen=True)
class Run:
    """One search's plan, objective and stage costs (`timer`, a `dagc.schedule.timer.Timer` of the plan),
    and its deadline on `clock` (None: no time budget)."""

    plan: Plan
    objective: str
    timer: Timer
    deadline: float | None = None
    clock: Callable[[], float] = time.monotonic

    def late(self) -> bool:
        """Whether the deadline has passed."""
        return self.deadline is not None and self.clock() >= self.deadline

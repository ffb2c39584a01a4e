"""Which of a fleet's ranked clusters pick a strategy whose engine instances the plan's calibration never measured
(W540's test of a strategy, as `dagc search` says it under its table: `dagc.search.outside_calibration`).

A plan's `calibration from` holds the terms of runs on engine instances of some GPUs; the fleet sweeps counts of
GPUs and each cluster's search picks its own strategy, often on instances of other sizes — one GPU where the runs
were of four —, whose figures and bands the calibration extrapolates. Until 2026-11-30 the fleet ranked and
recommended such picks without a word, while `dagc search` of the same cluster, the command the fleet prints, and
`dagc check --strategy` of its pick (W540) said so.

Input: the plan (its `calibration`) and the ranked rows. Output: one line naming them by their rank (#k), or None.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..diagnostics import PlanError
from ..lang.flatten import flatten
from ..lang.load import parse_strategy
from ..plan.plan import Plan
from ..plan.strategy import Strategy
from ..search.outside_calibration import outside_runs
from .rank import FleetRow

__all__ = ["outside_calibration"]


def outside_calibration(plan: Plan, rows: Sequence[FleetRow]) -> str | None:
    """The line naming the rows (#k, their rank from 1) whose pick — under any traffic mix — runs an engine instance
    on another number of GPUs than the runs of the plan's calibration; None without a calibration, or when none
    does."""
    if plan.calibration is None:
        return None
    return outside_runs(plan, [_strategies(row) for row in rows])


def _strategies(row: FleetRow) -> tuple[Strategy, ...]:
    """The strategies a row picks: one, or one a traffic mix."""
    out = []
    for answer in [m.answer for m in row.mixes] or [row.answer]:
        if answer.pick is None:
            continue
        try:
            strategy, _ = flatten(parse_strategy(answer.pick.strategy))
        except PlanError:       # a pick's text is a search's own, which always reads
            continue
        if strategy is not None:
            out.append(strategy)
    return tuple(out)

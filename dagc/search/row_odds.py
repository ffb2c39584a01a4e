"""The odds of a search row's requirements within dagc's error, as `dagc check --strategy` of its text gives them.

Input: the plan searched and one of its `Candidate`s. Output: each requirement judged (`RequirementResult`) beside
its `Odds` (docs/bands.md). A row judged by a check (simulated under the plan's traffic) takes the odds of that
check (`dagc.verdict.bands.checked_odds` of its `odds_basis`: `bands_of`'s, its goodput's curve and E2E's
composed errors included); any other — a plan without traffic, or a row judged on the steady state alone — takes
them on its own figures (`dagc.verdict.bands.requirement_odds`; `searched_odds` derives both, as the optimal verdict
weighs the search's best), a load requirement it was not simulated for having no figure and so no odds. Weighed for
the rows printed alone: the search's cost does not grow with them beyond the rows shown.
"""

from __future__ import annotations

from ..plan.plan import Plan
from ..verdict.bands import Odds, searched_odds
from ..verdict.optimal import judged_on
from ..verdict.verdict import RequirementResult
from .result import Candidate

__all__ = ["row_odds"]


def row_odds(plan: Plan, c: Candidate) -> tuple[tuple[RequirementResult, Odds], ...]:
    """Each of the plan's requirements as row `c` is judged on it, with its odds within dagc's error (module
    docstring)."""
    judged = () if c.odds_basis is not None else judged_on(c, plan.requirements)
    return searched_odds(plan, bool(c.strategy.pools), judged, c.odds_basis)

"""The sizes a next step may take (`dagc.verdict.next_steps`): batches rounded to whole shares of the ranks,
and the GPUs the plan's `gpus` requirements allow.

Input: request counts, rank counts, a `Plan`. Output: numbers and yes/no.
"""

from __future__ import annotations

import math

from ..plan.plan import Plan
from ..plan.workload import RequirementKind

__all__ = ["gpus_allowed", "rounded_down", "rounded_up"]


def rounded_up(n: float, ranks: int) -> int:
    """`n` requests rounded up to a whole multiple of max(8, `ranks`), so that every rank gets its share.

    Example:
        >>> rounded_up(139.7, 2), rounded_up(3, 16)
        (144, 16)
    """
    unit = max(8, ranks)
    return unit * max(1, math.ceil(n / unit))


def rounded_down(n: float, ranks: int) -> int:
    """`n` requests rounded down to a whole multiple of max(8, `ranks`) (0 below one).

    Example:
        >>> rounded_down(139.7, 2), rounded_down(7, 2)
        (136, 0)
    """
    unit = max(8, ranks)
    return unit * math.floor(n / unit)


def gpus_allowed(plan: Plan, gpus: int) -> bool:
    """Whether `gpus` GPUs meet every `gpus` requirement of the plan (`gpus <= 4`: not 8): a next step never
    grows the GPUs past the cap the user wrote, which is not a figure to trade for the others."""
    return all(r.holds(gpus) for r in plan.requirements if r.kind is RequirementKind.GPUS)

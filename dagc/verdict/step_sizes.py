"""The sizes a next step may take (`dagc.verdict.next_steps`): batches rounded to whole shares of the ranks,
and the GPUs the plan's `gpus` requirements allow.

Input: request counts, rank counts, a `Plan`. Output: numbers and yes/no.
"""

from __future__ import annotations

import math

from ..plan.plan import Plan
from ..plan.workload import RequirementKind
from .check import StrategyResult

__all__ = ["gpus_allowed", "gpus_missed", "memory_stays_over", "rounded_down", "rounded_up"]


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


def gpus_missed(result: StrategyResult) -> set[str]:
    """The `gpus` requirements `result` misses, as written."""
    return {q.requirement.text for q in result.requirements
            if q.met is False and q.requirement.kind is RequirementKind.GPUS}


def memory_stays_over(result: StrategyResult, own_cap: bool, replicas: tuple[int, ...]) -> bool:
    """No number of replicas tried meets a memory requirement `result` misses: the memory is per GPU, and a
    replica's GPUs hold the same weights and reserve — with traffic the same requests too (each replica its
    own cap); without, a share of the batch, whose KV cache and activations shrink at most to that share
    (so the estimate at the most replicas tried is a lower bound of what their check finds)."""
    missed = [q.requirement for q in result.requirements if q.met is False and q.requirement.target
              and q.requirement.kind is RequirementKind.MEMORY]
    batch, mem = result.plan.workload.batch, result.memory
    if not missed or own_cap or mem is None:
        return bool(missed)
    share = -(-batch // max((k for k in replicas if batch >= k), default=1)) / batch
    least = [(s.weights_bytes + s.reserve_bytes + (s.kv_cache_bytes + s.activation_bytes) * share, s.capacity_bytes)
             for s in mem.stages]
    return any(max(held / (cap if req.memory_is_fraction else 1.0) for held, cap in least) > req.target
               for req in missed)

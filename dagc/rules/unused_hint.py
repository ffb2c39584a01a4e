"""W505's hint: what would put a cluster's unused GPUs to work, within the plan's `gpus` requirements.

Input: the plan and the GPUs the strategy uses, and whether it breaks a rule. Output: the hint's text. Replicas
(`dp k`) of a strategy that passes the rules, the most the cluster holds and every `gpus` requirement allows; or
another strategy of the GPUs allowed; or renting only what the strategy uses. A cap the user wrote (`gpus <= 64`)
is not a figure to trade: until 2026-11-29 the hint said "dp 16 would use 1,024" to seed 003's 64-GPU strategy
under `gpus <= 64`, a change that breaks the plan's own requirement (as the next steps never do,
`dagc.verdict.step_sizes.gpus_allowed`).
"""

from __future__ import annotations

import math

from ..plan.plan import Plan
from ..plan.workload import Requirement, RequirementKind

__all__ = ["unused_hint"]


def unused_hint(plan: Plan, used: int, errors: bool, dp: int = 1) -> str:
    """W505's hint for a strategy of `used` GPUs on `plan`'s cluster (`errors`: it breaks a rule, so none of its
    replicas is proposed) whose `dp` is written `dp`: the degree proposed is that `dp` times the copies of the whole
    strategy the cluster holds (until 2026-12-03 the copies alone: `dp 2 < tp 8 >` on 100 GPUs read "dp 6 would
    use 96", where `dp 6 < tp 8 >` uses 48).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> p = load_plan_text('model preset "mixtral-8x7b"  cluster { gpus = 64  gpu preset "h100-sxm" } '
        ...                    'workload { batch = 64  prompt = 512  generate = 64 }  require { gpus <= 32 } '
        ...                    'strategy tp 8')
        >>> unused_hint(p, 8, False)
        'dp 4 would use 32 (`gpus <= 32` allows no more)'
        >>> unused_hint(p, 32, False)
        "`gpus <= 32` allows no more GPUs than the strategy's 32: `gpus = 32` rents only what it uses"
        >>> unused_hint(p, 16, False, dp=2)          # `dp 2 < tp 8 >`: twice itself is `dp 4`
        'dp 4 would use 32 (`gpus <= 32` allows no more)'
    """
    avail = plan.cluster.gpus
    caps = [r for r in plan.requirements if r.kind is RequirementKind.GPUS]
    most, binding = _most_allowed(caps, avail, used)
    cap = f"`{binding.text}`" if binding is not None else ""
    if errors:
        return f"a legal strategy of {most:,} GPUs would use {'what ' + cap + ' allows' if cap else 'them all'}: " \
               "`dagc search` ranks those that are"
    replicas = most // used
    if replicas > 1:
        return f"dp {replicas * dp:,} would use {replicas * used:,}" + \
            (f" ({cap} allows no more)" if cap and replicas < avail // used else "")
    rent = f"`gpus = {used}` rents only what {'it' if most == used else 'this one'} uses"
    if most == used:
        return f"{cap} allows no more GPUs than the strategy's {used:,}: {rent}"
    return f"a strategy of {most:,} GPUs would use {'what ' + cap + ' allows' if cap else 'them all'}, or {rent}"


def _most_allowed(caps: list[Requirement], avail: int, used: int) -> tuple[int, Requirement | None]:
    """The most GPUs, from `used` to `avail`, that every requirement of `caps` allows, and the requirement that
    bounds it below `avail` (None when none does)."""
    most, binding = avail, None
    for r in caps:
        bound = {"<=": math.floor(r.target), "<": math.ceil(r.target) - 1, "==": math.floor(r.target)}.get(r.op)
        if bound is not None and bound < most:
            most, binding = bound, r
    if most < used or not all(r.holds(most) for r in caps):
        return used, binding
    return most, binding

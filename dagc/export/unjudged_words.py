"""Why a requirement on the load has no figure, in words: `dagc check`'s `meets? not judged: …` line and report.md's
summary (a traffic whose every request emits one output token has no TPOT and no gap between tokens, so a `tpot_pNN`
or `itl_pNN` line cannot be judged; until 2026-11-30 the terminal said nothing of it and report.md "could not be
computed").

Input: a `StrategyResult`. Output: the requirements without a figure and why, or None when every one has its figure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..plan.workload import RequirementKind

if TYPE_CHECKING:
    from ..verdict.check import StrategyResult

__all__ = ["unjudged_requirements"]

_PER_TOKEN = (RequirementKind.TPOT, RequirementKind.ITL)


def unjudged_requirements(r: StrategyResult) -> str | None:
    """"`tpot_p90 <= 40 ms` could not be computed" and, when it is so, why: every simulated request emits a single
    output token; None when no requirement lacks its figure."""
    unknown = [q for q in r.requirements if q.met is None]
    if not unknown:
        return None
    names = ", ".join(f"`{q.requirement.text}`" for q in unknown)
    said = f"{names} could not be computed"
    run = r.load.load if r.load is not None else None
    single = run is not None and len(run.arrival) > 0 and int(run.output_tokens.max()) <= 1
    if single and all(q.requirement.kind in _PER_TOKEN and q.requirement.on_load for q in unknown):
        said += (": every simulated request emits a single output token, so there is no time per output token nor a "
                 "gap between tokens to take a percentile of (a prefill-only traffic is judged on `ttft_pNN`, "
                 "`e2e_pNN` and `goodput`)")
    return said

"""The requirements a checked strategy misses, in words, counted as the optimal verdict compares them (its note's
`… misses fewer requirements on 2 GPUs (2 against 3: …)`; `dagc.export.optimal_words`).

Input: a checked strategy's result. Output: text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..units import count_text

if TYPE_CHECKING:
    from ..verdict.check import StrategyResult
    from ..verdict.optimal import OptimalEvidence

__all__ = ["best_unverified", "counted_misses", "missed_text", "own_misses", "self_short"]


def own_misses(result: StrategyResult) -> str:
    """How many requirements `result` misses and which, counted as the verdict compares them
    (`dagc.verdict.carrying.requirements_missed`): a strategy that does not carry its traffic misses every load
    requirement, whatever its run's figures (until 2026-11-30 the note counted the lines marked missed alone, and
    read `2 against 2` or `2 against 1` of a verdict that found this strategy missing more)."""
    from ..verdict.carrying import requirements_missed
    carries = None if result.load is None else result.load.carries_traffic
    count = requirements_missed((q for q in result.requirements if q.met is not None), carries)
    if carries is not False:
        return f"{count}: {missed_text(result)} for this strategy"
    steady = ", ".join(f"`{q.requirement.text}`" for q in result.requirements
                       if not q.requirement.on_load and q.met is False)
    on_load = sum(1 for q in result.requirements if q.requirement.on_load)
    loads = count_text(on_load, "load requirement") if on_load else "traffic"
    said = f"{steady} for this strategy, and its {loads}" if steady else f"this strategy's {loads}"
    return (f"{count}: {said}, which a strategy that does not carry its traffic misses whatever its run's "
            "figures")


def counted_misses(result: StrategyResult) -> str:
    """What `result` misses as the verdict counts it, before what follows it: the lines missed on its run and, when
    it does not carry its traffic, every load line too (`own_misses`, then `;`), else those lines (`missed_text`,
    then `:`) — until 2026-12-03 "it misses 3 requirements too, as this strategy misses `a`, `b`", two named."""
    if result.load is not None and not result.load.carries_traffic and any(q.met is False for q in result.requirements):
        return own_misses(result) + ";"
    return missed_text(result) + ":"


def missed_text(result: StrategyResult) -> str:
    """The requirements `result` misses, as written; when it misses none but does not carry its traffic (the
    verdict's "no"), that — never an empty list (a user read "as this strategy misses : …")."""
    missed = ", ".join(f"`{q.requirement.text}`" for q in result.requirements if q.met is False)
    if missed or result.load is None or result.load.carries_traffic:
        return missed
    return "the plan's traffic (it does not carry it)"


def self_short(ev: OptimalEvidence, result: StrategyResult) -> str:
    """The optimal note when the search's best is this strategy, judged there on its run without its capacity
    (`Why.SELF_SHORT`): it met every requirement there, or missed fewer than its check, capacity included, counts
    (until 2026-11-30 that read "`X` misses fewer requirements (1 against 2)" of X, this strategy itself)."""
    b, after = ev.best, verified_words()
    assert b is not None
    if b.meets_requirements:
        return (f"the search's best by {ev.objective} is this strategy, which met every requirement on its run under "
                f"the traffic, its capacity not judged there; checked here, capacity included, it misses "
                f"{missed_text(result)}, and the best that meets every requirement is among the others {after}")
    return (f"the search's best by {ev.objective} is this strategy, which missed "
            f"{count_text(b.misses, 'requirement')} on its run under the traffic, its capacity not judged there; "
            f"checked here, capacity included, it misses {own_misses(result)}; no strategy the search judged meets "
            f"every requirement, and none is known to miss fewer {after}")


def verified_words() -> str:
    """How far the search judges its best with their capacities (`dagc.search.verify`), in words."""
    from ..search.verify import VERIFIED
    return (f"(the search judges its first {VERIFIED} that meet every requirement on their runs with their "
            "capacities, as `dagc check` does, and `dagc search --rate R` its first rows at a rate)")


def best_unverified(ev: OptimalEvidence) -> str:
    """The optimal note when the search's best met every requirement on its run, its capacity not judged, after the
    firsts it judged so fell short by theirs (`Why.BEST_UNVERIFIED`): not "`X` meets the requirements" of a best
    whose own check may say it misses (until 2026-11-30 no best was judged with its capacity)."""
    b = ev.best
    assert b is not None
    from ..search.verify import VERIFIED
    return (f"the search's best by {ev.objective}, `{b.text}`, met every requirement on its run under the traffic, "
            f"its capacity not judged: the search judges its first {VERIFIED} that meet every requirement on their "
            "runs with their capacities, as `dagc check` does, and those before it fell short by theirs (`dagc check "
            "--strategy` of it judges its capacity)")

"""The words of an optimal verdict whose better strategy is not the search's best but one that beats the checked
strategy by the objective and misses no requirement by more (`dagc.verdict.optimal.dominating`;
`OptimalEvidence.passed_over` names the search's best, further than the strategy from a line both miss).

Input: the evidence. Output: the clause the verdict's note adds, and how the summary names the strategy it
suggests.
"""

from __future__ import annotations

from ..verdict.optimal import OptimalEvidence

__all__ = ["passed_over_text", "pick_words"]


def passed_over_text(ev: OptimalEvidence) -> str:
    """The clause after a better strategy's figures that says why the search's best is not the one named: it is
    further from a line both miss ('' when the best is the search's best)."""
    if ev.passed_over is None:
        return ""
    lines = ", ".join(f"`{t}`" for t in ev.further)
    return (f"; it beats this strategy by {ev.objective} and misses no requirement by more, where the search's "
            f"best by {ev.objective}, `{ev.passed_over}`, is further from {lines}")


def pick_words(ev: OptimalEvidence, lead: str) -> str:
    """The strategy the summary suggests, named: `lead` by the objective, and among those that miss no requirement
    by more than this strategy when it is not the search's best (`passed_over`)."""
    by = f"{lead} by its objective (`{ev.objective or '?'}`)"
    return by + (" among those that miss no requirement by more than this strategy" if ev.passed_over is not None
                 else "")

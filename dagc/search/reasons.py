"""Why a search found no legal strategy: each rejecting rule's example checked, for its message and hint.

Input: a `Plan` and its search's `SearchResult`, whose `rejected_by` counts the candidates each rule rejected
(`dagc.search.rejections`). Output: the same result, each row's example strategy checked as
`dagc check --strategy` checks it (`dagc.launch.engine_check.check`: the rules, memory and the plan's engine) and
the diagnostic of the row's code kept — its message and its hint, which say what to change (more GPUs, a smaller
batch, a looser memory limit, another engine). Only when the search ranked no candidate at all: then the rules are
the whole answer, and a check per code (a handful) costs little beside the search; a search that found a legal
strategy keeps its rows unchecked (`message` and `hint` None).
"""

from __future__ import annotations

from dataclasses import replace

from ..launch.engine_check import check as engine_check
from ..plan.plan import Plan
from .result import RejectedBy, SearchResult

__all__ = ["with_reasons"]


def with_reasons(plan: Plan, found: SearchResult) -> SearchResult:
    """`found` with each rule's example checked (module docstring) when it ranked no candidate; else `found`.

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.search.search import search
        >>> p = load_plan_text('model preset "deepseek-v3" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 64 prompt = 4000 generate = 500 } strategy tp 8')
        >>> [r] = with_reasons(p, search(p)).rejected_by
        >>> r.code, r.candidates, r.example, "9 GPUs" in r.hint
        ('E402', 519, 'tp 1 with microbatches 1 overlap none', True)
    """
    if found.ranked or not found.rejected_by:
        return found
    return replace(found, rejected_by=tuple(_checked(plan, r) for r in found.rejected_by))


def _checked(plan: Plan, row: RejectedBy) -> RejectedBy:
    """`row` with the message and hint the check of its example gives under its code (unchanged when the check
    gives no diagnostic of that code)."""
    for result in engine_check(plan, row.example):
        for d in result.diagnostics:
            if d.code == row.code:
                return replace(row, message=d.message, hint=d.hint)
    return row

"""The search's best judged under the plan's traffic (`dagc.search.under_traffic`), with a progress bar:
what `check`, `compile` and `search` call before they print a candidate as meeting the requirements.

Input: the plan, its `SearchResult` and how many of its first candidates are printed or compared.
Output: the `SearchResult` with those judged on every requirement (unchanged without load requirements).
"""

from __future__ import annotations

from .commands import _bar, _loading

__all__ = ["judged"]


def judged(plan, found, need: int, quiet: bool = False):
    """`found` with its first `need` candidates judged under the plan's traffic (None stays None)."""
    with _loading():
        from ..search.under_traffic import judge_under_traffic, load_requirements
    if found is None or not load_requirements(plan) or plan.workload.traffic is None:
        return found
    progress = _bar("judging the best strategies under the plan's traffic", quiet)
    try:
        return judge_under_traffic(plan, found, need, progress=progress)
    finally:
        progress.close()

"""How one search runs: `SearchOptions`, built once by its caller and read by `dagc.search.search.search`.

Input: what the caller asks (the objective, the rows ranked exactly, worker processes, a time budget, …).
Output: one frozen value in place of a long list of arguments; `SearchKeywords`, the same fields as the
keyword arguments `search(plan, top=5, front=False)` still takes (merged over the options by `with_keywords`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypedDict

from .pooled_max import MAX_POOL_PROBES
from .result import MAX_SEARCH_CANDIDATES

if TYPE_CHECKING:
    from ..schedule.timer import Timer

__all__ = ["SearchKeywords", "SearchOptions", "with_keywords"]

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SearchOptions:
    """One search's request; the defaults are `search(plan)`'s (`dagc.search.search.search` says what each does).

    Attributes:
        objective: the objective ranked by (`dagc.plan.objective.OBJECTIVES`).
        top: the candidates ranked in order and shown.
        rescore: the best re-scored by the full scheduler (None: `top`, all that is printed).
        jobs: worker processes (at most the CPUs; Ctrl-C stops them).
        progress: called with (done, total) candidates.
        budget_s: stop when spent (checked before every candidate; the splits and re-scoring cut short:
            `skipped`), on `clock` (for tests; with `jobs` > 1, `time.monotonic`, the workers' clock).
        max_candidates: the most candidates evaluated (`MAX_SEARCH_CANDIDATES`).
        prune: branch and bound (False: every candidate evaluated in full; the same best and front).
        timer: a `dagc.schedule.timer.Timer` of the plan, its stage costs kept between searches of one plan.
        front: False keeps no Pareto front (`pareto_kept`): a verdict is answered sooner, the ranking the same.
        pools: False weighs the aggregated candidates only.
        max_pool_probes: the decode instances' batches probed in all, past which the rest are left out
            (`left_out`).
    """

    objective: str = "tokens-per-gpu"
    top: int = 10
    jobs: int = 1
    progress: Progress | None = None
    rescore: int | None = None
    budget_s: float | None = None
    max_candidates: int = MAX_SEARCH_CANDIDATES
    clock: Callable[[], float] = time.monotonic
    prune: bool = True
    timer: Timer | None = None
    front: bool = True
    pools: bool = True
    max_pool_probes: int = MAX_POOL_PROBES


class SearchKeywords(TypedDict, total=False):
    """`SearchOptions`' fields as keyword arguments (`search(plan, objective="ttft", top=5)`)."""

    objective: str
    top: int
    jobs: int
    progress: Progress | None
    rescore: int | None
    budget_s: float | None
    max_candidates: int
    clock: Callable[[], float]
    prune: bool
    timer: Timer | None
    front: bool
    pools: bool
    max_pool_probes: int


def with_keywords(options: SearchOptions | None, keywords: SearchKeywords) -> SearchOptions:
    """`options` (the defaults when None) with the fields `keywords` names in their place.

    Raises:
        TypeError: `options` is no `SearchOptions` (an objective given by position, as before the options:
            name it, `objective=…`), or a keyword names no field.
    """
    if options is None:
        options = SearchOptions()
    elif not isinstance(options, SearchOptions):
        raise TypeError(f"the search's options are a SearchOptions, not {type(options).__name__} "
                        "(give the objective as objective=…)")
    return replace(options, **keywords) if keywords else options

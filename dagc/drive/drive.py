"""The one driver of a check: what `dagc check`, `dagc compile`, `dagc.check` and `dagc.compile` run.

Input: a `Plan` and `DriveOptions` (the strategy that replaces the plan's, whether to search, worker
processes, the search's time budget, whether to search under every objective, progress callbacks).
Output: `Driven`, the plan, its strategies' `StrategyResult`s and the search's `SearchResult` (None
without a search).

The steps, in order: the strategy parsed (a bad one fails before the search would have to finish);
the search under the plan's objective (unless `search=False`); its best judged on every requirement,
under the plan's traffic too (`dagc.search.under_traffic`); with `picks`, the search under every
other objective (`dagc.search.search.objective_picks`, what compile's report lists); each strategy
checked with the E7xx of the plan's own engine (`dagc.launch.engine_check.check`) and judged optimal
against the search; then the next steps of those that miss a requirement, each change checked as the
plan is (`dagc.verdict.next_steps.with_next_steps`). It sits above `search/` and below `export/`:
`export.compile` writes what it returns, and the CLI only reads arguments and prints.

Progress: `DriveOptions.progress`, when given, is called with each `Stage` as the stage starts and
returns a context manager whose value is the stage's `progress(done, total)` callable (or None); the
driver leaves it when the stage ends. The library never prints: the CLI's progress bars are such
context managers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from enum import Enum
from typing import TypedDict, Unpack, overload

from ..lang.load import strategy_option
from ..launch.engine_check import check as engine_check, engine_checked
from ..plan.plan import Plan
from ..plan.strategy import StrategyDecl
from ..schedule.timer import Timer
from ..search.options import SearchOptions
from ..search.reasons import with_reasons
from ..search.result import Candidate, SearchResult
from ..search.search import objective_picks, search
from ..search.under_traffic import judge_under_traffic, judged_under_traffic
from ..verdict.check import StrategyResult
from ..verdict.next_steps import with_next_steps
from .dominated import rejudged

__all__ = ["CHECK_RESCORED", "CheckKeywords", "CheckOptions", "DriveKeywords", "DriveOptions", "Driven", "Progress",
           "ProgressFor", "Stage", "check", "drive", "judged", "searched"]

CHECK_RESCORED = 5   # the search's best candidates that check/compile re-score exactly before judging

Progress = Callable[[int, int], None]


class Stage(Enum):
    """The stages that report progress, in the order they run."""

    SEARCH = "search"        # the search under the plan's objective
    JUDGE = "judge"          # its best simulated under the plan's traffic
    PICKS = "picks"          # the searches under every other objective
    LOAD = "load"            # each strategy's load simulated under the plan's traffic
    WRITE = "write"          # compile: each strategy's files written


ProgressFor = Callable[[Stage], AbstractContextManager[Progress | None]]


def _no_progress(stage: Stage) -> AbstractContextManager[Progress | None]:
    return contextlib.nullcontext(None)


@dataclass(frozen=True)
class DriveOptions:
    """How a plan is driven; the defaults are `dagc check`'s without options.

    Attributes:
        strategy: a strategy expression as `--strategy` takes it (`"tp 1 ; ep 4"`), or a parsed
            `StrategyDecl`, in place of the plan's strategies; None: the plan's own.
        search: run the search and judge each strategy optimal against it (False: `--no-search`).
        jobs: the search's worker processes (`--jobs`).
        budget_s: the search's time budget in seconds (`--search-budget`); None: none.
        picks: search under every objective too, for the report's "what each objective would pick"
            (`dagc compile` does; `dagc check` does not).
        progress: a `Stage` → context manager of a `progress(done, total)` callable (module docstring).
        verdicts_only: only the verdicts and the errors are read (`dagc check --quiet`): no next steps are
            computed, nor the nearest strategy an engine runs that W533's hint names.
    """

    strategy: str | StrategyDecl | None = None
    search: bool = True
    jobs: int = 1
    budget_s: float | None = None
    picks: bool = False
    progress: ProgressFor | None = None
    verdicts_only: bool = False

    def __post_init__(self) -> None:
        _usable(self.jobs, self.budget_s)


def _usable(jobs: object, budget_s: object) -> None:
    """ValueError on `jobs` or `budget_s` the search refuses, before any work (`dagc.compile` took `jobs=0` silently
    until 2026-12-03, when it ran no search)."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a whole number of at least 1, not {jobs!r}")
    if budget_s is not None and (isinstance(budget_s, bool) or not isinstance(budget_s, int | float)
                                 or not budget_s >= 0):
        raise ValueError(f"budget_s must be a number of seconds of at least 0, not {budget_s!r}")


def _a_plan(plan: object) -> None:
    """TypeError unless `plan` is a `Plan` (a path given for one raised an AttributeError from deep inside)."""
    if not isinstance(plan, Plan):
        raise TypeError(f"a Plan is checked, not {type(plan).__name__}: read one with dagc.load_plan(path) or "
                        "dagc.load_plan_text(text)")


@dataclass(frozen=True)
class Driven:
    """What a check found: the plan, each strategy's result (in the plan's order, or `DriveOptions.strategy`
    alone), and the search (None when none ran), its best judged on every requirement."""

    plan: Plan
    results: tuple[StrategyResult, ...]
    found: SearchResult | None


def searched(plan: Plan, options: SearchOptions | None = None, progress: ProgressFor | None = None) -> SearchResult:
    """The search under the plan's objective as `options` ask (`dagc.search.search.search`; by default its best
    `CHECK_RESCORED` re-scored exactly), its progress `progress`'s `Stage.SEARCH`."""
    o = options if options is not None else SearchOptions(top=CHECK_RESCORED)
    with (progress or _no_progress)(Stage.SEARCH) as bar:
        return search(plan, replace(o, objective=plan.objective, progress=bar))


@overload
def judged(plan: Plan, found: SearchResult, need: int, progress: ProgressFor | None = None) -> SearchResult: ...


@overload
def judged(plan: Plan, found: SearchResult | None, need: int,
           progress: ProgressFor | None = None) -> SearchResult | None: ...


def judged(plan: Plan, found: SearchResult | None, need: int,
           progress: ProgressFor | None = None) -> SearchResult | None:
    """`found` with its first `need` candidates judged under the plan's traffic (`dagc.search.under_traffic`):
    what `check`, `compile` and `search` do before they call a candidate one that meets the requirements;
    unchanged without traffic (and None without a search)."""
    if found is None or not judged_under_traffic(plan):
        return found
    with (progress or _no_progress)(Stage.JUDGE) as bar:
        return judge_under_traffic(plan, found, need, progress=bar)


def drive(plan: Plan, options: DriveOptions | None = None) -> Driven:
    """The plan's strategies checked as `dagc check` checks them (`dagc compile` with `picks=True`).

    Example:
        >>> from dagc.lang.load import load_plan
        >>> d = drive(load_plan("examples/qwen3-30b-a3b-4gpu.moe"), DriveOptions(search=False))
        >>> [r.verdict.correct for r in d.results], d.found is None
        ([True, True], True)

    Raises:
        PlanError: when `options.strategy` text does not parse (before any search).
        TypeError: `plan` is no `Plan`.
    """
    _a_plan(plan)
    o = options or DriveOptions()
    progress = o.progress or _no_progress
    # read before the search, which a bad strategy would otherwise wait for
    strategy = strategy_option(o.strategy, plan) if isinstance(o.strategy, str) else o.strategy
    timer = Timer(plan) if o.search else None      # the search's stage costs, kept for each objective's pick
    # the Pareto front only for compile's pareto.svg: a verdict needs the best alone
    found = searched(plan, SearchOptions(top=CHECK_RESCORED, jobs=o.jobs, budget_s=o.budget_s, timer=timer,
                                         front=o.picks), progress) if o.search else None
    found = judged(plan, found, 1, progress)      # the verdict's best judged on every requirement, the load's too
    found = with_reasons(plan, found) if found is not None else None      # none legal: each rule's first, checked
    by_objective = None
    if o.picks and found is not None:
        with progress(Stage.PICKS) as bar:
            by_objective = objective_picks(plan, found, top=CHECK_RESCORED, jobs=o.jobs, progress=bar,
                                           budget_s=o.budget_s, timer=timer)
    with (progress(Stage.LOAD) if plan.workload.traffic is not None else contextlib.nullcontext(None)) as bar:
        results = _checked(plan, strategy, found, by_objective, bar, o.verdicts_only)
    return Driven(plan, tuple(results), found)


def _checked(plan: Plan, strategy: StrategyDecl | None, optimality: SearchResult | None,
             picks: dict[str, Candidate | None] | None, progress: Progress | None,
             verdicts_only: bool = False) -> list[StrategyResult]:
    """The last two steps: each strategy checked with its engine's E7xx and judged against `optimality`, then
    the next steps of those that miss a requirement (`verdicts_only`: neither those nor warnings' hints)."""
    results = engine_check(plan, strategy, optimality=optimality, picks=picks, progress=progress,
                           warning_hints=not verdicts_only)
    results = rejudged(plan, results, optimality, picks)       # a verdict the best left unjudged, weighed again
    return results if verdicts_only else with_next_steps(results, judge=engine_checked)


class DriveKeywords(TypedDict, total=False):
    """The fields of `DriveOptions` that `dagc.compile` takes as keyword arguments (`search=False`, `jobs=4`)."""

    search: bool
    jobs: int
    budget_s: float | None
    progress: ProgressFor | None


@dataclass(frozen=True)
class CheckOptions:
    """How `check` (the library's `dagc.check`) runs; the defaults are `dagc check`'s without options.

    Attributes:
        search: False checks without a search, as `dagc check --no-search` (none is run either when
            `optimality` is given).
        jobs, budget_s: the search's worker processes and time budget (`--jobs`, `--search-budget`).
        optimality: a search's result to judge the optimal verdicts against, in place of a search of
            this call's own (then none is run); `picks`: what each objective picks, joining its evidence.
        progress: the load simulation's `progress(done, total)`, as before the search joined `check`.
        progress_for: the progress of every stage (`DriveOptions.progress`), over `progress`.
    """

    search: bool = True
    jobs: int = 1
    budget_s: float | None = None
    optimality: SearchResult | None = None
    picks: dict[str, Candidate | None] | None = None
    progress: Progress | None = None
    progress_for: ProgressFor | None = None

    def __post_init__(self) -> None:
        _usable(self.jobs, self.budget_s)


class CheckKeywords(TypedDict, total=False):
    """`CheckOptions`' fields as keyword arguments (`dagc.check(plan, search=False)`)."""

    search: bool
    jobs: int
    budget_s: float | None
    optimality: SearchResult | None
    picks: dict[str, Candidate | None] | None
    progress: Progress | None
    progress_for: ProgressFor | None


def check(plan: Plan, strategy: str | StrategyDecl | None = None, options: CheckOptions | None = None,
          **keywords: Unpack[CheckKeywords]) -> list[StrategyResult]:
    """The library's `dagc.check`: the plan's strategies (or `strategy` alone, an expression such as
    `"tp 1 ; ep 4"`) checked as `dagc check` checks them — the search run and each verdict judged optimal
    against it, the E7xx of the plan's engine, the next steps of a strategy that misses a requirement.

    Args:
        options: how (`CheckOptions`: without a search, worker processes, a time budget, a search's result
            in place of one's own, progress); its fields may be given as keyword arguments instead
            (`search=False`, `jobs=4`, `optimality=found`), which take the place of those of `options`.

    Example:
        >>> import dagc
        >>> [r] = dagc.check(dagc.load_plan("examples/qwen3-30b-a3b-4gpu.moe"), "tp 1 ; ep 4", search=False)
        >>> r.verdict.correct, r.verdict.optimal
        (True, None)

    Raises:
        PlanError: when `strategy` text does not parse.
        TypeError: `plan` is no `Plan`, `options` no `CheckOptions`, or a keyword names no option.
        ValueError: `jobs` below 1, or `budget_s` below 0.
    """
    _a_plan(plan)
    if options is not None and not isinstance(options, CheckOptions):
        raise TypeError(f"check's options are a CheckOptions, not {type(options).__name__} "
                        "(give a search's result as optimality=…)")
    o = replace(options or CheckOptions(), **keywords)
    if o.optimality is not None or o.picks is not None or not o.search:
        decl = strategy_option(strategy, plan) if isinstance(strategy, str) else strategy
        return _checked(plan, decl, o.optimality, o.picks, o.progress)
    progress_for, progress = o.progress_for, o.progress
    if progress_for is None and progress is not None:
        def progress_for(stage: Stage) -> AbstractContextManager[Progress | None]:
            return contextlib.nullcontext(progress if stage is Stage.LOAD else None)
    return list(drive(plan, DriveOptions(strategy=strategy, jobs=o.jobs, budget_s=o.budget_s,
                                         progress=progress_for)).results)

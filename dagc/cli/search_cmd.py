"""`dagc search PLAN`: every legal strategy on the plan's cluster ranked, its Pareto plot written, and with
`--rate R` the best simulated at that arrival rate.

Input: the parsed arguments. Output: the exit code; the table (or JSON) on stdout, errors on stderr,
pareto.svg in the output directory or at `--svg`.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..exit_codes import EXIT_INPUT, EXIT_INVALID, EXIT_OK, EXIT_OUTPUT, EXIT_REQUIREMENTS, EXIT_USAGE
from .commands import (
    is_quiet,
    judged,
    loading,
    progress_bar,
    read_plan,
    say_refused,
    search_jobs,
    search_plan,
    volume_of,
)

if TYPE_CHECKING:
    from argparse import Namespace

    from rich.console import Console

    from ..plan.plan import Plan
    from ..search.at_rate import RankedAtRate
    from ..search.result import SearchResult

__all__ = ["cmd_search"]


def cmd_search(args: Namespace) -> int:
    with loading():
        from ..diagnostics import PlanError
        from .printing import make_console
    err = make_console(sys.stderr)
    try:
        plan = read_plan(args, needs_strategy=False)       # it searches them: a plan need not write one
    except PlanError as exc:
        say_refused(args, err, exc.diagnostics, "nothing was searched")
        return EXIT_INPUT
    with loading():                     # the printers, once there is a plan to search: a plan's errors come back first
        from .print_check import objective_text, print_overrides, print_plan
        from .print_rate import print_at_rate, print_rate_conclusion
        from .print_search import OWN_WORKLOAD, print_search, print_search_verdict, print_search_warnings
    if _refused(args, plan, err):
        return EXIT_INVALID
    plan, found, jobs = _searched(args, plan, err)
    if isinstance(found, int):
        return found
    # what is printed as meeting the requirements is judged on all of them: the best, or the rows shown
    found = judged(plan, found, 1 if is_quiet(args) else max(args.top, 1), is_quiet(args))
    with loading():
        from ..search.reasons import with_reasons
        from ..search.rejections import budget_stopped_line
        from ..search.shown import exact_shown
    # every row and Pareto point printed carries the figures `check --strategy` gives it (none: why, `with_reasons`)
    found = with_reasons(plan, exact_shown(plan, found, 1 if is_quiet(args) else args.top))
    # a plot that cannot be written is said and exits 5, after the answer: the ranking is printed all the same (until
    # 2026-12-03 nothing was, and `--format json` left stdout empty)
    svg_path = _write_pareto(args, plan, found, err)
    print_search_warnings(err, found, plan)
    # stopped by the time budget before any legal strategy: it answered nothing, "not judged" (exit 1, docs/limits.md)
    done = EXIT_OUTPUT if svg_path is None else EXIT_REQUIREMENTS if budget_stopped_line(found) else EXIT_OK
    at_rate = _at_rate(plan, found, args.rate, (_rate_rows(args), jobs), err, is_quiet(args)) \
        if args.rate is not None else None
    if args.format == "json":
        from ..export.search_json import ranked_at_rate_json, search_json
        doc = search_json(found, args.top, plan)
        if at_rate is not None:
            doc["at_rate"] = ranked_at_rate_json(at_rate, args.top)
        print(json.dumps(doc, indent=2, allow_nan=False))
        return done
    out = make_console()
    if is_quiet(args):
        print_search_verdict(out, found, plan, "best" + ("" if at_rate is None else OWN_WORKLOAD))
        if at_rate is not None:             # --rate's conclusion, which --quiet keeps
            print_rate_conclusion(out, at_rate, plan, args.plan)
        return done
    if volume_of(args) > 0:            # what was searched: the plan's model, cluster and workload
        print_plan(out, plan, args.plan, objective_text(plan, args.plan), args.overrides)
    else:
        print_overrides(out, args.overrides)
    print_search(out, found, args.top, svg_path, plan, "" if at_rate is None else OWN_WORKLOAD)
    if at_rate is not None:
        print_at_rate(out, at_rate, args.top, plan, args.plan)
    return done


def _refused(args: Namespace, plan: Plan, err: Console) -> bool:
    """Whether the plan's engine starts none of its strategies (E706, E728, E729: `plan_refusals`), said on `err` —
    every candidate would be left out for them: their reason, not an empty table."""
    with loading():
        from ..lang.engine import engine_chosen
        from ..launch.engine_check import plan_refusals
    refused = plan_refusals(plan)
    if refused:
        who = "the plan's engine starts none" if engine_chosen(plan) else "no engine dagc launches starts any"
        say_refused(args, err, refused, f"{who} of its strategies: nothing was searched")
    return bool(refused)


def _searched(args: Namespace, plan: Plan, err: Console) -> tuple[Plan, SearchResult | int, int]:
    """The plan searched (`--vary batch`: at the largest batch each candidate serves), its search (`_search_varied`)
    and the worker processes `--jobs` gives (`search_jobs`), which `--rate` runs its candidates' checks in too."""
    with loading():
        from ..lang.fields import BATCH_LIMIT
    if args.vary == "batch" and not plan.workload.batch_max:
        plan = plan.model_copy(update={"workload": plan.workload.model_copy(
            update={"batch": BATCH_LIMIT, "batch_max": True})})
    jobs = search_jobs(args, err)
    return plan, _search_varied(args, plan, err, jobs), jobs


def _search_varied(args: Namespace, plan: Plan, err: Console, jobs: int) -> SearchResult | int:
    """The search of the plan, with `--vary speculative` over the counts of drafted tokens; the exit code when
    the plan has no acceptance to vary them by."""
    if args.vary != "speculative":
        return search_plan(plan, _searched_top(args), jobs, args.search_budget, quiet=is_quiet(args))
    spec = plan.workload.speculative
    if spec is None or spec.acceptance is None:
        err.print("error: --vary speculative needs `speculative { method = …  tokens = …  acceptance = … }` in "
                  "the plan's workload (an accept_length holds for one count of drafted tokens)", markup=False)
        return EXIT_USAGE
    return _search_speculative(plan, _searched_top(args), jobs, args.search_budget, is_quiet(args))


def _searched_top(args: Namespace) -> int:
    """The candidates the search ranks in order and re-scores exactly: the rows printed (`--top`), or with
    `--quiet` in text, which prints the verdict on the best alone, 1 — whatever `--top` says: the search's
    cost follows what is printed (its best is the same: the first rows are exact and in the space's order
    either way, `dagc.search.search`). `--rate` simulates the ranking's first `RATE_CANDIDATES` (`--top`'s
    as ever)."""
    if is_quiet(args) and args.format == "text" and args.rate is None:
        return 1
    top: int = args.top
    return top


def _write_pareto(args: Namespace, plan: Plan, found: SearchResult, err: Console) -> Path | None:
    """pareto.svg of a search, with the plan's own strategies marked: where it was written, None (after an
    error line) when it could not be."""
    with loading():
        from ..export.output_dir import default_output_dir, plot_dir
        from ..export.pareto import PARETO_SIGNATURE, plan_pareto_svg
        from ..export.write import OutputError, write_text_atomic
        from ..verdict.check import check
        from .printing import output_failed
    # the plot reads the plan's strategies' steady-state figures: their traffic is not simulated for it
    own = check(plan.model_copy(update={"workload": plan.workload.model_copy(update={"traffic": None})}))
    force = bool(getattr(args, "force", False))
    svg_path = Path(args.svg) if args.svg else None
    try:
        if svg_path is not None and svg_path.is_dir() and not svg_path.is_symlink():    # `--svg DIR`: `-o DIR`
            raise OutputError(svg_path, f"it is a directory: `--svg {shlex.quote(str(svg_path / 'pareto.svg'))}` "
                              f"names the plot's file, or `-o {shlex.quote(str(svg_path))}` writes pareto.svg in it")
        if svg_path is not None:    # replaces only a pareto.svg dagc drew, short of --force
            _check_plot(svg_path, PARETO_SIGNATURE, force)
        else:                       # -o DIR or out/<plan>: a dagc output directory, its manifest lists the plot
            out = Path(args.output) if args.output else default_output_dir(plan.name)
            svg_path = out / "pareto.svg"           # named by an error before the directory is made ready
            svg_path = plot_dir(out, "pareto.svg", force)
        write_text_atomic(svg_path, plan_pareto_svg(plan, found, own))
    except (OutputError, OSError) as exc:
        output_failed(err, exc, svg_path, "cannot write")
        return None
    return svg_path


def _check_plot(path: Path, signature: str, force: bool) -> None:
    """`check_own` of the plot's path, whose refusal of another of dagc's outputs (listed in its directory's manifest:
    a compile's report.json) says so: until 2026-12-03 it said "dagc did not write it" of a file dagc wrote."""
    from ..export.output_marker import MARKER, read_manifest
    from ..export.write import OutputError, check_own
    try:
        check_own(path, signature, force)
    except OutputError as exc:
        for up in list(path.parents)[:3]:           # a compile's set: its top, or a strategy's directory in it
            try:
                listed = read_manifest(up)
            except OutputError:
                listed = None
            if listed is not None and path.relative_to(up).as_posix() in listed:
                raise OutputError(path, f"it is another of dagc's outputs (listed in {up / MARKER}), not a plot "
                                  "`dagc search` drew: choose another path, or `-o DIR` for the plot") from exc
        raise


def _rate_rows(args: Namespace) -> int:
    """The rows of `--rate` printed: `--top`, or with `--quiet` in text its conclusion alone (the first row)."""
    return 1 if is_quiet(args) and args.format == "text" else max(args.top, 1)


def _at_rate(plan: Plan, found: SearchResult, rate: float, rows: tuple[int, int], err: Console, quiet: bool
             ) -> RankedAtRate | None:
    """`--rate R`: the search's best simulated at R requests/s, those that cannot reach the rows printed left out
    (`rank_at_rate`; `rows`: how many are shown, and the worker processes that run the candidates' checks,
    `--jobs`), with a progress bar; None (with a warning) when their runs would pass the plan's load work budget
    (`--load-budget`)."""
    shown, jobs = rows
    with loading():
        from ..search.at_rate import rank_at_rate, rate_work_events
    events, budget = rate_work_events(plan, found), plan.load_budget_events
    if budget is not None and events > budget:
        err.print(f"warning[W518]: --rate: the best strategies' runs would take about {events:,} engine events, "
                  f"past the load's work budget of {budget:,}: not simulated (simulate fewer requests, or "
                  "--load-budget none)", markup=False)
        return None
    progress = progress_bar(f"simulating the best strategies at {rate:g} requests/s", quiet)
    try:
        return rank_at_rate(plan, found, rate, progress=progress, shown=shown, jobs=jobs)
    finally:
        progress.close()


def _search_speculative(plan: Plan, top: int, jobs: int, budget_s: float | None, quiet: bool = False
                        ) -> SearchResult:
    """`--vary speculative`: the search at each count of drafted tokens, merged, with a progress bar."""
    with loading():
        from ..search.options import SearchOptions
        from ..search.speculative import search_speculative
    progress = progress_bar("searching strategies and drafted tokens", quiet)
    try:
        options = SearchOptions(objective=plan.objective, top=top, jobs=jobs, progress=progress, budget_s=budget_s)
        return search_speculative(plan, options=options)
    finally:
        progress.close()

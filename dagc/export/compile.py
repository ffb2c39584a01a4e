"""`compile`: check every strategy and write its outputs (SPEC 8).

Input: a `Plan`, its `StrategyResult`s, an output directory and `CompileOptions`. Output,
for each strategy, under `<out>/` (a single unnamed strategy) or `<out>/<strategy dir>/`:
report.json, report.md, report.html and, when the DAG was built, dag.json, dag.dot + dag.svg,
placement.svg and trace.json, and with a simulated load load_cdf.svg and load_timeline.svg (and its
counters in the trace). With several strategies a side-by-side report.md / report.html sits in `<out>/`,
and so does `CompileOptions.requests_out`, every strategy's simulated requests (requests_out.py).

The whole set is written into a fresh sibling directory and swapped in at the end, under a
lock, so a reader sees the old complete set or the new one, never a mix; a directory dagc did
not write is refused, never replaced (output_dir.py), short of `CompileOptions.force`. The set is
bounded: past `CompileOptions.output_budget_bytes` in all, the compile stops with an
`OutputError` and leaves the old set as it was (docs/limits.md).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Unpack

from ..drive.drive import DriveKeywords, Driven, DriveOptions, ProgressFor, Stage, drive
from ..plan.plan import Plan
from ..plan.strategy import StrategyDecl
from ..serve.load import Load
from ..verdict.check import StrategyResult
from .compare_load import compare_cdf_svg
from .comparison_md import comparison_md
from .home import refuse_an_input
from .html import report_html
from .load_series import load_run
from .output_dir import (
    MARKER,
    MARKER_TEXT,
    OUTPUT_FILES,
    carry_launch_files,
    carry_over,
    check_output_dir,
    clean_stale,
    compile_plot,
    output_lock,
    safe_dir_name,
    sibling,
    staging_parent,
    swap_in,
    write_manifest,
)
from .pareto import plan_mark, plan_pareto_svg
from .render import check_dot_timeout
from .requests_out import check_requests_name, over_budget, requests_bytes_at_least, write_requests
from .strategy_files import OUTPUT_BUDGET_BYTES as OUTPUT_BUDGET_BYTES, CompileOptions, write_strategy
from .write import OutputError, dir_mode, write_text_atomic

__all__ = ["CompileOptions", "Written", "compile", "compile_results", "strategy_dir_name", "strategy_dir_names",
           "write_driven", "OutputError"]


FILES_PER_STRATEGY = 10     # report.json/.md/.html, dag.json/.dot/.svg, trace, placement, load_cdf/timeline


@dataclass(frozen=True)
class Written:
    result: StrategyResult | None     # None: the side-by-side comparison of several strategies
    directory: Path
    files: tuple[Path, ...]
    warnings: tuple[str, ...] = field(default=())


def strategy_dir_name(result: StrategyResult, index: int) -> str:
    """A directory name for a strategy: its name (sanitised), else `strategy-N`. Not unique by
    itself: `strategy_dir_names` makes the names of a plan's strategies distinct."""
    if result.decl.name:
        return safe_dir_name(result.decl.name, "strategy")
    return f"strategy-{index + 1}"


def strategy_dir_names(results: list[StrategyResult]) -> list[str]:
    """Distinct directory names for a plan's strategies, also on case-insensitive file systems.

    Named strategies keep their (sanitised) name when they can, unnamed ones are `strategy-N`;
    a clash (`strategy strategy-1 = …` beside the first unnamed strategy, names that differ
    only by case or in characters the sanitiser replaces) gets `-2`, `-3`, … appended. Names
    of the files in the output directory are never used.
    """
    taken = {n.casefold() for n in OUTPUT_FILES}
    base = [strategy_dir_name(r, i) for i, r in enumerate(results)]
    names: list[str | None] = [None] * len(results)
    order = [i for i, r in enumerate(results) if r.decl.name] + [i for i, r in enumerate(results) if not r.decl.name]
    for i in order:
        name, k = base[i], 1
        while name.casefold() in taken:
            k += 1
            name = f"{base[i]}-{k}"
        taken.add(name.casefold())
        names[i] = name
    return [n for n in names if n is not None]


def _comparison(plan: Plan, results: list[StrategyResult], names: list[str], staging: Path, out: Path,
                pareto_svg: str | None, extra: tuple[Path, ...]) -> Written:
    """The side-by-side page of several strategies, report.md and report.html with the search's plot and, under
    traffic, the strategies' latency CDFs overlaid (compare_cdf.svg, `dagc.export.compare_load`) inline."""
    cdf = compare_cdf_svg(results, names, f"{plan.name}: each strategy's latencies under the traffic")
    md = comparison_md(plan, results, names, "pareto.svg" if pareto_svg is not None else None,
                       "compare_cdf.svg" if cdf is not None else None)
    write_text_atomic(staging / "report.md", md)
    plots = {"pareto.svg": pareto_svg} if pareto_svg is not None else {}
    if cdf is not None:
        write_text_atomic(staging / "compare_cdf.svg", cdf)
        plots["compare_cdf.svg"] = cdf
    write_text_atomic(staging / "report.html", report_html(md, plots))
    files = (out / "report.md", out / "report.html", *(out / name for name in plots))
    return Written(None, out, (*files, *extra))


def compile_results(plan: Plan, results: list[StrategyResult], out: Path,
                    options: CompileOptions | None = None,
                    progress: Callable[[int, int], None] | None = None) -> list[Written]:
    """Write each result's files (and a comparison with several) as one set; returns what was written.

    `progress(done, total)` is called after each file is written. The set replaces `out` whole
    (see the module docstring); on any exception, KeyboardInterrupt included, `out` is left as
    it was and the temporary files are removed.

    Raises:
        OutputError: `out` is not a directory dagc may replace, or writing failed.
        ValueError: `options.dot_timeout_s` is not a usable timeout.
    """
    opts = options or CompileOptions()
    check_dot_timeout(opts.dot_timeout_s)
    out = Path(os.path.abspath(out))
    several = len(results) > 1 or any(r.decl.name for r in results)
    names = strategy_dir_names(results) if several else []
    total, done = FILES_PER_STRATEGY * len(results), 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(min(done, total), total)

    refuse_an_input(out, _inputs(plan))
    _refuse_early(results, out, opts, names)
    with output_lock(out):
        staging: Path | None = None
        try:
            clean_stale(out)
            check_output_dir(out, opts.force)
            staging = Path(tempfile.mkdtemp(prefix=sibling(out, "tmp-"), dir=staging_parent(out)))
            written = _stage(plan, results, staging, out, opts, names, tick)
            if opts.pareto_svg is None:
                carry_over(out, staging, plan_mark(plan))
            carry_launch_files(out, staging)
            write_manifest(staging)
            os.chmod(staging, dir_mode())
            swap_in(staging, out)
        except OSError as exc:
            raise OutputError(Path(exc.filename) if exc.filename else out, exc.strerror or str(exc)) from exc
        finally:
            if staging is not None:
                with contextlib.suppress(FileNotFoundError):
                    shutil.rmtree(staging)
    return written


def _inputs(plan: Plan) -> list[str]:
    """The files the plan was read from and that it reads (`Plan.files`): what `out` must not hold."""
    own = {span.source.path for span in plan.spans.values() if span.source.echo}
    return [*(p for p in sorted(own) if os.path.isfile(p)), *plan.files]


def _refuse_early(results: list[StrategyResult], out: Path, opts: CompileOptions, names: list[str]) -> None:
    """Raise (OutputError, ValueError) before anything is made: a budget that is no number of bytes, an output
    directory dagc may not replace, a `requests_out` name or size it cannot write; else make `out`'s parent."""
    if not opts.output_budget_bytes > 0:
        raise ValueError(f"the output budget must be a number of bytes above 0, not {opts.output_budget_bytes!r}")
    check_output_dir(out, opts.force)            # refuse before creating anything
    check_requests_name(opts.requests_out, names)
    _requests_fit(results, out, opts)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(out, exc.strerror or str(exc)) from exc


def _stage(plan: Plan, results: list[StrategyResult], staging: Path, out: Path, opts: CompileOptions,
           names: list[str], tick: Callable[[], None]) -> list[Written]:
    """Write the whole set into `staging`, each result in its directory `names[i]` (none: one result, at the
    top): what was written, where it will live in `out`."""
    several = bool(names)
    write_text_atomic(staging / MARKER, MARKER_TEXT)     # marks it dagc's, for clean_stale after a kill
    if opts.pareto_svg is not None:
        write_text_atomic(staging / "pareto.svg", compile_plot(opts.pareto_svg))
    written = []
    for i, r in enumerate(results):
        d, final = (staging / names[i], out / names[i]) if several else (staging, out)
        files, warnings = write_strategy(r, d, opts, tick, "../pareto.svg" if several else "pareto.svg")
        written.append(Written(r, final, tuple(final / f for f in files), tuple(warnings)))
        _within_budget(staging, out, opts.output_budget_bytes)
    pareto = (out / "pareto.svg",) if opts.pareto_svg is not None else ()
    extra = _requests_file(results, staging, out, opts)
    if len(results) > 1:
        written.append(_comparison(plan, results, names, staging, out, opts.pareto_svg, extra))
    elif pareto or extra:          # one strategy: its files and the search's plot share the directory
        written[0] = replace(written[0], files=(*written[0].files, *pareto, *extra))
    return written


def compile(plan: Plan, out: Path | str, strategy: str | StrategyDecl | None = None,  # noqa: A001 (dagc.compile)
            options: CompileOptions | None = None, **keywords: Unpack[DriveKeywords]) -> list[Written]:
    """Check the plan's strategies and write their outputs into `out`, as `dagc compile` does: the
    library's `compile`, `dagc.compile`. `strategy`, a strategy expression as `--strategy` takes it
    (`"tp 1 ; ep 4"`, not a strategy's name), replaces the plan's strategies. The keyword arguments are
    those of the check (`dagc.drive.drive.DriveKeywords`): the search runs (its optimal verdicts, each
    objective's pick, pareto.svg) unless `search=False` (`--no-search`); `jobs`, `budget_s`: its worker
    processes and time budget; `progress`: each stage's, as `dagc.drive.drive.drive` takes it (`Stage.WRITE`:
    the files written).

    Raises:
        PlanError: when `strategy` text does not parse.
        OutputError: `out` is not a directory dagc may replace, or writing failed (`dagc.OutputError`).
        TypeError: `plan` is no `Plan`, or a keyword names no option of the check.
        ValueError: `jobs` below 1, or `budget_s` below 0.
    """
    driving = DriveOptions(strategy=strategy, picks=True, **keywords)
    return write_driven(drive(plan, driving), Path(out), options, driving.progress)


def write_driven(driven: Driven, out: Path, options: CompileOptions | None = None,
                 progress: ProgressFor | None = None) -> list[Written]:
    """`compile_results` of a driven check, with the search's pareto.svg (when a search ran) in `options`."""
    opts = options or CompileOptions()
    if driven.found is not None:
        opts = replace(opts, pareto_svg=plan_pareto_svg(driven.plan, driven.found, driven.results))
    with (progress or _no_progress)(Stage.WRITE) as bar:
        return compile_results(driven.plan, list(driven.results), out, opts, bar)


def _no_progress(stage: Stage) -> contextlib.nullcontext[None]:
    return contextlib.nullcontext(None)


def _within_budget(staging: Path, out: Path, budget_bytes: int) -> None:
    """Raise OutputError when the files staged so far pass the budget (checked after each strategy:
    one strategy's files are bounded by their own limits, docs/limits.md)."""
    total = sum(p.lstat().st_size for p in staging.rglob("*"))
    if total > budget_bytes:
        raise OutputError(out, f"the outputs passed the output budget ({total:,} > {budget_bytes:,} bytes) and none "
                               "was written; fewer strategies, a smaller --graph-detail, or a larger --output-budget")


def _requests_file(results: list[StrategyResult], staging: Path, out: Path, opts: CompileOptions) -> tuple[Path, ...]:
    """`requests_out`: every strategy's simulated requests in one file at the top of the set."""
    if opts.requests_out is None:
        return ()
    staged = sum(p.lstat().st_size for p in staging.rglob("*"))
    write_requests(staging / opts.requests_out, requests_runs(results), opts.output_budget_bytes - staged,
                   shown=out / opts.requests_out)
    _within_budget(staging, out, opts.output_budget_bytes)
    return (out / opts.requests_out,)


def _requests_fit(results: list[StrategyResult], out: Path, opts: CompileOptions) -> None:
    """Raise OutputError, before anything is made, when `requests_out`'s lines pass the output budget even
    at their least size (`requests_bytes_at_least`)."""
    if opts.requests_out is not None and requests_bytes_at_least(requests_runs(results)) > opts.output_budget_bytes:
        raise over_budget(out / opts.requests_out, opts.output_budget_bytes)


def requests_runs(results: list[StrategyResult]) -> list[tuple[str, Load, int]]:
    """What `--requests-out` writes: each simulated strategy's label (report.json's `strategy`), run and
    prompt tokens, in the plan's order."""
    runs = []
    for r in results:
        load = load_run(r)
        if load is not None:
            label = r.decl.text if r.decl.name is None else f"{r.decl.name} = {r.decl.text}"
            runs.append((label, load, r.plan.workload.prompt))
    return runs



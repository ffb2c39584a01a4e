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
from typing import Any

from ..drive.drive import Driven, DriveOptions, ProgressFor, Stage, drive
from ..plan.plan import Plan
from ..plan.strategy import StrategyDecl
from ..serve.load import Load
from ..verdict.check import StrategyResult
from .compare_load import compare_cdf_svg
from .dag_json import dag_json, pooled_dag_json
from .dot import Detail, dag_dot
from .html import report_html
from .load_md import traffic_text
from .load_series import load_run
from .load_svg import load_cdf_svg, load_timeline_svg
from .markdown import comparison_md, report_md
from .output_dir import (
    MARKER,
    MARKER_TEXT,
    OUTPUT_FILES,
    carry_over,
    check_output_dir,
    clean_stale,
    output_lock,
    safe_dir_name,
    sibling,
    staging_parent,
    swap_in,
    write_manifest,
)
from .pareto import plan_pareto_svg
from .placement import placement_svg
from .render import DOT_TIMEOUT_S, check_dot_timeout, write_svg
from .report import load_of, report_json
from .requests_out import check_requests_name, over_budget, requests_bytes_at_least, write_requests
from .trace import write_trace
from .trace_pools import write_pooled_trace
from .trace_writer import EVENT_BUDGET
from .write import OutputError, dir_mode, write_json_atomic, write_text_atomic

__all__ = ["CompileOptions", "Written", "compile", "compile_results", "strategy_dir_name", "strategy_dir_names",
           "write_driven", "OutputError"]


FILES_PER_STRATEGY = 10     # report.json/.md/.html, dag.json/.dot/.svg, trace, placement, load_cdf/timeline
OUTPUT_BUDGET_BYTES = 2 << 30    # all the files of one compile: 2 GiB (64 strategies in full detail wrote 11 GB)


@dataclass(frozen=True)
class CompileOptions:
    graph_detail: Detail = Detail.SUMMARY
    all_ranks: bool = False
    gzip: bool = False
    dot_timeout_s: float = DOT_TIMEOUT_S
    event_budget: int = EVENT_BUDGET
    pareto_svg: str | None = None      # the search's Pareto plot (when it ran): <out>/pareto.svg, linked by the reports
    force: bool = False                # replace an output directory that holds files dagc did not write
    output_budget_bytes: int = OUTPUT_BUDGET_BYTES     # the whole set; past it, nothing is replaced
    requests_out: str | None = None    # a file name: every simulated request, a JSON line each (requests_out.py)


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


def _write_one(r: StrategyResult, d: Path, final: Path, opts: CompileOptions,
               tick: Callable[[], None], pareto_link: str = "pareto.svg") -> Written:
    """Write one strategy's files into `d` (inside the staging directory); they will live in `final`.
    `pareto_link` is where this report finds the search's plot (`opts.pareto_svg`)."""
    files: list[str] = []
    warnings: list[str] = []
    artefacts: dict[str, str] = {}
    if opts.pareto_svg is not None:
        artefacts[pareto_link] = opts.pareto_svg
    d.mkdir(exist_ok=True)
    if r.compiled is not None:
        write_json_atomic(d / "dag.json", _dag_json(r), indent=None)
        files.append("dag.json")
        tick()
        graph = dag_dot(r.compiled, opts.graph_detail)
        if graph.note:
            warnings.append(f"dag.dot: {graph.note}; drew `{graph.detail.value}`")
        write_text_atomic(d / "dag.dot", graph.text)
        files.append("dag.dot")
        tick()
        drawn = write_svg(graph.text, d / "dag.svg", opts.dot_timeout_s)
        if drawn.warning:
            warnings.append(drawn.warning)
        if drawn.svg is None:
            with contextlib.suppress(FileNotFoundError):
                (d / "dag.svg").unlink()
        else:
            files.append("dag.svg")
            tick()
            artefacts["dag.svg"] = drawn.svg
        if r.pooled is not None and r.pooled.figures is not None:     # both pools and their KV transfer
            info = write_pooled_trace(r, d / "trace.json", all_ranks=opts.all_ranks, compress=opts.gzip,
                                      budget=opts.event_budget, load=load_run(r), traffic=_traffic(r))
        else:
            info = write_trace(r.compiled, d / "trace.json", all_ranks=opts.all_ranks, compress=opts.gzip,
                               budget=opts.event_budget, load=load_run(r), traffic=_traffic(r))
        files.append(info.path.name)
        tick()
        artefacts["trace"] = info.path.name
        if info.warning:
            warnings.append(f"trace: {info.warning}")
    if r.layout is not None:
        svg = placement_svg(r)
        write_text_atomic(d / "placement.svg", svg)
        files.append("placement.svg")
        tick()
        artefacts["placement.svg"] = svg
    for name, svg in _load_svgs(r).items():
        write_text_atomic(d / name, svg)
        files.append(name)
        tick()
        artefacts[name] = svg
    links = {k: (k if k != "trace" else v) for k, v in artefacts.items() if k != pareto_link}
    if opts.pareto_svg is not None:
        links["pareto.svg"] = pareto_link
    md = report_md(r, links=links)
    write_text_atomic(d / "report.md", md)
    files.insert(0, "report.md")
    tick()
    write_json_atomic(d / "report.json", report_json(r))
    files.insert(0, "report.json")
    tick()
    write_text_atomic(d / "report.html", report_html(md, artefacts))
    files.insert(2, "report.html")
    tick()
    return Written(r, final, tuple(final / f for f in files), tuple(warnings))


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

    if not opts.output_budget_bytes > 0:
        raise ValueError(f"the output budget must be a number of bytes above 0, not {opts.output_budget_bytes!r}")
    check_output_dir(out, opts.force)            # refuse before creating anything
    check_requests_name(opts.requests_out, names)
    _requests_fit(results, out, opts)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(out, exc.strerror or str(exc)) from exc
    with output_lock(out):
        staging: Path | None = None
        try:
            clean_stale(out)
            check_output_dir(out, opts.force)
            staging = Path(tempfile.mkdtemp(prefix=sibling(out, "tmp-"), dir=staging_parent(out)))
            write_text_atomic(staging / MARKER, MARKER_TEXT)     # marks it dagc's, for clean_stale after a kill
            if opts.pareto_svg is not None:
                write_text_atomic(staging / "pareto.svg", opts.pareto_svg)
            written = []
            for i, r in enumerate(results):
                d, final = (staging / names[i], out / names[i]) if several else (staging, out)
                written.append(_write_one(r, d, final, opts, tick, "../pareto.svg" if several else "pareto.svg"))
                _within_budget(staging, out, opts.output_budget_bytes)
            pareto = (out / "pareto.svg",) if opts.pareto_svg is not None else ()
            extra = _requests_file(results, staging, out, opts)
            if len(results) > 1:
                written.append(_comparison(plan, results, names, staging, out, opts.pareto_svg, extra))
            elif pareto or extra:          # one strategy: its files and the search's plot share the directory
                written[0] = replace(written[0], files=(*written[0].files, *pareto, *extra))
            if opts.pareto_svg is None:
                carry_over(out, staging)
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


def compile(plan: Plan, out: Path | str, strategy: str | StrategyDecl | None = None,  # noqa: A001 (dagc.compile)
            options: CompileOptions | None = None, *, search: bool = True, jobs: int = 1,
            budget_s: float | None = None, progress: ProgressFor | None = None) -> list[Written]:
    """Check the plan's strategies and write their outputs into `out`, as `dagc compile` does: the
    library's `compile`, `dagc.compile`. `strategy`, a strategy expression as `--strategy` takes it
    (`"tp 1 ; ep 4"`, not a strategy's name), replaces the plan's strategies. The search runs (its
    optimal verdicts, each objective's pick, pareto.svg) unless `search=False` (`--no-search`); `jobs`,
    `budget_s`: its worker processes and time budget; `progress`: each stage's, as `dagc.drive.drive.drive`
    takes it (`Stage.WRITE`: the files written).

    Raises:
        PlanError: when `strategy` text does not parse.
        OutputError: `out` is not a directory dagc may replace, or writing failed.
    """
    driven = drive(plan, DriveOptions(strategy=strategy, search=search, jobs=jobs, budget_s=budget_s, picks=True,
                                      progress=progress))
    return write_driven(driven, Path(out), options, progress)


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


def _traffic(r: StrategyResult) -> str:
    load = load_of(r)
    return traffic_text(load) if load is not None else ""


def _load_svgs(r: StrategyResult) -> dict[str, str]:
    """load_cdf.svg and (when the run kept a timeline) load_timeline.svg of a simulated strategy."""
    load = load_run(r)
    if load is None:
        return {}
    label, traffic = r.decl.name or r.decl.text, _traffic(r)
    out = {"load_cdf.svg": load_cdf_svg(load, f"{r.plan.name} · {label}: latency of {len(load.arrival):,} simulated "
                                              "requests", traffic)}
    timeline = load_timeline_svg(load, f"{r.plan.name} · {label}: the simulated load over time", traffic)
    if timeline is not None:
        out["load_timeline.svg"] = timeline
    return out


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


def _dag_json(r: StrategyResult) -> dict[str, Any]:
    """dag.json: the strategy's DAG, or a disaggregated strategy's instances of both pools."""
    pools = [(p.pool.role, p.pool.instances, p.pool.strategy.text, p.analysis.compiled)
             for p in (r.pooled.pools if r.pooled is not None else ())]
    if pools and all(c is not None for *_, c in pools):
        return pooled_dag_json(pools)  # type: ignore[arg-type]   # every instance compiled, just checked
    assert r.compiled is not None
    return dag_json(r.compiled)

"""`compile`: check every strategy and write its outputs (SPEC 8).

Input: a `Plan`, its `StrategyResult`s, an output directory and `CompileOptions`. Output,
for each strategy, written atomically under `<out>/` (a single unnamed strategy) or
`<out>/<strategy name>/`: report.json, report.md, report.html and, when the DAG was built,
dag.json, dag.dot + dag.svg, placement.svg and trace.json. With several strategies a
side-by-side report.md / report.html sits in `<out>/`.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .check import StrategyResult
from .export.dag_json import dag_json
from .export.dot import DOT_TIMEOUT_S, Detail, dag_dot, render_svg
from .export.html import report_html
from .export.markdown import comparison_md, report_md
from .export.placement import placement_svg
from .export.report import report_json
from .export.trace import EVENT_BUDGET, write_trace
from .export.write import write_json_atomic, write_text_atomic
from .plan import Plan

__all__ = ["CompileOptions", "Written", "compile_results", "strategy_dir_name"]


FILES_PER_STRATEGY = 8      # report.json/.md/.html, dag.json/.dot/.svg, trace, placement


@dataclass(frozen=True)
class CompileOptions:
    graph_detail: Detail = Detail.SUMMARY
    all_ranks: bool = False
    gzip: bool = False
    dot_timeout_s: float = DOT_TIMEOUT_S
    event_budget: int = EVENT_BUDGET


@dataclass(frozen=True)
class Written:
    result: StrategyResult | None     # None: the side-by-side comparison of several strategies
    directory: Path
    files: tuple[Path, ...]
    warnings: tuple[str, ...] = field(default=())


def strategy_dir_name(result: StrategyResult, index: int) -> str:
    """A directory name for a strategy: its name, else `strategy-N`."""
    if result.decl.name:
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", result.decl.name)
    return f"strategy-{index + 1}"


def _write_one(r: StrategyResult, d: Path, opts: CompileOptions, tick: Callable[[], None]) -> Written:
    files: list[Path] = []
    warnings: list[str] = []
    artefacts: dict[str, str] = {}
    if r.dag is not None:
        files.append(write_json_atomic(d / "dag.json", dag_json(r.dag), indent=None))
        tick()
        graph = dag_dot(r, opts.graph_detail)
        if graph.note:
            warnings.append(f"dag.dot: {graph.note}; drew `{graph.detail.value}`")
        files.append(write_text_atomic(d / "dag.dot", graph.text))
        tick()
        with tempfile.TemporaryDirectory(dir=d) as tmp:
            svg_tmp = Path(tmp) / "dag.svg"
            problem = render_svg(graph.text, svg_tmp, opts.dot_timeout_s)
            if problem:
                warnings.append(problem)
            else:
                svg = svg_tmp.read_text()
                files.append(write_text_atomic(d / "dag.svg", svg))
                tick()
                artefacts["dag.svg"] = svg
        with tempfile.TemporaryDirectory(dir=d) as tmp:
            name = "trace.json.gz" if opts.gzip else "trace.json"
            info = write_trace(r, Path(tmp) / "trace.json", all_ranks=opts.all_ranks, compress=opts.gzip,
                               budget=opts.event_budget)
            final = d / name
            info.path.replace(final)
            files.append(final)
            tick()
            artefacts["trace"] = name
            if info.warning:
                warnings.append(f"trace: {info.warning}")
    if r.layout is not None:
        svg = placement_svg(r)
        files.append(write_text_atomic(d / "placement.svg", svg))
        tick()
        artefacts["placement.svg"] = svg
    md = report_md(r, links={k: (k if k != "trace" else v) for k, v in artefacts.items()})
    files.insert(0, write_text_atomic(d / "report.md", md))
    tick()
    files.insert(0, write_json_atomic(d / "report.json", report_json(r)))
    tick()
    files.insert(2, write_text_atomic(d / "report.html", report_html(md, artefacts)))
    tick()
    return Written(r, d, tuple(files), tuple(warnings))


def compile_results(plan: Plan, results: list[StrategyResult], out: Path,
                    options: CompileOptions | None = None,
                    progress: Callable[[int, int], None] | None = None) -> list[Written]:
    """Write each result's files (and a comparison with several); returns what was written.

    `progress(done, total)` is called after each file is written."""
    opts = options or CompileOptions()
    several = len(results) > 1 or any(r.decl.name for r in results)
    total, done = FILES_PER_STRATEGY * len(results), 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(min(done, total), total)

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for i, r in enumerate(results):
        d = out / strategy_dir_name(r, i) if several else out
        d.mkdir(parents=True, exist_ok=True)
        written.append(_write_one(r, d, opts, tick))
    if len(results) > 1:
        dirs = [w.directory.name for w in written]
        md = comparison_md(plan, results, dirs)
        files = (write_text_atomic(out / "report.md", md), write_text_atomic(out / "report.html", report_html(md, {})))
        written.append(Written(None, out, files))
    return written

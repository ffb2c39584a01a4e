"""One strategy's files of `dagc compile`: its reports, DAG, graph, trace, placement and load plots.

Input: a `StrategyResult` and the `CompileOptions`. Output: the files written into the strategy's
directory (inside the staging directory of `dagc.export.compile`), their names and warnings.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..verdict.check import StrategyResult
from .dag_json import dag_json, pooled_dag_json
from .dot import Detail, dag_dot
from .html import report_html
from .load_md import traffic_text
from .load_series import load_run
from .load_svg import load_cdf_svg, load_timeline_svg
from .markdown import report_md
from .placement import placement_svg
from .render import DOT_TIMEOUT_S, write_svg
from .report import load_of, report_json
from .trace import write_trace
from .trace_pools import write_pooled_trace
from .trace_writer import EVENT_BUDGET
from .write import write_json_atomic, write_text_atomic

__all__ = ["CompileOptions", "OUTPUT_BUDGET_BYTES", "write_strategy"]

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


@dataclass
class _Staged:
    """One strategy's files as they are written into `d`: their names in the order `Written` lists them, the
    warnings, and what the report links or embeds (`artefacts`, in the order it shows them)."""

    d: Path
    tick: Callable[[], None]                  # after each file written
    files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    artefacts: dict[str, str] = field(default_factory=dict)
    undrawn: str | None = None                # why Graphviz drew no dag.svg (report.md says it beside dag.dot)

    def wrote(self, name: str, at: int | None = None) -> None:
        if at is None:
            self.files.append(name)
        else:
            self.files.insert(at, name)
        self.tick()


def write_strategy(r: StrategyResult, d: Path, opts: CompileOptions, tick: Callable[[], None],
                   pareto_link: str = "pareto.svg") -> tuple[list[str], list[str]]:
    """Write one strategy's files into `d`, calling `tick` after each: their names, in the order `dagc compile`
    lists them, and the warnings. `pareto_link` is where this report finds the search's plot
    (`opts.pareto_svg`)."""
    staged = _Staged(d, tick)
    if opts.pareto_svg is not None:
        staged.artefacts[pareto_link] = opts.pareto_svg
    d.mkdir(exist_ok=True)
    if r.compiled is not None:
        _write_graph(r, staged, opts)
        _write_trace(r, staged, opts)
    if r.layout is not None:
        svg = placement_svg(r)
        write_text_atomic(d / "placement.svg", svg)
        staged.wrote("placement.svg")
        staged.artefacts["placement.svg"] = svg
    for name, svg in _load_svgs(r).items():
        write_text_atomic(d / name, svg)
        staged.wrote(name)
        staged.artefacts[name] = svg
    _write_reports(r, staged, opts, pareto_link)
    return staged.files, staged.warnings


def _write_graph(r: StrategyResult, staged: _Staged, opts: CompileOptions) -> None:
    """dag.json, dag.dot and (when Graphviz draws it in time) dag.svg."""
    assert r.compiled is not None
    d = staged.d
    write_json_atomic(d / "dag.json", _dag_json(r), indent=None)
    staged.wrote("dag.json")
    graph = dag_dot(r.compiled, opts.graph_detail)
    if graph.note:
        staged.warnings.append(f"dag.dot: {graph.note}; drew `{graph.detail.value}`")
    write_text_atomic(d / "dag.dot", graph.text)
    staged.wrote("dag.dot")
    drawn = write_svg(graph.text, d / "dag.svg", opts.dot_timeout_s)
    if drawn.warning:
        staged.warnings.append(drawn.warning)
    if drawn.svg is None:
        staged.undrawn = drawn.warning or "Graphviz drew nothing"
        with contextlib.suppress(FileNotFoundError):
            (d / "dag.svg").unlink()
    else:
        staged.wrote("dag.svg")
        staged.artefacts["dag.svg"] = drawn.svg


def _write_trace(r: StrategyResult, staged: _Staged, opts: CompileOptions) -> None:
    """trace.json(.gz): the strategy's DAG, or both pools and their KV transfer."""
    assert r.compiled is not None
    if r.pooled is not None and r.pooled.figures is not None:     # both pools and their KV transfer
        info = write_pooled_trace(r, staged.d / "trace.json", all_ranks=opts.all_ranks, compress=opts.gzip,
                                  budget=opts.event_budget, load=load_run(r), traffic=_traffic(r))
    else:
        info = write_trace(r.compiled, staged.d / "trace.json", all_ranks=opts.all_ranks, compress=opts.gzip,
                           budget=opts.event_budget, load=load_run(r), traffic=_traffic(r))
    staged.wrote(info.path.name)
    staged.artefacts["trace"] = info.path.name
    if info.warning:
        staged.warnings.append(f"trace: {info.warning}")


def _write_reports(r: StrategyResult, staged: _Staged, opts: CompileOptions, pareto_link: str) -> None:
    """report.md, report.json and report.html (listed first), linking the files written before them."""
    links = {k: (k if k != "trace" else v) for k, v in staged.artefacts.items() if k != pareto_link}
    if opts.pareto_svg is not None:
        links["pareto.svg"] = pareto_link
    md = report_md(r, links=links, undrawn=staged.undrawn)
    write_text_atomic(staged.d / "report.md", md)
    staged.wrote("report.md", 0)
    write_json_atomic(staged.d / "report.json", report_json(r))
    staged.wrote("report.json", 0)
    write_text_atomic(staged.d / "report.html", report_html(md, staged.artefacts))
    staged.wrote("report.html", 2)


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


def _dag_json(r: StrategyResult) -> dict[str, Any]:
    """dag.json: the strategy's DAG, or a disaggregated strategy's instances of both pools."""
    pools = [(p.pool.role, p.pool.instances, p.pool.strategy.text, p.analysis.compiled)
             for p in (r.pooled.pools if r.pooled is not None else ())]
    if pools and all(c is not None for *_, c in pools):
        return pooled_dag_json(pools)  # type: ignore[arg-type]   # every instance compiled, just checked
    assert r.compiled is not None
    return dag_json(r.compiled)

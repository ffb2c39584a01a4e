"""The `dagc` command: argument parsing, rendering and exit codes; no compiler logic.

Exit codes (documented in the README, `dagc --help` and docs/limits.md):
    0    the plan is valid and meets its requirements (or has none)
    1    the plan is valid but a requirement is not met, or could not be judged
    2    usage error (bad command-line arguments)
    3    the plan is invalid (a strategy breaks a rule: E2xx–E4xx)
    4    input or syntax error (unreadable or refused file, E0xx, E1xx)
    5    the outputs could not be written (refused or failing output path)
    130  interrupted (Ctrl-C); temporary files are removed
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
from collections.abc import Sequence
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import __version__
from .check import StrategyResult, check
from .compile import CompileOptions, compile_results, default_output_dir
from .diagnostics import PlanError, Severity, printable, render
from .export.dag_json import dag_schema
from .export.dot import Detail
from .export.markdown import gap_text, shown_stages
from .export.pareto import pareto_svg
from .export.report import report_json
from .export.write import OutputError, write_text_atomic
from .load import load_plan, parse_strategy
from .lower import model_from_preset
from .params import active_params, total_params
from .presets import GPU_PRESETS, MODEL_PRESETS
from .rules import RULES, explain
from .search import OPTIMAL_SEARCH_BUDGET_S, Objective, cpu_count, search
from .units import Dimension, format_bytes, format_si

EXIT_OK, EXIT_REQUIREMENTS, EXIT_USAGE, EXIT_INVALID, EXIT_INPUT, EXIT_OUTPUT = 0, 1, 2, 3, 4, 5
EXIT_INTERRUPTED = 130

EPILOG = """\
examples:
  dagc compile examples/mixtral-8x7b-1node.moe            # writes out/mixtral-8x7b-1node/…
  dagc check examples/mixtral-8x7b-1node.moe
  dagc check plan.moe --format json
  dagc check plan.moe --strategy "pp 2 < tp 4 ; ep 8 >"
  dagc search examples/seed-000-pp16-ep16.moe --top 5
  dagc explain E202
  dagc presets
  dagc schema > dag.schema.json

exit codes:
  0 valid and requirements met   1 a requirement not met or not judged   2 usage error
  3 plan invalid (rule errors)   4 input or syntax error   5 outputs not written
  130 interrupted
"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{text[:40]}` is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{text[:40]}` is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds above 0, not {text[:40]}")
    return value


def _jobs(args, err: Console) -> int:
    """Worker processes: at most the CPUs this process may run on (more only adds overhead)."""
    jobs = getattr(args, "jobs", 1)
    cpus = cpu_count()
    if jobs > cpus:
        err.print(f"note: --jobs {jobs} lowered to {cpus}, the CPUs available", markup=False)
        return cpus
    return jobs


def _shown(text: str) -> str:
    """A text from the user (a path, a plan's names, a message quoting them) fit for a terminal,
    line by line: escape sequences and other control characters never reach it."""
    return "\n".join(printable(line) for line in text.split("\n"))


class _Console(Console):
    """A rich console that passes every string it prints through `_shown`."""

    def print(self, *objects, **kwargs) -> None:
        super().print(*(_shown(o) if isinstance(o, str) else o for o in objects), **kwargs)


def _add_row(table: Table, *cells: str, **kwargs) -> None:
    table.add_row(*(_shown(c) for c in cells), **kwargs)


def _console(stream=None) -> Console:
    stream = stream or sys.stdout
    tty = stream.isatty()
    return _Console(file=stream, width=None if tty else 120, no_color=not tty, highlight=False,
                    soft_wrap=True, emoji=False)


def _render_diags(console: Console, diags) -> None:
    for d in diags:
        style = {"error": "bold red", "warning": "yellow", "note": "cyan"}[d.severity.value]
        console.print(render(d), style=style if console.is_terminal else None, markup=False, highlight=False)
        console.print()


def _print_result(console: Console, r: StrategyResult) -> None:
    plan, lay, mem = r.plan, r.layout, r.memory
    title = f"strategy {r.decl.name + ' = ' if r.decl.name else ''}{r.decl.text}"
    console.rule(_shown(title), style="bold")
    if lay is not None:
        experts = (f"ep {lay.ep} · etp {lay.etp}" if lay.expert_domain_written
                   else f"experts follow tp (etp {lay.etp})") if plan.model.has_experts else "dense model"
        console.print(f"GPUs: {lay.gpus_used} used of {plan.cluster.gpus} available  "
                      f"(dp {lay.dp} × pp {lay.pp} × stage group {lay.group_size})", markup=False)
        console.print(f"stage group: attention tp {lay.tp} · cp {lay.cp}{' · sp' if lay.sp else ''} · attention DP "
                      f"{lay.adp}  ;  {experts} · expert DP {lay.edp}  ·  {lay.microbatches} micro-batch(es)",
                      markup=False)
    if mem is not None and lay is not None:
        t = Table(title=_shown(f"per-rank memory by stage (GPU {plan.cluster.gpu.name}, "
                               f"{format_bytes(plan.cluster.gpu.memory_bytes)})"),
                  title_justify="left")
        for col in ("stage", "GPUs", "layers", "experts/GPU", "weights", "KV cache", "activations", "total", "use"):
            t.add_column(col, justify="right" if col not in ("stage", "GPUs", "layers") else "left")
        per_gpu = str(lay.experts_per_ep_rank) if plan.model.has_experts else "—"
        for k in shown_stages(len(mem.stages)):
            if k is None:
                _add_row(t, "…", gap_text(len(mem.stages)), *[""] * 7)
                continue
            s = mem.stages[k]
            ranks = lay.stage_ranks(0, s.stage)
            layers = f"{s.layers[0]}–{s.layers[1] - 1}" if s.layers[1] > s.layers[0] else "none"
            gpus = f"{ranks.start}–{ranks.stop - 1}" + (f" (+{lay.dp - 1} replica(s))" if lay.dp > 1 else "")
            _add_row(t, str(s.stage), gpus, layers, per_gpu, format_bytes(s.weights_bytes),
                      format_bytes(s.kv_cache_bytes), format_bytes(s.activation_bytes), format_bytes(s.total_bytes),
                      f"{s.fraction * 100:.1f} %", style="red" if not s.fits and console.is_terminal else None)
        console.print(t)
    if r.metrics:
        t = Table(title="metrics", title_justify="left")
        for col in ("metric", "value", "per GPU"):
            t.add_column(col)
        for key, dim in (("ttft_s", Dimension.TIME), ("tpot_s", Dimension.TIME)):
            _add_row(t, key, format_si(r.metrics.get(key), dim), "")
        for key in ("prefill_tokens_per_s", "decode_tokens_per_s", "throughput_tokens_per_s"):
            v = r.metrics.get(key)
            _add_row(t, key, f"{v:,.0f} tokens/s" if v is not None else "—",
                      f"{v / lay.gpus_used:,.1f}" if v is not None and lay else "")
        console.print(t)
        m = r.compiled.metrics if r.compiled is not None else None
        if m is not None:
            for phase, path in (("prefill", m.prefill_path), ("decode (2 steps)", m.decode_path)):
                total = path.makespan_s or 1.0
                parts = " · ".join(f"{name} {format_si(v, Dimension.TIME)} ({v / total * 100:.0f} %)" for name, v in (
                    ("compute", path.compute_s), ("TP comm", path.tp_comm_s), ("EP comm", path.ep_comm_s),
                    ("PP comm", path.pp_comm_s), ("waiting", path.waiting_s)) if v > 0)
                console.print(f"critical path, {phase}: {format_si(path.makespan_s, Dimension.TIME)} = {parts}",
                              markup=False)
            console.print(f"pipeline bubble (prefill): {m.bubble_fraction * 100:.1f} % of stage time", markup=False)
    if r.requirements:
        t = Table(title="requirements", title_justify="left")
        for col in ("requirement", "value", "margin", "met"):
            t.add_column(col)
        for q in r.requirements:
            value = "not computed yet" if q.value is None else q.value_text()
            margin = "" if q.margin is None else f"{q.margin * 100:+.1f} %"
            met = {True: "yes", False: "NO", None: "—"}[q.met]
            _add_row(t, q.requirement.text, value, margin, met)
        console.print(t)
    if r.diagnostics:
        console.print()
        _render_diags(console, r.diagnostics)
    v = r.verdict
    word = {True: "yes", False: "no", None: "not judged"}
    console.print(f"verdict: correct: {word[v.correct]} · meets requirements: {word[v.meets_requirements]} · "
                  f"optimal: {word[v.optimal]}", markup=False)
    if r.optimality and r.optimality.get("note"):
        console.print(f"  optimal? {r.optimality['note']}", markup=False)
    console.print()


def _exit_code(results: list[StrategyResult]) -> int:
    """3 when a strategy is invalid; 1 when a requirement is not met or could not be judged."""
    if any(not r.valid for r in results):
        return EXIT_INVALID
    if any(r.verdict.meets_requirements is not True and r.requirements for r in results):
        return EXIT_REQUIREMENTS
    return EXIT_OK


class _Progress:
    """A rich progress bar that appears only once the work has taken more than a second."""

    def __init__(self, label: str):
        self.label = label
        self.t0 = time.perf_counter()
        self.bar: Progress | None = None
        self.task = TaskID(0)      # the bar's task once the bar is shown

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            if time.perf_counter() - self.t0 < 1.0 or not sys.stderr.isatty():
                return
            self.bar = Progress(TextColumn(self.label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                console=Console(file=sys.stderr), transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=total)
        self.bar.update(self.task, completed=done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _search(plan, objective: str = "tokens-per-gpu", top: int = 10, jobs: int = 1, budget_s: float | None = None):
    progress = _Progress("searching strategies")
    try:
        return search(plan, objective=objective, top=top, jobs=jobs, progress=progress, budget_s=budget_s)
    finally:
        progress.close()


def _allowed(args) -> tuple[Path, ...]:
    return tuple(Path(p) for p in (getattr(args, "allow_path", None) or ()))


def _load(args, err: Console):
    try:
        plan = load_plan(args.plan, allow_paths=_allowed(args))
        found = None if getattr(args, "no_search", True) else _search(
            plan, jobs=_jobs(args, err), budget_s=getattr(args, "search_budget", None))
        results = check(plan, parse_strategy(args.strategy) if args.strategy else None, optimality=found)
        return plan, results
    except PlanError as exc:
        if getattr(args, "format", "text") == "json":
            print(json.dumps({"plan": args.plan, "valid": False,
                              "diagnostics": [d.to_json() for d in exc.diagnostics]}, indent=2))
        _render_diags(err, exc.diagnostics)
        n = sum(1 for d in exc.diagnostics if d.severity is Severity.ERROR)
        err.print(f"error: {args.plan}: {n} error(s); nothing was checked", markup=False)
        return None, None


def _print_reports(results: list[StrategyResult]) -> None:
    """report.json objects on stdout: one object, or a list when the plan has several strategies."""
    objs = [report_json(r) for r in results]
    print(json.dumps(objs[0] if len(objs) == 1 else objs, indent=2, allow_nan=False))


def cmd_check(args) -> int:
    err = _console(sys.stderr)
    plan, results = _load(args, err)
    if plan is None:
        return EXIT_INPUT
    if args.format == "json":
        _print_reports(results)
    else:
        out = _console()
        m = plan.model
        out.print(f"plan {args.plan} · model {m.name} ({total_params(m) / 1e9:.1f} B params, "
                  f"{active_params(m) / 1e9:.1f} B active, {m.weights.value}) · cluster {plan.cluster.gpus} × "
                  f"{plan.cluster.gpu.name} ({plan.cluster.gpus_per_node} per node) · batch {plan.workload.batch} "
                  f"× ({plan.workload.prompt} + {plan.workload.generate}) tokens", markup=False)
        out.print()
        for r in results:
            _print_result(out, r)
    return _exit_code(results)


def cmd_compile(args) -> int:
    err = _console(sys.stderr)
    plan, results = _load(args, err)
    if plan is None:
        return EXIT_INPUT
    try:
        out_dir = Path(args.output) if args.output else default_output_dir(plan.name)
    except OutputError as exc:
        err.print(f"error: {exc}", markup=False)
        return EXIT_OUTPUT
    options = CompileOptions(graph_detail=Detail(args.graph_detail), all_ranks=args.all_ranks, gzip=args.gzip,
                             dot_timeout_s=args.dot_timeout)
    progress = _Progress("writing strategies")
    try:
        written = compile_results(plan, results, out_dir, options, progress)
    except OutputError as exc:
        err.print(f"error: {exc}", markup=False)
        return EXIT_OUTPUT
    except OSError as exc:
        err.print(f"error: cannot write to {out_dir}: {exc.strerror or exc}", markup=False)
        return EXIT_OUTPUT
    finally:
        progress.close()
    if args.format == "json":
        _print_reports(results)
    else:
        out = _console()
        for w in written:
            r = w.result
            for warning in w.warnings:
                err.print(f"warning: {warning}", markup=False)
            if r is None:
                out.print("side-by-side comparison:", markup=False)
                for f in w.files:
                    out.print(f"  wrote {f}", markup=False)
                continue
            v = r.verdict
            word = {True: "yes", False: "no", None: "not judged"}
            label = f"{r.decl.name} = {r.decl.text}" if r.decl.name else r.decl.text
            out.print(f"strategy {label}: correct {word[v.correct]} · meets requirements "
                      f"{word[v.meets_requirements]} · optimal {word[v.optimal]}", markup=False)
            if r.optimality and r.optimality.get("note"):
                out.print(f"  optimal? {r.optimality['note']}", markup=False)
            if r.metrics:
                out.print(f"  ttft {format_si(r.metrics['ttft_s'], Dimension.TIME)} · tpot "
                          f"{format_si(r.metrics['tpot_s'], Dimension.TIME)} · decode "
                          f"{r.metrics['decode_tokens_per_s_per_gpu']:,.1f} tokens/s/gpu", markup=False)
            errors = [d for d in r.diagnostics if d.is_error]
            if errors:
                _render_diags(err, errors)
            for f in w.files:
                out.print(f"  wrote {f}", markup=False)
    return _exit_code(results)


def cmd_search(args) -> int:
    err = _console(sys.stderr)
    try:
        plan = load_plan(args.plan, allow_paths=_allowed(args))
    except PlanError as exc:
        _render_diags(err, exc.diagnostics)
        return EXIT_INPUT
    found = _search(plan, args.objective, args.top, _jobs(args, err), args.budget)
    own = []
    for r in check(plan):
        if r.metrics:
            own.append((r.decl.name or r.decl.text, r.metrics["tpot_s"], r.metrics["decode_tokens_per_s_per_gpu"]))
    try:
        svg_path = Path(args.svg) if args.svg else default_output_dir(plan.name) / "pareto.svg"
        write_text_atomic(svg_path, pareto_svg(found, f"{plan.name}: decode throughput per GPU vs TPOT", own))
    except OutputError as exc:
        err.print(f"error: {exc}", markup=False)
        return EXIT_OUTPUT
    except OSError as exc:
        err.print(f"error: cannot write {svg_path}: {exc.strerror or exc}", markup=False)
        return EXIT_OUTPUT
    if not found.complete:
        err.print(f"warning: the search stopped {found.stop_reason()}: {found.evaluated:,} of {found.total:,} "
                  "candidates evaluated (fewest GPUs first)", markup=False)
    if found.skipped:
        err.print(f"warning: the time budget left no time for: {', '.join(found.skipped)}", markup=False)
    if args.format == "json":
        data = found.to_json(args.top)
        keys = ("objective", "evaluated", "seconds", "candidates", "legal", "total", "complete", "stopped", "skipped")
        print(json.dumps({k: data[k] for k in keys if k in data}, indent=2, allow_nan=False))
        return EXIT_OK
    out = _console()
    out.print(f"{found.evaluated} strategies evaluated, {found.legal} legal, in {found.seconds:.2f} s "
              f"({found.evaluated / max(found.seconds, 1e-9):,.0f} per second); objective {found.objective}, "
              f"subject to the plan's requirements", markup=False)
    t = Table(title=f"best {min(args.top, len(found.ranked))}", title_justify="left")
    for col in ("#", "strategy", "mb", "overlap", "GPUs", "mem headroom", "TTFT", "TPOT", "decode tok/s/GPU",
                "meets req.", "binding requirement"):
        t.add_column(col)
    for k, c in enumerate(found.ranked[:args.top], 1):
        m = c.metrics
        _add_row(t, str(k), c.text, str(c.microbatches), c.overlap.value, str(c.gpus),
                  f"{(1 - c.memory_fraction) * 100:.0f} %", format_si(m["ttft_s"], Dimension.TIME),
                  format_si(m["tpot_s"], Dimension.TIME), f"{m['decode_tokens_per_s_per_gpu']:,.1f}",
                  "yes" if c.meets_requirements else "no", c.binding or "—")
    out.print(t)
    p = Table(title="Pareto front: decode tokens/s per GPU vs TPOT and TTFT", title_justify="left")
    for col in ("strategy", "mb", "overlap", "GPUs", "TTFT", "TPOT", "decode tok/s/GPU"):
        p.add_column(col)
    for c in sorted(found.pareto, key=lambda c: c.metrics["tpot_s"])[:20]:
        m = c.metrics
        _add_row(p, c.text, str(c.microbatches), c.overlap.value, str(c.gpus), format_si(m["ttft_s"], Dimension.TIME),
                  format_si(m["tpot_s"], Dimension.TIME), f"{m['decode_tokens_per_s_per_gpu']:,.1f}")
    out.print(p)
    out.print(f"wrote {svg_path}", markup=False)
    return EXIT_OK


def cmd_schema(args) -> int:
    print(json.dumps(dag_schema(), indent=2))
    return EXIT_OK


def cmd_explain(args) -> int:
    text = explain(args.code)
    if text is None:
        codes = ", ".join(r.code for r in RULES)
        print(f"error: unknown code `{_shown(args.code)[:40]}`; known codes: {codes}", file=sys.stderr)
        return EXIT_USAGE
    print(text)
    return EXIT_OK


def cmd_presets(args) -> int:
    out = _console()
    t = Table(title="model presets", title_justify="left")
    for col in ("preset", "layers", "hidden", "heads/kv", "vocab", "experts/top_k", "expert ffn", "params", "active"):
        t.add_column(col)
    for name in MODEL_PRESETS:
        m = model_from_preset(name)
        heads = f"{m.heads} (MLA)" if m.attention.value == "mla" else f"{m.heads}/{m.kv_heads}"
        _add_row(t, name, str(m.layers), str(m.hidden), heads, str(m.vocab), f"{m.moe.experts}/{m.moe.top_k}",
                  str(m.moe.ffn), f"{total_params(m) / 1e9:.1f} B", f"{active_params(m) / 1e9:.1f} B")
    out.print(t)
    t = Table(title="GPU presets", title_justify="left")
    for col in ("preset", "memory", "16-bit", "fp8", "HBM", "intra-node"):
        t.add_column(col)
    for g in GPU_PRESETS.values():
        _add_row(t, g.name, format_bytes(g.memory_bytes), format_si(g.flops_16bit, Dimension.COMPUTE),
                  format_si(g.flops_8bit, Dimension.COMPUTE) if g.flops_8bit else "—",
                  format_si(g.hbm_bytes_per_s, Dimension.BANDWIDTH),
                  format_si(g.intra_node_bytes_per_s, Dimension.BANDWIDTH))
    out.print(t)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dagc", description="Check and compile parallel deployment strategies "
                                "of Mixture-of-Experts models.", epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"dagc {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    c = sub.add_parser("check", help="check a plan: legality, GPUs, memory, requirements",
                       epilog="example: dagc check examples/mixtral-8x7b-1node.moe --format json",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("plan", help="the .moe plan file")
    c.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    c.add_argument("--strategy", metavar="EXPR", help='check this strategy instead of the plan\'s, e.g. "tp 4 ; ep 8"')
    c.set_defaults(func=cmd_check)
    co = sub.add_parser("compile", help="check, build and schedule the DAG; write reports, dag.json, dag.svg, "
                        "placement.svg and trace.json",
                        epilog="example: dagc compile examples/seed-000-pp16-ep16.moe -o out/seed000",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    co.add_argument("plan", help="the .moe plan file")
    co.add_argument("-o", "--output", metavar="DIR", help="output directory (default out/<plan>)")
    co.add_argument("--strategy", metavar="EXPR", help="compile this strategy instead of the plan's")
    co.add_argument("--format", choices=("text", "json"), default="text",
                    help="what to print: a summary (text) or the report objects (json)")
    co.add_argument("--graph-detail", choices=[d.value for d in Detail], default="summary",
                    help="dag.svg detail: summary (one layer per stage expanded), layers, full, ranks")
    co.add_argument("--all-ranks", action="store_true",
                    help="trace every GPU (default: all up to 32 GPUs, else representative ranks)")
    co.add_argument("--gzip", action="store_true", help="write trace.json.gz")
    co.add_argument("--dot-timeout", type=_seconds, default=60.0, metavar="S",
                    help="stop Graphviz after S seconds and keep dag.dot (default 60)")
    co.set_defaults(func=cmd_compile)
    se = sub.add_parser("search", help="search every legal strategy on the plan's cluster and rank them",
                        epilog="example: dagc search examples/seed-000-pp16-ep16.moe --top 5",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    se.add_argument("plan", help="the .moe plan file")
    se.add_argument("--objective", choices=Objective.NAMES, default="tokens-per-gpu",
                    help="what to maximise (default: decode output tokens/s per GPU), always subject to `require`")
    se.add_argument("--top", type=_positive_int, default=10, metavar="N",
                    help="how many candidates to show (default 10)")
    se.add_argument("--format", choices=("text", "json"), default="text")
    se.add_argument("--jobs", type=_positive_int, default=1, metavar="N",
                    help="processes to evaluate candidates with (at most the CPUs available)")
    se.add_argument("--svg", metavar="FILE", help="where to write the Pareto plot (default out/<plan>/pareto.svg)")
    se.add_argument("--budget", type=_seconds, default=None, metavar="S",
                    help="stop after S seconds, fewest GPUs first (default: evaluate every candidate)")
    se.set_defaults(func=cmd_search)
    for p_ in (c, co):
        p_.add_argument("--no-search", action="store_true",
                        help="skip the strategy search (the optimal verdict is then not judged)")
        p_.add_argument("--jobs", type=_positive_int, default=1, metavar="N",
                        help="processes for the strategy search (at most the CPUs available)")
        p_.add_argument("--search-budget", type=_seconds, default=OPTIMAL_SEARCH_BUDGET_S, metavar="S",
                        help="stop the strategy search after S seconds, fewest GPUs first "
                        f"(default {OPTIMAL_SEARCH_BUDGET_S:g})")
    for p_ in (c, co, se):
        p_.add_argument("--allow-path", action="append", metavar="DIR", default=[],
                        help="let `model from` read files under DIR too (default: only the plan's directory)")
    sc = sub.add_parser("schema", help="print the JSON Schema of dag.json")
    sc.set_defaults(func=cmd_schema)
    e = sub.add_parser("explain", help="print a rule's documentation with a bad and a fixed example",
                       epilog="example: dagc explain E202")
    e.add_argument("code", help="a rule code such as E202")
    e.set_defaults(func=cmd_explain)
    pr = sub.add_parser("presets", help="list the built-in models and GPUs")
    pr.set_defaults(func=cmd_presets)
    return p


# Failures of the machine's resources rather than of the plan: one line each, never a traceback.
_RESOURCE_FAILURES: dict[type, str] = {
    RecursionError: "the input nests too deeply to process",
    BrokenProcessPool: "a search worker process died (out of memory?); try --jobs 1",
    MemoryError: "out of memory; see docs/limits.md for the bounds dagc applies",
}


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return EXIT_USAGE
        return args.func(args)
    except KeyboardInterrupt:
        # The library removes its temporary files on the way out (try/finally); say one line.
        # Further Ctrl-Cs while Python shuts down must not print a traceback.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("dagc: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (RecursionError, BrokenProcessPool, MemoryError) as exc:
        print(f"error: {_RESOURCE_FAILURES[type(exc)]}", file=sys.stderr)
        return EXIT_INPUT
    except BrokenPipeError:
        # stdout closed early (e.g. `| head`): stop quietly, and keep Python from complaining at exit.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        return EXIT_OK

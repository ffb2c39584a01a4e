"""The `dagc` command: argument parsing, rendering and exit codes; no compiler logic.

Exit codes (documented in the README and `dagc --help`):
    0  the plan is valid and meets its requirements (or has none that could be judged)
    1  the plan is valid but a requirement is not met
    2  usage error (bad command-line arguments)
    3  the plan is invalid (a strategy breaks a rule: E2xx–E4xx)
    4  input or syntax error (unreadable file, E0xx, E1xx)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from rich.console import Console
from rich.table import Table

from . import __version__
from .check import StrategyResult, check, load_plan, parse_strategy
from .diagnostics import PlanError, Severity, render
from .compile import CompileOptions, compile_results
from .export.dot import Detail
from .export.dag_json import dag_schema
from .export.report import report_json
from .lower import model_from_preset
from .params import active_params, total_params
from .presets import GPU_PRESETS, MODEL_PRESETS
from .rules import RULES, explain
from .units import Dimension, format_si

EXIT_OK, EXIT_REQUIREMENTS, EXIT_USAGE, EXIT_INVALID, EXIT_INPUT = 0, 1, 2, 3, 4

EPILOG = """\
examples:
  dagc compile examples/mixtral-8x7b-1node.moe            # writes out/mixtral-8x7b-1node/…
  dagc check examples/mixtral-8x7b-1node.moe
  dagc check plan.moe --format json
  dagc check plan.moe --strategy "pp 2 < tp 4 ; ep 8 >"
  dagc explain E202
  dagc presets
  dagc schema > dag.schema.json

exit codes:
  0 valid and requirements met   1 requirements not met   2 usage error
  3 plan invalid (rule errors)   4 input or syntax error
"""


def _console(stream=None) -> Console:
    stream = stream or sys.stdout
    tty = stream.isatty()
    return Console(file=stream, width=None if tty else 120, no_color=not tty, highlight=False,
                   soft_wrap=True, emoji=False)


def _gb(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x / 1e9:,.2f} GB" if abs(x) >= 1e8 else format_si(x, Dimension.SIZE)


def _render_diags(console: Console, diags) -> None:
    for d in diags:
        style = {"error": "bold red", "warning": "yellow", "note": "cyan"}[d.severity.value]
        console.print(render(d), style=style if console.is_terminal else None, markup=False, highlight=False)
        console.print()


def _print_result(console: Console, r: StrategyResult) -> None:
    plan, lay, mem = r.plan, r.layout, r.memory
    title = f"strategy {r.decl.name + ' = ' if r.decl.name else ''}{r.decl.text}"
    console.rule(title, style="bold")
    if lay is not None:
        experts = (f"ep {lay.ep} · etp {lay.etp}" if lay.expert_domain_written
                   else f"experts follow tp (etp {lay.etp})") if plan.model.has_experts else "dense model"
        console.print(f"GPUs: {lay.gpus_used} used of {plan.cluster.gpus} available  "
                      f"(dp {lay.dp} × pp {lay.pp} × stage group {lay.group_size})", markup=False)
        console.print(f"stage group: attention tp {lay.tp} · cp {lay.cp}{' · sp' if lay.sp else ''} · attention DP "
                      f"{lay.adp}  ;  {experts} · expert DP {lay.edp}  ·  {lay.microbatches} micro-batch(es)",
                      markup=False)
    if mem is not None and lay is not None:
        t = Table(title=f"per-rank memory by stage (GPU {plan.cluster.gpu.name}, {_gb(plan.cluster.gpu.memory_bytes)})",
                  title_justify="left")
        for col in ("stage", "GPUs", "layers", "experts/GPU", "weights", "KV cache", "activations", "total", "use"):
            t.add_column(col, justify="right" if col not in ("stage", "GPUs", "layers") else "left")
        per_gpu = str(lay.experts_per_ep_rank) if plan.model.has_experts else "—"
        for s in mem.stages:
            ranks = lay.stage_ranks(0, s.stage)
            layers = f"{s.layers[0]}–{s.layers[1] - 1}" if s.layers[1] > s.layers[0] else "none"
            gpus = f"{ranks.start}–{ranks.stop - 1}" + (f" (+{lay.dp - 1} replica(s))" if lay.dp > 1 else "")
            t.add_row(str(s.stage), gpus, layers, per_gpu, _gb(s.weights_bytes), _gb(s.kv_cache_bytes),
                      _gb(s.activation_bytes), _gb(s.total_bytes), f"{s.fraction * 100:.1f} %",
                      style="red" if not s.fits and console.is_terminal else None)
        console.print(t)
    if r.metrics:
        t = Table(title="metrics", title_justify="left")
        for col in ("metric", "value", "per GPU"):
            t.add_column(col)
        for key, dim in (("ttft_s", Dimension.TIME), ("tpot_s", Dimension.TIME)):
            t.add_row(key, format_si(r.metrics.get(key), dim), "")
        for key in ("prefill_tokens_per_s", "decode_tokens_per_s", "throughput_tokens_per_s"):
            v = r.metrics.get(key)
            t.add_row(key, f"{v:,.0f} tokens/s" if v is not None else "—",
                      f"{v / lay.gpus_used:,.1f}" if v is not None and lay else "")
        console.print(t)
        m = r.schedule
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
            value = "not computed yet" if q.value is None else _format_req_value(q)
            margin = "" if q.margin is None else f"{q.margin * 100:+.1f} %"
            met = {True: "yes", False: "NO", None: "—"}[q.met]
            t.add_row(q.requirement.text, value, margin, met)
        console.print(t)
    if r.diagnostics:
        console.print()
        _render_diags(console, r.diagnostics)
    v = r.verdict
    word = {True: "yes", False: "no", None: "not judged"}
    console.print(f"verdict: correct: {word[v.correct]} · meets requirements: {word[v.meets_requirements]} · "
                  f"optimal: {word[v.optimal]}", markup=False)
    console.print()


def _format_req_value(q) -> str:
    from .plan import RequirementKind as K
    k, v = q.requirement.kind, q.value
    match k:
        case K.TTFT | K.TPOT:
            return format_si(v, Dimension.TIME)
        case K.MEMORY:
            return f"{v * 100:.1f} %" if q.requirement.memory_is_fraction else _gb(v)
        case K.GPUS:
            return f"{v:.0f}"
        case _:
            return f"{v:,.1f} tokens/s" + ("/gpu" if q.requirement.per_gpu else "")


def _exit_code(results: list[StrategyResult]) -> int:
    if any(not r.valid for r in results):
        return EXIT_INVALID
    if any(r.verdict.meets_requirements is False for r in results):
        return EXIT_REQUIREMENTS
    return EXIT_OK


def _load(args, err: Console):
    try:
        plan = load_plan(args.plan)
        results = check(plan, parse_strategy(args.strategy) if args.strategy else None)
        return plan, results
    except PlanError as exc:
        if getattr(args, "format", "text") == "json":
            print(json.dumps({"plan": args.plan, "valid": False,
                              "diagnostics": [d.to_json() for d in exc.diagnostics]}, indent=2))
        _render_diags(err, exc.diagnostics)
        n = sum(1 for d in exc.diagnostics if d.severity is Severity.ERROR)
        err.print(f"error: {args.plan}: {n} error(s); nothing was checked", markup=False)
        return None, None


def cmd_check(args) -> int:
    err = _console(sys.stderr)
    plan, results = _load(args, err)
    if plan is None:
        return EXIT_INPUT
    if args.format == "json":
        objs = [report_json(r) for r in results]
        print(json.dumps(objs[0] if len(objs) == 1 else objs, indent=2, allow_nan=False))
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
    out_dir = Path(args.output) if args.output else Path("out") / plan.name
    options = CompileOptions(graph_detail=Detail(args.graph_detail), all_ranks=args.all_ranks, gzip=args.gzip,
                             dot_timeout_s=args.dot_timeout)
    try:
        written = compile_results(plan, results, out_dir, options)
    except OSError as exc:
        err.print(f"error: cannot write to {out_dir}: {exc.strerror or exc}", markup=False)
        return EXIT_INPUT
    if args.format == "json":
        objs = [report_json(r) for r in results]
        print(json.dumps(objs[0] if len(objs) == 1 else objs, indent=2, allow_nan=False))
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


def cmd_schema(args) -> int:
    print(json.dumps(dag_schema(), indent=2))
    return EXIT_OK


def cmd_explain(args) -> int:
    text = explain(args.code)
    if text is None:
        codes = ", ".join(r.code for r in RULES)
        print(f"error: unknown code `{args.code}`; known codes: {codes}", file=sys.stderr)
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
        t.add_row(name, str(m.layers), str(m.hidden), heads, str(m.vocab), f"{m.moe.experts}/{m.moe.top_k}",
                  str(m.moe.ffn), f"{total_params(m) / 1e9:.1f} B", f"{active_params(m) / 1e9:.1f} B")
    out.print(t)
    t = Table(title="GPU presets", title_justify="left")
    for col in ("preset", "memory", "16-bit", "fp8", "HBM", "intra-node"):
        t.add_column(col)
    for g in GPU_PRESETS.values():
        t.add_row(g.name, _gb(g.memory_bytes), format_si(g.flops_16bit, Dimension.COMPUTE),
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
    co.add_argument("--dot-timeout", type=float, default=60.0, metavar="S",
                    help="stop Graphviz after S seconds and keep dag.dot (default 60)")
    co.set_defaults(func=cmd_compile)
    sc = sub.add_parser("schema", help="print the JSON Schema of dag.json")
    sc.set_defaults(func=cmd_schema)
    e = sub.add_parser("explain", help="print a rule's documentation with a bad and a fixed example",
                       epilog="example: dagc explain E202")
    e.add_argument("code", help="a rule code such as E202")
    e.set_defaults(func=cmd_explain)
    pr = sub.add_parser("presets", help="list the built-in models and GPUs")
    pr.set_defaults(func=cmd_presets)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.func(args)
    except RecursionError:
        print("error: the input nests too deeply to process", file=sys.stderr)
        return EXIT_INPUT
    except BrokenPipeError:
        return EXIT_OK

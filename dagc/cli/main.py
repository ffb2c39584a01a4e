"""The `dagc` command: argument parsing and exit codes (`dagc.cli.printing` renders); no compiler logic.

Exit codes (documented in the README, `dagc --help` and docs/limits.md):
    0    the plan is valid and meets its requirements (or has none)
    1    the plan is valid but a requirement is not met, or could not be judged
    2    usage error (bad command-line arguments)
    3    the plan is invalid (a strategy breaks a rule: E2xx–E4xx)
    4    input or syntax error (unreadable or refused file, E0xx, E1xx — in a strategy too)
    5    the outputs could not be written (refused or failing output path)
    130  interrupted (Ctrl-C); temporary files are removed
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import BrokenExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from ..exit_codes import (
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_OUTPUT,
    EXIT_REQUIREMENTS,
    EXIT_USAGE,
)
from . import launch as cli_launch

# Only what parsing the command line needs is imported here: `dagc --version`, `--help`, `explain`
# and `presets` answer without loading the compiler (numpy, networkx, pydantic, lark). Each command
# imports what it uses, under `_loading()`.
if TYPE_CHECKING:
    from rich.console import Console

    from ..verdict.check import StrategyResult


# The choices of --objective and --graph-detail, written out so that the parser needs no compiler
# module: `dagc.plan.plan.OBJECTIVES` and `dagc.export.dot.Detail` (tests/test_startup.py compares them).
OBJECTIVES = ("tokens-per-gpu", "min-gpus", "ttft", "tpot", "throughput")
GRAPH_DETAILS = ("summary", "layers", "full", "ranks")

_CAN_BLOCK = hasattr(signal, "pthread_sigmask")


@contextlib.contextmanager
def _loading() -> Iterator[None]:
    """Hold Ctrl-C while a command imports the compiler's modules (as `dagc.__main__` does for this
    one): raised in the middle of an import, it can land in one of importlib's callbacks, where Python
    prints "Exception ignored … Traceback". Held, it is raised when they have loaded, in plain code."""
    if _CAN_BLOCK:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        if _CAN_BLOCK:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


EPILOG = """\
examples:
  dagc compile examples/mixtral-8x7b-1node.moe            # writes out/mixtral-8x7b-1node/…
  dagc check examples/mixtral-8x7b-1node.moe
  dagc check plan.moe --format json
  dagc check plan.moe --strategy "pp 2 < tp 4 ; ep 8 >"
  dagc search examples/10b-moe-pp16-ep16-256gpu.moe --top 5
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


JOBS_HELP = ("processes for the strategy search (at most the CPUs available; default 1: one process prices each "
             "stage once for every candidate, which on two cores is faster than two)")


def _jobs(args, err: Console) -> int:
    """Worker processes: at most the CPUs this process may run on (more only adds overhead); 1 when
    `--jobs` is not given."""
    jobs = getattr(args, "jobs", None)
    if jobs is None:
        return 1
    with _loading():
        from ..search.search import cpu_count
    cpus = cpu_count()
    if jobs > cpus:
        err.print(f"note: --jobs {jobs} lowered to {cpus}, the CPUs available", markup=False)
        return cpus
    return jobs


def _exit_code(results: list[StrategyResult]) -> int:
    """4 when a strategy could not be read (E0xx, E1xx: a misspelt axis or option is an input error
    wherever it is found); 3 when a strategy is invalid; 1 when a requirement is not met or could
    not be judged."""
    with _loading():
        from .printing import is_input_error
    if any(is_input_error(d) for r in results for d in r.diagnostics):
        return EXIT_INPUT
    if any(not r.valid for r in results):
        return EXIT_INVALID
    if any(r.verdict.meets_requirements is not True and r.requirements for r in results):
        return EXIT_REQUIREMENTS
    return EXIT_OK


def _search(plan, objective: str = "tokens-per-gpu", top: int = 10, jobs: int = 1,
            budget_s: float | None = None, timer=None, front: bool = True):
    with _loading():
        from ..search.search import search
        from .printing import _Progress
    progress = _Progress("searching strategies")
    try:
        return search(plan, objective=objective, top=top, jobs=jobs, progress=progress, budget_s=budget_s,
                      timer=timer, front=front)
    finally:
        progress.close()


CHECK_RESCORED = 5   # the search's best candidates that check/compile re-score exactly before judging


def _with_objective(plan, args):
    """The plan with `--objective` in place of its own `objective = …` (when given)."""
    objective = getattr(args, "objective", None)
    return plan.model_copy(update={"objective": objective, "objective_from": "from --objective"}) if objective else plan


def _allowed(args) -> tuple[Path, ...]:
    return tuple(Path(p) for p in (getattr(args, "allow_path", None) or ()))


def _objective_picks(plan, found, jobs: int, budget_s: float | None, timer=None) -> dict:
    with _loading():
        from ..search.search import objective_picks
        from .printing import _Progress
    progress = _Progress("what each objective picks")
    try:
        return objective_picks(plan, found, top=CHECK_RESCORED, jobs=jobs,
                               progress=progress, budget_s=budget_s, timer=timer)
    finally:
        progress.close()


def _load(args, err: Console, picks: bool = False):
    """The plan, its strategies checked and the search (None with --no-search); with `picks`, the
    report's "what each objective would pick" too."""
    with _loading():
        from ..diagnostics import PlanError, Severity
        from ..lang.load import STRATEGY_SOURCE, load_plan, parse_strategy
        from ..serve.fastsched import Timer
        from ..verdict.check import check
        from .printing import _render_diags
    try:
        plan = _with_objective(load_plan(args.plan, allow_paths=_allowed(args)), args)
        # read before the search, which a bad --strategy would otherwise wait for
        strategy = parse_strategy(args.strategy) if args.strategy is not None else None
        jobs, budget = _jobs(args, err), getattr(args, "search_budget", None)
        searching = not getattr(args, "no_search", True)
        timer = Timer(plan) if searching else None      # the search's stage costs, kept for each objective's pick
        # the Pareto front only for compile's pareto.svg: a verdict needs the best alone
        found = _search(plan, plan.objective, top=CHECK_RESCORED, jobs=jobs, budget_s=budget,
                        timer=timer, front=picks) if searching else None
        by_objective = _objective_picks(plan, found, jobs, budget, timer) if picks and found is not None else None
        results = check(plan, strategy, optimality=found, picks=by_objective)
        return plan, results, found
    except PlanError as exc:
        if getattr(args, "format", "text") == "json":
            print(json.dumps({"plan": args.plan, "valid": False,
                              "diagnostics": [d.to_json() for d in exc.diagnostics]}, indent=2))
        _render_diags(err, exc.diagnostics)
        n = sum(1 for d in exc.diagnostics if d.severity is Severity.ERROR)
        where = STRATEGY_SOURCE if all(d.span is not None and d.span.source.path == STRATEGY_SOURCE
                                       for d in exc.diagnostics) else args.plan
        err.print(f"error: {where}: {n} error{'' if n == 1 else 's'}; nothing was checked", markup=False)
        return None, None, None


def cmd_check(args) -> int:
    with _loading():
        from .printing import (
            _console,
            _print_plan,
            _print_plan_diagnostics,
            _print_reports,
            _print_result,
            _render_diags,
            is_input_error,
            objective_text,
            plan_diagnostics,
        )
    err = _console(sys.stderr)
    plan, results, _ = _load(args, err)
    if plan is None:
        return EXIT_INPUT
    args.decided = _exit_code(results)     # what a reader that stops early (`| head`) still gets
    if args.format == "json":
        _print_reports(results)
        _render_diags(err, [d for r in results for d in r.diagnostics if is_input_error(d)])
    else:
        out = _console()
        _print_plan(out, plan, args.plan, objective_text(plan))
        _print_plan_diagnostics(out, plan_diagnostics(results))
        for r in results:
            _print_result(out, r, err)
    return args.decided


def cmd_compile(args) -> int:
    with _loading():
        from ..export.compile import CompileOptions, check_output_dir, compile_results, default_output_dir
        from ..export.dot import Detail
        from ..export.pareto import pareto_svg
        from ..export.write import OutputError
        from .printing import (
            _console,
            _print_reports,
            _print_written,
            _Progress,
            _render_diags,
            is_input_error,
            objective_text,
        )
    err = _console(sys.stderr)
    if args.output:
        try:                         # refused before the work, not after it (checked again when written)
            check_output_dir(Path(args.output))
        except OutputError as exc:
            err.print(f"error: {exc}", markup=False)
            return EXIT_OUTPUT
    plan, results, found = _load(args, err, picks=True)
    if plan is None:
        return EXIT_INPUT
    try:
        out_dir = Path(args.output) if args.output else default_output_dir(plan.name)
    except OutputError as exc:
        err.print(f"error: {exc}", markup=False)
        return EXIT_OUTPUT
    pareto = None
    if found is not None:
        pareto = pareto_svg(found, f"{plan.name}: decode throughput per GPU vs TPOT",
                            requirements=plan.requirements, **_own_points(results))
    options = CompileOptions(graph_detail=Detail(args.graph_detail), all_ranks=args.all_ranks, gzip=args.gzip,
                             dot_timeout_s=args.dot_timeout, pareto_svg=pareto)
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
    args.decided = _exit_code(results)     # what a reader that stops early (`| head`) still gets
    if args.format == "json":
        _print_reports(results)
        _render_diags(err, [d for r in results for d in r.diagnostics if is_input_error(d)])
    else:
        out = _console()
        if found is not None:
            out.print(objective_text(plan), markup=False)
        for w in written:
            _print_written(out, err, w)
    return args.decided


def _own_points(results: list[StrategyResult]) -> dict:
    """The plan's own strategies on the Pareto plot (`pareto_svg`'s `own`: name, TPOT, decode tokens/s
    per GPU, correct) and those it cannot draw, with no figures (`unplotted`)."""
    return {"own": [(r.decl.name or r.decl.text, r.metrics["tpot_s"], r.metrics["decode_tokens_per_s_per_gpu"],
                     r.verdict.correct is not False) for r in results if r.metrics],
            "unplotted": tuple(r.decl.name or r.decl.text for r in results if not r.metrics)}


def cmd_search(args) -> int:
    with _loading():
        from ..diagnostics import PlanError
        from ..export.compile import default_output_dir
        from ..export.pareto import pareto_svg
        from ..export.write import OutputError, write_text_atomic
        from ..lang.fields import BATCH_LIMIT
        from ..lang.load import load_plan
        from ..verdict.check import check
        from .printing import _console, _print_search, _print_search_warnings, _render_diags
    err = _console(sys.stderr)
    try:
        plan = _with_objective(load_plan(args.plan, allow_paths=_allowed(args)), args)
    except PlanError as exc:
        _render_diags(err, exc.diagnostics)
        return EXIT_INPUT
    if args.vary == "batch" and not plan.workload.batch_max:
        plan = plan.model_copy(update={"workload": plan.workload.model_copy(
            update={"batch": BATCH_LIMIT, "batch_max": True})})
    found = _search(plan, plan.objective, args.top, _jobs(args, err), args.budget)
    own = _own_points(check(plan))
    try:
        svg_path = Path(args.svg) if args.svg else default_output_dir(plan.name) / "pareto.svg"
        write_text_atomic(svg_path, pareto_svg(found, f"{plan.name}: decode throughput per GPU vs TPOT",
                                               requirements=plan.requirements, **own))
    except OutputError as exc:
        err.print(f"error: {exc}", markup=False)
        return EXIT_OUTPUT
    except OSError as exc:
        err.print(f"error: cannot write {svg_path}: {exc.strerror or exc}", markup=False)
        return EXIT_OUTPUT
    _print_search_warnings(err, found)
    if args.format == "json":
        print(json.dumps(found.to_json(args.top), indent=2, allow_nan=False))
        return EXIT_OK
    _print_search(_console(), found, args.top, svg_path, plan)
    return EXIT_OK


def cmd_schema(args) -> int:
    with _loading():
        from ..export.dag_json import dag_schema
    print(json.dumps(dag_schema(), indent=2))
    return EXIT_OK


def cmd_explain(args) -> int:
    # The rules' documentation as generated from their registry: explaining a code loads no rule.
    from .builtin_text import EXPLAIN
    text = EXPLAIN.get(args.code.upper())
    if text is None:
        from ..diagnostics import printable
        print(f"error: unknown code `{printable(args.code)[:40]}`; known codes: {', '.join(EXPLAIN)}",
              file=sys.stderr)
        return EXIT_USAGE
    print(text)
    return EXIT_OK


def cmd_presets(args) -> int:
    with _loading():
        from .builtin_text import GPU_ROWS, MODEL_ROWS, PROFILE_ROWS
        from .printing import _console, _print_presets
    _print_presets(_console(), MODEL_ROWS, GPU_ROWS, PROFILE_ROWS)
    return EXIT_OK


class _Version(argparse.Action):
    """`--version`: the installed version, read (importlib.metadata) only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        from .. import __version__
        print(f"dagc {__version__}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dagc", description="Check and compile parallel deployment strategies "
                                "of Mixture-of-Experts models.", epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action=_Version, help="show program's version number and exit")
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
                        epilog="example: dagc compile examples/10b-moe-pp16-ep16-256gpu.moe -o out/10b-moe",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    co.add_argument("plan", help="the .moe plan file")
    co.add_argument("-o", "--output", metavar="DIR",
                    help="output directory, made with its parents when missing (default out/<plan>)")
    co.add_argument("--strategy", metavar="EXPR", help="compile this strategy instead of the plan's")
    co.add_argument("--format", choices=("text", "json"), default="text",
                    help="what to print: a summary (text) or the report objects (json)")
    co.add_argument("--graph-detail", choices=GRAPH_DETAILS, default="summary",
                    help="dag.svg detail: summary (one layer per stage expanded), layers, full, ranks")
    co.add_argument("--all-ranks", action="store_true",
                    help="trace every GPU (default: all up to 32 GPUs, else representative ranks)")
    co.add_argument("--gzip", action="store_true", help="write trace.json.gz")
    co.add_argument("--dot-timeout", type=_seconds, default=60.0, metavar="S",
                    help="stop Graphviz after S seconds and keep dag.dot (default 60)")
    co.set_defaults(func=cmd_compile)
    se = sub.add_parser("search", help="search every legal strategy on the plan's cluster and rank them",
                        epilog="example: dagc search examples/10b-moe-pp16-ep16-256gpu.moe --top 5",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    se.add_argument("plan", help="the .moe plan file")
    se.add_argument("--objective", choices=OBJECTIVES, default=None,
                    help="what to optimise (default: the plan's `objective`, else decode output tokens/s per GPU), "
                    "always subject to `require`")
    se.add_argument("--top", type=_positive_int, default=10, metavar="N",
                    help="how many candidates to show (default 10)")
    se.add_argument("--format", choices=("text", "json"), default="text")
    se.add_argument("--jobs", type=_positive_int, default=None, metavar="N",
                    help=JOBS_HELP)
    se.add_argument("--svg", metavar="FILE", help="where to write the Pareto plot, its directory made with its parents "
                    "when missing (default out/<plan>/pareto.svg)")
    se.add_argument("--budget", type=_seconds, default=None, metavar="S",
                    help="stop after S seconds (the candidates are visited best bound first; with --vary batch fewest "
                    "GPUs first, under ttft, tpot and throughput most) (default: evaluate every candidate)")
    se.add_argument("--vary", choices=("batch",), default=None,
                    help="`batch`: compare every strategy at the largest batch it serves within memory and the "
                    "require block (as `batch = max` in the plan)")
    se.set_defaults(func=cmd_search)
    for p_ in (c, co):
        p_.add_argument("--objective", choices=OBJECTIVES, default=None,
                        help="what the optimal verdict optimises (default: the plan's `objective`, else "
                        "tokens-per-gpu)")
        p_.add_argument("--no-search", action="store_true",
                        help="skip the strategy search (the optimal verdict is then not judged)")
        p_.add_argument("--jobs", type=_positive_int, default=None, metavar="N",
                        help=JOBS_HELP)
        p_.add_argument("--search-budget", type=_seconds, default=None, metavar="S",
                        help="a time limit for the strategy search: past it the search stops, and the optimal "
                        "verdict is 'no' only with a better strategy it found (saying the search stopped), else "
                        "'not judged' (default: none — the search always covers its whole space, so the verdict "
                        "is the same on every machine)")
    for p_ in (c, co, se):
        p_.add_argument("--allow-path", action="append", metavar="DIR", default=[],
                        help="let `model from` read files under DIR too (default: only the plan's directory)")
    sc = sub.add_parser("schema", help="print the JSON Schema of dag.json")
    sc.set_defaults(func=cmd_schema)
    e = sub.add_parser("explain", help="print a rule's documentation with a bad and a fixed example",
                       epilog="example: dagc explain E202")
    e.add_argument("code", help="a rule code such as E202")
    e.set_defaults(func=cmd_explain)
    pr = sub.add_parser("presets", help="list the built-in models, GPUs and kernel profiles")
    pr.set_defaults(func=cmd_presets)
    cli_launch.add_parser(sub)
    return p


# Failures of the machine's resources rather than of the plan: one line each, never a traceback.
# (`BrokenExecutor`: a broken pool of the search's worker processes, without importing them.)
_RESOURCE_FAILURES: dict[type, str] = {
    RecursionError: "the input nests too deeply to process",
    BrokenExecutor: "a search worker process died (out of memory?); try --jobs 1",
    MemoryError: "out of memory; see docs/limits.md for the bounds dagc applies",
}


# The cyclic garbage collector's first-generation threshold while a command runs (Python's default: 700
# allocations). dagc's objects seldom form cycles, yet a check of a large plan allocates millions of
# them, and the collections those trigger took a tenth of a second of the 2048-GPU check (measured:
# 1.17 s → 1.08 s). Memory stays bounded: the collector still runs, ~140 times less often.
GC_THRESHOLD = 100_000


def main(argv: Sequence[str] | None = None) -> int:
    before = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, *before[1:])
    try:
        return _main(argv)
    finally:
        gc.set_threshold(*before)            # a caller in this process (a test) gets its own back


def _main(argv: Sequence[str] | None) -> int:
    args = None
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return EXIT_USAGE
        code = args.func(args)
        sys.stdout.flush()              # a reader gone early is found here, not at the interpreter's exit
        return code
    except KeyboardInterrupt:
        # The library removes its temporary files on the way out (try/finally); say one line.
        # Further Ctrl-Cs while Python shuts down must not print a traceback.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("dagc: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (RecursionError, BrokenExecutor, MemoryError) as exc:
        print(f"error: {next(m for t, m in _RESOURCE_FAILURES.items() if isinstance(exc, t))}", file=sys.stderr)
        return EXIT_INPUT
    except BrokenPipeError:
        # stdout closed early (e.g. `| head`): stop quietly, keep Python from complaining at exit, and
        # exit as the command decided before it printed (check, compile: the verdict's code).
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        return getattr(args, "decided", EXIT_OK)

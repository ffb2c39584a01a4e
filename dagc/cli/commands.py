"""The `dagc` commands check, compile, search, schema, explain and presets: each reads its arguments
(from `dagc.cli.parser`), runs the compiler, prints (`dagc.cli.printing` and the `print_*` modules)
and returns its exit code (`dagc.exit_codes`). `dagc launch` is `dagc.cli.launch`.

Only what every command needs is imported here: `dagc explain` and `presets` answer without
loading the compiler (numpy, networkx, pydantic, lark). Each command imports what it uses, under
`loading()`.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from ..exit_codes import EXIT_INPUT, EXIT_INVALID, EXIT_OK, EXIT_REQUIREMENTS, EXIT_USAGE

if TYPE_CHECKING:
    from argparse import Namespace
    from collections.abc import Sequence

    from rich.console import Console

    from ..diagnostics import Diagnostic
    from ..drive.drive import Driven, ProgressFor, Stage
    from ..plan.plan import Plan
    from ..search.result import SearchResult
    from ..verdict.check import StrategyResult
    from .printing import ProgressBar

_CAN_BLOCK = hasattr(signal, "pthread_sigmask")


@contextlib.contextmanager
def loading() -> Iterator[None]:
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


def search_jobs(args: Namespace, err: Console) -> int:
    """Worker processes: at most the CPUs this process may run on (more only adds overhead); 1 when
    `--jobs` is not given."""
    jobs: int | None = getattr(args, "jobs", None)
    if jobs is None:
        return 1
    with loading():
        from ..search.search import cpu_count
    cpus = cpu_count()
    if jobs > cpus:
        err.print(f"note: --jobs {jobs} lowered to {cpus}, the CPUs available", markup=False)
        return cpus
    return jobs


def _exit_code(results: list[StrategyResult]) -> int:
    """4 when a strategy could not be read (E0xx, E1xx: a misspelt axis or option is an input error
    wherever it is found); 3 when a strategy is invalid; 1 when a requirement is not met or could
    not be judged, or a deployment does not carry its traffic or its traffic was not simulated (its verdict's
    "meets requirements: no" or "not judged", requirements or none)."""
    with loading():
        from .printing import is_input_error
    if any(is_input_error(d) for r in results for d in r.diagnostics):
        return EXIT_INPUT
    if any(not r.valid for r in results):
        return EXIT_INVALID
    if any(r.verdict.meets_requirements is not True for r in results):
        return EXIT_REQUIREMENTS
    return EXIT_OK


class _NoBar:
    """The progress bar of `--quiet`: none."""

    def __call__(self, done: int, total: int) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(label: str, quiet: bool) -> _NoBar | ProgressBar:
    with loading():
        from .printing import ProgressBar
    return _NoBar() if quiet else ProgressBar(label)


_LABELS = {"search": "searching strategies", "judge": "judging the best strategies under the plan's traffic",
           "picks": "what each objective picks", "load": "simulating the load", "write": "writing strategies"}


def _bars(quiet: bool) -> ProgressFor:
    """The driver's progress (`dagc.drive.drive.DriveOptions.progress`): a progress bar per stage, closed when
    the stage ends; none with --quiet."""
    @contextlib.contextmanager
    def bars(stage: Stage) -> Iterator[_NoBar | ProgressBar]:
        progress = progress_bar(_LABELS[stage.value], quiet)
        try:
            yield progress
        finally:
            progress.close()
    return bars


def judged(plan: Plan, found: SearchResult, need: int, quiet: bool = False) -> SearchResult:
    """`dagc.drive.drive.judged` with a progress bar: the first `need` candidates of `found` judged under the
    plan's traffic."""
    with loading():
        from ..drive.drive import judged as judge
    return judge(plan, found, need, _bars(quiet))


def search_plan(plan: Plan, top: int = 10, jobs: int = 1, budget_s: float | None = None,
                quiet: bool = False) -> SearchResult:
    with loading():
        from ..drive.drive import searched
        from ..search.options import SearchOptions
    return searched(plan, SearchOptions(top=top, jobs=jobs, budget_s=budget_s), _bars(quiet))


def _with_objective(plan: Plan, args: Namespace) -> Plan:
    """The plan with `--objective` in place of its own `objective = …` (when given), and `--load-budget`'s
    work budget for its simulated load (`none`: no budget)."""
    objective = getattr(args, "objective", None)
    if objective:
        plan = plan.model_copy(update={"objective": objective, "objective_from": "from --objective"})
    budget = getattr(args, "load_budget", None)
    if budget is not None:
        plan = plan.model_copy(update={"load_budget_events": None if budget == "none" else budget})
    return plan


# `--allow-path` is read by every file a plan names, not `model from` alone (until 2026-11-30 the help said only it,
# and a user with a request log elsewhere was not told that the option lets dagc read it)
ALLOW_PATH_HELP = ("let the plan read files under DIR too — `model from`, `requests from`, `routing from`, "
                   "`kernels from`, `calibration from` (default: only the plan's directory)")


def allowed_paths(args: Namespace) -> tuple[Path, ...]:
    return tuple(Path(p) for p in (getattr(args, "allow_path", None) or ()))


def is_quiet(args: Namespace) -> bool:
    return volume_of(args) < 0


def read_plan(args: Namespace, needs_strategy: bool = True) -> Plan:
    """The plan with `--set` overrides (re-lowered from its text, so checked as the plan's own) and
    `--objective`; `search --rate R` is its arrival rate where the workload's traffic says none
    (`load_plan_with`); without a `strategy` statement where `needs_strategy` is False. Raises PlanError."""
    with loading():
        from ..diagnostics import PlanError
        from ..lang.fleet_check import fleet_input_errors
        from ..lang.overrides import load_plan_with
    fleet = fleet_input_errors(args.plan, allowed_paths(args))    # the file's errors, said with the plan's
    try:
        plan = load_plan_with(args.plan, getattr(args, "overrides", None) or (), allow_paths=allowed_paths(args),
                              rate=getattr(args, "rate", None), needs_strategy=needs_strategy)
    except PlanError as exc:
        raise PlanError([*exc.diagnostics, *fleet]) from None     # the fleet's last: where a plan writes it
    if fleet:
        raise PlanError(fleet)
    return _with_objective(plan, args)



def _load(args: Namespace, err: Console, picks: bool = False, verdicts_only: bool = False) -> Driven | int | None:
    """The plan read with its overrides, then driven (`dagc.drive.drive.drive`): the driven check, or None
    (after the diagnostics) when the plan or `--strategy` cannot be read, or the exit code of a `--requests-out`
    the plan cannot give (no traffic: before the work, not after it); with `picks`, the report's "what each
    objective would pick" too; with `verdicts_only` (`dagc check --quiet`), nothing the verdicts do not need."""
    with loading():
        from ..diagnostics import PlanError
        from ..lang.load import strategy_option
        from .requests_cmd import requests_refused
    try:        # `--strategy S` is checked: the plan need not write one (as `dagc search` prints its lines)
        plan = read_plan(args, needs_strategy=args.strategy is None)
        if (refused := requests_refused(args, err, plan)) is not None:
            return refused
        with loading():                 # the compiler, once the plan is read: a plan's errors come back without it
            from ..drive.drive import DriveOptions, drive
        # read before the search, which a bad --strategy would otherwise wait for
        strategy = strategy_option(args.strategy, plan) if args.strategy is not None else None
        options = DriveOptions(strategy=strategy, search=not getattr(args, "no_search", True),
                               jobs=search_jobs(args, err), budget_s=getattr(args, "search_budget", None), picks=picks,
                               progress=_bars(is_quiet(args)), verdicts_only=verdicts_only)
        return drive(plan, options)
    except PlanError as exc:
        say_refused(args, err, exc.diagnostics, "nothing was checked")
        return None


def say_refused(args: Namespace, err: Console, diagnostics: Sequence[Diagnostic], what: str) -> None:
    """A plan refused before any work: with `--format json` `{plan, valid: false, diagnostics}` on stdout (a
    script reads JSON whatever happened), then the diagnostics and the summary line, `error: PLAN: 2 errors;
    nothing was checked`, on `err`."""
    with loading():
        from .printing import render_diags
    if getattr(args, "format", "text") == "json":
        print(json.dumps({"plan": args.plan, "valid": False, "diagnostics": [d.to_json() for d in diagnostics]},
                         indent=2))
    render_diags(err, diagnostics)
    err.print(f"error: {refused_input(diagnostics, args.plan)}; {what}", markup=False)


def refused_input(diagnostics: Sequence[Diagnostic], plan_path: str) -> str:
    """What could not be read and how many errors it has, as the summary line of check, compile, search and
    launch says it: `--set: 2 errors` when every diagnostic is in the `--set` options (or all in `--strategy`),
    else the plan's path, its control characters shown as U+FFFD (`printable`), as the diagnostics' headers show it."""
    with loading():
        from ..diagnostics import Severity, printable
        from ..lang.load import STRATEGY_SOURCE
        from ..lang.overrides import SET_SOURCE
    n = sum(1 for d in diagnostics if d.severity is Severity.ERROR)
    sources = {d.span.source.path if d.span is not None else plan_path for d in diagnostics}
    where = sources.pop() if len(sources) == 1 and sources <= {STRATEGY_SOURCE, SET_SOURCE} else plan_path
    return f"{printable(where)}: {n} error{'' if n == 1 else 's'}"       # a path's newline or escape made visible


def volume_of(args: Namespace) -> int:
    """-1 with --quiet, 1 with --verbose, else 0 (and 0 for JSON, which they leave as it is)."""
    return getattr(args, "volume", 0) if getattr(args, "format", "text") == "text" else 0


def cmd_check(args: Namespace) -> int:
    with loading():
        from .printing import is_input_error, make_console, print_reports, render_diags
        from .requests_cmd import requests_refused, write_check_requests
    err = make_console(sys.stderr)
    if (refused := requests_refused(args, err)) is not None:      # a bad --requests-out name, before the work
        return refused
    driven = _load(args, err, verdicts_only=is_quiet(args))     # --quiet prints the verdicts and errors alone
    if driven is None or isinstance(driven, int):
        return EXIT_INPUT if driven is None else driven
    with loading():                     # the report's printer, once there is a check to print (`_load`)
        from .print_check import print_check
    plan, results = driven.plan, list(driven.results)
    args.decided = _exit_code(results)     # what a reader that stops early (`| head`) still gets
    if args.format == "json":
        print_reports(results)
        render_diags(err, [d for r in results for d in r.diagnostics if is_input_error(d)])
    else:
        print_check(make_console(), err, driven, args.plan, volume_of(args), args.overrides)
    refused = write_check_requests(args, err, make_console(), plan, results)
    return args.decided if refused is None else refused


def cmd_compile(args: Namespace) -> int:
    with loading():
        from ..export.home import refuse_an_input
        from ..export.output_dir import check_output_dir, default_output_dir
        from ..export.write import OutputError
        from .printing import is_input_error, make_console, output_failed, print_reports, render_diags
        from .requests_cmd import requests_refused
    err = make_console(sys.stderr)
    force = bool(getattr(args, "force", False))
    if (refused := requests_refused(args, err)) is not None:      # a bad --requests-out name, before the work
        return refused
    if args.output:
        try:                         # refused before the work, not after it (checked again when written)
            refuse_an_input(Path(args.output), [args.plan])
            check_output_dir(Path(args.output), force)
        except OutputError as exc:
            return output_failed(err, exc, args.output)
    driven = _load(args, err, picks=True)
    if driven is None or isinstance(driven, int):
        return EXIT_INPUT if driven is None else driven
    with loading():                     # the exporters and the printer, once there is a check to write (`_load`)
        from ..export.compile import CompileOptions, write_driven
        from ..export.dot import Detail
        from .print_check import print_compile
    plan, results = driven.plan, list(driven.results)
    try:
        out_dir = Path(args.output) if args.output else default_output_dir(plan.name)
    except OutputError as exc:
        return output_failed(err, exc, "out")
    budget = getattr(args, "output_budget", None)
    options = CompileOptions(graph_detail=Detail(args.graph_detail), all_ranks=args.all_ranks,
                             gzip=getattr(args, "trace_format", "gzip") == "gzip",
                             dot_timeout_s=args.dot_timeout, force=force,
                             requests_out=getattr(args, "requests_out", None),
                             **({"output_budget_bytes": budget} if budget else {}))
    try:
        written = write_driven(driven, out_dir, options, _bars(is_quiet(args)))
    except (OutputError, OSError) as exc:
        return output_failed(err, exc, out_dir)
    decided = args.decided = _exit_code(results)     # what a reader that stops early (`| head`) still gets
    if args.format == "json":
        print_reports(results)
        render_diags(err, [d for r in results for d in r.diagnostics if is_input_error(d)])
    else:
        print_compile(make_console(), err, driven, written, volume_of(args), args.overrides, args.plan)
    return decided


def cmd_schema(args: Namespace) -> int:
    with loading():
        from ..export.dag_json import dag_schema
    print(json.dumps(dag_schema(), indent=2))
    return EXIT_OK


def cmd_explain(args: Namespace) -> int:
    # The rules' documentation as generated from their registry (dagc/data/explain.md): explaining a
    # code loads no rule.
    from .builtin_text import explain_texts, known_codes_text
    texts = explain_texts()
    # the code as dagc prints it in a diagnostic, copied whole: `error[E202]:`, `[W520]`, `E202 `
    m = re.search(r"(?<![A-Z0-9])[EWN][0-9]{3}(?![0-9])", args.code.upper())
    code = m.group(0) if m else args.code.upper()
    text = texts.get(code)
    if text is None:
        from ..diagnostics import printable
        print(f"error: unknown code `{printable(args.code)[:40]}`; {known_codes_text(args.code, list(texts))}",
              file=sys.stderr)
        return EXIT_USAGE
    print(text)
    return EXIT_OK


def cmd_presets(args: Namespace) -> int:
    engines = _engine_profiles()
    if args.format == "json":
        from .builtin_text import preset_fields
        print(json.dumps({**preset_fields(), "engine_kernel_profiles": engines}, indent=2, ensure_ascii=False))
        return EXIT_OK
    with loading():
        from ..extras import extra_install
        from .builtin_text import preset_tables
        from .print_presets import print_presets
        from .printing import make_console
    console = make_console()
    print_presets(console, *preset_tables())
    console.print("engine kernel profiles (cluster { kernels = \"ENGINE:SYSTEM[@RELEASE]\" }, docs/kernels.md)",
                  markup=False)
    if engines["package"] is None:
        console.print(f"  none installed: {extra_install('engines')} (aiconfigurator-core's measured tables)",
                      markup=False)
    for system, by_engine in engines["systems"].items():
        console.print(f"  {system} ({engines['gpus'][system]}): " + "; ".join(
            f"{e} {releases[-1]} (newest of {len(releases)})" for e, releases in by_engine.items()), markup=False)
    if engines["without_preset"]:
        console.print(f"  not importable, no dagc GPU preset: {', '.join(engines['without_preset'])}", markup=False)
    return EXIT_OK


class EngineProfiles(TypedDict):
    """What the optional extra `dagc[engines]` offers (`_engine_profiles`)."""

    package: str | None
    systems: dict[str, dict[str, list[str]]]
    gpus: dict[str, str]
    without_preset: list[str]


def _engine_profiles() -> EngineProfiles:
    """What the optional extra `dagc[engines]` offers: its package version (None when not installed),
    system → engine → releases (oldest first) of the systems dagc can import, the GPU preset of each, and
    the systems it cannot (no GPU preset)."""
    from ..kernels.engine_import import SYSTEM_GPUS, EngineImportError, available, data_root, package_version
    try:
        found = available(data_root())
    except EngineImportError:
        return {"package": None, "systems": {}, "gpus": {}, "without_preset": []}
    return {"package": f"aiconfigurator-core {package_version()}",
            "systems": {k: v for k, v in found.items() if k in SYSTEM_GPUS},
            "gpus": {k: SYSTEM_GPUS[k] for k in found if k in SYSTEM_GPUS},
            "without_preset": sorted(k for k in found if k not in SYSTEM_GPUS)}

"""`dagc launch PLAN [--engine vllm|sglang|trtllm] [--strategy S] [--set FIELD=VALUE] [-o DIR]`: the commands that
start a plan's strategy on a serving engine, or the located reason the engine cannot run it with
the nearest strategy it can (and dagc's figures for it). docs/launch.md describes the mappings.

Exit codes of `dagc launch`:
    0    every strategy can be launched: on the requested engine, or (without --engine) on at
         least one of the three
    2    usage error
    3    a strategy cannot be launched: dagc finds it invalid (E2xx–E4xx), or the requested engine
         (every engine, without --engine) cannot express it (E7xx)
    4    input or syntax error (unreadable plan, E0xx, E1xx, a bad --strategy)
    5    -o DIR could not be written

Heavy modules (numpy, pydantic, the compiler) are imported inside the functions, so that
`dagc --help` stays light.
"""

from __future__ import annotations

import argparse
import posixpath
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

from ..exit_codes import EXIT_INPUT, EXIT_INVALID, EXIT_OK, EXIT_OUTPUT
from .commands import ALLOW_PATH_HELP
from .engine_option import ENGINE_KEYS, engine_key, output_dir
from .launch_priced import engine_option, repriced, served_by
from .once import Once

if TYPE_CHECKING:
    from ..export.launch_dir import Leftovers
    from ..launch.launch import Launch
    from ..plan.plan import Plan
    from ..verdict.check import StrategyResult
    from ..verdict.steady import SteadyMetrics

__all__ = ["add_parser", "cmd_launch"]


EPILOG = """\
examples:
  dagc launch examples/mixtral-8x7b-1node.moe                       # all three engines
  dagc launch examples/qwen3-30b-a3b-4gpu.moe --engine sglang --strategy "tp 1 ; ep 4"
  dagc launch examples/qwen3-30b-a3b-4gpu.moe --engine trtllm --strategy "tp 1 ; ep 4" -o out/launch
  dagc launch examples/qwen3-30b-a3b-4gpu.moe --set cluster.gpus=2 --strategy "tp 2"   # a what-if, as check's

exit codes:
  0 launchable (on the engine asked for; without --engine on at least one)   2 usage error
  3 not launchable (dagc rule errors, or E7xx: the engine cannot express it)   4 input or syntax error
  5 -o DIR not written
"""


_P = TypeVar("_P", bound=argparse.ArgumentParser)   # the CLI's parser class

def add_parser(subparsers: argparse._SubParsersAction[_P]) -> _P:
    """Add `dagc launch` to the CLI's subparsers."""
    p = subparsers.add_parser("launch", help="print the commands that start a strategy on vLLM, SGLang or "
                              "TensorRT-LLM", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("plan", help="the .moe plan file")
    p.add_argument("--engine", choices=ENGINE_KEYS, default=None, type=engine_key,
                   help="the serving engine (default: the one the plan names, else all three, each with its "
                        "commands or why it cannot)")
    p.add_argument("--strategy", metavar="EXPR", action=Once, help="launch this strategy instead of the plan's")
    p.add_argument("-o", "--output", metavar="DIR", type=output_dir,
                   help="write into DIR one shell script a command (`<engine>-<strategy>-<n>-node<k>.sh`, in the "
                   "order they start) and the files the commands read (TensorRT-LLM's extra options YAML), "
                   "replacing only files dagc launch wrote and removing those an earlier launch wrote there for "
                   "the same engines that this one does not (its .dagc-output lists them; another engine's files "
                   "stay: docs/launch.md); without it the files are printed")
    p.add_argument("--allow-path", action="append", metavar="DIR", default=[],
                   help=ALLOW_PATH_HELP)
    p.set_defaults(func=cmd_launch)
    return p


def _out(line: str = "") -> None:
    print(line)


def _load(args: argparse.Namespace) -> tuple[tuple[Plan, list[StrategyResult]] | None, int]:
    """The plan's checked strategies, or an exit code after printing why there are none."""
    from pathlib import Path

    from ..diagnostics import PlanError, printable, render_all
    from ..lang.load import strategy_option
    from ..lang.overrides import load_plan_with
    from .commands import refused_input

    options = tuple(getattr(args, "overrides", None) or ())
    try:                # `overrides`: the `--set` options (`dagc fleet --launch`'s best cluster among them)
        named = args.strategy is not None       # `--strategy S` is launched: the plan need not write one
        plan = load_plan_with(args.plan, options, allow_paths=tuple(Path(p) for p in args.allow_path),
                              needs_strategy=not named)
        if _engine_option(args, plan):      # `--engine X`: the figures X's, as `--set cluster.engine=X` prices them
            plan = repriced(args, plan, options, needs_strategy=not named)
        # the compiler, once the plan is read: a plan's errors come back without it
        from ..verdict.check import check
        results = check(plan, strategy_option(args.strategy, plan) if args.strategy is not None else None)
    except PlanError as exc:
        print(render_all(exc.diagnostics), file=sys.stderr)
        print(f"error: {printable(refused_input(exc.diagnostics, args.plan))}; nothing to launch", file=sys.stderr)
        return None, EXIT_INPUT
    return (plan, results), EXIT_OK


def _engine_option(args: argparse.Namespace, plan: Plan) -> bool:
    """Whether `--engine X` reprices the plan for X: the plan serves with another engine and no `--set` names one
    (a `--set cluster.engine=…` is the user's own what-if, kept; the figures' line then names its engine)."""
    named = any(o.replace(" ", "").startswith("cluster.engine=") for o in getattr(args, "overrides", None) or ())
    return bool(args.engine) and not named and plan.cluster.engine.name != args.engine


def _refuse_invalid(args: argparse.Namespace, result: StrategyResult, engines: Sequence[str]) -> int:
    """Print why dagc will not launch an invalid strategy — its errors, and what the engines asked refuse of its
    degrees beside them (`refusals_on`) —; its exit code."""
    from ..diagnostics import printable, render_all
    from ..launch.engine_check import refusals_on
    from .printing import is_input_error

    errors = [d for d in result.diagnostics if d.is_error]
    print(render_all([*errors, *refusals_on(result, engines)]), file=sys.stderr)
    print(f"error: {printable(args.plan)}: dagc finds strategy `{printable(result.label)}` invalid; nothing to "
          "launch", file=sys.stderr)
    return EXIT_INPUT if any(is_input_error(d) for d in errors) else EXIT_INVALID


def _figures(metrics: SteadyMetrics) -> str:
    from ..launch.engine_check import figures_text

    return figures_text(metrics)


def _print_refusal(args: argparse.Namespace, plan: Plan, result: StrategyResult, x: Launch) -> None:
    import dataclasses

    from ..diagnostics import printable, render
    from ..launch.engine_check import refusal_hint

    hint, near = refusal_hint(result, x)       # what `dagc check` says under the same refusal
    for i, d in enumerate(x.refusals):
        _out(render(dataclasses.replace(d, hint=hint) if i == len(x.refusals) - 1 else d))
    if near is not None:
        _out(f"  try: {printable(_try_line(args, x.engine, near.text))}")


def _try_line(args: argparse.Namespace, engine: str, strategy: str) -> str:
    """The command that launches `strategy` on `engine`, with the user's other options."""
    import shlex

    from .shell_words import path_word

    words = ["dagc", "launch", path_word(args.plan), "--engine", engine, "--strategy", shlex.quote(strategy)]
    for o in getattr(args, "overrides", None) or ():
        words += ["--set", shlex.quote(o)]
    if args.output:
        words += ["-o", path_word(args.output)]
    for d in args.allow_path:
        words += ["--allow-path", path_word(d)]
    return " ".join(words)


def _print_launch(args: argparse.Namespace, plan: Plan, result: StrategyResult, x: Launch) -> None:
    from ..diagnostics import printable
    from ..launch.engines import unchecked_release
    from ..launch.launch import shown_commands

    _out(f"## {x.name} — flags of {x.version}")
    older = unchecked_release(plan.cluster.engine, x.engine)
    if older is not None:
        _out(f"note: the plan names {x.engine}@{older[0]}; these are the flags of the release dagc writes, "
             f"{older[1]}, which that release may not take (docs/launch.md)")
    if not x.ok:
        _print_refusal(args, plan, result, x)
        _out()
        return
    commands, rest = shown_commands(x)
    node = None
    for c in commands:
        if c.node != node:
            node = c.node
            _out(f"node {node}:")
        _out(f"  {printable(c.text)}")
    if rest:
        _out(f"  … {rest}")
    from .shell_words import path_word
    for f in x.files:
        if args.output:
            _out(f"file {path_word(posixpath.join(args.output, f.name))} (written)")
        else:
            _out(f"file {f.name} (write it beside the command, or use -o DIR):")
            _out("\n".join(f"  {printable(line)}" for line in f.text.splitlines()))
    if args.output:
        from ..launch.scripts import command_scripts
        _out("scripts (written; one a command above, in its order, each to run on its node):")    # each one word
        _out("\n".join(f"  {path_word(posixpath.join(args.output, f.name))}" for f in command_scripts(x)))
    for n in x.notes:
        _out(f"note: {printable(n)}")
    _out()


def _traffic(result: StrategyResult, plan: Plan) -> str:
    """After the steady state's figures: that they are its batch's, every slot busy — or the requests its KV cache
    holds, when fewer (W520) — and the traffic's p50 and the percentile its requirements bound, as `dagc search --rate`
    shows them ("" without traffic; until 2026-11-30 "every one of its 256" beside 185, p90 TPOT beside tpot_p99)."""
    if result.load is None:
        return ""
    from ..search.at_rate import shown_percentiles
    from ..units import Dimension, format_si
    hi = [p if p > 50 else d for p, d in zip(shown_percentiles(plan), (99, 90), strict=True)]   # p50's beside it
    def t(x: float | None) -> str:
        return format_si(x, Dimension.TIME) if x is not None else "—"
    f = result.load.figures
    at = f"at {f.rate_requests_per_s:,.10g} requests/s" if f.rate_requests_per_s else \
        f"from {f.concurrency:,} clients" if f.concurrency else "at the request log's times"
    batch = result.layout.batch if result.layout else None
    running = result.metrics.concurrency_effective if result.metrics is not None else None
    # fewer than the batch when the KV cache holds fewer (W520): the figures are at those, as `dagc check` says
    busy = f"every request slot the KV cache holds busy (≈ {running:,} of its {batch:,} requests: W520)" \
        if running is not None and batch is not None and running < batch else \
        f"every one of its {batch if batch is not None else '…':,} requests in flight busy"
    return (f" in the steady state, {busy}; under the plan's traffic ({f.requests:,} requests {at}): p50/p{hi[0]} TTFT "
            f"{t(f.ttft_s.p50)}/{t(f.ttft_s.at(hi[0]))}, p50/p{hi[1]} TPOT {t(f.tpot_s.p50)}/{t(f.tpot_s.at(hi[1]))}")


# an engine's refusal of the plan's GPU itself (TensorRT-LLM on an AMD GPU, its NVFP4 before Blackwell, SGLang's MXFP4
# on MI300X): no figure of that engine on it is printed, since it cannot run there at all
_GPU_REFUSALS = frozenset({"E728", "E729", "E734"})


def _refused_text(xs: Sequence[Launch]) -> str:
    """Which engines refuse a strategy none of `xs` can start, with their codes: the header's first word on it.

    Example:
        >>> from dagc.diagnostics import Diagnostic, Severity
        >>> from dagc.launch.launch import Launch, ModelPath
        >>> e = Diagnostic("E721", Severity.ERROR, "m", None)
        >>> _refused_text([Launch("trtllm", "TensorRT-LLM", "1.2", "s", 8, 8, 1, ModelPath("m", ""), refusals=(e,))])
        'TensorRT-LLM (E721) cannot start it'
    """
    said = [f"{x.name} ({', '.join(dict.fromkeys(d.code for d in x.refusals))})" for x in xs]
    names = said[0] if len(said) == 1 else ", ".join(said[:-1]) + " nor " + said[-1]
    return f"{names} cannot start it" if len(said) == 1 else f"neither {names} can start it"


def _header(plan: Plan, result: StrategyResult, overrides: Sequence[str], asked: str | None = None,
            gpu_refused: bool = False, refused_by: Sequence[Launch] = (), whence: str | None = None) -> None:
    from pathlib import Path

    from ..diagnostics import printable
    from ..launch.launch import model_path
    from ..plan.cluster import per_node_text
    from ..units import count_text

    lay = result.layout
    assert lay is not None                      # launched: a valid strategy, laid out
    gpus = result.gpus_used or lay.gpus_used
    # the nodes, when the cluster has a node's GPUs (one L40S is no node of 8: `per_node_text`)
    host = plan.cluster.gpus_per_host
    nodes = f" ({count_text(-(-gpus // lay.gpus_per_node), 'node')} of {lay.gpus_per_node})" \
        if per_node_text(plan.cluster) else ""
    if per_node_text(plan.cluster) and host != lay.gpus_per_node:      # a node's NVLink domain over several hosts
        nodes = (f" ({count_text(-(-gpus // host), 'node')} of {host}: the hosts of "
                 f"{count_text(-(-gpus // lay.gpus_per_node), 'NVLink domain')} of {lay.gpus_per_node})")
    title = f"{result.decl.name} = {result.decl.text}" if result.decl.name else result.decl.text
    pools = " in two pools" if result.pooled is not None else ""
    _out(f"# dagc launch: {printable(plan.name)} · strategy `{printable(title)}` · {count_text(gpus, 'GPU')}{pools}"
         f"{nodes}")
    if overrides:                               # as `dagc check` says them: a what-if, not the plan
        _out("overrides (--set, not in the plan): " + " · ".join(printable(o) for o in overrides))
    m = model_path(plan)
    where = posixpath.normpath(posixpath.join(str(Path.cwd()), m.text)) if m.local else m.text   # as the commands
    _out(f"model: {printable(where)} ({printable(m.why)})")
    from ..launch.nearest import requirements_missed
    meets, missed = requirements_missed(result)
    if refused_by:                  # no engine asked starts it: said first, its figures no deployment's
        _out(f"not launchable: {_refused_text(refused_by)}; no command is written for it")
    if result.metrics and not gpu_refused and refused_by:
        also = "" if meets is not False else \
            "; it would also miss the plan's requirements: " + "; ".join(printable(m) for m in missed)
        _out(f"dagc's figures for it as dagc lays it out, to compare with each nearest strategy below (no server "
             f"runs it), {served_by(plan, asked, whence)}: {_figures(result.metrics)}{_traffic(result, plan)}{also}")
    elif result.metrics and not gpu_refused:
        _out(f"dagc's figures for it, {served_by(plan, asked, whence)}: {_figures(result.metrics)}"
             f"{_traffic(result, plan)}")
        if meets is False:          # launched as asked, but said: as `dagc check` says it, and as a nearest's line
            _out("it misses the plan's requirements: " + "; ".join(printable(m) for m in missed)
                 + " (dagc check says why and what would meet them; the commands start it as it is)")
    chosen = [d for d in result.diagnostics if d.code == "N605"]      # `batch = max`: the batch the figures are for
    if chosen:
        _out(printable(chosen[0].message))
    if result.pooled is None and result.strategy is not None:       # the longest request in one rank's KV cache
        from ..diagnostics import render
        from ..launch.serving import longest_fits
        over = longest_fits(plan, result.strategy, lay)
        if over is not None:
            _out(render(over))
    _out()


def _profile_engines(plan: Plan) -> tuple[str, ...]:
    """Without --engine: the engine the plan serves with when it names one (`engine = …`, whose figures the
    check gave), else the engine its kernel profile was measured in (`dagc kernels import`), which the
    figures assume, else all three (a plan naming `pytorch`, which has no launcher, too)."""
    from ..kernels.engine_import import profile_engine
    named = plan.cluster.engine.name
    if "cluster.engine" in plan.spans and named in ENGINE_KEYS:
        # a what-if's engine is said as one (until 2026-12-01 `--set cluster.engine=sglang` read "as the plan serves
        # with it")
        option = engine_option(plan)
        said = f"as `--set {option}` names it" if option is not None else "as the plan serves with it"
        _out(f"engine: {named}, {said} (--engine for another)")
        return (named,)
    profile = plan.cluster.kernels
    provenance = getattr(profile, "provenance", None)
    engine = profile_engine(provenance.source) if provenance is not None else None
    if engine is None:
        return ENGINE_KEYS
    assert profile is not None                  # its provenance named the engine
    _out(f"engine: {engine}, as the kernel profile `{profile.name}` was measured in it (--engine for another)")
    return (engine,)


def _say_leftovers(left: Leftovers) -> None:
    """Name the files of an earlier launch into -o DIR that this one removed, or kept (`dagc.export.launch_dir`)."""
    from ..diagnostics import printable

    for p in left.removed:
        print(f"note: removed {printable(str(p))}: an earlier dagc launch wrote it into this directory (its "
              ".dagc-output lists it) and this launch does not", file=sys.stderr)
    for p in left.edited:
        print(f"note: kept {printable(str(p))}: an earlier dagc launch wrote it into this directory and this launch "
              "does not, but it was changed since (its last line is not the digest of the lines above it, or it has "
              "none): yours now, off the .dagc-output; remove it if it belongs to another deployment", file=sys.stderr)
    for p in left.kept:
        print(f"warning: {printable(str(p))} is named and headed as a dagc launch file but no .dagc-output lists "
              "it (an older dagc's, or a copy): kept; remove it if it belongs to another deployment", file=sys.stderr)


def cmd_launch(args: argparse.Namespace) -> int:
    """Print the launch commands of each strategy of the plan (or --strategy) on the engine(s)."""
    from pathlib import Path

    loaded, code = _load(args)
    if loaded is None:
        return code
    # the launchers, once there is a checked plan to launch (`_load`)
    from ..export.launch import write_files
    from ..export.write import OutputError
    from ..launch.engines import launch_result
    from ..launch.scripts import absolute_model
    plan, results = loaded
    engines = (args.engine,) if args.engine else _profile_engines(plan)
    here = str(Path.cwd().absolute())      # a `model from` directory is printed and written absolute
    launches = [[absolute_model(x, here) for x in launch_result(r, engines, file_dir=args.output)] if r.valid
                else None for r in results]
    written: list[Path] = []
    if args.output:                  # every file checked, then all written, before anything is printed
        try:
            written, left = write_files([x for xs in launches if xs for x in xs], Path(args.output))
        except OutputError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_OUTPUT
        _say_leftovers(left)
    exit_code = EXIT_OK
    for result, xs in zip(results, launches, strict=True):
        if xs is None:
            exit_code = max(exit_code, _refuse_invalid(args, result, engines))
            continue
        refused = bool(args.engine) and all(any(d.code in _GPU_REFUSALS for d in x.refusals) for x in xs)
        _header(plan, result, getattr(args, "overrides", None) or (), args.engine, refused,
                () if any(x.ok for x in xs) else xs, getattr(args, "engine_from", None))
        for x in xs:
            _print_launch(args, plan, result, x)
        if not any(x.ok for x in xs):
            exit_code = max(exit_code, EXIT_INVALID)
    if args.output and not written:
        from ..diagnostics import printable
        print(f"note: nothing written into {printable(args.output)}: no strategy can be launched", file=sys.stderr)
    return exit_code

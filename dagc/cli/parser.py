"""The `dagc` command's arguments: `build_parser()`, the parser of every subcommand with its help,
choices and checks of values; each subcommand's `func` runs it (`dagc.cli.commands`, `dagc.cli.launch`).

Only what parsing the command line needs is imported: `dagc --version`, `--help`, `explain` and
`presets` answer without loading the compiler (numpy, networkx, pydantic, lark).
"""

from __future__ import annotations

import argparse
import difflib
import math
import sys
from collections.abc import Iterable, Sequence
from typing import NoReturn, TypedDict, TypeVar, Unpack, overload

from ..plan.objective import OBJECTIVES as OBJECTIVE_REGISTRY
from . import calibrate_cmd, commands, fleet_cmd, kernels_cmd, launch as cli_launch, once, option_homes, search_cmd
from .axis_options import axis_option_note
from .commands import ALLOW_PATH_HELP
from .engine_option import output_dir_or_default
from .option_homes import after_dashes_note, flag_value_note, option_home_note, optional_value_note, words_as_written

# The choices of --objective are the registry's (`dagc.plan.objective`, which loads no compiler module); those of
# --graph-detail are written out so that the parser needs no compiler module: `dagc.export.dot.Detail`
# (tests/test_startup.py compares them).
OBJECTIVES = tuple(OBJECTIVE_REGISTRY)
GRAPH_DETAILS = ("summary", "layers", "full", "ranks")

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
  0 valid, requirements met, traffic carried   1 a requirement not met or not judged, or the traffic
  not carried or not simulated (W518)   2 usage error
  3 plan invalid (rule errors)   4 input or syntax error   5 outputs not written
  130 interrupted
"""


def _positive_int(text: str) -> int:
    try:
        if not text.isascii():                # int() reads other scripts' digits (`٣`): numbers are 0–9 here
            raise ValueError(text)
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{text[:40]}` is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _seconds(text: str) -> float:
    try:
        if not text.isascii():
            raise ValueError(text)
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{text[:40]}` is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds above 0, not {text[:40]}")
    return value


def _rate(text: str) -> float:
    """`--rate 12` or `--rate "12 requests/s"`: an arrival rate in requests per second."""
    from ..lang.fields import WORKLOAD_FIELDS
    from ..lang.unit_words import rate_option_hint
    bound = WORKLOAD_FIELDS["rate"]         # the plan's range for `rate = …`, so that both accept the same rates
    number = text.strip().removesuffix("requests/s").strip()
    try:
        if not number.isascii():
            raise ValueError(text)
        value = float(number)
    except ValueError:
        raise argparse.ArgumentTypeError(rate_option_hint(text)) from None
    if not math.isfinite(value) or not bound.lo <= value <= bound.hi:
        raise argparse.ArgumentTypeError(f"must be at least {bound.lo:g} and at most {bound.hi:,.0f} requests/s, as a "
                                         f"plan's `rate`, not {text[:40]}")
    return value


def _load_budget(text: str) -> int | str:
    """`--load-budget 5000000`, `--load-budget 5e6` or `--load-budget none`: the engine events a simulated load
    may take (dagc.plan.plan.LOAD_BUDGET_EVENTS), or "none" for no budget."""
    if text.strip().lower() == "none":
        return "none"
    try:
        if not text.isascii() or not text.strip().replace("e", "", 1).replace(".", "", 1).isdigit():
            raise ValueError(text)
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{text[:40]}` is not a number of engine events, nor `none`") from None
    if not math.isfinite(value) or value != int(value) or not 1 <= value <= 1e15:
        raise argparse.ArgumentTypeError(f"must be a whole number of events, 1 to 10^15, or `none`: {text[:40]}")
    return int(value)


JOBS_HELP = ("processes for the strategy search (at most the CPUs available; default 1: one process prices each "
             "stage once for every candidate, which on two cores is faster than two)")
SEARCH_JOBS_HELP = JOBS_HELP + ("; with --rate, also for the best candidates' checks at the rate, which run "
                                "ahead in the workers: the same rows, sooner on as many cores")


class _Version(argparse.Action):
    """`--version`: the installed version, read (importlib.metadata) only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[object] | None, option_string: str | None = None) -> None:
        from .. import __version__
        print(f"dagc {__version__}")
        parser.exit()


def _add_set(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """--set: the same on check, compile, search and launch (each reads it with `load_plan_with`)."""
    p.add_argument("--set", action="append", metavar="FIELD=VALUE", default=[], dest="overrides",
                   help="a what-if without editing the plan: a plan field by its dotted path, written as in the "
                   "plan, e.g. --set workload.batch=256 --set cluster.gpus=16 (repeatable; docs/cli.md)")
    return p


def _add_set_and_volume(p: argparse.ArgumentParser) -> None:
    """--set, --quiet and --verbose: the same on check, compile and search."""
    _add_set(p)
    volume = p.add_mutually_exclusive_group()
    volume.add_argument("-q", "--quiet", action="store_const", const=-1, dest="volume", default=0,
                        help="print the verdicts only (the exit code says the rest); errors still go to stderr")
    volume.add_argument("-v", "--verbose", action="store_const", const=1, dest="volume",
                        help="print how the answer was reached too: what was searched, in how long, and "
                        "(compile) each strategy's whole check")


_N = TypeVar("_N")

class ParserOptions(TypedDict, total=False):
    """argparse's `ArgumentParser` options dagc gives (as typeshed types them): what `_Parser` passes on."""

    prog: str | None
    usage: str | None
    description: str | None
    epilog: str | None
    parents: Sequence[argparse.ArgumentParser]
    formatter_class: type[argparse.HelpFormatter]
    prefix_chars: str
    fromfile_prefix_chars: str | None
    argument_default: object
    conflict_handler: str
    add_help: bool
    allow_abbrev: bool
    exit_on_error: bool


class _Parser(argparse.ArgumentParser):
    """argparse's parser, for dagc and each of its commands: an option is written whole (`--strateg` is not
    `--strategy`: a prefix read as an option would change meaning when another option begins the same way), and a
    command or value not among the choices gets the nearest choice (`dagc chek`: did you mean `check`?)."""

    def __init__(self, **options: Unpack[ParserOptions]) -> None:
        options.setdefault("allow_abbrev", False)
        super().__init__(**options)

    def _check_value(self, action: argparse.Action, value: object) -> None:
        try:
            super()._check_value(action, value)
        except argparse.ArgumentError as exc:
            if (said := option_homes.choice_hint(action, value)) is None:    # `vLLM`: `vllm`; `--objective latency`
                raise
            raise argparse.ArgumentError(action, f"{exc.message}; {said}") from None

    def error(self, message: str) -> NoReturn:
        """argparse's error, with the option an unrecognised one stands for: the one it begins (`--strateg`),
        else the nearest spelling (`--stratgey`), among the options of the command written; and that
        command's usage (`usage: dagc check …`), not dagc's, when the arguments it did not know follow it
        (argparse gathers them for the top-level parser to refuse). A command missing an argument after an
        option it does not have (`dagc check --no-serch`) is told of that option too."""
        unrecognised = message.startswith("unrecognized arguments: ")
        said = message.removeprefix("unrecognized arguments: ")
        left = list(getattr(self, "_left", ()))          # a value with a space (`--strategy "tp 8"`) kept whole
        words = (left if " ".join(left) == said else said.split()) if unrecognised else []
        command, argv = self._command(), list(getattr(self, "_argv", ()))
        known = sorted(_options(self, command))
        wrong = None
        if unrecognised and (dashes := after_dashes_note(argv, words)) is not None:
            message = f"{message}: {dashes}"   # `dagc launch -- PLAN --strategy a`: its own option, read as a path
        elif unrecognised and (home := option_home_note(self, command, words, argv)):
            message = f"unrecognized arguments: {' '.join(words_as_written(words, argv))}: {home}"   # `check --rate 10`
        elif unrecognised and (note := option_homes.rate_unit_note(argv, words) or flag_value_note(command, argv, words)
                               or axis_option_note(command, argv, words)):     # `--tp 4`: `--strategy 'tp 4'`
            message = f"{message}: {note}"     # `--rate 4 requests/s` unquoted; `check --no-search 3 p.moe`: 3 the plan
        elif unrecognised:
            wrong = next((w.partition("=")[0] for w in words if w.startswith("--")), None)
        elif message.startswith("the following arguments are required"):
            wrong = next((w.partition("=")[0] for w in getattr(self, "_argv", ())
                          if w.startswith("--") and w.partition("=")[0] not in known), None)
            if wrong is None and (took := optional_value_note(command, list(getattr(self, "_argv", ())))):
                message = f"{message}: {took}"     # `dagc fleet --ray plan.moe`: the plan read as the address
        if wrong is not None:
            begun = [o for o in known if o.startswith(wrong)]
            close = begun if len(begun) == 1 else difflib.get_close_matches(wrong, known, n=1)
            if close and unrecognised:
                message += f" (did you mean `{close[0]}`? dagc reads options written whole)"
            elif close:
                message += f"; `{wrong}` is not an option (did you mean `{close[0]}`? dagc reads options written whole)"
        if command is not self:
            argparse.ArgumentParser.error(command, message)
        super().error(message)

    # argparse's three forms, as typeshed writes them: a new namespace, or the one given filled in
    @overload
    def parse_known_args(self, args: Iterable[str] | None = None,
                         namespace: None = None) -> tuple[argparse.Namespace, list[str]]: ...

    @overload
    def parse_known_args(self, args: Iterable[str] | None, namespace: _N) -> tuple[_N, list[str]]: ...

    @overload
    def parse_known_args(self, *, namespace: _N) -> tuple[_N, list[str]]: ...

    def parse_known_args(self, args: Iterable[str] | None = None,
                         namespace: _N | None = None) -> tuple[argparse.Namespace | _N, list[str]]:
        self._argv = list(sys.argv[1:] if args is None else args)      # what `error` reads the command from
        parsed, self._left = super().parse_known_args(args, namespace)   # the words `error` is told of, unsplit
        return parsed, self._left

    def _command(self) -> argparse.ArgumentParser:
        """The parser of the command written on the command line being parsed (`dagc kernels import`'s, a
        command's own), else this one."""
        parser, argv = self, list(getattr(self, "_argv", ()))
        while True:
            sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
            at = next((k for k, w in enumerate(argv) if sub is not None and w in sub.choices), None)
            if sub is None or at is None:
                return parser
            parser, argv = sub.choices[argv[at]], argv[at + 1:]


def _options(*parsers: argparse.ArgumentParser) -> set[str]:
    return {o for p in parsers for a in p._actions for o in a.option_strings if o.startswith("--")}


def build_parser() -> argparse.ArgumentParser:
    """The parser of `dagc` and every command."""
    p = _Parser(prog="dagc", description="Check and compile parallel deployment strategies "
                                "of Mixture-of-Experts models.", epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action=_Version, help="show program's version number and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    c, co, se = _add_check(sub), _add_compile(sub), _add_search(sub)
    _add_shared_options(c, co, se)
    _add_other_commands(sub)
    return p



def _add_check(sub: argparse._SubParsersAction[_Parser]) -> argparse.ArgumentParser:
    """`dagc check` and the options of its own."""
    c = sub.add_parser("check", help="check a plan: legality, GPUs, memory, requirements",
                       epilog="example: dagc check examples/mixtral-8x7b-1node.moe --format json",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("plan", help="the .moe plan file")
    c.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    c.add_argument("--strategy", metavar="EXPR", action=once.Once,
                   help='check this strategy instead of the plan\'s, e.g. "tp 4 ; ep 8"')
    c.set_defaults(func=commands.cmd_check)
    return c


def _add_compile(sub: argparse._SubParsersAction[_Parser]) -> argparse.ArgumentParser:
    """`dagc compile` and the options of its own."""
    co = sub.add_parser("compile", help="check, build and schedule the DAG; write reports, dag.json, dag.svg, "
                        "placement.svg and trace.json.gz",
                        epilog="example: dagc compile examples/10b-moe-pp16-ep16-256gpu.moe -o out/10b-moe",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    co.add_argument("plan", help="the .moe plan file")
    co.add_argument("-o", "--output", metavar="DIR", type=output_dir_or_default,
                    help="output directory, made with its parents when missing (default out/<plan>)")
    co.add_argument("--strategy", metavar="EXPR", action=once.Once, help="compile this strategy instead of the plan's")
    co.add_argument("--format", choices=("text", "json"), default="text",
                    help="what to print: a summary (text) or the report objects (json)")
    co.add_argument("--graph-detail", choices=GRAPH_DETAILS, default="summary",
                    help="dag.svg detail: summary (one layer per stage expanded), layers, full, ranks")
    co.add_argument("--all-ranks", action="store_true",
                    help="trace every GPU (default: all up to 32 GPUs, else representative ranks)")
    co.add_argument("--trace-format", choices=("gzip", "json"), default="gzip",
                    help="trace.json.gz, which Perfetto opens as it is (default), or plain trace.json")
    co.add_argument("--gzip", action="store_const", const="gzip", dest="trace_format",
                    help=argparse.SUPPRESS)    # the older spelling: gzip is now the default
    co.add_argument("--dot-timeout", type=_seconds, default=60.0, metavar="S",
                    help="stop Graphviz after S seconds and keep dag.dot (default 60)")
    co.add_argument("--output-budget", type=_positive_int, default=None, metavar="BYTES",
                    help="the most one compile writes in all; past it nothing is replaced (default 2 GiB)")
    co.set_defaults(func=commands.cmd_compile)
    return co


def _add_search(sub: argparse._SubParsersAction[_Parser]) -> argparse.ArgumentParser:
    """`dagc search` and the options of its own."""
    se = sub.add_parser("search", help="search every legal strategy on the plan's cluster and rank them",
                        epilog="example: dagc search examples/10b-moe-pp16-ep16-256gpu.moe --top 5",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    se.add_argument("plan", help="the .moe plan file")
    se.add_argument("--objective", choices=OBJECTIVES, default=None,
                    help="what to optimise (default: the plan's `objective`, else decode output tokens/s per GPU), "
                    "always subject to `require`")
    se.add_argument("--top", type=_positive_int, default=10, metavar="N",
                    help="how many candidates to show (default 10)")
    se.add_argument("--format", choices=("text", "json"), default="text",
                    help="what to print: the ranking (text) or its JSON document (json, docs/outputs.md)")
    se.add_argument("--jobs", type=_positive_int, default=None, metavar="N",
                    help=SEARCH_JOBS_HELP)
    where = se.add_mutually_exclusive_group()
    where.add_argument("-o", "--output", metavar="DIR", type=output_dir_or_default,
                       help="output directory for the Pareto plot (DIR/pareto.svg), made with its parents when missing "
                       "and kept as compile keeps its own: a dagc output directory, its marker listing the plot "
                       "(default out/<plan>)")
    where.add_argument("--svg", metavar="FILE", help="where to write the Pareto plot, its directory made with its "
                       "parents when missing (default out/<plan>/pareto.svg)")
    se.add_argument("--search-budget", type=_seconds, default=None, metavar="S",
                    help="stop after S seconds (the candidates are visited best bound first; with --vary batch fewest "
                    "GPUs first, under ttft, tpot and throughput most) (default: evaluate every candidate)")
    # its name before check and compile took --search-budget: still read, no longer shown
    se.add_argument("--budget", type=_seconds, dest="search_budget", metavar="S", help=argparse.SUPPRESS)
    se.add_argument("--vary", choices=("batch", "speculative"), default=None, action=once.Once,
                    help="`batch`: compare every strategy at the largest batch it serves within memory and the "
                    "require block (as `batch = max` in the plan); `speculative`: compare 1 to 5 tokens drafted "
                    "per step (the plan's `speculative` block with its `acceptance`)")
    se.add_argument("--rate", type=_rate, default=None, metavar="R",
                    help="also simulate the best strategies under R requests/s (the plan's traffic, else 1,000 "
                    "random arrivals) and rank them by goodput per GPU; one on fewer GPUs than the cluster that falls "
                    "short again as the replicas the cluster holds")
    se.set_defaults(func=search_cmd.cmd_search)
    return se


def _add_shared_options(c: argparse.ArgumentParser, co: argparse.ArgumentParser, se: argparse.ArgumentParser) -> None:
    """The options `check` (`c`), `compile` (`co`) and `search` (`se`) share, after their own, with check's
    `--output-budget` among them: the order `--help` lists them in."""
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
    c.add_argument("--output-budget", type=_positive_int, default=None, metavar="BYTES",
                   help="the most --requests-out writes; past it nothing is written (default 2 GiB)")
    for p_ in (c, co):
        p_.add_argument("--requests-out", metavar="FILE",
                        help="write every simulated request (the workload's traffic) as a JSON line to FILE, a file "
                        "name written in the output directory (check: out/<plan>); docs/outputs.md")
    for p_ in (co, se):
        p_.add_argument("--force", action="store_true",
                        help="replace an output directory or file that dagc cannot tell it wrote (docs/security.md)")
    for p_ in (c, co, se):
        p_.add_argument("--load-budget", type=_load_budget, default=None, metavar="EVENTS",
                        help="the engine events one simulation of the plan's traffic may take: past it the load is "
                        "not simulated and its requirements not judged (W518); `none` lifts it (default 3,000,000: "
                        "about a minute and well under 2 GB; docs/load.md)")
        p_.add_argument("--allow-path", action="append", metavar="DIR", default=[],
                        help=ALLOW_PATH_HELP)
        _add_set_and_volume(p_)


def _add_other_commands(sub: argparse._SubParsersAction[_Parser]) -> None:
    """`schema`, `explain`, `presets`, `launch`, `kernels`, `calibrate` and `fleet`."""
    sc = sub.add_parser("schema", help="print the JSON Schema of dag.json",
                        epilog="example: dagc schema > dag.schema.json")
    sc.set_defaults(func=commands.cmd_schema)
    e = sub.add_parser("explain", help="print a rule's documentation with a bad and a fixed example",
                       epilog="example: dagc explain E202")
    e.add_argument("code", help="a rule code such as E202")
    e.set_defaults(func=commands.cmd_explain)
    pr = sub.add_parser("presets", help="list the built-in models, GPUs and kernel profiles",
                        epilog="example: dagc presets --format json")
    pr.add_argument("--format", choices=("text", "json"), default="text",
                    help="text: tables; json: every preset with its fields (default text)")
    pr.set_defaults(func=commands.cmd_presets)
    _add_set(cli_launch.add_parser(sub))
    kernels_cmd.add_parser(sub)
    calibrate_cmd.add_parser(sub)
    fleet_cmd.add_fleet_parser(sub, _positive_int)

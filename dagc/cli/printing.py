"""The `dagc` command's rendering, what every command shares: a console that keeps escape sequences
off the terminal, diagnostics, the progress bar, report.json on stdout.

Input: the results of the library and a rich console. Output: text on the console. Every string
from the user passes through `shown`, so escape sequences never reach the terminal. What each
command prints is in `dagc.cli.print_check` (check, compile), `dagc.cli.print_search` and
`dagc.cli.print_presets`; arguments are `dagc.cli.parser`'s, exit codes `dagc.cli.commands`'.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, TextIO, TypedDict, Unpack

from rich.console import Console
from rich.table import Table

from ..diagnostics import Diagnostic, printable, render

# The compiler's modules are imported where they are used: `dagc presets` prints with this module
# without loading them (numpy, networkx, pydantic, lark).
if TYPE_CHECKING:
    from rich.console import JustifyMethod, OverflowMethod
    from rich.progress import Progress, TaskID
    from rich.style import Style

    from ..verdict.check import StrategyResult


def shown(text: str) -> str:
    """A text from the user (a path, a plan's names, a message quoting them) fit for a terminal,
    line by line: escape sequences and other control characters never reach it."""
    return "\n".join(printable(line) for line in text.split("\n"))


class PrintOptions(TypedDict, total=False):
    """rich's `Console.print` options, as rich types them: what `_Console.print` passes on."""

    sep: str
    end: str
    style: str | Style | None
    justify: JustifyMethod | None
    overflow: OverflowMethod | None
    no_wrap: bool | None
    emoji: bool | None
    markup: bool | None
    highlight: bool | None
    width: int | None
    height: int | None
    crop: bool
    soft_wrap: bool | None
    new_line_start: bool


class _Console(Console):
    """A rich console that passes every string it prints through `shown`."""

    def print(self, *objects: object, **options: Unpack[PrintOptions]) -> None:
        super().print(*(shown(o) if isinstance(o, str) else o for o in objects), **options)

    def on_broken_pipe(self) -> None:
        """A reader gone early (`| head`): the CLI's own handler ends quietly with the command's exit
        code (rich's would exit with 1)."""
        raise BrokenPipeError


def add_shown_row(table: Table, *cells: str, style: str | None = None) -> None:
    table.add_row(*(shown(c) for c in cells), style=style)


# The width of output piped to a file or another program, when `COLUMNS` does not say one.
PIPED_WIDTH = 120
# The narrowest width the tables are drawn at when piped (docs/cli.md, "Tables at the terminal's width").
NARROWEST = 80


def make_console(stream: TextIO | None = None) -> Console:
    """A console on `stream` (stdout): a terminal's at its width, piped output at `COLUMNS` (as a terminal
    sets it) or PIPED_WIDTH; the tables fit that width (`dagc.cli.tables`)."""
    stream = stream or sys.stdout
    tty = stream.isatty()
    columns = os.environ.get("COLUMNS", "")
    asked = int(columns) if columns.isascii() and columns.isdigit() and len(columns) <= 4 else 0
    # piped, never narrower than the tables are drawn whole at: COLUMNS=40 broke a figure down its cell (until
    # 2026-12-03, "11 / .7 / 8 / ms")
    width = None if tty else max(asked, NARROWEST) if asked else PIPED_WIDTH
    # on a terminal a long line wraps between words at its width; piped, a line stays whole (for grep and diff).
    # No console markup: a plan's names (a GPU called `[/]`, `[link=…]`) are printed as written, in every string
    # and every table's title, cell and caption (until 2026-11-30 rich parsed them: a traceback, or live styles)
    # NO_COLOR (no-color.org: set and not empty) keeps colours off a terminal too; bold stays. rich reads it itself
    # only when `no_color` is not given (until 2026-12-02 a terminal got red errors and cyan notes whatever it said)
    # Whether it is a terminal is the stream's to say, not FORCE_COLOR's or TTY_COMPATIBLE's, which rich reads when
    # `force_terminal` is not given (until 2026-12-03 a CI template's FORCE_COLOR=1 put bold escapes in piped output)
    no_color = not tty or os.environ.get("NO_COLOR", "") != ""
    return _Console(file=stream, width=width, no_color=no_color, highlight=False, soft_wrap=not tty, emoji=False,
                    markup=False, force_terminal=tty)


def render_diags(console: Console, diags: Iterable[Diagnostic]) -> None:
    for d in diags:
        style = {"error": "bold red", "warning": "yellow", "note": "cyan"}[d.severity.value]
        console.print(render(d), style=style if console.is_terminal else None, markup=False, highlight=False,
                      soft_wrap=True)        # a source line and its caret are never wrapped apart
        console.print()


class ProgressBar:
    """A rich progress bar that appears only once the work has taken more than a second."""

    task: TaskID                   # the bar's task, once the bar is shown
    # rich.progress is imported with the first bar: most runs never show one (a tenth of the
    # start-up of a `dagc check` that takes a second)

    def __init__(self, label: str):
        self.label = label
        self.t0 = time.perf_counter()
        self.bar: Progress | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            if time.perf_counter() - self.t0 < 1.0 or not sys.stderr.isatty():
                return
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
            self.bar = Progress(TextColumn(self.label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                console=Console(file=sys.stderr, force_terminal=True), transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=total)
        self.bar.update(self.task, completed=done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def print_reports(results: list[StrategyResult]) -> None:
    """report.json objects on stdout: one object, or a list when the plan has several strategies."""
    from ..export.report import report_json
    objs = [report_json(r) for r in results]
    print(json.dumps(objs[0] if len(objs) == 1 else objs, indent=2, allow_nan=False))


def is_input_error(d: Diagnostic) -> bool:
    """E0xx and E1xx: the plan could not be read as written (exit 4, shown on stderr), wherever
    the pass that found it runs — a misspelt axis in a strategy is as much a typo as a misspelt field."""
    return d.is_error and d.code[:2] in ("E0", "E1")



def output_failed(console: Console, exc: Exception, where: object, verb: str = "cannot write to") -> int:
    """Say on `console` why an output could not be written, and return the exit code for it (5): an
    `OutputError` (an output dagc refuses to write or could not write, `dagc.export.write`) in its own words,
    which name the path and why; another `OSError` as `error: cannot write to WHERE: why` (`verb`: the words
    before `where`). Every command that writes an output directory or a file in one says it this way."""
    from ..exit_codes import EXIT_OUTPUT
    from ..export.write import OutputError
    if isinstance(exc, OutputError):
        console.print(f"error: {exc}", markup=False)
    else:
        console.print(f"error: {verb} {where}: {getattr(exc, 'strerror', None) or exc}", markup=False)
    return EXIT_OUTPUT

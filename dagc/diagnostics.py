"""Diagnostics: what every pass returns, and the one place that draws carets.

A `Diagnostic` is data (code, severity, message, span, hint). Passes return them; the
library raises only `PlanError`, which carries them; the CLI renders them with `render`.

Everything a diagnostic prints is bounded, whatever the input: a message or hint is at
most `MAX_MESSAGE_CHARS` characters (user text quoted in it at most `MAX_QUOTE_CHARS`, see
`quote`), the echoed source line at most `MAX_ECHO_CHARS` around the caret, and a list of
diagnostics at most `MAX_DIAGNOSTICS` plus one note counting the rest (`cap`).
"""

from __future__ import annotations

import enum
import shlex
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .source import Span, display_width

if TYPE_CHECKING:
    from .jsontypes import JSONObject

__all__ = [
    "path_word",
    "MAX_DIAGNOSTICS",
    "MAX_ECHO_CHARS",
    "MAX_MESSAGE_CHARS",
    "MAX_QUOTE_CHARS",
    "TRUNCATED_CODE",
    "Diagnostic",
    "PlanError",
    "Severity",
    "cap",
    "code",
    "has_errors",
    "printable",
    "quote",
    "render",
    "render_all",
]

MAX_DIAGNOSTICS = 50        # diagnostics kept per plan or per strategy; the rest become one note
MAX_MESSAGE_CHARS = 1_000   # bounds a message or hint quoting user text; dagc's own words stay well under it
MAX_QUOTE_CHARS = 60        # user text quoted inside a message (names, values, tokens)
MAX_ECHO_CHARS = 200        # characters of the source line echoed under the location
TRUNCATED_CODE = "N001"     # the note that stands for the diagnostics beyond MAX_DIAGNOSTICS


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


def printable(text: str) -> str:
    """Text fit for a terminal: control characters (escape sequences, newlines, binary junk)
    become U+FFFD; tabs become one space, keeping the column.

    Example:
        >>> printable("plan\x1b[31m.moe")
        'plan\ufffd[31m.moe'
    """
    shown = "".join(ch if ch.isprintable() or ch == "\t" else "\N{REPLACEMENT CHARACTER}" for ch in text)
    return shown.replace("\t", " ")


def path_word(path: str) -> str:
    """`path` as one shell word that no parser takes for an option, for a command dagc prints for pasting
    (`dagc.cli.shell_words` says why each part).

    Example:
        >>> path_word("my plans/q.moe"), path_word("-q.moe"), path_word("/abs/-q.moe"), path_word("a\\nb.moe")
        ("'my plans/q.moe'", './-q.moe', '/abs/-q.moe', "'a�b.moe'")
    """
    return printable(shlex.quote("./" + path if path.startswith("-") else path))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quote(text: str, limit: int = MAX_QUOTE_CHARS) -> str:
    """User text made fit for a message: one line, printable, at most `limit` characters.

    Example:
        >>> quote("tp 2 " * 100, 12)
        'tp 2 tp 2 t…'
    """
    text = str(text)
    if len(text) <= limit and text.isprintable():
        return text
    return _cut(printable(" ".join(text.split()) if "\n" in text else text), limit)


def code(text: str, limit: int = MAX_QUOTE_CHARS) -> str:
    """User text (`quote`d) as a CommonMark code span in a message: fenced by one backtick more than its
    longest run of backticks, padded with a space when it starts or ends with one, so a name holding
    backticks cannot end its span early in report.md (`dagc.export.md_escape.md_prose` keeps such spans).

    Example:
        >>> code("tiny"), code("a`b"), code("`x")
        ('`tiny`', '``a`b``', '`` `x ``')
    """
    text = quote(text, limit)
    run = longest = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


@dataclass(frozen=True)
class Diagnostic:
    """One finding about a plan, located at `span` (None: about the plan as a whole).

    The message and hint are made printable and cut to `MAX_MESSAGE_CHARS` on construction.
    """

    code: str
    severity: Severity
    message: str
    span: Span | None = None
    hint: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", quote(self.message, MAX_MESSAGE_CHARS))
        if self.hint is not None:
            object.__setattr__(self, "hint", quote(self.hint, MAX_MESSAGE_CHARS))

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_json(self) -> JSONObject:
        """The report.json form: {code, severity, message, file, line, column, hint}.

        `file` is the file the location is in: the plan, or a config.json it imports.
        """
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "file": self.span.source.path if self.span else None,
            "line": self.span.line if self.span else None,
            "column": self.span.column if self.span else None,
            "hint": self.hint,
        }


def cap(diagnostics: Iterable[Diagnostic], limit: int = MAX_DIAGNOSTICS) -> list[Diagnostic]:
    """At most `limit` diagnostics (errors kept before warnings and notes, source order
    preserved), then one note `N001` counting the rest by code. Idempotent.

    Example:
        >>> from dagc.source import SourceFile
        >>> src = SourceFile("p.moe", "strategy " + "tp 2 " * 60)
        >>> ds = [Diagnostic("E204", Severity.ERROR, "`tp` is repeated", src.span(14 + 5 * i, 16 + 5 * i))
        ...       for i in range(59)]
        >>> kept = cap(ds)
        >>> len(kept), kept[-1].code, kept[-1].message
        (51, 'N001', 'and 9 more diagnostics not shown (E204 ×9)')
    """
    diags = list(diagnostics)
    if len(diags) <= limit or (len(diags) == limit + 1 and diags[-1].code == TRUNCATED_CODE):
        return diags
    chosen = sorted(sorted(range(len(diags)), key=lambda i: (not diags[i].is_error, i))[:limit])
    chosen_set = set(chosen)
    dropped = [d for i, d in enumerate(diags) if i not in chosen_set]
    counts = Counter(d.code for d in dropped)
    by_code = ", ".join(f"{code} ×{n:,}" for code, n in sorted(counts.items())[:10])
    where = next((d.span for d in dropped if d.span is not None), None)
    note = Diagnostic(TRUNCATED_CODE, Severity.NOTE, f"and {len(dropped):,} more diagnostics not shown ({by_code})",
                      where, f"dagc shows at most {limit} diagnostics at a time; fix these first")
    return [diags[i] for i in chosen] + [note]


class PlanError(Exception):
    """Raised by the library when a plan cannot go further; carries its diagnostics (capped)."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = cap(diagnostics)
        super().__init__(_headline(self.diagnostics[0]) if self.diagnostics else "invalid plan")


def _headline(d: Diagnostic) -> str:
    """A `PlanError`'s text: its first diagnostic's header line as `render` gives it — `p.moe:3:24: error[E101]: …`,
    located — or its message alone where that spans lines. Until 2026-12-03 the message alone, without its place
    (`unknown field `promt` in workload`), where the README promises located diagnostics."""
    header = render(d).split("\n", 1)[0]
    return header if "\n" not in d.message else d.message


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)


def render(diag: Diagnostic, path: str | None = None) -> str:
    """Render one diagnostic rustc-style: location, source line, caret, help.

    The source line is not echoed for a file that is not a plan (`SourceFile.echo` False).
    A long line is shown as a window of `MAX_ECHO_CHARS` around the caret; the caret is
    placed in display columns (a CJK character takes two).

    Example:
        >>> from dagc.source import SourceFile
        >>> src = SourceFile("p.moe", "strategy tp 2 ep 4\\n")
        >>> d = Diagnostic("E202", Severity.ERROR, "shared GPUs", src.span(14, 18), "use `;`")
        >>> print(render(d))
        p.moe:1:15: error[E202]: shared GPUs
           |
         1 | strategy tp 2 ep 4
           |               ^^^^
           = help: use `;`
    """
    head = f"{diag.severity.value}[{diag.code}]: {diag.message}"
    lines = []
    if diag.span is None:
        lines.append(f"{path}: {head}" if path else head)
    else:
        src = diag.span.source
        line, col = src.line_col(diag.span.start)
        lines.append(f"{printable(quote(src.path, 2 * MAX_ECHO_CHARS))}:{line}:{col}: {head}")
        if src.echo:
            lines.extend(_echo(diag.span, line, col))
            if src.changed_line(line):
                options = printable(quote(", ".join(src.overrides_on(line)), 2 * MAX_ECHO_CHARS))
                # until 2026-11-30 "the line as --set … makes it, not as the file has it"
                lines.append(f"{' ' * (len(str(line)) + 2)}= note: this line is shown with --set {options} applied, "
                             "not as the file has it")
    if diag.hint:
        gutter = " " * (len(str(diag.span.line)) + 2) if diag.span else "  "
        lines.append(f"{gutter}= help: {diag.hint}")
    return "\n".join(lines)


def _echo(span: Span, line: int, col: int) -> list[str]:
    src = span.source
    text = src.line_text(line)
    start = col - 1
    end_line, end_col = src.line_col(max(span.start, span.end - 1))
    end = end_col if end_line == line else len(text)
    end = max(end, start + 1)
    lo, hi = 0, len(text)
    if len(text) > MAX_ECHO_CHARS:
        lo = max(0, min(start - MAX_ECHO_CHARS // 3, len(text) - MAX_ECHO_CHARS))
        hi = lo + MAX_ECHO_CHARS
    before = ("…" if lo > 0 else "") + printable(text[lo:start])
    marked = printable(text[start:min(end, hi)])
    shown = before + marked + printable(text[min(end, hi):hi]) + ("…" if hi < len(text) else "")
    gutter = len(str(line)) + 1
    return [" " * gutter + " |",
            f"{line:>{gutter}} | {shown}",
            " " * gutter + " | " + " " * display_width(before) + "^" * max(1, display_width(marked))]


def render_all(diagnostics: Iterable[Diagnostic], path: str | None = None) -> str:
    """Every diagnostic rendered (at most `MAX_DIAGNOSTICS` and a note), blank-line separated."""
    return "\n\n".join(render(d, path) for d in cap(diagnostics))

"""Diagnostics: what every pass returns, and the one place that draws carets.

A `Diagnostic` is data (code, severity, message, span, hint). Passes return them; the
library raises only `PlanError`, which carries them; the CLI renders them with `render`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Iterable

from .source import Span

__all__ = ["Severity", "Diagnostic", "PlanError", "render", "render_all", "has_errors"]


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True)
class Diagnostic:
    """One finding about a plan, located at `span` (None: about the plan as a whole)."""

    code: str
    severity: Severity
    message: str
    span: Span | None = None
    hint: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_json(self) -> dict:
        """The report.json form: {code, severity, message, line, column, hint}."""
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "line": self.span.line if self.span else None,
            "column": self.span.column if self.span else None,
            "hint": self.hint,
        }


class PlanError(Exception):
    """Raised by the library when a plan cannot go further; carries its diagnostics."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = list(diagnostics)
        first = self.diagnostics[0].message if self.diagnostics else "invalid plan"
        super().__init__(first)


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)


def render(diag: Diagnostic, path: str | None = None) -> str:
    """Render one diagnostic rustc-style: location, source line, caret, help.

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
        lines.append(f"{src.path}:{line}:{col}: {head}")
        text = src.line_text(line)
        shown = _printable(text[:200])
        end_line, end_col = src.line_col(max(diag.span.start, diag.span.end - 1))
        width = (end_col - col + 1) if end_line == line else max(1, len(text) - col + 1)
        width = max(1, min(width, max(1, len(shown) - col + 1)))
        gutter = len(str(line)) + 1
        lines.append(" " * gutter + " |")
        lines.append(f"{line:>{gutter}} | {shown}")
        lines.append(" " * gutter + " | " + " " * (col - 1) + "^" * width)
    if diag.hint:
        gutter = " " * (len(str(diag.span.line)) + 2) if diag.span else "  "
        lines.append(f"{gutter}= help: {diag.hint}")
    return "\n".join(lines)


def render_all(diagnostics: Iterable[Diagnostic], path: str | None = None) -> str:
    return "\n\n".join(render(d, path) for d in diagnostics)


def _printable(text: str) -> str:
    # Binary junk must not reach the terminal as control characters; tabs keep their column.
    return "".join(ch if ch.isprintable() or ch == "\t" else "\N{REPLACEMENT CHARACTER}" for ch in text).replace("\t", " ")

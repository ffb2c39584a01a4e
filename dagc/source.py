"""Source files and spans.

Input: the text of a plan (or of a JSON file it imports). Output: `SourceFile` and
`Span`, byte-offset ranges whose line and column are computed on demand, so that every
diagnostic can point at the exact characters that caused it.

Line endings are normalised on construction (`\\r\\n` and a lone `\\r` become `\\n`), so
lines, columns and comments are right whatever editor wrote the file.
"""

from __future__ import annotations

import bisect
import unicodedata
from dataclasses import dataclass, field

__all__ = ["SourceFile", "Span", "display_width", "normalise_newlines"]


def normalise_newlines(text: str) -> str:
    """`\\r\\n` and lone `\\r` → `\\n`.

    Example:
        >>> normalise_newlines("a\\r\\nb\\rc")
        'a\\nb\\nc'
    """
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def display_width(text: str) -> int:
    """Terminal columns taken by `text`: wide and full-width characters take two, combining marks none.

    Example:
        >>> display_width("模型 a")
        6
    """
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


@dataclass(frozen=True)
class SourceFile:
    """A named text with a line index.

    `echo` is False for files that are not plans (an imported config.json, or a file that
    could not be read): diagnostics located in them keep file:line:col but never print
    their content.

    Example:
        >>> src = SourceFile("plan.moe", "a\\r\\nbc\\n")
        >>> src.line_col(2)
        (2, 1)
    """

    path: str
    text: str
    echo: bool = True
    _line_starts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", normalise_newlines(self.text))
        starts = [0]
        starts.extend(i + 1 for i, ch in enumerate(self.text) if ch == "\n")
        object.__setattr__(self, "_line_starts", tuple(starts))

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset (clamped to the text)."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return line + 1, offset - self._line_starts[line] + 1

    def line_text(self, line: int) -> str:
        """The text of a 1-based line, without its newline."""
        start = self._line_starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start:] if end < 0 else self.text[start:end]

    def span(self, start: int, end: int | None = None) -> Span:
        """A span of this file from offset `start` to `end` (exclusive)."""
        return Span(self, start, start + 1 if end is None else end)

    def whole(self) -> Span:
        """A span for the file as a whole (its first character)."""
        return Span(self, 0, min(1, len(self.text)))


@dataclass(frozen=True)
class Span:
    """A half-open range of character offsets in a `SourceFile`."""

    source: SourceFile = field(repr=False, compare=False)
    start: int
    end: int

    @property
    def line(self) -> int:
        return self.source.line_col(self.start)[0]

    @property
    def column(self) -> int:
        return self.source.line_col(self.start)[1]

    @property
    def text(self) -> str:
        return self.source.text[self.start : self.end]

    def to(self, other: Span) -> Span:
        """The span from the start of this one to the end of `other`."""
        return Span(self.source, min(self.start, other.start), max(self.end, other.end))

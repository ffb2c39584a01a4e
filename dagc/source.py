"""Source files and spans.

Input: the text of a plan (or of a JSON file it imports). Output: `SourceFile` and
`Span`, byte-offset ranges whose line and column are computed on demand, so that every
diagnostic can point at the exact characters that caused it.

Line endings are normalised on construction (`\\r\\n` and a lone `\\r` become `\\n`), so
lines, columns and comments are right whatever editor wrote the file.
"""

from __future__ import annotations

import bisect
import os
import stat
import unicodedata
from dataclasses import dataclass, field

__all__ = ["SourceFile", "Span", "Unreadable", "display_width", "file_kind", "normalise_newlines", "read_capped",
           "read_regular"]

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)


class Unreadable(Exception):
    """Why `read_regular` read nothing: the path is `missing`, or is `kind` (what it is instead of a regular
    file, in words), or cannot be read for `reason` (the system's words). Each caller says it its own way."""

    def __init__(self, *, missing: bool = False, kind: str | None = None, reason: str | None = None) -> None:
        super().__init__(kind or reason or "missing")
        self.missing, self.kind, self.reason = missing, kind, reason


def file_kind(mode: int) -> str | None:
    """What a non-regular file is, in words (None for a regular file).

    Example:
        >>> file_kind(stat.S_IFDIR), file_kind(stat.S_IFIFO), file_kind(stat.S_IFREG) is None
        ('a directory', 'a pipe (FIFO)', True)
    """
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"          # a named one or standard input's (`/dev/stdin` from a pipe)
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"  # pragma: no cover - doors, whiteouts


def read_capped(fd: int, limit: int, lines: int | None = None) -> bytes:
    """At most `limit` bytes from `fd` (whatever the file claims its size is); given `lines`, no more chunks once
    that many lines have ended (a request log's first N requests: the rest of a large file is never read)."""
    chunks: list[bytes] = []
    got = ends = 0
    while got < limit:
        chunk = os.read(fd, min(1 << 20, limit - got))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
        if lines is not None:
            ends += chunk.count(b"\n")
            if ends >= lines:
                break
    return b"".join(chunks)


def read_regular(path: str | os.PathLike[str], limit: int, lines: int | None = None) -> bytes:
    """At most `limit` bytes of the regular file at `path`, whatever its size says: a device, FIFO, socket or
    directory is refused before it is opened for reading, the file is opened without blocking (a FIFO swapped in
    cannot block) and checked again on the open descriptor. A caller passes its bound + 1 to tell a file past it;
    `lines`: enough once that many lines have ended (`read_capped`).

    Raises:
        Unreadable: the path is missing, not a regular file, or cannot be read.
    """
    try:
        kind = file_kind(os.stat(path).st_mode)
        if kind is not None:
            raise Unreadable(kind=kind)
        fd = os.open(path, _OPEN_FLAGS)
        try:
            kind = file_kind(os.fstat(fd).st_mode)
            if kind is not None:
                raise Unreadable(kind=kind)
            return read_capped(fd, limit, lines)
        finally:
            os.close(fd)
    except FileNotFoundError:
        raise Unreadable(missing=True) from None
    except (OSError, ValueError) as exc:       # ValueError: a NUL byte in the path
        raise Unreadable(reason=exc.strerror if isinstance(exc, OSError) and exc.strerror else "invalid path") from None


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
    # a plan's text with `--set` options written into it (`dagc.lang.overrides`): the options, and the file's own
    # text, so that a line the options changed is said to be theirs, not the file's
    overrides: tuple[str, ...] = ()
    original: str | None = field(default=None, repr=False, compare=False)
    # where each option wrote its text into `text`: (start, end, the option), to name the options of one line
    placed: tuple[tuple[int, int, str], ...] = field(default=(), repr=False, compare=False)
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

    def changed_line(self, line: int) -> bool:
        """Whether `--set` options changed this 1-based line from the file's (`overrides`; the options write their
        values within a line, or add lines at the end)."""
        if self.original is None:
            return False
        lines = normalise_newlines(self.original).split("\n")
        return line > len(lines) or lines[line - 1] != self.line_text(line)

    def overrides_on(self, line: int) -> tuple[str, ...]:
        """The `--set` options that wrote into this 1-based line (`placed`), in their order; all of them when none
        is known to (a line they changed otherwise, or a text made without `placed`)."""
        start = self._line_starts[line - 1]
        end = start + len(self.line_text(line))
        on = tuple(dict.fromkeys(o for a, b, o in self.placed if a <= end and b >= start))
        return on or self.overrides

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

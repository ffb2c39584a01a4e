"""Colours on a terminal, and `NO_COLOR` (docs/cli.md, "Output streams").

Until 2026-12-02 the console was told `no_color=not tty`, which overrides rich's own reading of `NO_COLOR`: a CI
job's pseudo-terminal (`script`, `docker run -t`) with `NO_COLOR=1` still got red errors and cyan notes.
"""

from __future__ import annotations

import io
import re

import pytest

from dagc.cli.printing import make_console, render_diags
from dagc.diagnostics import Diagnostic, Severity

# an SGR sequence that sets a colour: 30–37, 90–97 (a foreground), 40–47 (a background), 38;… / 48;… (256 or RGB)
COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-8]|4[0-8]|9[0-7])(?:;[0-9;]*)?m")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _drawn(stream: io.StringIO) -> str:
    render_diags(
        make_console(stream),
        [
            Diagnostic(code="E202", severity=Severity.ERROR, message="broken"),
            Diagnostic(code="N602", severity=Severity.NOTE, message="a note"),
        ],
    )
    return stream.getvalue()


def test_a_terminal_gets_colours_without_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    text = _drawn(Terminal())
    assert "\x1b[1;31m" in text and "\x1b[36m" in text  # bold red error, cyan note


@pytest.mark.parametrize("value", ["1", "0", "false", "yes"])
def test_no_color_keeps_colours_off_a_terminal(monkeypatch, value):
    """Any value but the empty string (no-color.org); bold stays."""
    monkeypatch.setenv("NO_COLOR", value)
    monkeypatch.setenv("TERM", "xterm-256color")
    text = _drawn(Terminal())
    assert "error[E202]: broken" in text and "note[N602]: a note" in text
    assert not COLOUR.search(text), repr(text)
    assert "\x1b[1m" in text


def test_an_empty_no_color_is_not_set(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "")
    monkeypatch.setenv("TERM", "xterm-256color")
    assert COLOUR.search(_drawn(Terminal()))


def test_piped_output_holds_no_escape_sequence(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    text = _drawn(io.StringIO())
    assert "\x1b" not in text and "error[E202]: broken" in text


@pytest.mark.parametrize("switch", [{"FORCE_COLOR": "1"}, {"TTY_COMPATIBLE": "1"},
                                    {"FORCE_COLOR": "1", "NO_COLOR": "1"}])
def test_piped_output_holds_no_escape_whatever_the_environment_says(monkeypatch, switch):
    """A CI template's FORCE_COLOR=1 (or TTY_COMPATIBLE=1), which rich reads on its own, put bold escapes in piped
    output until 2026-12-03 (docs/cli.md: piped output never holds an escape sequence; docs/security.md: no
    environment switch)."""
    for name, value in switch.items():
        monkeypatch.setenv(name, value)
    text = _drawn(io.StringIO())
    assert "error[E202]: broken" in text and "\x1b" not in text, repr(text)


@pytest.mark.parametrize("columns, width", [("40", 80), ("79", 80), ("100", 100), ("", 120)])
def test_piped_output_is_never_drawn_narrower_than_80(monkeypatch, columns, width):
    """COLUMNS=40 broke a figure down its cell ("11 / .7 / 8 / ms") until 2026-12-03: 80 is the narrowest the
    tables are drawn whole at (docs/cli.md)."""
    monkeypatch.setenv("COLUMNS", columns)
    assert make_console(io.StringIO()).width == width

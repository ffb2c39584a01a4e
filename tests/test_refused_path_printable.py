"""The summary line of a plan refused before any work (`error: PLAN: 1 error; nothing was checked`) shows the plan's
path as the diagnostics' headers do, its control characters as U+FFFD: a file name with a newline or an escape
sequence printed raw broke the line in two, or coloured the terminal."""

from __future__ import annotations

import pytest

from conftest import run_dagc


@pytest.mark.parametrize("command", ["check", "compile", "search", "launch"])
def test_a_path_with_a_newline_and_an_escape_is_shown_printable(command, tmp_path):
    plan = tmp_path / "p\x1b[31m\nline2.moe"
    plan.write_text('model preset "mixtral-8x7" { layers = 32 }\n')
    extra = ["-o", str(tmp_path / "out")] if command == "compile" else []
    done = run_dagc(command, str(plan), *extra, cwd=tmp_path)
    last = done.stderr.rstrip("\n").splitlines()[-1]
    assert last.startswith("error: ") and "\ufffd[31m\ufffdline2.moe: " in last, done.stderr[-400:]
    assert "\x1b" not in done.stderr

"""A plan's path written into a command line dagc prints for pasting (`check it: dagc check PATH …`, `try: dagc
launch PATH …`) shows its control characters as U+FFFD: a file named with a newline printed a `check it:` line of
`dagc search --rate` whose path began a line of its own (a line that was not dagc's), and one with an escape
sequence wrote it to the terminal."""

from __future__ import annotations

from dagc.cli.print_rate import check_command
from dagc.cli.shell_words import path_word


def test_a_path_with_a_newline_or_an_escape_stays_one_line_of_text():
    line = check_command("a\nFORGED.moe")
    assert "\n" not in line and line == "dagc check 'a\ufffdFORGED.moe'"
    assert path_word("plan\x1b[31m.moe") == "'plan\ufffd[31m.moe'"       # no escape sequence reaches the terminal
    assert "\x1b" not in check_command("-\x1b]0;title\x07.moe")


def test_ordinary_paths_are_written_as_before():
    assert check_command("my plans/q.moe") == "dagc check 'my plans/q.moe'"
    assert path_word("-q.moe") == "./-q.moe" and path_word("plans/q.moe") == "plans/q.moe"

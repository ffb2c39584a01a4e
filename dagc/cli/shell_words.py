"""A path the user gave, written into a command line dagc prints for pasting (`try: dagc launch PLAN …`, `check it:
dagc check PLAN …`, a fleet's `dagc search PLAN …`): one shell word that dagc's own parser reads as that path.

Quoting keeps the shell from splitting or expanding it (`'my plans/q.moe'`); a path that begins with `-` is also
written `./-…`, since argparse takes a word that begins with `-` for an option, quoted or not: `dagc launch
'-q.moe' …` fails with "unrecognized arguments" where `dagc launch ./-q.moe …` reads the plan (until 2026-11-30 the
printed lines quoted such a path alone). A control character in it (a newline, an escape sequence) is shown as
U+FFFD (`dagc.diagnostics.printable`), so that the line stays one line and writes nothing to the terminal but
text: until 2026-11-30 only the "optimal means" line did so, and a file named `a⏎FORGED.moe` printed a `check it:`
line of `search --rate` whose path began a line of its own.
"""

from __future__ import annotations

from ..diagnostics import path_word

__all__ = ["path_word"]        # defined beside `printable`, for the library's hints too (E109's `dagc calibrate`)

"""A path the user gave, written into a command line dagc prints for pasting (`try: dagc launch PLAN …`, `check it:
dagc check PLAN …`, a fleet's `dagc search PLAN …`): one shell word that dagc's own parser reads as that path.

Quoting keeps the shell from splitting or expanding it (`'my plans/q.moe'`); a path that begins with `-` is also
written `./-…`, since argparse takes a word that begins with `-` for an option, quoted or not: `dagc launch
'-q.moe' …` fails with "unrecognized arguments" where `dagc launch ./-q.moe …` reads the plan (until 2026-11-30 the
printed lines quoted such a path alone).
"""

from __future__ import annotations

import shlex

__all__ = ["path_word"]


def path_word(path: str) -> str:
    """`path` as one shell word that no parser takes for an option.

    Example:
        >>> path_word("my plans/q.moe"), path_word("-q.moe"), path_word("/abs/-q.moe")
        ("'my plans/q.moe'", './-q.moe', '/abs/-q.moe')
    """
    return shlex.quote("./" + path if path.startswith("-") else path)

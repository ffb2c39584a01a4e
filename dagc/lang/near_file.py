"""The "did you mean" of a plan's missing file: the name of a file beside the path written that it is a slip of.

Shared by every statement that reads a file the user names — `calibration from`, `requests from` (the request log)
and `kernels from` (a kernel profile) — and by the paths of the command line (`near_path`: the plan of `dagc check
qwn.moe`, the run files of `dagc calibrate`; until 2026-12-02 `check the path` alone): one rule,
`dagc.lang.fields.nearest`, as every "did you mean". Names only, of the first `MAX_LISTED` entries of the directory:
no file is opened, so nothing of one is ever echoed.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path, PurePath

from ..diagnostics import printable, quote
from .fields import nearest

__all__ = ["MAX_LISTED", "MAX_NAMED", "files_in", "in_directory", "named", "near_file", "near_path"]

MAX_LISTED = 1000            # entries of the directory a missing file's near name is sought among
MAX_NAMED = 5                # files of a directory given where a file goes that a hint names
SCANNED_ENTRIES = 10_000     # entries of such a directory read for them, at most


def near_file(path: Path, written: str, statement: str) -> str | None:
    """The hint for the missing `path` (written `written` in the plan, after `statement`, e.g. `calibration from`)
    when a file beside it has a name `nearest` takes it for; None when none does, or the directory cannot be listed.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     _ = (Path(d) / "trace.csv").write_text("")
        ...     near_file(Path(d) / "trace.cvs", "logs/trace.cvs", "requests from")
        'did you mean `requests from "logs/trace.csv"`? (`trace.csv` is beside the path written)'
    """
    meant = _meant(path, written)
    return None if meant is None else f"did you mean `{statement} \"{quote(meant[0])}\"`? (`{quote(meant[1])}` is " \
        "beside the path written)"


def near_path(path: str) -> str | None:
    """The hint for a missing file given on the command line as `path`, when a file beside it has a name `nearest`
    takes it for; None otherwise.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     _ = (Path(d) / "qwen.moe").write_text("")
        ...     near_path(f"{d}/qwn.moe").replace(d, "D")
        'did you mean `D/qwen.moe`? (`qwen.moe` is beside the path given)'
    """
    meant = _meant(Path(path), path)
    return None if meant is None else f"did you mean `{quote(meant[0])}`? (`{quote(meant[1])}` is beside the path " \
        "given)"


def _meant(path: Path, written: str) -> tuple[str, str] | None:
    """`written` with its last part the name of the file beside `path` it is a slip of, and that name; None when none
    is, or the directory cannot be listed."""
    try:
        names = [p.name for p in itertools.islice(path.parent.iterdir(), MAX_LISTED) if p.is_file()]
    except OSError:
        return None
    near = nearest(path.name, names)
    if near is None:
        return None
    return written[: len(written) - len(PurePath(written).name)] + near, near


def files_in(directory: Path, suffixes: tuple[str, ...]) -> list[str] | None:
    """The names of the regular files in `directory` whose names end with one of `suffixes` (lower case, as the names
    are compared), in name order, among its first `SCANNED_ENTRIES` entries; None when it cannot be listed. Names
    only: no file is opened."""
    try:
        with os.scandir(directory) as entries:
            return sorted(e.name for e in itertools.islice(entries, SCANNED_ENTRIES)
                          if e.name.lower().endswith(suffixes) and e.is_file())
    except OSError:
        return None


def named(names: list[str]) -> str:
    """The first `MAX_NAMED` of `names` for a hint, printable, and how many more.

    Example:
        >>> named(["a.csv"]), named(["a.csv", "b.csv"]), named([f"{i}.csv" for i in range(7)])
        ('a.csv', 'a.csv and b.csv', '0.csv, 1.csv, 2.csv, 3.csv, 4.csv and 2 more')
    """
    shown = [printable(n) for n in names[:MAX_NAMED]]
    if len(names) > len(shown):
        return ", ".join(shown) + f" and {len(names) - len(shown):,} more"
    return ", ".join(shown[:-1]) + " and " + shown[-1] if len(shown) > 1 else ", ".join(shown)


def in_directory(path: Path, written: str, statement: str, suffixes: tuple[str, ...], what: str,
                 otherwise: str | None = None) -> str:
    """The hint for a directory `path` (written `written` in the plan, after `statement`) where a file goes: the files
    in it that could be meant (`files_in`: names ending with `suffixes`, `what` they are), the first as the statement
    to write; `otherwise` when it holds none (or cannot be listed), else that it holds none of `what`.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     for n in ("b.jsonl", "a.csv", "notes.txt"): _ = (Path(d) / n).write_text("")
        ...     in_directory(Path(d), "logs", "requests from", (".csv", ".jsonl"), "request logs")
        'name a file in it: `logs` holds a.csv and b.jsonl (`requests from "logs/a.csv"`)'
    """
    names = files_in(path, suffixes)
    shown = printable(written)
    if not names and otherwise is not None:
        return otherwise
    if names is None:
        return f"name a file in it: `{shown}` cannot be listed"
    if not names:
        return f"name a file: `{shown}` holds no {what} (files ending {named(list(suffixes)).replace(' and ', ' or ')})"
    first = PurePath(written, names[0]).as_posix()
    return f"name a file in it: `{shown}` holds {named(names)} (`{statement} \"{quote(first)}\"`)"

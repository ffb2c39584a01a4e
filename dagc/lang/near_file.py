"""The "did you mean" of a plan's missing file: the name of a file beside the path written that it is a slip of.

Shared by every statement that reads a file the user names — `calibration from`, `requests from` (the request log)
and `kernels from` (a kernel profile) — and by the paths of the command line (`near_path`: the plan of `dagc check
qwn.moe`, the run files of `dagc calibrate`; until 2026-12-02 `check the path` alone): one rule,
`dagc.lang.fields.nearest`, as every "did you mean". Names only, of the first `MAX_LISTED` entries of the directory:
no file is opened, so nothing of one is ever echoed.
"""

from __future__ import annotations

import itertools
from pathlib import Path, PurePath

from ..diagnostics import quote
from .fields import nearest

__all__ = ["MAX_LISTED", "file_inside", "near_file", "near_path"]

MAX_LISTED = 1000            # entries of the directory a missing file's near name is sought among


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


def file_inside(path: Path, written: str, statement: str, suffixes: tuple[str, ...]) -> str | None:
    """The hint for a directory `path` (written `written` after `statement`) where a file goes: the files in it whose
    names end in one of `suffixes` (names only, the first of `MAX_LISTED` entries in name order), the first written as
    the statement takes it; None when it holds none or cannot be listed. Until 2026-12-02 `requests from "logs"` was
    told "dagc reads regular files only" alone.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     for n in ("b.csv", "a.jsonl", "notes.txt"): _ = (Path(d) / n).write_text("")
        ...     file_inside(Path(d), "logs/", "requests from", (".csv", ".jsonl"))
        'logs/ holds a.jsonl and b.csv: `requests from "logs/a.jsonl"`'
    """
    try:
        names = sorted(p.name for p in itertools.islice(path.iterdir(), MAX_LISTED)
                       if p.name.lower().endswith(suffixes) and p.is_file())
    except OSError:
        return None
    if not names:
        return None
    shown = [quote(n) for n in names[:5]] + ([f"{len(names) - 5:,} more"] if len(names) > 5 else [])
    listed = ", ".join(shown[:-1]) + " and " + shown[-1] if len(shown) > 1 else shown[0]
    return f"{quote(written)} holds {listed}: `{statement} \"{quote(str(PurePath(written) / names[0]))}\"`"


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

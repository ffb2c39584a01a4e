"""The hint for a manifest's `file` or `plan` that does not exist: its paths are relative to the manifest's
directory, and a user who wrote them from the directory they ran dagc in (`file = "u/runs/rate1.json"` in
`u/runs.toml`, run from `u`'s parent) is given the path the manifest means, `runs/rate1.json` (docs/calibrate.md,
"The manifest"; until 2026-11-30 "check the path: it is relative to the manifest's directory" alone, once per entry).

Only a regular file inside the manifest's directory is named: a manifest never makes dagc tell of a file elsewhere
(docs/limits.md).
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from pathlib import Path

from ..diagnostics import code

__all__ = ["LINK_HINT", "MISSING_HINT", "inside", "missing_hint", "outside_hint", "written_inside"]

MISSING_HINT = "check the path: it is relative to the manifest's directory"
# a path written inside the manifest's directory that a symbolic link leads out of (as a plan's `model from` says it:
# until 2026-12-03 hinted `--allow-path` of the manifest's own directory, which changed nothing)
LINK_HINT = ("allow the directory the link leads to with `--allow-path DIR`, or copy the file into the manifest's "
             "directory")


def missing_hint(root: Path, written: str) -> str:
    """The hint for `written`, a manifest's path that does not exist under `root`, the manifest's directory."""
    here = Path(written)
    if here.is_absolute() or not here.is_file():
        return MISSING_HINT
    try:
        there = here.resolve().relative_to(root.resolve())
    except (ValueError, OSError):       # a file outside the manifest's directory: not told
        return MISSING_HINT
    return (f"{MISSING_HINT}, not the one dagc runs in: the file {code(written)} of this directory is "
            f"{code(there.as_posix())} from the manifest's")


def outside_hint(root: Path, written: str) -> str:
    """The hint for `written`, a manifest's path outside `root`, the manifest's directory (as given on the command
    line): the `--allow-path` of the directory it names, as the shell where dagc runs reaches it — from the paths as
    written alone, no file read nor its existence told (until 2026-12-02 the generic form of a manifest, beside
    "allow its directory with `--allow-path DIR`" in the message).

    Example:
        >>> outside_hint(Path("cal"), "../s004.moe"), outside_hint(Path("cal"), "/srv/plans/p.moe")
        ("allow its directory: `--allow-path .`, or move the file into the manifest's directory", \
"allow its directory: `--allow-path /srv/plans`, or move the file into the manifest's directory")
    """
    where = os.path.normpath(os.path.join(root, os.path.dirname(written) or "."))
    return f"allow its directory: `--allow-path {shlex.quote(where)}`, or move the file into the manifest's directory"


def written_inside(path: Path, roots: Sequence[Path]) -> bool:
    """Whether `path`, its symbolic links not followed, lies in one of `roots`."""
    lexical = os.path.abspath(path)
    return any(Path(lexical).is_relative_to(os.path.abspath(r)) for r in roots)


def inside(path: Path, roots: Sequence[Path]) -> bool:
    """Whether `path`, its links followed, lies in one of `roots`: a manifest names its runs and plans beside it
    (or in a directory allowed with `--allow-path`), as a plan imports files from its own directory only."""
    try:
        target = path.resolve()
        return any(target == r.resolve() or target.is_relative_to(r.resolve()) for r in roots)
    except (OSError, RuntimeError, ValueError):     # a loop, a NUL byte: reading the file says what is wrong
        return True

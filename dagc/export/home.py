"""Directories `dagc compile` never replaces (`dagc.export.output_dir`), `--force` or not: this user's home
directory, whose ~/.ssh and the rest a directory replaced whole would take with it, any directory holding a
file the run reads (the plan, its request log, its model's config), which it would delete as it writes, and a
directory others share or own a part of (`refuse_shared`): a sticky or world-writable one (`/tmp`), one holding
another user's entry, and — the forced replacement — one holding a hidden entry dagc did not write (`.git`)."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from .write import OutputError

__all__ = ["holds_a_home", "refuse_a_home", "refuse_an_input", "refuse_shared"]


def _homes() -> set[str]:
    """The real paths of this user's home directory: $HOME's, and the account's."""
    found = {os.path.expanduser("~")}
    with contextlib.suppress(ImportError, KeyError, OSError):
        import pwd
        found.add(pwd.getpwuid(os.getuid()).pw_dir)
    return {os.path.realpath(h) for h in found if os.path.isabs(h)}


def holds_a_home(out: Path) -> bool:
    """`out` is a home directory or one above it (`-o ~`, `-o /home`).

    Example:
        >>> holds_a_home(Path(os.path.expanduser("~"))), holds_a_home(Path(os.path.expanduser("~")) / "dagc-out")
        (True, False)
    """
    inside = _inside(out)
    return any(h + "/" == inside or h.startswith(inside) for h in _homes())


def _inside(out: Path) -> str:
    """The real path of `out` with one `/` after it: the prefix of every path it holds."""
    return os.path.realpath(out).rstrip("/") + "/"


def refuse_a_home(out: Path) -> None:
    """Raise OutputError when `out` is a home directory or one above it, whatever `--force` says."""
    if holds_a_home(out):
        raise OutputError(out, "a home directory, or one that holds one, is never an output directory, not even "
                               "with --force (dagc replaces its output directory whole); give a new directory, "
                               f"e.g. -o {out / 'dagc-out'}")


def refuse_an_input(out: Path, inputs: Iterable[str | Path]) -> None:
    """Raise OutputError when `out` holds one of `inputs` (the plan, the files it reads), whatever `--force`
    says: replaced whole, the directory would take the plan with it.

    Example:
        >>> refuse_an_input(Path("/tmp/x/out"), ["/tmp/x/plan.moe"])       # beside it: fine
        >>> try:
        ...     refuse_an_input(Path("/tmp/x"), ["/tmp/x/plan.moe"])
        ... except OutputError as exc:
        ...     print(str(exc)[:48])
        cannot write /tmp/x: it holds plan.moe, which th
    """
    real = _inside(out)
    if real == "/" or holds_a_home(out):       # refused in their own words (`check_output_dir`), force or not
        return
    for f in inputs:
        held = os.path.realpath(f)
        if held.startswith(real):
            raise OutputError(out, f"it holds {held[len(real):]}, which this run reads; dagc replaces its output "
                                   "directory whole, so the directory of an input is never one, not even with "
                                   f"--force; give another, e.g. -o {out / 'dagc-out'}")


def refuse_shared(out: Path, hidden: str | None) -> None:
    """Raise OutputError when `out`, an existing non-empty directory dagc is forced to replace, is others' too: sticky
    or world-writable (a shared `/tmp`: its other users' files would go with it), holding an entry of another user,
    or holding `hidden`, an entry dagc did not write under a hidden name (`.git`, `.ssh`, `.env`). Until 2026-12-03
    `--force` replaced each whole: a sticky directory lost another user's file and its mode, a repository its `.git`."""
    st = os.stat(out)
    if st.st_mode & (stat.S_ISVTX | stat.S_IWOTH):
        raise OutputError(out, "a directory others write into (sticky or world-writable, as /tmp) is never an output "
                               f"directory, not even with --force; give a directory of your own, e.g. -o "
                               f"{out / 'dagc-out'}")
    me = os.geteuid()
    with os.scandir(out) as entries:
        theirs = next((e.name for e in entries if e.stat(follow_symlinks=False).st_uid != me), None)
    if theirs is not None or hidden is not None:
        why = f"`{theirs}`, another user's" if theirs is not None else f"`{hidden}`, which dagc did not write"
        raise OutputError(out, f"it holds {why}: --force replaces only what is yours to lose, never this; give a "
                               f"new directory, e.g. -o {out / 'dagc-out'}")

"""This user's home directory, which `dagc compile` never replaces (`dagc.export.output_dir`): a
directory replaced whole would take ~/.ssh and the rest with it, `--force` or not."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from .write import OutputError

__all__ = ["holds_a_home", "refuse_a_home"]


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
    real = os.path.realpath(out)
    return any(h == real or h.startswith(real.rstrip("/") + "/") for h in _homes())


def refuse_a_home(out: Path) -> None:
    """Raise OutputError when `out` is a home directory or one above it, whatever `--force` says."""
    if holds_a_home(out):
        raise OutputError(out, "a home directory, or one that holds one, is never an output directory, not even "
                               "with --force (dagc replaces its output directory whole); give a new directory, "
                               f"e.g. -o {out / 'dagc-out'}")

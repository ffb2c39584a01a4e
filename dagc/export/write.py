"""Atomic file output: a file is either absent, the old one, or complete. Every file dagc writes
goes through here (`output_dir.py` owns the directories, and calls this for their files).

Only regular files are ever replaced: a target that is a symbolic link, a device, a FIFO, a
socket or a directory is refused with `OutputError` (renaming over `/dev/null` would replace
the device itself). The content goes to a fresh temporary file beside the target (created
with O_EXCL, so never through a link), which is renamed over it once complete; on any
exception, KeyboardInterrupt included, the temporary file is removed. Files get the mode the
umask leaves of 0o666 (directories of 0o777), as any Unix tool's. A file that already exists is
replaced only when it is dagc's own (`check_own`: it starts with dagc's signature) or with `force`.
Text that cannot be encoded (a file name that was not UTF-8 reaches a report as a lone surrogate)
is written escaped (`\\udcff`), never as invalid UTF-8 and never as a crash.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["OutputError", "write_text_atomic", "write_json_atomic", "atomic_output", "check_target", "lstat_or_none",
           "existing_directory", "check_own", "file_mode", "dir_mode", "check_beside", "BESIDE"]

OWN_PROBE_BYTES = 4096      # how much of an existing file `check_own` reads for dagc's signature


class OutputError(Exception):
    """An output dagc refuses to write or could not write. The message names the path and why.

    Example:
        >>> str(OutputError("/dev/null", "it is a character device, not a regular file"))
        'cannot write /dev/null: it is a character device, not a regular file'
    """

    def __init__(self, path: os.PathLike[str] | str, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"cannot write {path}: {reason}")


def file_kind(mode: int) -> str:
    """What a `st_mode` is, in words (for messages)."""
    for test, word in ((stat.S_ISREG, "a regular file"), (stat.S_ISLNK, "a symbolic link"),
                       (stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return word
    return "of an unknown kind"


def lstat_or_none(path: Path) -> os.stat_result | None:
    """`os.lstat(path)` (links not followed), None when nothing is there; any other failure is an
    `OutputError`."""
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OutputError(path, exc.strerror or str(exc)) from exc


def existing_directory(path: Path) -> bool:
    """Whether `path` is a directory (False: nothing is there). Raise `OutputError` when it is a
    symbolic link (not followed: an output directory must be the directory itself) or anything
    but a directory."""
    st = lstat_or_none(path)
    if st is None:
        return False
    if stat.S_ISLNK(st.st_mode):
        raise OutputError(path, "it is a symbolic link; give the directory itself")
    if not stat.S_ISDIR(st.st_mode):
        raise OutputError(path, f"it is {file_kind(st.st_mode)}, not a directory")
    return True


def check_target(path: Path) -> None:
    """Raise `OutputError` unless `path` is absent or a regular file (links are not followed)."""
    st = lstat_or_none(path)
    if st is None:
        return
    if not stat.S_ISREG(st.st_mode):
        raise OutputError(path, f"it is {file_kind(st.st_mode)}; dagc only replaces regular files")


def _umask() -> int:
    # Read by setting it and setting it back: there is no other portable way. dagc creates files
    # from one thread at a time (the WebAssembly renderer's thread creates none).
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode of a new file: 0o666 less the umask (mkstemp's 0o600 would ignore the user's choice)."""
    return 0o666 & ~_umask()


def dir_mode() -> int:
    """The mode of a new directory: 0o777 less the umask."""
    return 0o777 & ~_umask()


def check_own(path: Path, signature: str, force: bool = False) -> None:
    """Raise `OutputError` when `path` exists and is not dagc's own: not a regular file, or a regular
    file that does not start as dagc writes it — `signature` a whole line among its first two (an SVG's
    root element, then the signature): a file of yours that merely quotes the signature is not dagc's.
    `force` lets a regular file be replaced anyway; a link, device or directory never is.

    Example:
        >>> check_own(Path("/nonexistent/dagc/pareto.svg"), "<!-- dagc")
    """
    check_target(path)
    try:
        with open(path, "rb") as f:
            head = f.read(OWN_PROBE_BYTES)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputError(path, exc.strerror or str(exc)) from exc
    if not force and signature.encode() not in head.split(b"\n", 2)[:2]:
        raise OutputError(path, "the file exists and dagc did not write it; move it away, choose another path, "
                                "or give --force to replace it")


# why a lock or staging directory beside an output directory could not be made (`output_dir.output_lock`)
BESIDE = "dagc locks and stages the output beside the output directory: its parent must be writable"


def check_beside(out: Path, named: str) -> None:
    """Raise `OutputError` when dagc could not write beside the output directory `out` — its lock (`named`) and
    staging directory are made in `out`'s parent — so that `compile -o` is refused before the work, not after it:
    the parent — when it does not exist yet, the nearest directory above it, where it would be made — must take
    a probe file (made and removed at once: where the parent is yet to be made, in the nearest directory above it,
    where dagc will make it — `os.access` says yes to root in /proc, where no file can be made), the error naming
    `named` there, the file dagc would make. The probe's
    name is this thread's of this process, never the lock's, which another compile may be taking: a probe made and
    removed under the lock's name let two compiles of one output directory each hold a lock of its own.

    Example:
        >>> try:
        ...     check_beside(Path("/proc/x"), ".x.dagc-lock")
        ... except OutputError as exc:
        ...     print(str(exc)[:60])
        cannot write /proc/.x.dagc-lock: No such file or directory (
    """
    out = Path(os.path.abspath(out))
    above = out.parent
    while lstat_or_none(above) is None and above.parent != above:
        above = above.parent
    path = above / f"{named}.probe-{os.getpid()}-{threading.get_ident()}"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
        os.close(fd)
        os.unlink(path)
    except FileExistsError:
        return
    except OSError as exc:
        raise OutputError(above / named, f"{exc.strerror or exc} ({BESIDE})") from exc


def _ensure_parent(path: Path) -> None:
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise OutputError(path, f"{parent} exists and is not a directory") from exc
    except OSError as exc:
        raise OutputError(path, exc.strerror or str(exc)) from exc
    if not parent.is_dir():
        raise OutputError(path, f"{parent} is not a directory")


@contextlib.contextmanager
def atomic_output(path: Path, binary: bool = False,
                  executable: bool = False) -> Iterator[IO[Any]]:     # IO[str], or IO[bytes] with `binary`
    """Yield a file to write `path`'s new content to; it replaces `path` when the block ends (`executable`: by
    whoever may read it).

    Raises:
        OutputError: `path` is not a regular file (or absent), or writing it failed.
    """
    path = Path(path)
    check_target(path)
    _ensure_parent(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(path, exc.strerror or str(exc)) from exc
    try:
        with (os.fdopen(fd, "wb") if binary else
              os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace")) as f:
            yield f
        os.chmod(tmp, file_mode() | ((file_mode() & 0o444) >> 2 if executable else 0))
        check_target(path)      # again: the target may have changed while we wrote
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(path, exc.strerror or str(exc)) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_text_atomic(path: Path, text: str, executable: bool = False) -> Path:
    """Write `text` (UTF-8) to `path` atomically, `executable` by whoever may read it; returns `path`.

    Raises:
        OutputError: `path` is a link, device, FIFO, socket or directory, or cannot be written.
    """
    with atomic_output(Path(path), executable=executable) as f:
        f.write(text)
    return Path(path)


def write_json_atomic(path: Path, obj: Any, indent: int | None = 1) -> Path:     # `obj`: a JSON value
    """Plain JSON: no NaN/Infinity, UTF-8 as is, stable key order as built."""
    separators = None if indent is not None else (",", ":")
    text = json.dumps(obj, indent=indent, separators=separators, ensure_ascii=False, allow_nan=False) + "\n"
    # a name that was not UTF-8 (a lone surrogate) becomes "?": JSON readers choke on `\udcxx` escapes
    return write_text_atomic(path, text.encode("utf-8", "replace").decode("utf-8"))

"""A command's one output file (`dagc calibrate -o FILE`, `dagc kernels import -o FILE`): whether it may be written —
a file that exists is replaced only with `--force`, and only when it is a regular file (not a link, a directory, a
FIFO or a device: what a plan from a pull request could point it at) — and writing it whole, through a temporary
file beside it, with the mode the umask leaves of 0o666 as every file dagc writes (docs/limits.md; until 2026-11-30
these two wrote 0o600, mkstemp's, so a calibration file could not be read by the team that shares it)."""

from __future__ import annotations

import os
import tempfile

from ..diagnostics import printable

__all__ = ["output_refused", "write_beside"]


def output_refused(target: str, force: bool) -> str | None:
    """The error line when `target` may not be written, else None.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> (d / "x.json").write_text("{}")
        2
        >>> output_refused(str(d / "x.json"), False).split(": ", 2)[2]
        'it exists; pass --force to replace it'
        >>> output_refused(str(d / "x.json"), True) is None, output_refused(str(d), True).split(": ", 2)[2]
        (True, 'it exists and is not a regular file (a directory, a link or a device): dagc replaces none')
    """
    if not os.path.lexists(target):
        return None
    if not os.path.isfile(target) or os.path.islink(target):
        return (f"error: {printable(target)}: it exists and is not a regular file (a directory, a link or a device): "
                "dagc replaces none")
    return None if force else f"error: {printable(target)}: it exists; pass --force to replace it"


def write_beside(target: str, text: str, prefix: str) -> str | None:
    """Write `text` (UTF-8) to `target` through a temporary file beside it (named `prefix`…), renamed over it once
    complete, with the mode the umask leaves of 0o666; the reason it failed, or None.

    Example:
        >>> import os, pathlib, stat, tempfile
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> mask = os.umask(0o022); written = write_beside(str(d / "c.json"), "{}", ".dagc-x-"); _ = os.umask(mask)
        >>> written, (d / "c.json").read_text(), oct(stat.S_IMODE((d / "c.json").stat().st_mode)), os.listdir(d)
        (None, '{}', '0o644', ['c.json'])
    """
    from ..export.write import file_mode
    folder = os.path.dirname(os.path.abspath(target))
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, file_mode())
        os.replace(tmp, target)
    except OSError as exc:
        if tmp is not None and os.path.lexists(tmp):
            os.unlink(tmp)
        return exc.strerror or str(exc)
    return None

"""Whether a command may write its one output file (`dagc calibrate -o FILE`, `dagc kernels import -o FILE`): a
file that exists is replaced only with `--force`, and only when it is a regular file (not a link, a directory, a
FIFO or a device: what a plan from a pull request could point it at)."""

from __future__ import annotations

import os

from ..diagnostics import printable

__all__ = ["output_refused"]


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

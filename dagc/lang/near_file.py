"""The "did you mean" of a plan's missing file: the name of a file beside the path written that it is a slip of.

Shared by every statement that reads a file the user names — `calibration from`, `requests from` (the request log)
and `kernels from` (a kernel profile) —: one rule, `dagc.lang.fields.nearest`, as every "did you mean". Names only,
of the first `MAX_LISTED` entries of the directory: no file is opened, so nothing of one is ever echoed.
"""

from __future__ import annotations

import itertools
from pathlib import Path, PurePath

from ..diagnostics import quote
from .fields import nearest

__all__ = ["MAX_LISTED", "near_file"]

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
    try:
        names = [p.name for p in itertools.islice(path.parent.iterdir(), MAX_LISTED) if p.is_file()]
    except OSError:
        return None
    near = nearest(path.name, names)
    if near is None:
        return None
    meant = written[: len(written) - len(PurePath(written).name)] + near
    return f"did you mean `{statement} \"{quote(meant)}\"`? (`{quote(near)}` is beside the path written)"

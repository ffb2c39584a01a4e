"""What `dagc launch -o DIR` wrote into DIR earlier: the `.dagc-output` manifest `dagc compile` keeps
(`dagc.export.output_marker`), read and written again by each launch, and the files of an earlier launch that this
one does not write again, for the engines it launches on — removed, so that DIR never holds a script of another
deployment on an engine beside the new ones (another engine's launch stays: `--engine vllm` after `--engine sglang`).

Input: DIR and the names this launch writes. Output: the files removed, the ones named but kept, and the manifest
rewritten. A file is removed only when the manifest lists it (dagc wrote it there) and it still is a regular file
whose header line is `dagc launch`'s (not replaced since by one of the user's, not a link: links are never followed
nor removed). A file that looks like an earlier launch's but that no manifest lists (written by a dagc before the
manifest, or copied there) is named in a note and kept. What compile wrote (report.md, …) is not a launch's file:
kept, and listed still. An older compile's marker without a manifest (its exact text) is left as it is, and then
nothing is removed.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .output_marker import LAUNCH_FILE, MANIFEST_HEAD, MARKER, MARKER_TEXT, read_manifest
from .write import OutputError, lstat_or_none, write_text_atomic

__all__ = ["FileKind", "Leftovers", "LAUNCH_FILE", "tidy"]

# what a file under a launch file's name is (`dagc.export.launch.launch_file_kind`): dagc launch's as it wrote it
# ("ours"), headed as its but without a digest line ("older": a dagc before digests, or the user deleted it), headed
# as its with a digest line that does not match ("edited"), or anything else ("other")
FileKind = Literal["ours", "older", "edited", "other"]


@dataclass(frozen=True)
class Leftovers:
    """What an earlier launch into the directory left that this one does not write."""

    removed: tuple[Path, ...] = ()      # listed by the manifest, still dagc launch's: removed
    kept: tuple[Path, ...] = ()         # dagc launch's header, but no manifest lists them: named, kept
    edited: tuple[Path, ...] = ()       # listed, dagc launch's header, changed since (or its digest line gone): the
                                        # user's, named, kept, and off the manifest


def _regular(path: Path) -> bool:
    st = lstat_or_none(path)
    return st is not None and stat.S_ISREG(st.st_mode)


def tidy(out: Path, written: Iterable[str], kind: Callable[[Path], FileKind], engines: Iterable[str] = ()
         ) -> Leftovers:
    """After this launch wrote the files `written` into `out` for `engines`: remove the files of an earlier launch
    of those engines that the manifest lists and this one does not write (`kind` "ours": as dagc launch wrote them)
    — another engine's stay, as a launch with `--engine sglang` beside one with `--engine vllm` —, name the ones
    headed as a launch's that were changed since (kept, the user's now) and those no manifest lists (an older
    dagc's, or a copy), and write the manifest: what it listed and still stands as dagc wrote it, and `written`.

    Raises:
        OutputError: the marker is not dagc's (`read_manifest`), or a file cannot be removed or written.
    """
    manifest = read_manifest(out)
    new = set(written)
    if manifest is not None and "*" in manifest:       # an older compile's marker, without a manifest: left alone
        return Leftovers()
    listed, launched = set(manifest or ()), set(engines)
    removed, edited = [], []
    for name in sorted(listed - new):
        path = out / name
        match = LAUNCH_FILE.fullmatch(name)
        if "/" in name or match is None or match.group(1) not in launched:
            continue                                    # what compile wrote, or another engine's launch: kept
        found = kind(path) if _regular(path) else "other"
        if found == "ours":
            try:
                os.unlink(path)
            except OSError as exc:
                raise OutputError(path, exc.strerror or str(exc)) from exc
            removed.append(path)
        elif found in ("older", "edited"):
            edited.append(path)
        listed.discard(name)                            # removed, gone, or no longer dagc's: not listed
    with os.scandir(out) as it:
        strays = sorted(out / e.name for e in it if LAUNCH_FILE.fullmatch(e.name) and e.name not in listed | new)
    # an edited file off the manifest is the user's: named once, when it leaves it, not by every launch after
    kept = tuple(p for p in strays if p not in edited and _regular(p) and kind(p) in ("ours", "older"))
    write_text_atomic(out / MARKER, MARKER_TEXT + MANIFEST_HEAD + "".join(f"{r}\n" for r in sorted(listed | new)))
    return Leftovers(tuple(removed), kept, tuple(edited))

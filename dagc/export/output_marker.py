"""The `.dagc-output` marker of an output directory: what dagc writes into it and how it is read back.

Input: an output directory's path. Output: the manifest its marker lists (`read_manifest`), or a refusal
(`OutputError`) when the marker is not dagc's; and whether a directory holds only names dagc writes
(`is_dagc_tree`, `first_not_dagc`). `dagc.export.output_dir` decides with these what it may replace.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

from .write import OutputError, lstat_or_none

__all__ = ["LAUNCH_FILE", "MANIFEST_HEAD", "MARKER", "MARKER_TEXT", "OLD_TEMP_FILE", "OUTPUT_FILES", "entries",
           "first_not_dagc", "is_dagc_tree", "is_launch_file", "read_manifest"]

MARKER = ".dagc-output"     # in every output directory dagc creates
# Everything dagc writes into an output directory; a directory holding only these (and the
# temporary names of older versions) is dagc's even without the marker.
OUTPUT_FILES = frozenset({"report.json", "report.md", "report.html", "dag.json", "dag.dot", "dag.svg",
                          "placement.svg", "trace.json", "trace.json.gz", "pareto.svg", "load_cdf.svg",
                          "load_timeline.svg", "compare_cdf.svg", MARKER})
# the names `dagc launch -o DIR` gives its files: `<engine>-<strategy>[-<n>-node<k>].sh`, TensorRT-LLM's `.yml` and
# `.hosts` (mpirun's hostfile of a replica past 32 nodes). A regular file of such a name at the top of DIR is the
# launch's, whatever it holds now (the user's edits with it): `dagc compile` and `dagc search`, which never write
# one, carry it as it stands and never refuse DIR for it
LAUNCH_FILE = re.compile(r"(vllm|sglang|trtllm)-[A-Za-z0-9_.-]+\.(sh|yml|hosts)")
MARKER_TEXT = "dagc output directory: `dagc compile` replaces it whole.\n"
MANIFEST_HEAD = "files dagc wrote here (anything else makes dagc refuse to replace it, short of --force):\n"
MAX_MANIFEST_BYTES = 16 << 20     # a marker larger than this is not dagc's
OLD_TEMP_FILE = re.compile(r"\.(?P<name>[^/]+)\.[A-Za-z0-9_]{8}(?:\.tmp)?")
_OLD_TEMP_DIR = re.compile(r"tmp[A-Za-z0-9_]{8}")


def is_dagc_tree(d: Path, depth: int = 0) -> bool:
    """Only names dagc writes (a strategy directory level below the top, temporaries of older
    versions), no links: a directory dagc wrote before it had the marker."""
    with os.scandir(d) as entries:
        for e in entries:
            if e.is_symlink():
                return False
            if e.is_file(follow_symlinks=False):
                m = OLD_TEMP_FILE.fullmatch(e.name)
                if e.name not in OUTPUT_FILES and not (m and m.group("name") in OUTPUT_FILES):
                    return False
            elif e.is_dir(follow_symlinks=False):
                if depth >= 2 or (depth == 1 and not _OLD_TEMP_DIR.fullmatch(e.name)):
                    return False
                if not is_dagc_tree(Path(e.path), depth + 1):
                    return False
            else:
                return False
    return True


def first_not_dagc(out: Path) -> str | None:
    """The first entry of `out` (by name) that is not a name dagc writes (`_is_dagc_tree`) nor a launch file
    (`is_launch_file`), None if none."""
    with os.scandir(out) as it:
        found = sorted(it, key=lambda e: e.name)
    for e in found:
        if e.is_dir(follow_symlinks=False):
            if not is_dagc_tree(Path(e.path), 1):
                return e.name + "/"
        elif e.name != MARKER and not is_launch_file(e.name, e) and (e.is_symlink() or not _is_dagc_tree_entry(e)):
            return e.name
    return None


def is_launch_file(rel: str, e: os.DirEntry[str]) -> bool:
    """Whether the entry `rel` of an output directory is a launch file (`LAUNCH_FILE`): a regular file, not a link,
    at its top, of a launch file's name."""
    return "/" not in rel and LAUNCH_FILE.fullmatch(rel) is not None and e.is_file(follow_symlinks=False)


def _is_dagc_tree_entry(e: os.DirEntry[str]) -> bool:
    m = OLD_TEMP_FILE.fullmatch(e.name)
    return e.is_file(follow_symlinks=False) and (e.name in OUTPUT_FILES or bool(m and m.group("name") in OUTPUT_FILES))


def read_manifest(out: Path) -> frozenset[str] | None:
    """What the marker of `out` says dagc wrote there (paths relative to `out`, directories ending
    in `/`); None when there is no marker; `{"*"}` for the marker of a dagc without manifests (its exact
    text), whose directory holds only names dagc writes.

    Raises:
        OutputError: the marker is not a regular file, cannot be read, or does not begin as dagc writes it
        (empty, another text), or lists an entry outside the directory.
    """
    path = out / MARKER
    st = lstat_or_none(path)
    if st is None:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_MANIFEST_BYTES:
        raise OutputError(out, f"its {MARKER} is not dagc's marker; give a new or empty directory")
    try:
        text = path.read_bytes().decode("utf-8", errors="surrogateescape")
    except OSError as exc:
        raise OutputError(path, exc.strerror or str(exc)) from exc
    if text == MARKER_TEXT:
        return frozenset({"*"})        # an older dagc's marker, without a manifest: its files are judged by name
    if not text.startswith(MARKER_TEXT + MANIFEST_HEAD):    # empty, another text: not dagc's, whatever it lists
        raise OutputError(out, f"its {MARKER} is not dagc's marker (it does not begin as dagc writes it); give a "
                               "new or empty directory")
    listed = frozenset(text.removeprefix(MARKER_TEXT + MANIFEST_HEAD).splitlines())
    bad = next((rel for rel in sorted(listed) if not _plain_entry(rel)), None)
    if bad is not None:         # `..`, `/etc`, `a/../..`: an entry swap_in would remove outside `out`
        raise OutputError(out, f"its {MARKER} lists an entry that is not a plain name inside it, so it is not "
                               "dagc's marker; give a new or empty directory")
    return listed


def _plain_entry(rel: str) -> bool:
    """An entry `write_manifest` writes: 1 to 3 names joined by `/` (a directory's with a `/` after), none of
    them empty, `.` or `..`, and no NUL: a path that stays inside the directory it is listed in.

    Example:
        >>> [_plain_entry(r) for r in ("report.md", "strategy-1/", "a/b/c", "..", "../x", "/etc", "a//b", "")]
        [True, True, True, False, False, False, False, False]
    """
    parts = (rel[:-1] if rel.endswith("/") else rel).split("/")
    return 0 < len(parts) <= 3 and all(p not in ("", ".", "..") and "\x00" not in p for p in parts)


def entries(d: Path, prefix: str = "", depth: int = 0) -> Iterator[tuple[str, os.DirEntry[str]]]:
    with os.scandir(d) as it:
        found = sorted(it, key=lambda e: e.name)
    for e in found:
        rel = prefix + e.name
        if e.is_dir(follow_symlinks=False):
            yield rel + "/", e
            if depth < 2:
                yield from entries(Path(e.path), rel + "/", depth + 1)
        else:
            yield rel, e

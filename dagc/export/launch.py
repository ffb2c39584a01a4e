"""What `dagc launch` writes: the files its commands read (`write_files`, into `-o DIR`), and the
"Launch" section of report.md (and so of report.html): per serving engine, the commands that
start the strategy, or one line saying why the engine cannot (its E7xx rule).

Input: `Launch`es, or a `StrategyResult`. Output: files, or markdown lines. The nearest strategy
an engine can run is not searched here (that checks other strategies): `dagc launch` prints it.

`write_files` writes, for every launch that can run, the files its commands read and one script a
listed command (`dagc.launch.scripts`). It never replaces a file dagc did not write: every target is
checked before any is written, and a target must be absent or a regular file whose first line (after
a script's `#!` line) ends with dagc's own `(dagc launch)` and whose last line is the SHA-256 of the lines above it
(`with_digest`: a file edited since is the user's); each file is written atomically
(`dagc.export.write`), a script executable by whoever may read it. The directory's `.dagc-output` manifest (the
one `dagc compile` keeps) lists what dagc wrote there, so that the files of an earlier launch this one does not
write again are removed (`dagc.export.launch_dir`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from ..launch.engines import ENGINES, launch_result, unchecked_release
from ..launch.file_names import STEM_HASH, STEM_MAX
from ..launch.launch import OWN_HEADER_END, GeneratedFile, Launch, shown_commands
from ..launch.scripts import SHEBANG, command_scripts
from ..plan.engines import Engine
from ..verdict.check import StrategyResult
from .launch_dir import FileKind, Leftovers, tidy
from .md_escape import md_code, md_prose
from .output_marker import read_manifest
from .write import OutputError, check_target, existing_directory, write_text_atomic

__all__ = ["DIGEST_PREFIX", "files_of", "launch_file_kind", "launch_md", "with_digest", "write_files"]


# the last line of every file `write_files` writes: the SHA-256 of everything above it, so that a file edited since
# (its header kept) is the user's, neither replaced nor removed
DIGEST_PREFIX = "# dagc launch wrote this file; sha256 of the lines above: "
MAX_LAUNCH_FILE_BYTES = 1 << 20      # a launch file is a few kB: one larger is not dagc's, and is not read whole


def with_digest(text: str) -> str:
    r"""`text` with its digest line (`DIGEST_PREFIX`) after it.

    Example:
        >>> with_digest("#!/bin/sh\nexec true\n").splitlines()[-1][-17:]
        '075df0e903232a7ff'
    """
    body = _body(text)
    return f"{body}{DIGEST_PREFIX}{hashlib.sha256(body.encode()).hexdigest()}\n"


def _written_by_dagc(path: Path, text: str | None = None) -> bool:
    """Whether `path` is a file `dagc launch` wrote and no one changed since (`launch_file_kind` "ours"). A file
    without a digest line ("older") is the user's (one deleted it, or wrote the file), but one byte for byte what this
    launch writes under its name (`text`) bar the digest line: a dagc before digests wrote it, and nothing is lost
    in replacing it. Without `text` (a file this launch does not write, which `tidy` would remove) it is kept."""
    kind = launch_file_kind(path)
    if kind == "older":
        return text is not None and path.read_bytes() == _body(text).encode()
    return kind == "ours"


def launch_file_kind(path: Path) -> FileKind:
    """What `path` is (`dagc.export.launch_dir.FileKind`): "ours" when its header line (after a script's `#!` line)
    ends with `(dagc launch)` and its last line is the digest of the lines above it; "older" headed so but with no
    digest line (a dagc before digests wrote it, or the user deleted the line); "edited" headed so with a digest
    line that is not its last or does not match; "other" anything else (larger than a launch file is, too)."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_LAUNCH_FILE_BYTES + 1)
    except OSError as exc:
        raise OutputError(path, exc.strerror or str(exc)) from exc
    if len(data) > MAX_LAUNCH_FILE_BYTES:
        return "other"
    lines = data.decode("utf-8", errors="replace").splitlines(keepends=True)
    first = lines[1] if len(lines) > 1 and lines[0].rstrip("\n") == SHEBANG else (lines[0] if lines else "")
    if not (first.startswith("# ") and first.rstrip("\n").endswith(OWN_HEADER_END)):
        return "other"
    if not any(line.startswith(DIGEST_PREFIX) for line in lines):
        return "older"
    return "ours" if with_digest("".join(lines[:-1])) == "".join(lines) else "edited"


def _body(text: str) -> str:
    """What a file's digest line follows (`with_digest`): `text`, ending with a newline."""
    return text if text.endswith("\n") else text + "\n"


def files_of(launches: Sequence[Launch], here: str | None = None) -> list[GeneratedFile]:
    """What `write_files` writes of `launches`: the files each one's commands read, then its scripts (a model
    directory in them joined to `here`, `dagc.launch.scripts.command_scripts`)."""
    return [f for x in launches for f in (*x.files, *command_scripts(x, here))]


def write_files(launches: Sequence[Launch], out_dir: Path, here: Path | None = None) -> tuple[list[Path], Leftovers]:
    """Write the files of `launches` (`files_of`) into `out_dir` (created if absent); the paths written, and what an
    earlier launch into `out_dir` left that this one does not write (`dagc.export.launch_dir.tidy`: removed when
    the directory's manifest lists it, named otherwise; the manifest then lists what this launch wrote). A model
    directory relative to where dagc runs (`model from` config.json) is written absolute in the scripts, joined to
    `here` (the working directory when None), so that a script run from anywhere loads the same directory.

    Every target is checked first, so either all are written or none (short of a failure of the
    disk itself): a target must be absent, or a regular file that `dagc launch` wrote (its first
    line ends with `(dagc launch)`); two launches may not want different texts under one name.

    Raises:
        OutputError: `out_dir` is a symbolic link or not a directory, a target is not dagc's to
            replace, or writing failed.
    """
    out_dir = Path(out_dir)
    existing_directory(out_dir)
    texts: dict[str, str] = {}
    owners: dict[str, str] = {}
    for x in launches:
        for f in files_of([x], str((here if here is not None else Path.cwd()).absolute())):
            if texts.setdefault(f.name, f.text) != f.text:
                raise OutputError(out_dir / f.name, _clash(owners[f.name], x.strategy))
            owners.setdefault(f.name, x.strategy)
    for name, text in texts.items():
        path = out_dir / name
        check_target(path)
        if path.exists() and not _written_by_dagc(path, text):
            raise OutputError(path, f"the file exists and dagc did not write it, or it was changed since (its first "
                              f"line does not end with `{OWN_HEADER_END}`, or its last, `{DIGEST_PREFIX.strip()} …`, "
                              "is missing or does not match the lines above it); move it away or choose another "
                              "-o DIR")
    if not texts:                     # nothing launches: nothing written, nothing removed, DIR not made
        return [], Leftovers()
    read_manifest(out_dir)            # a marker that is not dagc's: refused before anything is written
    written = [write_text_atomic(out_dir / name, with_digest(text), executable=name.endswith(".sh"))
               for name, text in texts.items()]
    return written, tidy(out_dir, texts, launch_file_kind, {x.engine for x in launches})


def _clash(first: str, second: str) -> str:
    """Why two strategies' launches cannot both be written: the name of a file of each is the same."""
    return (f"strategies `{first}` and `{second}` would write different files under this name: a launch file's "
            "name keeps of a strategy's name (or text) only its letters, digits, `_` and `-` (anything else becomes "
            f"`-`; a name over {STEM_MAX} characters is cut and ends with {STEM_HASH} hex digits of a hash of the "
            "whole name), and there the two read the same; rename one so that they differ in those characters, or "
            "launch them one at a time into different directories (`--strategy NAME -o DIR`)")


def _engine_md(x: Launch, named: Engine) -> list[str]:
    """An engine's part of the Launch section: its commands, or why it cannot run the strategy; the release the plan
    names when its flags may differ from those written (`unchecked_release`), as `dagc launch` notes it."""
    older = unchecked_release(named, x.engine)
    flags = f"flags of {x.version}" + (f" (the plan names {x.engine}@{older[0]}, which may not take them)"
                                       if older is not None else "")
    if not x.ok:
        reasons = "; ".join(f"{d.code} — {md_prose(d.message)}" for d in x.refusals)
        return [f"- **{x.name}** — {flags} — cannot run it: {reasons}.", ""]
    nodes = x.nodes
    lines = [f"- **{x.name}** — {flags} — {nodes} node{'s' if nodes > 1 else ''}:", "", "  ```sh"]
    commands, rest = shown_commands(x)
    node = None
    for c in commands:
        if c.node != node:
            node = c.node
            lines.append(f"  # node {node}")
        lines.append(f"  {c.text}")
    if rest:
        lines.append(f"  # … {rest}")
    lines.append("  ```")
    for f in x.files:
        lines += ["", f"  `{f.name}`:", "", "  ```yaml", *(f"  {line}" for line in f.text.splitlines()), "  ```"]
    lines += [""] + [f"  - {n}" for n in x.notes] + ([""] if x.notes else [])
    return lines


def launch_md(r: StrategyResult) -> list[str]:
    """The Launch section of a valid strategy's report; nothing for an invalid one. A plan that names its engine
    gets that engine's commands alone, as `dagc launch` prints them (until 2026-12-03 every engine's, vLLM's first,
    their memory flags from another engine's figures)."""
    engine = r.plan.cluster.engine.name
    named = "cluster.engine" in r.plan.spans and engine in ENGINES
    launches = launch_result(r, (engine,) if named else ENGINES)
    if not launches:
        return []
    model = launches[0].model
    which = (f"on {launches[0].name}, the engine the plan serves with (`dagc launch --engine` writes another's)"
             if named else "on each serving engine")
    lines = ["## Launch", "",
             f"The commands that start this strategy {which}, from `dagc launch` (which also "
             "names the nearest strategy an engine can run when it cannot; docs/launch.md). "
             f"Model path: {md_code(model.text)} — {md_prose(model.why)}.", ""]
    for x in launches:
        lines += _engine_md(x, r.plan.cluster.engine)
    return lines

"""The output directory `dagc compile` replaces whole, and what keeps that safe.

Input: the path of an output directory (and a staging directory filled beside it). Output: a
refusal (`OutputError`) or the set swapped in.

The whole set is written into a fresh sibling directory `.<out>.dagc-tmp-*` and swapped in
at the end (`swap_in`: an atomic exchange where the kernel has one), so a reader sees the old
complete set or the new one, never a mix; a lock file `.<out>.dagc-lock` beside it serialises
compiles of one directory (`output_lock`), and temporary directories left by killed runs are
removed under it (`clean_stale`). `<out>` carries a `.dagc-output` marker: a non-empty
directory without it is refused, never replaced (`check_output_dir`). Directory names are made
one harmless path component (`safe_dir_name`), and the default `out/` and `out/<plan>` must
not be links (`default_output_dir`).

The marker is also the manifest: it lists every file and directory dagc wrote into `<out>`
(`write_manifest`). A directory holding anything the manifest does not list (a file the user put
there, a link) is refused, and so is one without a marker that only looks like dagc's output
(names like report.md): both are replaced only with `force` (`--force`). A launch file
(`output_marker.is_launch_file`: `dagc launch`'s or the user's, never a compile's to write) is no reason to
refuse: it is carried as it stands (`carry_launch_files`). Leftovers beside it
(`.<out>.dagc-tmp-*`, `-old-*`) are touched only when they are real directories of this user that
dagc marked: a link or a stranger's directory under that name is left alone.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

from .home import refuse_a_home, refuse_shared
from .output_marker import (
    MANIFEST_HEAD,
    MARKER,
    MARKER_TEXT,
    OLD_TEMP_FILE,
    OUTPUT_FILES,
    entries,
    first_not_dagc,
    is_dagc_tree,
    is_launch_file,
    read_manifest,
)
from .rename_exchange import exchange as _exchange
from .write import BESIDE, OutputError, check_beside, existing_directory, file_kind, lstat_or_none, write_text_atomic

__all__ = ["check_output_dir", "default_output_dir", "safe_dir_name", "write_manifest", "plot_dir", "MARKER",
           "MARKER_TEXT", "MANIFEST_HEAD", "OUTPUT_FILES", "MAX_DIR_NAME", "read_manifest", "staging_parent",
           "COMPILE_PLOT_MARK", "carry_over", "carry_launch_files", "compile_plot"]

MAX_DIR_NAME = 64           # characters of a strategy's directory name (then cut, and made unique)
CARRIED_OVER = ("pareto.svg",)          # written by `dagc search` into the same directory: kept
# what `dagc compile`'s own pareto.svg carries after its signature, so that a later compile without a search does not
# carry it over as a search's: it plots the run before, not this one (until 2026-12-03 it was kept, beside reports
# of another batch)
COMPILE_PLOT_MARK = "<!-- dagc compile: this compile's search -->"


def safe_dir_name(name: str, fallback: str) -> str:
    """A name that is one harmless path component: letters, digits, `_`, `-` and inner dots,
    never `.`, `..` or hidden, never starting with `-` (a shell script's `cd out/--help` or `ls -- …` aside,
    a command reads such a name as a flag: leading `-` become `_`), at most MAX_DIR_NAME characters.

    Example:
        >>> safe_dir_name("..", "plan"), safe_dir_name("my plan/v2", "plan"), safe_dir_name("--help", "plan")
        ('plan', 'my_plan_v2', '__help')
    """
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip(".")[:MAX_DIR_NAME].rstrip(".")
    dashes = len(name) - len(name.lstrip("-"))
    return "_" * dashes + name[dashes:] or fallback


def default_output_dir(plan_name: str, root: Path = Path("out")) -> Path:
    """`out/<plan>`, the default output directory, for a plan named after its file's stem.

    The plan's name is made one safe path component (a plan file `..moe` must not make
    dagc replace `out/` itself), and neither `out` nor `out/<plan>` may be a symlink: a pull
    request could commit `out -> /etc` (or `out/plan -> ~`) and have dagc write there.

    Raises:
        OutputError: when `root` or `root/<plan>` is a symlink or not a directory.
    """
    st = lstat_or_none(root)
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise OutputError(root, f"the default output directory is {file_kind(st.st_mode)}; "
                                "give one with -o DIR")
    out = root / safe_dir_name(plan_name, "plan")
    existing_directory(out)
    return out


def _is_empty_dir(d: Path) -> bool:
    with os.scandir(d) as entries:
        return next(iter(entries), None) is None


def _foreign(out: Path, manifest: frozenset[str]) -> str | None:
    """The first entry of `out` that the manifest does not list (links, FIFOs, sockets and devices never count as
    dagc's), but a launch file
    (`is_launch_file`: `dagc launch`'s, carried as it stands, listed or not, edited or not); an older dagc's marker
    (`*`) vouches only for names dagc writes (`_is_dagc_tree`)."""
    if "*" in manifest:
        return first_not_dagc(out)
    staged = sibling(out, "tmp-")          # a killed run's staging inside a mount point (`staging_parent`)
    for rel, e in entries(out):
        if rel.startswith(staged) and "/" not in rel.rstrip("/") and _ours(out / rel.rstrip("/")):
            continue
        if is_launch_file(rel, e):
            continue
        # a listed file is dagc's only as dagc writes it, a regular file: never a FIFO, socket or device in its place
        if rel != MARKER and (rel not in manifest or e.is_symlink()
                              or not (rel.endswith("/") or e.is_file(follow_symlinks=False))):
            return rel
    return None


def _hidden_foreign(out: Path) -> str | None:
    """The first hidden entry of `out` dagc did not write (`.git`, `.ssh`, `.env`), None if none: a directory
    holding one is not pointed at `--force`."""
    ours = (sibling(out, "tmp-"), sibling(out, "old-"))
    with os.scandir(out) as entries:
        for name in sorted(e.name for e in entries):
            m = OLD_TEMP_FILE.fullmatch(name)
            if (name.startswith(".") and name != MARKER and not name.startswith(ours)
                    and not (m and m.group("name") in OUTPUT_FILES)):
                return name
    return None


def _not_forced(out: Path, hidden: str | None) -> str:
    """How to go on from a refused directory: `--force` only where it would remove no hidden entry."""
    return ("give a new or empty directory, or --force to replace it whole" if hidden is None else
            f"give a new or empty directory, e.g. -o {out / 'dagc-out'} (--force never replaces one holding "
            f"`{hidden}`)")


def check_output_dir(out: Path, force: bool = False) -> None:
    """Raise OutputError unless `out` is absent, an empty directory or a dagc output directory
    holding only what dagc wrote (`force`: any directory, which is then replaced whole — never `/`, a home
    directory or one above it). `.` and `..` are the directories they name."""
    out = Path(os.path.abspath(out))
    if out.parent == out:
        raise OutputError(out, "the root directory cannot be an output directory, not even with --force")
    if not existing_directory(out):
        return check_beside(out, sibling(out, "lock"))      # the lock's directory: before the work, not after
    refuse_a_home(out)
    check_beside(out, sibling(out, "lock"))
    try:
        if _is_empty_dir(out):
            return
        hidden = _hidden_foreign(out)
        if force:
            return refuse_shared(out, hidden)
        manifest = read_manifest(out)
        if manifest is not None:
            extra = _foreign(out, manifest)
            if extra is None:
                return
            raise OutputError(out, f"it holds `{extra}`, which dagc did not write (dagc replaces its output "
                                   f"directory whole); move it away, or {_not_forced(out, hidden)}")
        older = is_dagc_tree(out)
    except OSError as exc:
        raise OutputError(out, exc.strerror or str(exc)) from exc
    hint = " (its files are named like dagc's, but it has no marker)" if older else ""
    raise OutputError(out, f"not a dagc output directory{hint}: it holds files dagc did not write, and dagc "
                           f"replaces its output directory whole; {_not_forced(out, hidden)}")


def write_manifest(staging: Path) -> None:
    """Write the marker of a filled staging directory: every entry in it, listed."""
    listed = [rel for rel, _ in entries(staging) if rel != MARKER]
    write_text_atomic(staging / MARKER, MARKER_TEXT + MANIFEST_HEAD + "".join(f"{r}\n" for r in listed))


def plot_dir(out: Path, name: str, force: bool = False) -> Path:
    """Make `out` ready to receive one more file `name` (the search's pareto.svg in `out/<plan>`):
    created with a marker listing it when absent; when it exists, it must be one `check_output_dir`
    accepts, and its manifest then lists `name` too. Returns the path to write.

    Raises:
        OutputError: as `check_output_dir`.
    """
    check_output_dir(out, force)
    try:
        if not existing_directory(out):
            out.mkdir(parents=True, exist_ok=True)
        manifest = read_manifest(out)
        if manifest is None or (name not in manifest and "*" not in manifest):
            listed = sorted((manifest or frozenset()) | {name})
            write_text_atomic(out / MARKER, MARKER_TEXT + MANIFEST_HEAD + "".join(f"{r}\n" for r in listed))
    except OSError as exc:
        raise OutputError(out, exc.strerror or str(exc)) from exc
    return out / name


def sibling(out: Path, kind: str) -> str:
    return f".{out.name}.dagc-{kind}"


@contextlib.contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive flock on `.<out>.dagc-lock`; the file is removed on release.

    A waiter may lock a file the holder has just removed: it then checks that the path still
    names the file it locked, and starts again if not."""
    path = out.parent / (sibling(out, "lock"))
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:        # O_NOFOLLOW on a link: not the parent's permissions (until 2026-12-03)
                raise OutputError(path, "the lock file is a symbolic link, which dagc never follows: remove the "
                                        "link") from exc
            raise OutputError(path, f"{exc.strerror or exc} ({BESIDE})") from exc
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise OutputError(path, f"the lock file is {file_kind(st.st_mode)}")
            fcntl.flock(fd, fcntl.LOCK_EX)
            now = lstat_or_none(path)
        except BaseException:
            os.close(fd)
            raise
        if now is not None and (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino):
            break
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.close(fd)


def _remove(path: Path) -> None:
    st = lstat_or_none(path)
    if st is None:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def _ours(path: Path) -> bool:
    """A leftover dagc may remove or restore: a real directory (not a link) of this user, empty
    (a run killed before its first file) or holding dagc's marker."""
    st = lstat_or_none(path)
    if st is None or not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        return False
    marker = lstat_or_none(path / MARKER)
    return (marker is not None and stat.S_ISREG(marker.st_mode)) or _is_empty_dir(path)


def staging_parent(out: Path) -> Path:
    """Where the new set is staged: beside `out`, so that it is swapped in whole; inside `out` when `out`
    is a mount point, which cannot be renamed (and whose parent is another file system): the set then
    replaces the old one file by file (`swap_in`)."""
    return out if existing_directory(out) and os.path.ismount(out) else out.parent


def clean_stale(out: Path) -> None:
    """Under the lock: put back a set a killed swap left aside, remove killed runs' staging. Only
    dagc's own leftovers (`_ours`) are touched: a link or a stranger's directory is left alone; and a set is put
    back only when it holds nothing its manifest does not list (`_restorable`): a marker is text anyone can write,
    and until 2026-12-03 a `.<out>.dagc-old-1` a pull request committed, holding a file of its own, became the
    output directory, which the compile then refused."""
    prefixes = (sibling(out, "tmp-"), sibling(out, "old-"))
    stale = []
    for folder in {out.parent, staging_parent(out)}:
        with os.scandir(folder) as entries:
            stale += sorted(Path(e.path) for e in entries if e.name.startswith(prefixes))
    for p in stale:
        if not _ours(p):
            continue
        if not p.name.startswith(prefixes[1]):
            _remove(p)
        elif not _restorable(p):
            continue            # files dagc did not write: neither put back nor removed
        elif lstat_or_none(out) is None:
            os.rename(p, out)
        else:
            _remove(p)


def _restorable(old: Path) -> bool:
    """Whether a set a killed swap left aside is one dagc would replace as it stands (`check_output_dir`): its
    manifest lists every entry in it, and it holds no hidden entry dagc did not write."""
    try:
        manifest = read_manifest(old)
        return manifest is not None and _foreign(old, manifest) is None and _hidden_foreign(old) is None
    except (OSError, OutputError):
        return False


def swap_in(staging: Path, out: Path) -> None:
    """Make `staging` the content of `out`; afterwards `staging` holds the old set (or nothing). A staging
    directory inside `out` (a mount point) is moved in entry by entry, the marker last, and what the old
    manifest lists but the new set lacks is removed: each file is replaced atomically, the set is not."""
    if staging.parent == out:
        try:
            listed = read_manifest(out) or frozenset()
        except OutputError:     # forced past a marker that is not dagc's: remove nothing it lists
            listed = frozenset()
        new = sorted(e.name for e in os.scandir(staging) if e.name != MARKER)
        for name in new:
            st = lstat_or_none(out / name)
            if st is not None and stat.S_ISDIR(st.st_mode):
                shutil.rmtree(out / name)          # ours: the manifest check let nothing else stay
            os.replace(staging / name, out / name)
        for rel in sorted({r.rstrip("/").split("/", 1)[0] for r in listed if r != "*"} - set(new)):
            _remove(out / rel)
        os.replace(staging / MARKER, out / MARKER)
        return
    _keep_metadata(staging, out)
    if lstat_or_none(out) is None or _is_empty_dir(out):
        os.rename(staging, out)           # replaces an empty directory atomically
        return
    if _exchange(staging, out):
        return
    old = out.parent / (sibling(out, "old-") + staging.name.rsplit("-", 1)[-1])
    os.rename(out, old)
    try:
        os.rename(staging, out)
    except BaseException:
        os.rename(old, out)
        raise
    os.rename(old, staging)


def _keep_metadata(staging: Path, out: Path) -> None:
    """Give `staging`, about to replace the directory `out`, `out`'s mode and owner (its owner where this user may
    give it: root, or the owner itself): a directory made in advance — a CI job's artifacts, group-writable and
    setgid — stays as it was made (until 2026-12-03 it came back this user's, 0755)."""
    st = lstat_or_none(out)
    if st is None or not stat.S_ISDIR(st.st_mode):
        return
    os.chmod(staging, stat.S_IMODE(st.st_mode))
    with contextlib.suppress(OSError):
        if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
            os.chown(staging, st.st_uid, st.st_gid)
            os.chmod(staging, stat.S_IMODE(st.st_mode))     # a chown clears setgid: set again


def carry_launch_files(out: Path, staging: Path) -> None:
    """Keep in the new set what `dagc launch -o` wrote into `out`, as it stands: the regular files at its top under a
    launch file's name (`dagc.export.output_marker.LAUNCH_FILE`), the user's edits and replacements with them, listed
    by the manifest or not (a launch takes an edited file off it: the user's now) — they are `dagc launch`'s to
    replace or remove (`dagc.export.launch_dir.tidy`) or the user's, never a compile's, which writes no such name;
    links are not carried (a compile's manifest check refuses them as any file it did not write)."""
    try:
        read_manifest(out)
    except OutputError:     # a marker that is not dagc's (forced past it): carry nothing
        return
    if not existing_directory(out):
        return
    with os.scandir(out) as it:
        found = sorted(e.name for e in it if is_launch_file(e.name, e))
    for name in found:
        if lstat_or_none(staging / name) is None:
            shutil.copy2(out / name, staging / name, follow_symlinks=False)


def compile_plot(svg: str) -> str:
    """`dagc compile`'s pareto.svg: the search's plot, `COMPILE_PLOT_MARK` after its first two lines (its root element
    and its signature, where `dagc.export.write.check_own` reads them: `dagc search --svg` may replace it)."""
    lines = svg.split("\n", 2)
    return "\n".join([*lines[:2], COMPILE_PLOT_MARK, *lines[2:]]) if len(lines) == 3 else svg


def carry_over(out: Path, staging: Path, mark: str | None = None) -> None:
    """Keep in the new set the plots `dagc search` wrote into `out` (`CARRIED_OVER`), not a compile's own
    (`COMPILE_PLOT_MARK` in its first lines), and, given the plan's `mark` (`dagc.export.pareto.plan_mark`), only a
    plot of that plan (until 2026-12-03 a search's plot of one plan stayed beside another plan's reports)."""
    for name in CARRIED_OVER:
        src = out / name
        st = lstat_or_none(src)
        if st is None or not stat.S_ISREG(st.st_mode) or lstat_or_none(staging / name) is not None:
            continue
        with open(src, "rb") as f:              # bounded: the mark is in its first lines
            head = f.read(4096)
        if COMPILE_PLOT_MARK.encode() not in head and (mark is None or mark.encode() in head):
            shutil.copyfile(src, staging / name, follow_symlinks=False)

"""`compile`: check every strategy and write its outputs (SPEC 8).

Input: a `Plan`, its `StrategyResult`s, an output directory and `CompileOptions`. Output,
for each strategy, under `<out>/` (a single unnamed strategy) or `<out>/<strategy dir>/`:
report.json, report.md, report.html and, when the DAG was built, dag.json, dag.dot + dag.svg,
placement.svg and trace.json. With several strategies a side-by-side report.md / report.html
sits in `<out>/`.

The whole set is written into a fresh sibling directory `.<out>.dagc-tmp-*` and swapped in
at the end, so a reader sees the old complete set or the new one, never a mix; a lock file
`.<out>.dagc-lock` beside it serialises compiles of one directory, and temporary directories
left by killed runs are removed under it. `<out>` carries a `.dagc-output` marker: a non-empty
directory without it (and not recognisably dagc's) is refused, never replaced.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import functools
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..plan.plan import Plan
from ..verdict.check import StrategyResult
from .dag_json import dag_json
from .dot import Detail, dag_dot
from .html import report_html
from .markdown import comparison_md, report_md
from .placement import placement_svg
from .render import DOT_TIMEOUT_S, check_dot_timeout, write_svg
from .report import report_json
from .trace import EVENT_BUDGET, write_trace
from .write import (
    OutputError,
    existing_directory,
    file_kind,
    lstat_or_none,
    write_json_atomic,
    write_text_atomic,
)

__all__ = ["CompileOptions", "check_output_dir", "Written", "compile_results", "strategy_dir_name",
           "strategy_dir_names", "MARKER", "OutputError", "default_output_dir", "safe_dir_name"]


FILES_PER_STRATEGY = 8      # report.json/.md/.html, dag.json/.dot/.svg, trace, placement
MARKER = ".dagc-output"     # in every output directory dagc creates
MAX_DIR_NAME = 64           # characters of a strategy's directory name (then cut, and made unique)
# Everything dagc writes into an output directory; a directory holding only these (and the
# temporary names of older versions) is dagc's even without the marker.
OUTPUT_FILES = frozenset({"report.json", "report.md", "report.html", "dag.json", "dag.dot", "dag.svg",
                          "placement.svg", "trace.json", "trace.json.gz", "pareto.svg", MARKER})
CARRIED_OVER = ("pareto.svg",)          # written by `dagc search` into the same directory: kept
_OLD_TEMP_FILE = re.compile(r"\.(?P<name>[^/]+)\.[A-Za-z0-9_]{8}(?:\.tmp)?")
_OLD_TEMP_DIR = re.compile(r"tmp[A-Za-z0-9_]{8}")


@dataclass(frozen=True)
class CompileOptions:
    graph_detail: Detail = Detail.SUMMARY
    all_ranks: bool = False
    gzip: bool = False
    dot_timeout_s: float = DOT_TIMEOUT_S
    event_budget: int = EVENT_BUDGET
    pareto_svg: str | None = None      # the search's Pareto plot (when it ran): <out>/pareto.svg, linked by the reports


@dataclass(frozen=True)
class Written:
    result: StrategyResult | None     # None: the side-by-side comparison of several strategies
    directory: Path
    files: tuple[Path, ...]
    warnings: tuple[str, ...] = field(default=())


def safe_dir_name(name: str, fallback: str) -> str:
    """A name that is one harmless path component: letters, digits, `_`, `-` and inner dots,
    never `.`, `..` or hidden, at most MAX_DIR_NAME characters.

    Example:
        >>> safe_dir_name("..", "plan"), safe_dir_name("my plan/v2", "plan")
        ('plan', 'my_plan_v2')
    """
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip(".")[:MAX_DIR_NAME].rstrip(".")
    return name or fallback


def default_output_dir(plan_name: str, root: Path = Path("out")) -> Path:
    """`out/<plan>`, the default output directory, for a plan named after its file's stem.

    The plan's name is made one safe path component (a plan file `..moe` must not make
    dagc replace `out/` itself), and `out` must not be a symlink: a pull request could commit
    `out -> /etc` and have dagc write there.

    Raises:
        OutputError: when `root` is a symlink or not a directory.
    """
    st = lstat_or_none(root)
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise OutputError(root, f"the default output directory is {file_kind(st.st_mode)}; "
                                "give one with -o DIR")
    return root / safe_dir_name(plan_name, "plan")


def strategy_dir_name(result: StrategyResult, index: int) -> str:
    """A directory name for a strategy: its name (sanitised), else `strategy-N`. Not unique by
    itself: `strategy_dir_names` makes the names of a plan's strategies distinct."""
    if result.decl.name:
        return safe_dir_name(result.decl.name, "strategy")
    return f"strategy-{index + 1}"


def strategy_dir_names(results: list[StrategyResult]) -> list[str]:
    """Distinct directory names for a plan's strategies, also on case-insensitive file systems.

    Named strategies keep their (sanitised) name when they can, unnamed ones are `strategy-N`;
    a clash (`strategy strategy-1 = …` beside the first unnamed strategy, names that differ
    only by case or in characters the sanitiser replaces) gets `-2`, `-3`, … appended. Names
    of the files in the output directory are never used.
    """
    taken = {n.casefold() for n in OUTPUT_FILES}
    base = [strategy_dir_name(r, i) for i, r in enumerate(results)]
    names: list[str | None] = [None] * len(results)
    order = [i for i, r in enumerate(results) if r.decl.name] + [i for i, r in enumerate(results) if not r.decl.name]
    for i in order:
        name, k = base[i], 1
        while name.casefold() in taken:
            k += 1
            name = f"{base[i]}-{k}"
        taken.add(name.casefold())
        names[i] = name
    return [n for n in names if n is not None]


def _write_one(r: StrategyResult, d: Path, final: Path, opts: CompileOptions,
               tick: Callable[[], None], pareto_link: str = "pareto.svg") -> Written:
    """Write one strategy's files into `d` (inside the staging directory); they will live in `final`.
    `pareto_link` is where this report finds the search's plot (`opts.pareto_svg`)."""
    files: list[str] = []
    warnings: list[str] = []
    artefacts: dict[str, str] = {}
    if opts.pareto_svg is not None:
        artefacts[pareto_link] = opts.pareto_svg
    d.mkdir(exist_ok=True)
    if r.compiled is not None:
        write_json_atomic(d / "dag.json", dag_json(r.compiled), indent=None)
        files.append("dag.json")
        tick()
        graph = dag_dot(r.compiled, opts.graph_detail)
        if graph.note:
            warnings.append(f"dag.dot: {graph.note}; drew `{graph.detail.value}`")
        write_text_atomic(d / "dag.dot", graph.text)
        files.append("dag.dot")
        tick()
        drawn = write_svg(graph.text, d / "dag.svg", opts.dot_timeout_s)
        if drawn.warning:
            warnings.append(drawn.warning)
        if drawn.svg is None:
            with contextlib.suppress(FileNotFoundError):
                (d / "dag.svg").unlink()
        else:
            files.append("dag.svg")
            tick()
            artefacts["dag.svg"] = drawn.svg
        info = write_trace(r.compiled, d / "trace.json", all_ranks=opts.all_ranks, compress=opts.gzip,
                           budget=opts.event_budget)
        files.append(info.path.name)
        tick()
        artefacts["trace"] = info.path.name
        if info.warning:
            warnings.append(f"trace: {info.warning}")
    if r.layout is not None:
        svg = placement_svg(r)
        write_text_atomic(d / "placement.svg", svg)
        files.append("placement.svg")
        tick()
        artefacts["placement.svg"] = svg
    links = {k: (k if k != "trace" else v) for k, v in artefacts.items() if k != pareto_link}
    if opts.pareto_svg is not None:
        links["pareto.svg"] = pareto_link
    md = report_md(r, links=links)
    write_text_atomic(d / "report.md", md)
    files.insert(0, "report.md")
    tick()
    write_json_atomic(d / "report.json", report_json(r))
    files.insert(0, "report.json")
    tick()
    write_text_atomic(d / "report.html", report_html(md, artefacts))
    files.insert(2, "report.html")
    tick()
    return Written(r, final, tuple(final / f for f in files), tuple(warnings))


# ------------------------------------------------------------------ the output directory

def _is_dagc_tree(d: Path, depth: int = 0) -> bool:
    """Only names dagc writes (a strategy directory level below the top, temporaries of older
    versions), no links: a directory dagc wrote before it had the marker."""
    with os.scandir(d) as entries:
        for e in entries:
            if e.is_symlink():
                return False
            if e.is_file(follow_symlinks=False):
                m = _OLD_TEMP_FILE.fullmatch(e.name)
                if e.name not in OUTPUT_FILES and not (m and m.group("name") in OUTPUT_FILES):
                    return False
            elif e.is_dir(follow_symlinks=False):
                if depth >= 2 or (depth == 1 and not _OLD_TEMP_DIR.fullmatch(e.name)):
                    return False
                if not _is_dagc_tree(Path(e.path), depth + 1):
                    return False
            else:
                return False
    return True


def _is_empty_dir(d: Path) -> bool:
    with os.scandir(d) as entries:
        return next(iter(entries), None) is None


def check_output_dir(out: Path) -> None:
    """Raise OutputError unless `out` is absent, an empty directory or a dagc output directory."""
    if out.parent == out:
        raise OutputError(out, "the root directory cannot be an output directory")
    if not existing_directory(out):
        return
    try:
        marker = lstat_or_none(out / MARKER)
        if marker is not None and stat.S_ISREG(marker.st_mode):
            return
        if _is_empty_dir(out) or _is_dagc_tree(out):
            return
    except OSError as exc:
        raise OutputError(out, exc.strerror or str(exc)) from exc
    raise OutputError(out, "not a dagc output directory (it holds files dagc did not write, and dagc replaces "
                           "its output directory whole): give a new or empty directory")


def _sibling(out: Path, kind: str) -> str:
    return f".{out.name}.dagc-{kind}"


@contextlib.contextmanager
def _output_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive flock on `.<out>.dagc-lock`; the file is removed on release.

    A waiter may lock a file the holder has just removed: it then checks that the path still
    names the file it locked, and starts again if not."""
    path = out.parent / (_sibling(out, "lock"))
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise OutputError(path, f"{exc.strerror or exc} (dagc locks and stages the output beside the output "
                                    f"directory: its parent must be writable)") from exc
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


def _clean_stale(out: Path) -> None:
    """Under the lock: put back a set a killed swap left aside, remove killed runs' staging."""
    prefixes = (_sibling(out, "tmp-"), _sibling(out, "old-"))
    with os.scandir(out.parent) as entries:
        stale = sorted(Path(e.path) for e in entries if e.name.startswith(prefixes))
    for p in stale:
        if p.name.startswith(prefixes[1]) and lstat_or_none(out) is None:
            os.rename(p, out)
        else:
            _remove(p)


@functools.cache
def _renameat2():
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    fn = _renameat2()
    if fn is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _swap_in(staging: Path, out: Path) -> None:
    """Make `staging` the content of `out`; afterwards `staging` holds the old set (or nothing)."""
    if lstat_or_none(out) is None or _is_empty_dir(out):
        os.rename(staging, out)           # replaces an empty directory atomically
        return
    if _exchange(staging, out):
        return
    old = out.parent / (_sibling(out, "old-") + staging.name.rsplit("-", 1)[-1])
    os.rename(out, old)
    try:
        os.rename(staging, out)
    except BaseException:
        os.rename(old, out)
        raise
    os.rename(old, staging)


def _carry_over(out: Path, staging: Path) -> None:
    for name in CARRIED_OVER:
        src = out / name
        st = lstat_or_none(src)
        if st is not None and stat.S_ISREG(st.st_mode) and lstat_or_none(staging / name) is None:
            shutil.copyfile(src, staging / name, follow_symlinks=False)


def compile_results(plan: Plan, results: list[StrategyResult], out: Path,
                    options: CompileOptions | None = None,
                    progress: Callable[[int, int], None] | None = None) -> list[Written]:
    """Write each result's files (and a comparison with several) as one set; returns what was written.

    `progress(done, total)` is called after each file is written. The set replaces `out` whole
    (see the module docstring); on any exception, KeyboardInterrupt included, `out` is left as
    it was and the temporary files are removed.

    Raises:
        OutputError: `out` is not a directory dagc may replace, or writing failed.
        ValueError: `options.dot_timeout_s` is not a usable timeout.
    """
    opts = options or CompileOptions()
    check_dot_timeout(opts.dot_timeout_s)
    out = Path(os.path.abspath(out))
    several = len(results) > 1 or any(r.decl.name for r in results)
    names = strategy_dir_names(results) if several else []
    total, done = FILES_PER_STRATEGY * len(results), 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(min(done, total), total)

    check_output_dir(out)            # refuse before creating anything
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(out, exc.strerror or str(exc)) from exc
    with _output_lock(out):
        staging: Path | None = None
        try:
            _clean_stale(out)
            check_output_dir(out)
            staging = Path(tempfile.mkdtemp(prefix=_sibling(out, "tmp-"), dir=out.parent))
            write_text_atomic(staging / MARKER, "dagc output directory: `dagc compile` replaces it whole.\n")
            if opts.pareto_svg is not None:
                write_text_atomic(staging / "pareto.svg", opts.pareto_svg)
            written = []
            for i, r in enumerate(results):
                d, final = (staging / names[i], out / names[i]) if several else (staging, out)
                written.append(_write_one(r, d, final, opts, tick, "../pareto.svg" if several else "pareto.svg"))
            pareto = (out / "pareto.svg",) if opts.pareto_svg is not None else ()
            if len(results) > 1:
                md = comparison_md(plan, results, names, "pareto.svg" if pareto else None)
                write_text_atomic(staging / "report.md", md)
                write_text_atomic(staging / "report.html", report_html(md, {}))
                written.append(Written(None, out, (out / "report.md", out / "report.html", *pareto)))
            elif pareto:                   # one strategy: its files and the search's plot share the directory
                written[0] = replace(written[0], files=(*written[0].files, *pareto))
            if opts.pareto_svg is None:
                _carry_over(out, staging)
            os.chmod(staging, 0o755)
            _swap_in(staging, out)
        except OSError as exc:
            raise OutputError(Path(exc.filename) if exc.filename else out, exc.strerror or str(exc)) from exc
        finally:
            if staging is not None:
                with contextlib.suppress(FileNotFoundError):
                    shutil.rmtree(staging)
    return written

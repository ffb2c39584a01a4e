"""Shared helpers: build plan texts from a base by replacing statements; the `needs_dot` marker."""

from __future__ import annotations

import contextlib
import functools
import inspect
import io
import os
import shutil
import stat
import statistics
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import cpu_times

ROOT = Path(__file__).resolve().parent.parent

# Under PYTHONDONTWRITEBYTECODE=1 (set on some machines and CI images) every test process compiled dagc and rewrote
# the tests' asserts again: 9.4 CPU s of collection per pytest-xdist process, against 3.9 with the bytecode cached,
# and 0.3 s more for each `python -m dagc` a test spawns. The suite's processes keep their bytecode in pytest's own
# cache directory instead, never beside the sources (docs/tests.md); a PYTHONPYCACHEPREFIX of the
# user's own is kept as it is.
if sys.dont_write_bytecode and sys.pycache_prefix is None:
    sys.pycache_prefix = os.environ["PYTHONPYCACHEPREFIX"] = str(ROOT / ".pytest_cache" / "pycache")
    sys.dont_write_bytecode = False
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
EXAMPLES = ROOT / "examples"

# The plain reference (`engine = pytorch`): the figures tests compute by hand from dagc's own kernels.
BASE = {
    "model": 'model preset "mixtral-8x7b"',
    "cluster": 'cluster { gpus = 8  gpus_per_node = 8  gpu preset "h100-sxm"  engine = pytorch }',
    "workload": "workload { batch = 64  prompt = 2048  generate = 256 }",
    "require": "",
    "strategy": "strategy tp 8",
}


def plan_text(**parts: str) -> str:
    """A plan text: BASE with the given statements replaced (keys of BASE)."""
    merged = {**BASE, **parts}
    return "\n".join(v for v in merged.values() if v) + "\n"


# a two-GPU plan of one layer and two experts: a search over it is a handful of candidates
TINY = plan_text(
    model='model "t" { layers = 1  hidden = 256  heads = 2  kv_heads = 2  head_dim = 128  vocab = 1000 '
          'moe { experts = 2  top_k = 1  ffn = 512 } }',
    cluster='cluster { gpus = 2  gpus_per_node = 2  gpu preset "h100-sxm" }',
    workload="workload { batch = 1  prompt = 128  generate = 8 }",
    strategy="strategy tp 2")


@pytest.fixture(autouse=True)
def _columns_unset(monkeypatch):
    """No `COLUMNS` but a test's own: dagc's piped output takes its width from it (docs/cli.md), and
    pytest-xdist's workers set COLUMNS=80, so a test would read tables at another width under `-n`."""
    monkeypatch.delenv("COLUMNS", raising=False)


def cache_by_arguments(function):
    """`functools.cache` keyed on the arguments bound with their defaults: `f(x)`, `f(x, "default")` and `f(x,
    y="default")` share one result (functools.cache keys on how a call is written: each would compute it again)."""
    signature = inspect.signature(function)
    once = functools.cache(function)

    @functools.wraps(function)
    def shared(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return once(*bound.args, **bound.kwargs)
    shared.cache_clear = once.cache_clear       # type: ignore[attr-defined]
    return shared


@functools.cache
def checked_example(name: str) -> tuple:
    """`check(load_plan(EXAMPLES / name))` of an example plan, computed once per process (each
    pytest-xdist worker) and shared by the tests that only read it: its DAG, trace, rules, layout."""
    from dagc.lang.load import load_plan
    from dagc.verdict.check import check

    return tuple(check(load_plan(EXAMPLES / name)))


@functools.cache
def checked_with_traffic(name: str) -> tuple:
    """`(plan, check(plan))` of bench/record_capacities.py's `plan_named(name)` (an in-flight example with its
    traffic, or the 16-GPU Qwen3-235B-A22B plan at 10 requests/s), computed once per test process: the capacity's
    tests against the plain bisection (tests/test_capacity_reference.py) and against the recorded figures
    (tests/test_capacity_recorded.py) read the same checks, and run in one process (`work_group`)."""
    from dagc.verdict.check import check
    if str(ROOT / "bench") not in sys.path:
        sys.path.insert(0, str(ROOT / "bench"))
    from record_capacities import plan_named

    plan = plan_named(name)
    return plan, tuple(check(plan))


@pytest.fixture(scope="session")
def written_trace(tmp_path_factory):
    """`write_trace(c, path)` with its defaults, written once per test process for each compiled strategy
    (`checked_example`'s, which live as long as the process) into a temporary directory of the run: the
    tests that only read a trace share it (writing one of a large example takes seconds)."""
    from dagc.export.trace import write_trace

    root, written = tmp_path_factory.mktemp("traces"), {}

    def trace(c):
        if id(c) not in written:
            written[id(c)] = (c, write_trace(c, root / f"{len(written)}.json"))
        return written[id(c)][1]
    return trace


@functools.cache
def trace_errors(path: Path) -> tuple[Counter, Counter]:
    """`check_trace(path)` and `check_readable(path)` (tests/trace_checker.py) of a trace `written_trace` wrote,
    which no test changes: computed once per test process and read by each test that checks that trace
    (parsing a large example's takes seconds; the two read one parse of it)."""
    from trace_checker import check_readable, check_trace

    parsed: list = []
    errors = check_trace(path, parsed)            # the document parsed once, for both when nothing was wrong
    return errors, check_readable(path, parsed[0] if parsed and not +errors else None)


@pytest.fixture(scope="session")
def compiled_example(tmp_path_factory):
    """`dagc compile PLAN -o DIR` (`--no-search` unless `search`), run in this process (`run_dagc`) once per
    test process for each plan and shared by the tests that only read what it writes: (DIR, the run)."""
    root, done = tmp_path_factory.mktemp("compiled"), {}

    def compile_(plan: Path, search: bool = False) -> tuple[Path, subprocess.CompletedProcess]:
        key = (str(plan), search)
        if key not in done:
            out = root / str(len(done))
            done[key] = out, run_dagc("compile", str(plan), "-o", str(out), *([] if search else ["--no-search"]))
        return done[key]
    return compile_


def ctrl_c_when_ready(tmp_path: Path, setup: str, call: str, arg: str, ready: str) -> tuple[int, str, str, float]:
    """Run a script — `setup`, then `call` inside a `try` that, on KeyboardInterrupt, prints `interrupted N` (N the
    worker processes still alive) and exits 130, else prints `finished` — as `python SCRIPT ARG` in a process group of
    its own, SIGINT at its default disposition (a background CI job ignores it); once its first line of output is
    `ready`, send SIGINT to the whole group as a terminal's Ctrl-C does: (its exit code, the rest of its output and
    its standard error, the seconds it took to end after the signal). A process left running is killed, its group
    with it."""
    import signal
    import time

    script = tmp_path / "interrupt.py"
    script.write_text(f"{setup}\ntry:\n    {call}\nexcept KeyboardInterrupt:\n"
                      "    print('interrupted', len(multiprocessing.active_children()), flush=True)\n"
                      "    sys.exit(130)\nprint('finished', flush=True)\n")

    proc = subprocess.Popen([sys.executable, str(script), arg], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        assert first == ready, first
        os.killpg(proc.pid, signal.SIGINT)
        t0 = time.perf_counter()
        out, err = proc.communicate(timeout=60)
        return proc.returncode, out, err, time.perf_counter() - t0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def run_dagc(*args: str, cwd: Path | str = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`dagc ARGS` run in this process, as `python -m dagc ARGS` would run in `cwd` (with `env` added
    to the environment) with its output piped: the same exit code, stdout and stderr (UTF-8 streams
    that are no terminal), without the interpreter's start-up and dagc's imports (~0.5–1 s a run).
    Tests of the process itself (a signal, a closed stream, start-up time, `python -m` on its own)
    spawn `python -m dagc`."""
    from dagc.cli.main import main

    out, err = (io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="") for _ in range(2))
    before, saved = os.getcwd(), {k: os.environ.get(k) for k in env or {}}
    os.chdir(cwd)
    os.environ.update(env or {})
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:          # argparse's --help and --version
                code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    finally:
        os.chdir(before)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    texts = []
    for stream in (out, err):
        stream.flush()
        texts.append(stream.buffer.getvalue().decode("utf-8"))   # type: ignore[attr-defined]
    return subprocess.CompletedProcess(["dagc", *args], code, texts[0], texts[1])


@contextlib.contextmanager
def one_computation_per_output(memo: dict | None = None):
    """Inside the block, what `check` and `search` compute is computed once per plan and options and shared by
    the commands run there: the check of `--format json` prints in text too, `search` (and `--rate`'s runs)
    likewise. For tests that read what one computation prints both ways; that a computation gives the same
    result twice is tests/test_search_pools.py's `test_the_search_is_deterministic` and tests/test_reproducible.py's.
    Keyed on the plan's whole value (its repr) and every option but the progress bars, clock and timer. A `memo`
    (a dict the caller keeps) carries what was computed from one block to the next: tests that each enter the
    block for one command share what the others computed, and no other test of the module sees it."""
    import dataclasses

    import dagc.drive.drive as driving
    import dagc.search.at_rate as at_rate
    import dagc.search.shown as shown

    memo = {} if memo is None else memo

    def once(name, real, key_of):
        def shared(*args, **kwargs):
            key = (name, key_of(*args, **kwargs))
            if key not in memo:
                memo[key] = real(*args, **kwargs)
            return memo[key]
        return shared

    def drive_key(plan, options=None):
        o = options or driving.DriveOptions()
        return repr(plan), repr(o.strategy), o.search, o.jobs, o.budget_s, o.picks

    def rate_key(plan, found, rate, progress=None, shown=None, jobs=1):     # `jobs`: the same rows (test_rate_jobs)
        return repr(plan), id(found), rate, shown

    def searched_key(plan, options=None, progress=None):
        return repr(plan), None if options is None else tuple(
            (f.name, getattr(options, f.name)) for f in dataclasses.fields(options)
            if f.name not in ("progress", "clock", "timer"))

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(driving, "drive", once("drive", driving.drive, drive_key))
        mp.setattr(driving, "searched", once("searched", driving.searched, searched_key))
        # the results above are the memo's own objects, so their id names them
        mp.setattr(driving, "judged", once("judged", driving.judged,
                                           lambda plan, found, need, progress=None: (repr(plan), id(found), need)))
        mp.setattr(shown, "exact_shown", once("exact_shown", shown.exact_shown,
                                              lambda plan, found, need: (repr(plan), id(found), need)))
        mp.setattr(at_rate, "rank_at_rate", once("rank_at_rate", at_rate.rank_at_rate, rate_key))
        yield


@contextlib.contextmanager
def templates_made():
    """Counts the op templates made (`OpShapes.make` calls) inside the block: `with templates_made() as made:
    …` and then `made[0]`."""
    from dagc.ir.ops import OpShapes
    make, made = OpShapes.make, [0]

    def counting(self, op):
        made[0] += 1
        return make(self, op)

    OpShapes.make = counting                # type: ignore[method-assign]
    try:
        yield made
    finally:
        OpShapes.make = make                # type: ignore[method-assign]


@pytest.fixture
def write_plan(tmp_path):
    def write(text: str, name: str = "plan.moe") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path
    return write


# The browser tests (tests/test_browser.py, marked `browser`) drive the system's Chromium through playwright.

def chromium() -> str | None:
    """The system's Chromium (Debian's `chromium` package installs /usr/bin/chromium)."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, naming the missing piece; None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return ("the playwright Python package is not installed (pip install -e '.[test]' installs it; it "
                "downloads no browser)")
    if chromium() is None:
        return ("no Chromium on PATH (apt-get install chromium; .ci/run installs it): the browser tests drive "
                "the system's Chromium and never download one")
    return None


@pytest.fixture(scope="session")
def chrome():
    """The system's Chromium, headless, every http(s) fetch sent to a closed local port: one per test process,
    each test opening its own context (tests/test_browser.py's `Tab`)."""
    if browser_missing() is not None:
        pytest.skip(str(browser_missing()))
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium(), args=[
            "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        try:
            yield b
        finally:
            b.close()


# A test that needs Graphviz's `dot` program is marked `@needs_dot` (registered in pyproject.toml) and
# skipped, with this reason, where `dot` is not on PATH; dagc itself draws without it (WebAssembly
# Graphviz), so every other test passes on a machine with Python alone.
needs_dot = pytest.mark.needs_dot
DOT_ABSENT = ("Graphviz's `dot` program is not on PATH (apt-get install graphviz; .ci/run installs it): "
              "dagc draws with its WebAssembly Graphviz instead, which the other tests check")


# The slow tests, marked `slow` here rather than in each file (registered in pyproject.toml): the quick
# subset is `pytest -m "not slow"` (README.md, "Running the tests"). tests/slow_tests.txt lists them,
# `file::test` (every parametrisation), with how they were picked.
SLOW_TESTS = frozenset(
    line.strip() for line in (ROOT / "tests" / "slow_tests.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#"))


# How pytest-xdist's processes share the work (`--dist loadscope`, pyproject.toml): a file's tests run in one
# process, so what a module computes once (a module-scoped fixture, a cache) is computed once in the run,
# not once per process; the files that read the examples' shared checks, compiles and traces
# (`checked_example`, `compiled_example`, `written_trace`) run together in one process for the same reason.
# The groups start the most expensive first (tests/file_costs.txt, CPU seconds measured by
# `bench/bench_tests.py --write-costs`), so that the processes end together; a file not listed there (a new
# one) counts as the median listed file, not as free: a heavy new file started last would end alone.
EXAMPLE_FILES = frozenset({
    "test_browser.py", "test_browser_phone.py", "test_capacity_search.py", "test_compile.py", "test_dag.py",
    "test_diagnostics_truth.py", "test_dot.py", "test_engine_flags.py", "test_examples.py", "test_exports.py",
    "test_placement.py", "test_trace.py"})
FILE_COSTS = {
    name: float(seconds) for seconds, name in (
        line.split() for line in (ROOT / "tests" / "file_costs.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#"))}
UNLISTED_COST = statistics.median(FILE_COSTS.values())


CAPACITY_FILES = frozenset({"test_capacity_recorded.py", "test_capacity_reference.py"})   # `checked_with_traffic`


def work_group(nodeid: str) -> str:
    """The group of tests one process runs together: the examples' shared files, the capacity's, or the test's
    own file."""
    file = nodeid.partition("::")[0].rsplit("/", 1)[-1]
    if file in EXAMPLE_FILES:
        return "examples"
    return "capacities" if file in CAPACITY_FILES else nodeid.partition("::")[0]


def pytest_xdist_make_scheduler(config, log):
    """`--dist loadscope` sends each process whole groups (`work_group`), in the order of the collection."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByGroup(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_group(nodeid)
    return ByGroup(config, log)


def pytest_collection_modifyitems(config, items):
    for item in items:
        path, _, rest = item.nodeid.partition("::")
        file = path.rsplit("/", 1)[-1]
        if f"{file}::{rest.split('[', 1)[0]}" in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
    files: dict[str, set[str]] = {}
    for item in items:
        files.setdefault(work_group(item.nodeid), set()).add(item.nodeid.partition("::")[0])
    cost = {group: sum(FILE_COSTS.get(f, UNLISTED_COST) for f in fs) for group, fs in files.items()}
    items.sort(key=lambda item: -cost[work_group(item.nodeid)])     # stable: a group keeps its order


def pytest_configure(config):
    """The cyclic garbage collector's first threshold in each test process as `dagc` sets it while a command runs
    (`GC_THRESHOLD`, dagc/cli/main.py; Python's default is 700). A test process keeps the shared checks, DAGs and
    traces it has computed alive for the run, and every third-generation collection walks them all: with the default
    threshold they took 3.6 of the 22.7 CPU seconds of tests/test_dot.py and tests/test_trace.py run together,
    with this one none (22.7 → 19.0 CPU s, the same peak memory)."""
    import gc

    from dagc.cli.main import GC_THRESHOLD

    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
    # each test's CPU seconds, measured only when `--cpu-durations` asks (two getrusage calls a phase: about 1 %
    # of the whole suite's samples under py-spy on 2026-11-30)
    if config.getoption("--cpu-durations") is not None and not config.pluginmanager.is_registered(cpu_times):
        config.pluginmanager.register(cpu_times, "cpu_times")


def pytest_collection_finish(session):
    """What the test process holds once its tests are collected (dagc's and the tests' modules, the collected tests,
    pytest's own) lives until it ends: frozen (`gc.freeze`), the cyclic garbage collector's full passes, which the
    caches the tests share make larger as the run goes on, no longer walk it again each time (docs/tests.md, "Garbage
    collection")."""
    import gc

    gc.freeze()


@pytest.hookimpl(tryfirst=True)
def pytest_unconfigure(config):
    """At the end of a test process everything it holds is frozen before pytest's last collections and the
    interpreter's exit: each was a full pass over the shared checks, DAGs and traces the process kept (three of them,
    2–3 CPU s a process: docs/tests.md, "Garbage collection"); the exit frees them by their references."""
    import gc

    gc.freeze()


def pytest_runtest_setup(item):
    if item.get_closest_marker("needs_dot") is not None and shutil.which("dot") is None:
        pytest.skip(DOT_ABSENT)


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite tests/golden/* from the current output (review the diff like code)")
    cpu_times.add_option(parser)          # `--cpu-durations=N`, tests/cpu_times.py's hooks


@pytest.fixture
def golden(request):
    """Compare text with tests/golden/<name>; with --update-golden, rewrite it instead."""
    update = request.config.getoption("--update-golden")

    def check(name: str, text: str) -> None:
        path = ROOT / "tests" / "golden" / name
        if update:
            path.write_text(text)
        assert path.exists(), f"no golden file {path}; run pytest --update-golden once and review it"
        assert text == path.read_text(), f"{name} differs from its golden file"
    return check


# Character devices (major, minor) of Linux's /dev/null, /dev/zero and /dev/urandom.
_DEVICES = {"null": (1, 3), "zero": (1, 5), "urandom": (1, 9)}


def private_devices(directory: Path) -> dict[str, Path]:
    """Device nodes like /dev/null, /dev/zero and /dev/urandom made inside `directory` (as root,
    which CI is), so tests hand dagc a device without ever naming the machine's own: if dagc
    wrongly wrote to one, only the test's copy would be replaced. Empty where mknod is not allowed."""
    made = {}
    for name, (major, minor) in _DEVICES.items():
        path = directory / f"dev-{name}"
        try:
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(major, minor))
        except OSError:
            continue
        made[name] = path
    return made


def still_devices(devices: dict[str, Path]) -> bool:
    """Whether every private device node is still a character device (nothing replaced it)."""
    return all(stat.S_ISCHR(os.lstat(p).st_mode) for p in devices.values())


def usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], plan_text: str) -> str:
    """The last line `dagc ARGV` writes to standard error when argparse refuses it (exit 2), `{plan}` in ARGV
    replaced by a plan of `plan_text` written in `tmp_path`."""
    from dagc.cli.main import main

    plan = tmp_path / "p.moe"
    plan.write_text(plan_text)
    with pytest.raises(SystemExit) as exc:
        main([a.format(plan=plan) for a in argv])
    assert exc.value.code == 2
    return capsys.readouterr().err.splitlines()[-1]

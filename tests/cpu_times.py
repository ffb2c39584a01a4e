"""`pytest --cpu-durations=N`: the N tests that took the most CPU seconds, as pytest's `--durations` lists the
longest by wall time. On a machine others share, a test's wall time is its CPU time stretched by the load (5 to 18
times it at load 10–20), so the wall-time list ranks the tests by when they ran as much as by what they cost; the
CPU seconds of a test — user + system of its process, and of the processes it spawned and waited for — do not
depend on the load. Each test's setup, call and teardown are summed, as `--durations` lists them apart; under
pytest-xdist each process measures its own tests and sends the figures with its reports. N = 0 lists every test.
tests/conftest.py imports these hooks; `bench/bench_tests.py --write-costs` sums them by file."""

from __future__ import annotations

import resource

import pytest

KEY = "cpu_s"


def cpu_s() -> float:
    """User + system CPU seconds of this process and of the processes it has waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def add_option(parser) -> None:
    parser.addoption("--cpu-durations", type=int, default=None, metavar="N",
                     help="list the N tests that took the most CPU seconds (setup, call and teardown; user + system "
                          "of the test's process and what it spawned), 0 for every test (tests/cpu_times.py)")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Each phase's report carries the CPU seconds the phase took (measured around it by the phase's hooks below)."""
    report = yield
    spent = item.stash.get(_SPENT, {}).get(call.when)
    if spent is not None:
        report.user_properties.append((KEY, spent))
    return report


_SPENT = pytest.StashKey[dict]()


def _measured(item, when: str):
    start = cpu_s()
    try:
        return (yield)
    finally:
        item.stash.setdefault(_SPENT, {})[when] = cpu_s() - start


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    return (yield from _measured(item, "setup"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    return (yield from _measured(item, "call"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item):
    return (yield from _measured(item, "teardown"))


_totals: dict[str, float] = {}


def pytest_runtest_logreport(report) -> None:
    """Sums each test's phases in the process that prints (pytest-xdist's controller, or the only one)."""
    for key, value in report.user_properties:
        if key == KEY:
            _totals[report.nodeid] = _totals.get(report.nodeid, 0.0) + float(value)


def pytest_terminal_summary(terminalreporter, config) -> None:
    n = config.getoption("--cpu-durations")
    if n is None or not _totals:
        return
    ranked = sorted(_totals.items(), key=lambda kv: -kv[1])
    shown = ranked if n == 0 else ranked[:n]
    terminalreporter.write_sep("=", f"{'all' if n == 0 else len(shown)} tests by CPU seconds "
                                    f"(of {len(ranked)}; {sum(_totals.values()):.1f} CPU s in all)")
    for nodeid, seconds in shown:
        terminalreporter.write_line(f"{seconds:8.2f} cpu {nodeid}")

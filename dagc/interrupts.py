"""Ctrl-C switched off in a process that is stopping (the CLI once it has said "interrupted") or that leaves
Ctrl-C to its parent (search, calibration and fleet workers). No imports but the standard library: the
CLI's start uses it before the compiler loads.

Why more than `signal.signal(SIGINT, SIG_IGN)`: a Ctrl-C whose C-level handler runs between Python's
check of pending signals (the first thing `signal.signal` does) and the switch to SIG_IGN stays pending
with no Python handler left, and Python's next check reports it on standard error as "Exception ignored
… Traceback … OSError: Signal 2 ignored due to race condition" (CPython bpo-43406). Five Ctrl-Cs in a row
on `dagc search --jobs 2` printed that once in CI (rare: none in 60 such storms on the same machine; made
on purpose in tests/test_interrupts.py). Blocking SIGINT in the calling thread first closes the window in
a process with one thread (a worker at its start); in the CLI another thread (the process pool's) can
still take the signal, so the CLI also drops that one report (`quiet_ignored_signal_reports`)."""

from __future__ import annotations

import signal
import sys

_RACE_REPORT = f"Signal {int(signal.SIGINT)} ignored due to race condition"


def ignore_interrupts() -> None:
    """Every later Ctrl-C does nothing here: SIGINT blocked in this thread, then ignored (a signal pending
    while blocked is dropped by the switch to SIG_IGN)."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def quiet_ignored_signal_reports() -> None:
    """Python's report of a Ctrl-C that arrived as SIGINT was being ignored is not printed (the CLI has
    already said "interrupted", or is about to); every other unraisable exception goes to the hook
    that was there before."""
    previous = sys.unraisablehook

    def hook(unraisable: sys.UnraisableHookArgs) -> None:
        value = unraisable.exc_value
        if isinstance(value, OSError) and str(value) == _RACE_REPORT:
            return
        previous(unraisable)

    sys.unraisablehook = hook

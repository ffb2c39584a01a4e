"""Ctrl-C switched off without a word on standard error (`dagc.interrupts`): a Ctrl-C that lands while SIGINT
is being switched to SIG_IGN made Python print "Exception ignored … OSError: Signal 2 ignored due to race
condition" with a traceback under the CLI's "dagc: interrupted" (seen once in CI on a Ctrl-C storm)."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from conftest import ROOT

# The race made on purpose: Python's own C-level SIGINT handler is called (through ctypes, as the kernel
# would call it) after the Python-level handler has become SIG_IGN, the state a Ctrl-C arriving inside
# `signal.signal(SIGINT, SIG_IGN)` leaves behind.
RACE = """
import ctypes, signal, struct, sys
from dagc.interrupts import quiet_ignored_signal_reports

signal.signal(signal.SIGINT, lambda *_: None)        # Python's C handler is the one the kernel calls
sigaction = ctypes.create_string_buffer(256)         # glibc's struct sigaction starts with the handler
assert ctypes.CDLL(None).sigaction(signal.SIGINT, None, sigaction) == 0
c_handler = ctypes.CFUNCTYPE(None, ctypes.c_int)(struct.unpack("P", sigaction.raw[:struct.calcsize("P")])[0])
if sys.argv[1] == "quiet":
    quiet_ignored_signal_reports()
signal.signal(signal.SIGINT, signal.SIG_IGN)
c_handler(signal.SIGINT)                             # a Ctrl-C landing just before the switch
sum(range(100000))                                   # Python's next look at pending signals


class Finalizer:
    def __del__(self):
        raise ValueError("a finalizer's own failure")


Finalizer()                                          # any other unraisable exception is still reported
print("carried on", flush=True)
"""

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the race is made through glibc's sigaction, on Linux")


def _race(tmp_path, mode: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "race.py"
    script.write_text(RACE)
    return subprocess.run([sys.executable, str(script), mode], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


@linux_only
def test_python_reports_the_race_without_the_hook(tmp_path):
    """The reproduction is real: without the CLI's hook Python prints the race with a traceback."""
    proc = _race(tmp_path, "plain")
    assert proc.stdout == "carried on\n", proc.stderr
    assert "OSError: Signal 2 ignored due to race condition" in proc.stderr
    assert proc.stderr.count("Traceback") == 2, proc.stderr        # the race's and the finalizer's


@linux_only
def test_the_cli_hook_drops_only_the_race_report(tmp_path):
    proc = _race(tmp_path, "quiet")
    assert proc.stdout == "carried on\n", proc.stderr
    assert "race condition" not in proc.stderr
    assert "ValueError: a finalizer's own failure" in proc.stderr      # other reports are still printed
    assert proc.stderr.count("Traceback") == 1, proc.stderr


IGNORE = """
import os, signal
from dagc.interrupts import ignore_interrupts

signal.signal(signal.SIGINT, lambda *_: print("handled", flush=True))
ignore_interrupts()
os.kill(os.getpid(), signal.SIGINT)                  # blocked, then dropped: SIGINT is ignored
blocked = signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, set())
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN, blocked, signal.sigpending() == set(), flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="no signal masks on this platform")
def test_ignore_interrupts_blocks_then_ignores(tmp_path):
    """SIGINT is blocked in the calling thread before it is switched to SIG_IGN, so none can land in between;
    a Ctrl-C sent afterwards is neither handled nor left pending."""
    script = tmp_path / "ignore.py"
    script.write_text(IGNORE)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert (proc.stdout, proc.stderr) == ("True True True\n", "")

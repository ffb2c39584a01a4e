"""The `dagc` command's entry point, `main()`: parses the arguments (`dagc.cli.parser`), runs the command
(`dagc.cli.commands`, `dagc.cli.launch`) and turns interruptions and failures of the machine into exit codes.

Exit codes (documented in the README, `dagc --help` and docs/limits.md):
    0    the plan is valid and meets its requirements (or has none)
    1    the plan is valid but a requirement is not met, or could not be judged
    2    usage error (bad command-line arguments)
    3    the plan is invalid (a strategy breaks a rule: E2xx–E4xx; or the plan's engine cannot start it: E7xx)
    4    input or syntax error (unreadable or refused file, E0xx, E1xx — in a strategy too)
    5    the outputs could not be written (refused or failing output path; standard output closed,
         full or failing, or in an encoding that cannot show dagc's text)
    130  interrupted (Ctrl-C); temporary files are removed

A reader that stops early (`| head`, on standard output or on standard error) never changes the exit code:
what is left to print goes nowhere, and the command ends with the code it decided (`_GoneReader`).
Names that were not UTF-8 (file names) are printed with backslash escapes, never as a crash; a
current directory that was deleted is said in one line (4).
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Sequence
from concurrent.futures import BrokenExecutor
from typing import TextIO

from ..exit_codes import EXIT_INPUT, EXIT_INTERRUPTED, EXIT_OK, EXIT_OUTPUT, EXIT_USAGE
from ..interrupts import ignore_interrupts
from .parser import build_parser

# Failures of the machine's resources rather than of the plan: one line each, never a traceback.
# (`BrokenExecutor`: a broken pool of the search's worker processes, without importing them.)
_RESOURCE_FAILURES: dict[type, str] = {
    RecursionError: "the input nests too deeply to process",
    BrokenExecutor: "a search worker process died (out of memory?); try --jobs 1",
    MemoryError: "out of memory; see docs/limits.md for the bounds dagc applies",
}


# The cyclic garbage collector's first-generation threshold while a command runs (Python's default: 700
# allocations). dagc's objects seldom form cycles, yet a check of a large plan allocates millions of
# them, and the collections those trigger took a tenth of a second of the 2048-GPU check (measured:
# 1.17 s → 1.08 s). Memory stays bounded: the collector still runs, ~140 times less often.
GC_THRESHOLD = 100_000


class _GoneReader:
    """A standard stream whose reader may stop early (`dagc check plan 2>&1 | head -1`): once a write or
    flush finds the pipe closed, the stream's descriptor points at /dev/null and the command carries on
    to the exit code it decides — a broken plan still exits 4 under `set -o pipefail`, whichever
    stream closed and whenever. Every other failure (a full disk, an encoding) is raised as before."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._gone()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._gone()

    def _gone(self) -> None:
        """/dev/null in place of the closed pipe, and what was left in the buffer flushed there."""
        with contextlib.suppress(OSError, AttributeError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self._stream.fileno())
            finally:
                os.close(devnull)
        with contextlib.suppress(OSError, ValueError):
            self._stream.flush()

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def main(argv: Sequence[str] | None = None) -> int:
    before = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, *before[1:])
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = (s if s is None else _GoneReader(s) for s in streams)
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = streams     # a caller in this process (a test) gets its own back
        gc.set_threshold(*before)


def _streams_usable() -> str | None:
    """Why dagc cannot run with these standard streams and this directory (None: it can). Lone
    surrogates (a file name that was not UTF-8) are printed escaped on a UTF-8 terminal."""
    if sys.stdout is None:
        return "standard output is closed"
    for stream in (sys.stdout, sys.stderr):
        if stream is not None and (getattr(stream, "encoding", "") or "").lower().replace("-", "") == "utf8":
            with contextlib.suppress(AttributeError, ValueError, OSError):
                stream.reconfigure(errors="backslashreplace")      # type: ignore[union-attr]
    try:
        os.getcwd()
    except FileNotFoundError:
        return "the current directory no longer exists; cd to one that does"
    except OSError as exc:
        return f"the current directory cannot be read ({exc.strerror or exc})"
    return None


def _isatty(stream: object) -> bool:
    with contextlib.suppress(Exception):
        return bool(stream.isatty())        # type: ignore[attr-defined]
    return False


def _say(line: str) -> None:
    """One line on stderr, whatever its encoding and state."""
    with contextlib.suppress(Exception):
        if sys.stderr is not None:
            enc = getattr(sys.stderr, "encoding", None) or "ascii"
            sys.stderr.write(line.encode(enc, "backslashreplace").decode(enc, "replace") + "\n")
            sys.stderr.flush()


def _main(argv: Sequence[str] | None) -> int:
    args = None
    problem = _streams_usable()
    if problem is not None:
        _say(f"error: {problem}")
        return EXIT_OUTPUT if sys.stdout is None else EXIT_INPUT
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return EXIT_USAGE
        code: int = args.func(args)
        sys.stdout.flush()              # a reader gone early is found here, not at the interpreter's exit
        return code
    except KeyboardInterrupt:
        # The library removes its temporary files on the way out (try/finally); say one line.
        # Further Ctrl-Cs while Python shuts down must not print a traceback.
        ignore_interrupts()
        print("dagc: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (RecursionError, BrokenExecutor, MemoryError) as exc:
        print(f"error: {next(m for t, m in _RESOURCE_FAILURES.items() if isinstance(exc, t))}", file=sys.stderr)
        return EXIT_INPUT
    except UnicodeEncodeError as exc:
        where = "this terminal's encoding" if _isatty(sys.stdout) else "standard output's encoding (not a terminal)"
        _say(f"error: {where} ({exc.encoding}) cannot hold dagc's output; use a UTF-8 locale or set "
             "PYTHONIOENCODING=utf-8")
        _quiet_stdout()
        return EXIT_OUTPUT
    except BrokenPipeError:
        # a pipe closed early that `_GoneReader` did not see (a stream written around it): stop quietly,
        # keep Python from complaining at exit, and exit as the command decided before it printed.
        _quiet_stdout()
        return getattr(args, "decided", EXIT_OK)
    except OSError as exc:       # what the commands did not catch: standard output full or failing
        _say(f"error: cannot write to standard output: {exc.strerror or exc}")
        _quiet_stdout()
        return EXIT_OUTPUT


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so that Python's own flush at exit finds nothing left to complain about."""
    with contextlib.suppress(OSError, AttributeError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())

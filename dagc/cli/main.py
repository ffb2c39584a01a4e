"""The `dagc` command's entry point, `main()`: parses the arguments (`dagc.cli.parser`), runs the command
(`dagc.cli.commands`, `dagc.cli.launch`) and turns interruptions and failures of the machine into exit codes.

Exit codes (documented in the README, `dagc --help` and docs/limits.md):
    0    the plan is valid and meets its requirements (or has none)
    1    the plan is valid but a requirement is not met, or could not be judged
    2    usage error (bad command-line arguments)
    3    the plan is invalid (a strategy breaks a rule: E2xx–E4xx)
    4    input or syntax error (unreadable or refused file, E0xx, E1xx — in a strategy too)
    5    the outputs could not be written (refused or failing output path)
    130  interrupted (Ctrl-C); temporary files are removed
"""

from __future__ import annotations

import gc
import os
import signal
import sys
from collections.abc import Sequence
from concurrent.futures import BrokenExecutor

from ..exit_codes import EXIT_INPUT, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
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


def main(argv: Sequence[str] | None = None) -> int:
    before = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, *before[1:])
    try:
        return _main(argv)
    finally:
        gc.set_threshold(*before)            # a caller in this process (a test) gets its own back


def _main(argv: Sequence[str] | None) -> int:
    args = None
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return EXIT_USAGE
        code = args.func(args)
        sys.stdout.flush()              # a reader gone early is found here, not at the interpreter's exit
        return code
    except KeyboardInterrupt:
        # The library removes its temporary files on the way out (try/finally); say one line.
        # Further Ctrl-Cs while Python shuts down must not print a traceback.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("dagc: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (RecursionError, BrokenExecutor, MemoryError) as exc:
        print(f"error: {next(m for t, m in _RESOURCE_FAILURES.items() if isinstance(exc, t))}", file=sys.stderr)
        return EXIT_INPUT
    except BrokenPipeError:
        # stdout closed early (e.g. `| head`): stop quietly, keep Python from complaining at exit, and
        # exit as the command decided before it printed (check, compile: the verdict's code).
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        return getattr(args, "decided", EXIT_OK)

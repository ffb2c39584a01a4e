"""Graphviz's `dot` program, run for `render.py`: found on PATH only among absolute entries outside
the current directory (`find_dot`), fed DOT on its standard input, its SVG read from a pipe, and
stopped at the timeout or on Ctrl-C with everything it started (it leads a process group of its
own, killed whole). What it prints is not trusted: `render.py` re-serialises it (`svg_safe`).

Input: DOT text and a timeout. Output: the SVG text as `dot` printed it, and who drew it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess

__all__ = ["find_dot", "run_dot", "Unavailable", "Failed", "TimedOut"]


class Unavailable(Exception):
    """This renderer is not on this machine: try the next one."""


class Failed(Exception):
    """This renderer ran and failed: try the next one, and say so."""


class TimedOut(Exception):
    """This renderer was stopped at the timeout: stop there."""


# dag.dot is built with the `graphviz` package (dot_graph.py), but `dot` is run here, not through
# the package's `pipe()`: `pipe()` (graphviz 0.20/0.21) takes no timeout and calls subprocess.run
# without one, so a layout that runs for hours could not be stopped and killed; it also prints
# `dot`'s stderr to ours, where dagc reports it in the warning.
def find_dot(path: str | None = None, cwd: str | None = None) -> str | None:
    """Graphviz's `dot` on PATH, taken only from absolute entries outside the current directory:
    an empty or relative entry (`PATH=:/usr/bin` means the current directory first), or one in the
    current directory's tree, would run a `dot` a downloaded plan's folder carries.

    Example:
        >>> find_dot("::.:bin", "/") is None
        True
    """
    entries = (os.environ.get("PATH", os.defpath) if path is None else path).split(os.pathsep)
    try:
        here = os.path.realpath(cwd if cwd is not None else os.getcwd())
    except OSError:              # the current directory was deleted: nothing can lie inside it
        here = None
    for entry in entries:
        if not os.path.isabs(entry):
            continue
        real = os.path.realpath(entry)
        if here is not None and here != os.sep and (real == here or real.startswith(here + os.sep)):
            continue
        exe = os.path.join(entry, "dot")
        if os.path.isfile(exe) and os.access(exe, os.X_OK):
            return exe
    return None


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill `dot` and whatever it started (a wrapper script's children too): it leads its own group."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    proc.communicate()


def run_dot(dot_text: str, timeout_s: float) -> tuple[str, str]:
    exe = find_dot()
    if exe is None:
        raise Unavailable("Graphviz `dot` is not on PATH")
    try:
        proc = subprocess.Popen([exe, "-Tsvg"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
    except OSError as exc:
        raise Failed(f"`dot` could not be run: {exc.strerror or exc}") from exc
    try:
        out, err = proc.communicate(dot_text.encode(errors="backslashreplace"), timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        _kill_group(proc)
        raise TimedOut(f"`dot` took longer than {timeout_s:g} s and was stopped") from exc
    except BaseException:        # Ctrl-C: no layout left running behind us
        _kill_group(proc)
        raise
    if proc.returncode != 0:
        raise Failed(f"`dot` failed: {err.decode(errors='replace').strip()[:300]}")
    return out.decode("utf-8", errors="replace"), "Graphviz's dot program (found on PATH)"

"""Issue 40, errors at the edges: standard output closed, full or in an encoding that cannot show
dagc's text, and a deleted current directory each give one line and a documented exit code
(docs/cli.md), never a traceback. Only temporary directories are written."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dagc.exit_codes import EXIT_INPUT, EXIT_OUTPUT
from conftest import ROOT

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def run(args: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dagc", *args], capture_output=kw.pop("capture", True), text=True,
                          timeout=120, env={**ENV, **kw.pop("env", {})}, **kw)


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def test_closed_stdout_is_one_line_and_exit_5():
    proc = subprocess.run([sys.executable, "-m", "dagc", "schema"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, env=ENV, timeout=120, preexec_fn=lambda: os.close(1))
    assert proc.returncode == EXIT_OUTPUT
    assert one_line(proc.stderr) == "error: standard output is closed"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_stdout_is_one_line_and_exit_5():
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "dagc", "schema"], stdout=full, stderr=subprocess.PIPE,
                              text=True, env=ENV, timeout=120)
    assert proc.returncode == EXIT_OUTPUT
    assert one_line(proc.stderr).startswith("error: cannot write to standard output: No space left")


def test_a_terminal_that_is_not_utf8_is_one_line_and_exit_5():
    proc = run(["presets"], env={"PYTHONIOENCODING": "ascii"})
    assert proc.returncode == EXIT_OUTPUT
    # piped here: said as standard output's, not a terminal's (until 2026-12-03 "this terminal's" for a file too)
    assert one_line(proc.stderr).startswith("error: standard output's encoding (not a terminal) (ascii) cannot hold")


def test_a_deleted_current_directory_is_one_line_and_exit_4(tmp_path):
    gone = tmp_path / "gone"
    gone.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", "import os, sys, time; time.sleep(0.5); "
                             "from dagc.cli.main import main; sys.exit(main(['presets']))"],
                            cwd=gone, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    gone.rmdir()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == EXIT_INPUT
    assert one_line(err) == "error: the current directory no longer exists; cd to one that does"

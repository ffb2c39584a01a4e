"""A reader that stops early — on standard error as on standard output — never changes dagc's exit
code: `dagc check plan 2>&1 | head -1` under `set -o pipefail` fails a broken plan (4) every time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TYPOS = str(EXAMPLES / "mistakes" / "typos.moe")
ENV = {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "120"}


def _commands(tmp_path: Path) -> list[list[str]]:
    return [["check", TYPOS], ["compile", TYPOS, "-o", str(tmp_path / "out")], ["search", TYPOS],
            ["check", TYPOS, "--format", "json"]]


@pytest.mark.parametrize("which", range(4))
def test_a_reader_of_stderr_that_reads_one_line_and_leaves_gets_the_input_error_code(which, tmp_path):
    """stderr is read up to its first line, then closed: what dagc writes after fails, the code stays 4."""
    args = _commands(tmp_path)[which]
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-m", "dagc", *args], cwd=tmp_path, env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert proc.stderr is not None
        first = proc.stderr.readline()
        proc.stderr.close()
        assert proc.wait(timeout=120) == 4, first
        assert b"E101" in first or b"error" in first


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
@pytest.mark.parametrize("which", range(4))
def test_a_pipe_closed_before_dagc_writes_keeps_the_exit_code(which, stream, tmp_path):
    """The pipe's reader is gone before the first byte (every write fails): the code is still the verdict's."""
    read, write = os.pipe()
    os.close(read)
    try:
        where = {"stdout": write, "stderr": subprocess.DEVNULL}
        if stream == "stderr":
            where = {"stdout": subprocess.DEVNULL, "stderr": write}
        proc = subprocess.run([sys.executable, "-m", "dagc", *_commands(tmp_path)[which]], cwd=tmp_path, env=ENV,
                              timeout=120, **where)
    finally:
        os.close(write)
    assert proc.returncode == 4


@pytest.mark.parametrize("plan, code", [("mistakes/cp-short-prompt.moe", 3), ("qwen3-30b-a3b-4gpu.moe", 0)])
def test_rule_errors_and_valid_plans_keep_their_codes_with_stderr_closed(plan, code, tmp_path):
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run([sys.executable, "-m", "dagc", "check", str(EXAMPLES / plan), "--no-search"],
                              cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=write, timeout=120)
    finally:
        os.close(write)
    assert proc.returncode == code
    assert b"Traceback" not in proc.stdout

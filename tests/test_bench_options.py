"""The benchmark scripts the README runs read their options with argparse: `--help` says them and returns, and a
misspelt option is refused (bench/bench_render.py ran its whole benchmark, minutes, for `--help` or `--no_cli`)."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "bench" / "bench_render.py"), *args], capture_output=True,
                          text=True, timeout=60, cwd=ROOT)


def test_bench_render_says_its_options_and_refuses_a_misspelt_one():
    proc = _run("--help")
    assert proc.returncode == 0 and "--no-cli" in proc.stdout and "machine:" not in proc.stdout, proc.stdout
    proc = _run("--no_cli")
    assert proc.returncode == 2 and "unrecognized arguments: --no_cli" in proc.stderr, proc.stderr

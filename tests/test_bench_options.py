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


def test_bench_check_times_each_check_without_the_dags_kept_before(monkeypatch):
    """`python bench/bench_check.py` prints the wall time and memory of a check (README.md, "Benchmarks"): each
    timed run builds its DAG, as a new `dagc check` does. Until 2026-11-30 every run after the first found the DAG
    `compile_dag` keeps in its process, and the table read about 0.004 s and 0.0 MiB for every rung."""
    import dagc.verdict.analyse as analyse

    sys.path.insert(0, str(ROOT / "bench"))
    import bench_check
    text = bench_check.plan_text('model preset "mixtral-8x7b"', 8, "h100-sxm", 1, "tp 8")
    bench_check.check_cold(text)                   # a first check keeps its DAG
    built = []
    real = analyse._built
    monkeypatch.setattr(analyse, "_built", lambda *a, **k: built.append(1) or real(*a, **k))
    bench_check.measure(lambda: bench_check.check_cold(text), 2)
    assert len(built) == 3                         # two timed runs and the one under tracemalloc, each its own DAG

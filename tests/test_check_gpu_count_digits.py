"""GPU counts are written as every other count of dagc's is, with thousands separators, in `dagc check`'s lines and
in report.md and placement.svg: until 2026-11-30 "GPUs: 2048 used of 2048 available" and "uses 2048 of 2,048 GPUs",
two spellings in one sentence."""

from __future__ import annotations

from pathlib import Path

from conftest import run_dagc

PLAN = """model preset "mixtral-8x7b"
cluster { gpus = 1024  gpu preset "h100-sxm" }
workload { batch = 1024  prompt = 512  generate = 64 }
strategy dp 128 < tp 8 >
"""


def test_the_layout_line_counts_gpus_with_separators(tmp_path: Path) -> None:
    (tmp_path / "p.moe").write_text(PLAN)
    proc = run_dagc("check", "p.moe", "--no-search", cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    assert "GPUs: 1,024 used of 1,024 available  (dp 128 × pp 1 × stage group 8)" in proc.stdout.splitlines()
    assert " · cluster 1,024 × h100-sxm (8 per node) · " in proc.stdout.splitlines()[0]


def test_the_report_and_the_placement_count_gpus_with_separators(tmp_path: Path) -> None:
    (tmp_path / "p.moe").write_text(PLAN)
    proc = run_dagc("compile", "p.moe", "--no-search", "-q", "-o", "out", cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    md = (tmp_path / "out" / "report.md").read_text()
    for said in ("on **1,024 × h100-sxm** (8 per node)", "the strategy uses 1,024 of the 1,024 GPUs.",
                 "| no rule errors; uses 1,024 of 1,024 GPUs |", "stage group 8 = **1,024** of 1,024 available."):
        assert said in md, said
    assert "1,024 of 1,024 GPUs used = dp 128" in (tmp_path / "out" / "placement.svg").read_text()

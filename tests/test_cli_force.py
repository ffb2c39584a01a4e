"""`--force` and `--output-budget` on the command line: a directory dagc cannot tell it wrote is kept unless
forced, and a compile past its budget replaces nothing."""

from __future__ import annotations

import subprocess

from conftest import ROOT, run_dagc

PLAN = ROOT / "examples" / "mixtral-8x7b-1node.moe"


def dagc(*args: str, cwd) -> subprocess.CompletedProcess:
    return run_dagc(*args, cwd=cwd)


def test_compile_keeps_a_users_directory_unless_forced(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "report.md").write_text("my notes")
    r = dagc("compile", str(PLAN), "-o", "out", "--no-search", cwd=tmp_path)
    assert r.returncode == 5 and "--force" in r.stderr and (tmp_path / "out" / "report.md").read_text() == "my notes"
    r = dagc("compile", str(PLAN), "-o", "out", "--no-search", "--force", cwd=tmp_path)
    assert r.returncode in (0, 1) and (tmp_path / "out" / "report.md").read_text().startswith("# dagc ")


def test_a_compile_past_its_output_budget_writes_nothing(tmp_path):
    r = dagc("compile", str(PLAN), "-o", "out", "--no-search", "--output-budget", "1000", cwd=tmp_path)
    assert r.returncode == 5 and "Traceback" not in r.stderr
    assert not (tmp_path / "out" / "report.md").exists()

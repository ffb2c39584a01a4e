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


def test_force_never_replaces_the_directory_that_holds_the_plan(tmp_path):
    """`-o .` beside the plan, with `--force` or not, and `-o ..` from below it: refused before any work (exit 5),
    the plan and the user's other files kept, and `--force` not offered as the way on."""
    (tmp_path / "plan.moe").write_text(PLAN.read_text())
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "sub").mkdir()
    for args, cwd in ((("plan.moe", "-o", "."), tmp_path), (("plan.moe", "-o", ".", "--force"), tmp_path),
                      (("../plan.moe", "-o", "..", "--force"), tmp_path / "sub")):
        r = dagc("compile", *args, "--no-search", cwd=cwd)
        assert r.returncode == 5, r.stderr
        assert "it holds plan.moe, which this run reads" in r.stderr and "not even with --force" in r.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "plan.moe", "sub"]


def test_the_library_refuses_an_output_directory_holding_a_file_the_plan_reads(tmp_path):
    """`dagc.compile` into the directory of the plan's request log (`Plan.files`), forced: refused, the log kept."""
    import pytest

    from dagc import compile as compile_plan
    from dagc.export.compile import CompileOptions
    from dagc.export.write import OutputError
    from dagc.lang.load import load_plan
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "trace.csv").write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n"
                                    "2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,396,109\n")
    (tmp_path / "plan.moe").write_text(
        'model preset "qwen3-30b-a3b"\ncluster { gpus = 1  gpu preset "h100-sxm" }\n'
        'workload { batch = 16  prompt = 400  generate = 100  serving = inflight\n'
        '  requests from "logs/trace.csv" }\nstrategy tp 1\n')
    plan = load_plan(tmp_path / "plan.moe")
    assert plan.files and plan.workload.traffic is not None
    with pytest.raises(OutputError, match=r"it holds trace\.csv, which this run reads"):
        compile_plan(plan, logs, options=CompileOptions(force=True), search=False)
    assert sorted(p.name for p in logs.iterdir()) == ["trace.csv"]

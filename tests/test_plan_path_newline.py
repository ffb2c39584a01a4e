"""A pull request can commit a plan whose file name holds a newline (git allows it). Every line dagc prints names it
with the newline shown as U+FFFD (docs/limits.md, "Control characters are never sent to the terminal"), so the name
cannot print a line of its own — a forged `verdict: correct: yes` in a CI log. Until 2026-11-30 the header of
`dagc check` and `dagc compile` (`plan <path> · model …`) and the summary line of a `dagc fleet` that could not
read its plan printed the path raw."""

from __future__ import annotations

from conftest import run_dagc

PLAN = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpus_per_node = 8  gpu preset "h100-sxm" }
workload { batch = 64  prompt = 2048  generate = 256 }
strategy tensor = tp 8
"""
FORGED = "verdict: correct: yes"


def test_a_newline_in_the_plan_path_stays_in_the_check_header(tmp_path):
    plan = tmp_path / f"x\n{FORGED}.moe"
    plan.write_text(PLAN)
    proc = run_dagc("check", "--no-search", plan.name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith(f"plan x\N{REPLACEMENT CHARACTER}{FORGED}.moe · model mixtral-8x7b (46.7 B params")
    assert not any(line.startswith(f"{FORGED}.moe") for line in proc.stdout.splitlines())   # the forged line


def test_a_newline_in_the_plan_path_stays_in_the_fleet_summary(tmp_path):
    plan = tmp_path / f"x\n{FORGED}.moe"
    plan.write_text("bogus\n")
    proc = run_dagc("fleet", plan.name, cwd=tmp_path)
    assert proc.returncode == 4
    last = proc.stderr.rstrip("\n").splitlines()[-1]
    assert last == f"error: x\N{REPLACEMENT CHARACTER}{FORGED}.moe: the fleet was not searched"

"""A run whose plan and strategy `dagc check` refuses is not fitted, and a strategy's or a manifest's problem is said
where it is written: a new user's `--strategy "tp 8"` on a plan of 4 GPUs was calibrated (a file of `gpus` 4 and
`instance_gpus` [8, 8]), and `--strategy "tp 3"` was said at the run file's `num_prompts`."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from test_calibrate_manifest_sets import PLAN, RUN

from dagc.calibrate.manifest import jobs_of, jobs_of_manifest
from dagc.diagnostics import PlanError, render
from conftest import run_dagc

FOUR = PLAN.replace("gpus = 2", "gpus = 4").replace("strategy tp 2", "strategy dep = tp 4 ; ep 4")


def _home(tmp_path: Path, manifest: str | None = None) -> Path:
    (tmp_path / "runs").mkdir()
    (tmp_path / "plan.moe").write_text(FOUR)
    (tmp_path / "runs" / "rate4.json").write_text(RUN + "\n")
    if manifest is not None:
        (tmp_path / "m.toml").write_text(manifest)
    return tmp_path


def test_a_strategy_of_more_gpus_than_the_plan_has_is_refused_as_dagc_check_refuses_it(tmp_path: Path):
    home = _home(tmp_path)
    proc = run_dagc("calibrate", "runs/rate4.json", "--plan", "plan.moe", "--strategy", "tp 8", "-o", "x.json",
                    cwd=home)
    assert proc.returncode == 4 and not (home / "x.json").exists()
    assert "--strategy:1:1: error[E401]: the strategy uses 8 GPUs (dp 1 × pp 1 × stage group 8); the cluster has 4" \
        in proc.stderr
    assert " 1 | tp 8\n   | ^^^^\n" in proc.stderr and "nothing was calibrated" in proc.stderr
    checked = run_dagc("check", "plan.moe", "--strategy", "tp 8", "--no-search", cwd=home)
    assert "--strategy:1:1: error[E401]: the strategy uses 8 GPUs" in checked.stdout + checked.stderr


def test_every_error_of_the_strategy_is_said_at_the_strategy_argument(tmp_path: Path):
    home = _home(tmp_path)
    with pytest.raises(PlanError) as exc:
        jobs_of([home / "runs" / "rate4.json"], home / "plan.moe", strategy="tp 3 ; ep 3")
    found = [(d.code, d.span.source.path, d.span.line, d.span.column) for d in exc.value.diagnostics]
    # 128 experts by ep 3 (at `ep 3`), 32 heads by tp 3 (at the strategy): both, each where `dagc check` puts it
    assert found == [("E301", "--strategy", 1, 8), ("E302", "--strategy", 1, 1)]
    assert any(d.message == "32 attention heads are not divisible by tp 3" for d in exc.value.diagnostics)


def test_a_manifests_strategy_is_refused_at_its_value(tmp_path: Path):
    home = _home(tmp_path, 'plan = "plan.moe"\n\n[[run]]\nfile = "runs/rate4.json"\nstrategy = "tp 8"\n')
    with pytest.raises(PlanError) as exc:
        jobs_of_manifest(home / "m.toml")
    (d,) = exc.value.diagnostics
    assert (d.code, d.span.source.path, d.span.line, d.span.column) == ("E401", str(home / "m.toml"), 5, 13)
    assert d.message == ("run entry 1: its `strategy`: the strategy uses 8 GPUs (dp 1 × pp 1 × stage group 8); the "
                         "cluster has 4")
    assert "strategy = " not in render(d)          # the manifest is never echoed


def test_a_manifests_run_and_missing_plan_are_said_at_their_keys(tmp_path: Path):
    home = _home(tmp_path, 'plan = "plan.moe"\n[[run]]\nfile = "runs/rate4.json"\nrun = 9\n'
                           '[[run]]\nfile = "runs/rate4.json"\nplan = "missing.moe"\n')
    with pytest.raises(PlanError) as exc:
        jobs_of_manifest(home / "m.toml")
    run, plan = exc.value.diagnostics
    assert (run.span.source.path, run.span.line, run.span.column) == (str(home / "m.toml"), 4, 7)
    assert run.message == "run entry 1: `run` is not a run of `runs/rate4.json` (it holds 1)"
    assert (plan.code, plan.span.source.path, plan.span.line, plan.span.column) == ("E110", str(home / "m.toml"), 7, 8)
    assert plan.message == "run entry 2: `plan` names a file that does not exist, `missing.moe`"


def test_the_plan_a_message_names_has_its_strategy(tmp_path: Path):
    home = _home(tmp_path)
    (home / "runs" / "rate8.json").write_text(RUN.replace('"request_rate":4.0', '"request_rate":8.0') + "\n")
    proc = run_dagc("calibrate", "runs/rate8.json", "--plan", "plan.moe", "--strategy", "tp 4", "-o", "x.json",
                    cwd=home)
    assert proc.returncode == 4
    said = "is not of plan `plan.moe --strategy 'tp 4'`: the run sent 8 requests/s, the plan 4 requests/s"
    assert said in proc.stderr


def test_the_plan_a_message_names_can_be_pasted_with_its_sets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # a new user's trial: `nt.moe --set workload.rate=4 requests/s`, which a shell splits into two words
    home = _home(tmp_path)
    (home / "runs" / "rate8.json").write_text(RUN.replace('"request_rate":4.0', '"request_rate":8.0') + "\n")
    monkeypatch.chdir(home)
    with pytest.raises(PlanError) as exc:
        jobs_of(["runs/rate8.json"], "plan.moe", overrides=["workload.rate=4 requests/s"])
    (d,) = exc.value.diagnostics
    shown = d.message.split("`")[1]
    assert shown == "plan.moe --set 'workload.rate=4 requests/s'"
    assert shlex.split(shown) == ["plan.moe", "--set", "workload.rate=4 requests/s"]


def test_the_strategys_errors_and_the_runs_are_said_together(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Independent problems in one run of the command: the strategy's E302, a run file that is not JSON, and a run of
    another rate."""
    home = _home(tmp_path)
    (home / "runs" / "rate8.json").write_text(RUN.replace('"request_rate":4.0', '"request_rate":8.0') + "\n")
    (home / "runs" / "cut.json").write_text(RUN[:100])
    monkeypatch.chdir(home)
    with pytest.raises(PlanError) as exc:
        jobs_of([f"runs/{n}" for n in ("rate8.json", "cut.json", "rate4.json")], "plan.moe", strategy="tp 3")
    found = [(d.code, Path(d.span.source.path).name, d.message.split(":")[0]) for d in exc.value.diagnostics]
    assert found == [("E302", "--strategy", "32 attention heads are not divisible by tp 3"),
                     ("E110", "cut.json", "the run file is not valid JSON (truncated?)"),
                     ("E110", "rate8.json", "run rate8.json is not of plan `plan.moe --strategy 'tp 3'`")]


def test_a_name_with_backticks_keeps_its_code_span_whole(tmp_path: Path):
    """A path holding backticks is quoted in a span fenced by one backtick more (`dagc.diagnostics.code`), so
    report.md and the terminal show it whole, not as a span that ends inside it."""
    home = _home(tmp_path, 'plan = "plan.moe"\n[[run]]\nfile = "runs/rate4.json"\nplan = "mi`ss.moe"\n')
    with pytest.raises(PlanError) as exc:
        jobs_of_manifest(home / "m.toml")
    (d,) = exc.value.diagnostics
    assert d.message == "run entry 1: `plan` names a file that does not exist, ``mi`ss.moe``"


def test_the_plan_a_message_names_is_whole_with_a_set_and_a_strategy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # a plan named with a `--set` and a `--strategy` passes the 60 characters of other quoted text: it was cut with "…"
    home = _home(tmp_path)
    (home / "runs" / "rate8.json").write_text(RUN.replace('"request_rate":4.0', '"request_rate":8.0') + "\n")
    monkeypatch.chdir(home)
    with pytest.raises(PlanError) as exc:
        jobs_of(["runs/rate8.json"], "plan.moe", overrides=["workload.rate=4 requests/s"], strategy="tp 4")
    (d,) = exc.value.diagnostics
    shown = d.message.split("`")[1]
    assert len(shown) > 60 and "…" not in shown
    assert shlex.split(shown) == ["plan.moe", "--set", "workload.rate=4 requests/s", "--strategy", "tp 4"]

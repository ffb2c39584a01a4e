"""A plan given where `dagc calibrate` reads its runs or a manifest (`dagc calibrate plan.moe`, as `dagc check
plan.moe` is written), and a manifest given as `--plan`, are said as such, with the command that reads them — not as
a manifest's TOML error or a plan's E001 at the manifest's first line."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_calibrate_manifest_sets import PLAN, RUN

from dagc.calibrate.manifest import jobs_of, jobs_of_manifest
from dagc.diagnostics import PlanError, render


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "qwen.moe").write_text(PLAN)
    (tmp_path / "rate4.json").write_text(RUN + "\n")
    (tmp_path / "runs.toml").write_text('plan = "qwen.moe"\n[[run]]\nfile = "rate4.json"\n')
    return tmp_path


def one(exc: pytest.ExceptionInfo[PlanError]):
    (d,) = exc.value.diagnostics
    return d


def test_a_plan_given_as_the_manifest_is_told_to_go_with_plan(home: Path):
    with pytest.raises(PlanError) as exc:
        jobs_of_manifest(home / "qwen.moe")
    d = one(exc)
    # was `the manifest is not valid TOML or JSON: Expected '=' after a key …`, hinted with the manifest's form
    assert (d.code, d.message) == ("E110", "a plan (a `.moe` file) is given where the runs or a manifest are")
    assert d.hint == ("give the plan with `--plan`, after the run files it measured: `dagc calibrate RUN… --plan PLAN "
                      '-o FILE`; or a manifest of runs and their plans (docs/calibrate.md, "The manifest")')
    assert (d.span.line, d.span.column) == (1, 1)


def test_a_manifest_given_as_the_plan_is_told_to_go_alone(home: Path):
    with pytest.raises(PlanError) as exc:
        jobs_of([home / "rate4.json"], home / "runs.toml")
    d = one(exc)
    # was E001 `unexpected `plan`; expected `calibration`, `cluster`, …`, the manifest's first line shown under it
    assert (d.code, d.message) == ("E110", "`--plan` names a manifest, not a plan")
    assert d.hint == ("this is a manifest (`[[run]]` tables): give it without `--plan`, "
                      "`dagc calibrate MANIFEST -o FILE`")
    assert d.span.source.path.endswith("runs.toml") and 'plan = "qwen.moe"' not in render(d)


def test_a_plan_with_an_error_given_as_the_plan_keeps_its_own_diagnostic(home: Path):
    (home / "bad.moe").write_text(PLAN.replace("gpus = 2", "gpus = two"))
    with pytest.raises(PlanError) as exc:
        jobs_of([home / "rate4.json"], home / "bad.moe")
    assert exc.value.diagnostics[0].code != "E110" and exc.value.diagnostics[0].span.source.path.endswith("bad.moe")


def test_a_json_lines_file_whose_last_run_is_cut_short_is_hinted_to_drop_it(home: Path):
    whole = RUN + "\n" + RUN.replace('"date":"20261120-101500"', '"date":"x"') + "\n"
    (home / "sglang.jsonl").write_text(whole + RUN[:300] + "\n")
    from dagc.calibrate.runs import read_runs
    with pytest.raises(PlanError) as exc:
        read_runs(home / "sglang.jsonl")
    d = one(exc)
    # was the generic `dagc reads vLLM's `--save-result` JSON, SGLang's bench_serving JSON lines and …`
    assert (d.message, d.span.line) == ("this line is not valid JSON (truncated?)", 3)
    assert d.hint == ("the file's last run is cut short (did the benchmark stop while appending it?): delete that "
                      "line, and the runs before it are read")
    (home / "sglang.jsonl").write_text(whole)
    assert len(read_runs(home / "sglang.jsonl")) == 2
    (home / "sglang.jsonl").write_text(RUN[:300] + "\n" + whole)      # a broken line before others: no such hint
    with pytest.raises(PlanError) as exc:
        read_runs(home / "sglang.jsonl")
    assert one(exc).hint is not None and "cut short" not in one(exc).hint

"""A manifest's and a run file's mistakes said where they are and as what they are: an entry naming a directory at
the entry, `run = 1.5` as no whole number, a JSON manifest of the wrong shape as one without entries, a JSON Lines
run file or a manifest given in the other's place with the command that reads it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_calibrate_manifest_sets import PLAN, RUN

from dagc.calibrate.manifest import jobs_of, jobs_of_manifest
from dagc.diagnostics import PlanError


def _home(tmp_path: Path, manifest: str) -> Path:
    (tmp_path / "runs").mkdir()
    (tmp_path / "plan.moe").write_text(PLAN)
    (tmp_path / "runs" / "rate4.json").write_text(RUN + "\n")
    (tmp_path / "m.toml").write_text(manifest)
    return tmp_path


def _said(path: Path) -> tuple[str, int, int, str, str | None]:
    with pytest.raises(PlanError) as exc:
        jobs_of_manifest(path)
    (d,) = exc.value.diagnostics
    return d.code, d.span.line, d.span.column, d.message, d.hint


def test_an_entry_naming_a_directory_is_said_at_the_entry(tmp_path: Path) -> None:
    home = _home(tmp_path, 'plan = "plan.moe"\n\n[[run]]\nfile = "runs"\n')
    # it read `runs:1:1: the run file is not a regular file`, at no line of the manifest and no entry
    assert _said(home / "m.toml")[:4] == ("E110", 4, 8, "run entry 1: `file` names no regular file, `runs`")


@pytest.mark.parametrize("value", ["true", "1.5", '"2"'])
def test_a_run_that_is_no_whole_number_is_said_as_such(tmp_path: Path, value: str) -> None:
    home = _home(tmp_path, f'plan = "plan.moe"\n\n[[run]]\nfile = "runs/rate4.json"\nrun = {value}\n')
    code, line, column, message, hint = _said(home / "m.toml")
    assert (code, line, column, message) == ("E110", 5, 7, "run entry 1: `run` is not a whole number")
    assert hint == "`runs/rate4.json` holds one run: leave `run` out"       # not "`run = 2`", which it has not
    home2 = tmp_path / "b"
    home2.mkdir()
    _home(home2, 'plan = "plan.moe"\n\n[[run]]\nfile = "runs/rate4.json"\nrun = 2\n')
    assert _said(home2 / "m.toml")[3] == "run entry 1: `run` is not a run of `runs/rate4.json` (it holds 1)"


def test_a_json_manifest_of_another_shape_has_no_entries(tmp_path: Path) -> None:
    home = _home(tmp_path, "[1, 2]\n")
    code, _, _, message, hint = _said(home / "m.toml")
    assert (code, message) == ("E110", "the manifest has no `[[run]]` entries")     # not "not valid TOML or JSON"
    assert hint is not None and "--plan PLAN" in hint


def test_json_lines_given_as_a_manifest_name_the_plan_option(tmp_path: Path) -> None:
    lines = "\n".join(json.dumps({"backend": "sglang", "completed": n}) for n in (10, 20)) + "\n"
    home = _home(tmp_path, lines)
    code, _, _, message, hint = _said(home / "m.toml")
    assert code == "E110" and message.startswith("the manifest is not valid TOML or JSON")
    assert hint == "a run file is given with `--plan PLAN`: `dagc calibrate RUN… --plan PLAN -o FILE`"


def test_a_manifest_given_as_a_run_file_says_so(tmp_path: Path) -> None:
    home = _home(tmp_path, 'plan = "plan.moe"\n\n[[run]]\nfile = "runs/rate4.json"\n')
    with pytest.raises(PlanError) as exc:
        jobs_of([home / "m.toml"], home / "plan.moe")
    (d,) = exc.value.diagnostics
    assert d.message == "the run file is not valid JSON (truncated?)"
    assert d.hint is not None and "this is a manifest" in d.hint and "without `--plan`" in d.hint


@pytest.mark.parametrize("table", ["[[runs]]", "[[Run]]"])
def test_entries_under_another_key_are_said_at_it(tmp_path: Path, table: str) -> None:
    """`[[runs]]` was told `the manifest has no [[run]] entries` at 1:1, hinted about run files and `--plan`, its
    key never named (until 2026-12-02)."""
    home = _home(tmp_path, f'plan = "plan.moe"\n\n{table}\nfile = "runs/rate4.json"\n')
    code, line, column, message, hint = _said(home / "m.toml")
    assert (code, line, column) == ("E110", 3, 3)
    assert message == f"the manifest has no key `{table[2:-2]}` (did you mean `run`?): its entries are `[[run]]` tables"
    assert hint is not None and "`[[run]]`" in hint


def test_a_run_given_without_its_plan_is_told_it_is_a_run(tmp_path: Path) -> None:
    """`dagc calibrate rate4.json -o cal.json`, `--plan` forgotten, was told `the manifest has no [[run]] entries` of a
    vLLM result (until 2026-12-02)."""
    home = _home(tmp_path, "")
    code, line, column, message, hint = _said(home / "runs" / "rate4.json")
    assert (code, line, column) == ("E110", 1, 1)
    assert message.startswith("this is a benchmark's run, not a manifest")
    assert hint is not None and f"`dagc calibrate {home / 'runs' / 'rate4.json'} --plan PLAN -o FILE`" in hint

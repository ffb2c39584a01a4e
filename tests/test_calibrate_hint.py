"""`dagc calibrate`'s closing line names the written file as the plan reads it: from the plan's directory, and
when the file lies outside it (and every --allow-path one) that the plan may not read it there
(dagc.cli.calibrate_cmd; docs/calibrate.md, docs/limits.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc.cli.calibrate_cmd import _plan_line


@pytest.fixture
def cal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user's layout: tmp/a/b/cal/mix.moe, working in cal/."""
    d = tmp_path / "a" / "b" / "cal"
    (d / "sub").mkdir(parents=True)
    monkeypatch.chdir(d)
    return d


def test_a_file_in_a_subdirectory_is_named_from_the_plans_directory(cal: Path):
    # `-o sub/c7.json` said calibration from "c7.json", which the plan then failed to find (E109)
    assert _plan_line("sub/c7.json", "mix.moe", False, ()) == 'in the plan: calibration from "sub/c7.json"'
    assert _plan_line(str(cal / "sub" / "c7.json"), "mix.moe", False, ()) == \
        'in the plan: calibration from "sub/c7.json"'


def test_a_plan_elsewhere_reads_the_file_from_its_own_directory(cal: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(cal.parent)
    assert _plan_line("cal/sub/c7.json", "cal/mix.moe", False, ()) == 'in the plan: calibration from "sub/c7.json"'
    assert _plan_line("cal/c.json", "mix.toml", True, ()) == \
        'in a plan in the manifest\'s directory: calibration from "cal/c.json"'


def test_a_file_outside_the_plans_directory_is_said_unreadable_there(cal: Path):
    line = _plan_line("../../c5.json", "mix.moe", False, ())
    assert line.startswith(f"the plan reads files only under its own directory ({cal}) or an --allow-path one")
    assert line.endswith(f'--allow-path {cal.parent.parent} and calibration from "../../c5.json"')
    assert "in the plan: calibration from" not in line
    # under an --allow-path directory the plan reads it there, with the same option
    assert _plan_line("../../c5.json", "mix.moe", False, (Path("../.."),)) == \
        'in the plan: calibration from "../../c5.json", read with the same --allow-path'

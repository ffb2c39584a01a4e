"""A manifest's top-level `plan` (every entry's default) that names a file outside the manifest's directory, or none,
is said once, as every run entry's, not once per entry at the same place; and the hint of a file outside it is the
`--allow-path` of its directory. Until 2026-12-02 a manifest of three runs under `plan = "../s004.moe"` printed three
errors at its line 1, each "run entry N: …", each hinted the manifest's generic form."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc.calibrate.manifest import jobs_of_manifest
from dagc.diagnostics import PlanError

ENTRIES = "".join(f'[[run]]\nfile = "rate{r}.json"\nset = ["workload.rate={r} requests/s"]\n' for r in (2, 4, 8))


def _said(tmp_path: Path, top: str) -> list[tuple[int, str, str]]:
    cal = tmp_path / "cal"
    cal.mkdir()
    for r in (2, 4, 8):
        (cal / f"rate{r}.json").write_text("{}")
    (cal / "runs.toml").write_text(top + ENTRIES)
    with pytest.raises(PlanError) as exc:
        jobs_of_manifest(cal / "runs.toml")
    return [(d.span.line, d.message, d.hint or "") for d in exc.value.diagnostics if d.span is not None]


def test_a_default_plan_outside_is_said_once_with_its_allow_path(tmp_path: Path) -> None:
    (tmp_path / "s004.moe").write_text("")
    [(line, message, hint)] = _said(tmp_path, 'plan = "../s004.moe"\n')
    assert line == 1
    assert message == "every run entry: `plan` names a file outside the manifest's directory, `../s004.moe`"
    assert hint == (f"allow its directory: `--allow-path {tmp_path}`, or move the file into the manifest's "
                    f"directory")


def test_a_default_plan_missing_is_said_once(tmp_path: Path) -> None:
    [(line, message, _)] = _said(tmp_path, 'plan = "nowhere.moe"\n')
    assert (line, message) == (1, "every run entry: `plan` names a file that does not exist, `nowhere.moe`")


def test_an_entrys_own_plan_keeps_its_entry(tmp_path: Path) -> None:
    cal = tmp_path / "cal"
    cal.mkdir()
    (cal / "rate2.json").write_text("{}")
    (cal / "runs.toml").write_text('[[run]]\nfile = "rate2.json"\nplan = "../x.moe"\n')
    with pytest.raises(PlanError) as exc:
        jobs_of_manifest(cal / "runs.toml")
    (d,) = exc.value.diagnostics
    assert d.message.startswith("run entry 1: `plan` names a file outside the manifest's directory")

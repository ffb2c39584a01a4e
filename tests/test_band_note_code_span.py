"""report.md's band notes name the plan's calibration file as a code span (`dagc.diagnostics.code`): it renders as
code in report.md and report.html. Until 2026-11-30 the whole note was escaped as plain text, span included, so
both showed "calibration \\`cal.json\\`" — literal backticks (and, for a file named with markup, its fence and
backslashes) — where every other sentence shows the name as code."""

from __future__ import annotations

import shutil

from conftest import ROOT, run_dagc

FIXTURE = ROOT / "tests" / "fixtures" / "trial12" / "cal"


def _report(tmp_path, cal_name: str) -> tuple[str, str]:
    shutil.copy(FIXTURE / "cal.json", tmp_path / cal_name)
    text = (FIXTURE / "plan.moe").read_text().replace('calibration from "cal.json"', f'calibration from "{cal_name}"')
    (tmp_path / "plan.moe").write_text(text)
    proc = run_dagc("compile", "plan.moe", "--no-search", "--strategy", "tp4ep", "-o", "out", cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    (md,) = tmp_path.glob("out/*/report.md")
    return md.read_text(), md.with_name("report.html").read_text()


def test_the_calibration_file_is_code_in_the_band_notes(tmp_path):
    md, html = _report(tmp_path, "cal.json")
    assert "- `quantity=ttft`: calibration `cal.json` has 3 runs with a ttft figure, fewer than 8\\: the ledger's" in md
    assert "calibration <code>cal.json</code> has 3 runs with a ttft figure" in html
    assert "calibration `cal.json`" not in html and "\\`cal.json" not in md


def test_a_file_named_with_markup_stays_code(tmp_path):
    md, html = _report(tmp_path, "<img src=x>[a](javascript:x)`b`.json")
    assert "calibration ``<img src=x>[a](javascript:x)`b`.json`` has 3 runs" in md
    assert "calibration <code>&lt;img src=x&gt;[a](javascript:x)`b`.json</code> has 3 runs" in html
    assert "<img" not in html and 'href="javascript' not in html

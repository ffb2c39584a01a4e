"""A calibration manifest from a pull request that nests 200,000 arrays deep or holds a number of 5,000 digits is
refused (E110) in dagc's words: until 2026-11-30 the message was Python's own — "maximum recursion depth exceeded",
"Exceeds the limit (4300 digits) for integer string conversion …; use sys.set_int_max_str_digits()", advice to change
the interpreter that a CI user cannot act on."""

from __future__ import annotations

import pytest

from dagc.calibrate.manifest import jobs_of_manifest
from dagc.diagnostics import PlanError


@pytest.mark.parametrize("text, said", [
    ("x = " + "[" * 200_000 + "]" * 200_000 + "\n", "it nests too deeply"),
    ("x = " + "{a=" * 100_000 + "1" + "}" * 100_000 + "\n", "it nests too deeply"),
    ("x = " + "9" * 5000 + '\n[[run]]\nfile = "run.json"\n', "a number is longer than 4,300 digits"),
])
def test_a_hostile_manifest_is_refused_in_dagcs_words(tmp_path, text, said):
    manifest = tmp_path / "runs.toml"
    manifest.write_text(text)
    with pytest.raises(PlanError) as e:
        jobs_of_manifest(manifest)
    (d,) = e.value.diagnostics
    assert d.code == "E110"
    assert d.message == f"the manifest is not valid TOML or JSON: {said}"

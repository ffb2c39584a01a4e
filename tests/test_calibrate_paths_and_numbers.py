"""A run file's number too long for Python is said so, not "not valid JSON"; a manifest's run files are named as the
manifest is (relative when it is), in W541 and W542 as in every other diagnostic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_calibrate_manifest_sets import PLAN, RUN

from dagc.calibrate.manifest import jobs_of_manifest
from dagc.calibrate.runs import read_runs
from dagc.diagnostics import PlanError, render


@pytest.mark.parametrize("lines", [False, True])
def test_a_number_too_long_to_read_is_said_so_at_it(tmp_path: Path, lines: bool):
    digits = "1" * 5001
    text = RUN.replace('"num_prompts":200', f'"num_prompts":{digits}')
    if lines:                                   # JSON lines: the second run's
        text = RUN + "\n" + text
    (tmp_path / "run.json").write_text(text + "\n")
    with pytest.raises(PlanError) as exc:
        read_runs(tmp_path / "run.json")
    (d,) = exc.value.diagnostics
    at = text.index(digits)
    assert d.code == "E110" and (d.span.line, d.span.column) == (1 + lines, at - text.rfind("\n", 0, at))
    assert d.message == "this number is longer than 4,300 digits, more than dagc reads: no tool writes one"
    assert "not valid JSON" not in render(d) and digits[:50] not in render(d)


def test_a_manifests_runs_are_named_as_the_manifest_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "runs").mkdir()
    (tmp_path / "plan.moe").write_text(PLAN)
    (tmp_path / "runs" / "rate4.json").write_text(json.dumps(json.loads(RUN), indent=1))
    (tmp_path / "m.toml").write_text('plan = "plan.moe"\n[[run]]\nfile = "runs/rate4.json"\n')
    monkeypatch.chdir(tmp_path)
    (job,) = jobs_of_manifest(Path("m.toml"))
    # W541 and W542 are located at a run's figure (`MeasuredRun.span`), as a run's E110 is
    span = job.run.span("output_tokens_per_s")
    assert (span.source.path, span.line) == ("runs/rate4.json", 2 + list(json.loads(RUN)).index("output_throughput"))
    assert job.run.path == "runs/rate4.json"
    (job,) = jobs_of_manifest(tmp_path / "m.toml")              # an absolute manifest: absolute paths
    assert job.run.span("output_tokens_per_s").source.path == str(tmp_path / "runs" / "rate4.json")

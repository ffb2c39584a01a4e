"""A vLLM run with `--ramp-up-strategy linear|exponential` (vllm/benchmarks/serve.py: `--request-rate` left at inf,
`ramp_up_strategy`, `ramp_up_start_rps`, `ramp_up_end_rps` written beside it) sent its requests at a rate that grew
over the run — no traffic dagc expresses. dagc read its `request_rate` "inf" as every request sent at once, and a
new user's ramp from 1 to 10 requests/s was told `--set workload.concurrency=200 --set "workload.ramp=0 s"`: a
burst it never was. It is E110 at `ramp_up_strategy`."""

from __future__ import annotations

import json

import pytest
from test_calibrate_manifest_sets import RUN

from dagc.calibrate.runs import read_runs
from dagc.diagnostics import PlanError


def _ramped(tmp_path, **more):
    doc = json.loads(RUN) | {"request_rate": "inf", "ramp_up_strategy": "linear", "ramp_up_start_rps": 1,
                             "ramp_up_end_rps": 10} | more
    path = tmp_path / "ramp.json"
    path.write_text(json.dumps(doc, indent=2))
    return path


def test_a_ramped_rate_is_refused_at_its_strategy(tmp_path):
    path = _ramped(tmp_path)
    with pytest.raises(PlanError) as exc:
        read_runs(path)
    (d,) = exc.value.diagnostics
    assert d.code == "E110" and d.span.start == path.read_text().index('"ramp_up_strategy"')
    assert d.message == ("field `ramp_up_strategy` is `linear`: the run's rate grew from 1 to 10 requests/s over it "
                         "(`--ramp-up-strategy`), which dagc's traffic does not express (a fixed rate, or clients)")
    assert d.hint == ("calibrate on runs at a fixed `--request-rate` (or clients alone, `--max-concurrency` with "
                      "`--request-rate inf`)")


def test_no_ramp_written_or_null_is_read_as_before(tmp_path):
    path = _ramped(tmp_path, ramp_up_strategy=None, request_rate=4.0)
    assert read_runs(path)[0].rate == 4.0

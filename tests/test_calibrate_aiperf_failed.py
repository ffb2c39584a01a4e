"""An AIPerf or genai-perf run whose requests failed beyond 1 % of those sent is refused, as a vLLM or SGLang one is
(`dagc.calibrate.run_fields.MAX_FAILED`): AIPerf's `request_count` counts the requests that succeeded and
`error_request_count` (else `error_summary`'s counts) the failed ones, which dagc read neither of — a run of 340
requests, 40 of them failed, was fitted as a run of 300 whose every request completed."""

from __future__ import annotations

import json

import pytest

from dagc.calibrate.runs import read_runs
from dagc.diagnostics import PlanError
from conftest import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "calibrate" / "profile_export_aiperf.json"     # 100 requests succeeded
SAID = ("is more than 1 % of the requests the run sent: its figures are the completed ones', on a server that ran or "
        "refused the others too, which dagc does not simulate")


def written(tmp_path, **change) -> str:
    path = tmp_path / "profile_export_aiperf.json"
    path.write_text(json.dumps(json.loads(FIXTURE.read_text()) | change, indent=2))
    return str(path)


@pytest.mark.parametrize("change, field, line", [
    ({"error_request_count": {"unit": "requests", "avg": 40.0}}, "error_request_count.avg", "avg"),
    # AIPerf's documented export of a cancelled run: `error_request_count` null, the errors counted by type
    ({"error_request_count": None, "error_summary": [
        {"error_details": {"code": 499, "type": "RequestCancellationError", "message": "…"}, "count": 2},
        {"error_details": {"code": 500, "type": "InternalServerError", "message": "…"}, "count": 1}]},
     "error_summary", "error_summary"),
])
def test_failed_requests_past_one_percent_are_refused_at_their_field(tmp_path, change, field, line):
    path = written(tmp_path, **change)
    with pytest.raises(PlanError) as exc:
        read_runs(path)
    (d,) = exc.value.diagnostics
    assert (d.code, d.message) == ("E110", f"field `{field}` {SAID}")
    text = open(path).read()
    at = text.index(f'"{line}"', text.index('"error_') if line == "avg" else 0)
    assert d.span.line == text.count("\n", 0, at) + 1


def test_a_failed_request_within_one_percent_is_fitted_on(tmp_path):
    # 1 of 101 sent: within the 1 % a request or two timing out is; AIPerf's null `error_request_count`: none failed
    (run,) = read_runs(written(tmp_path, error_request_count={"unit": "requests", "avg": 1.0}))
    assert run.requests == 100
    (run,) = read_runs(written(tmp_path, error_request_count=None, error_summary=[]))
    assert run.requests == 100 and run.measured["ttft_ms"] == pytest.approx(95.0)

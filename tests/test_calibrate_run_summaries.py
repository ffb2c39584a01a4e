"""A run summary that cannot be the run of a plan dagc simulates is refused at its field, never fitted: vLLM's
`burstiness` other than 1 (gamma arrivals; dagc's are Poisson or uniform), a duration that is not positive, counts
that do not add up, and more failed requests than a few."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_calibrate_manifest_sets import RUN

from dagc.calibrate.runs import read_runs
from dagc.diagnostics import PlanError, render


def _refused(tmp_path: Path, **change) -> tuple:
    obj = json.loads(RUN) | change
    text = json.dumps(obj, indent=1)
    (tmp_path / "run.json").write_text(text)
    with pytest.raises(PlanError) as exc:
        read_runs(tmp_path / "run.json")
    (d,) = exc.value.diagnostics
    assert d.code == "E110" and "Traceback" not in render(d)
    return d, text


def _field_at(d, text: str, name: str) -> None:
    """The diagnostic is at the field's key, its line and column."""
    at = text.index(f'"{name}"')
    line = text.count("\n", 0, at) + 1
    assert (d.span.line, d.span.column) == (line, at - text.rfind("\n", 0, at))


def test_a_run_of_gamma_arrivals_is_refused_at_its_burstiness(tmp_path: Path):
    d, text = _refused(tmp_path, burstiness=0.25)
    _field_at(d, text, "burstiness")
    assert d.message.startswith("field `burstiness` is not 1: the run's arrivals had gamma-distributed gaps")
    assert "dagc's arrivals are Poisson or uniform" in d.message and "0.25" not in render(d)
    assert "--burstiness 1" in (d.hint or "")
    d, _ = _refused(tmp_path, burstiness=-1)
    assert d.message.startswith("field `burstiness` is not a positive number (the shape of the gamma")
    d, _ = _refused(tmp_path, burstiness="1.0")           # quoted: told so, as every figure is
    assert d.message == ("field `burstiness` is a string, not a number: the tools write their figures as JSON numbers, "
                         "without quotes")


def test_burstiness_1_or_a_burst_at_once_is_read(tmp_path: Path):
    (tmp_path / "a.json").write_text(RUN)                                   # 1.0: Poisson
    (tmp_path / "b.json").write_text(json.dumps(json.loads(RUN) | {"request_rate": "inf", "burstiness": 0.5}))
    ((a,), (b,)) = read_runs(tmp_path / "a.json"), read_runs(tmp_path / "b.json")
    assert (a.rate, b.rate) == (4.0, None)


@pytest.mark.parametrize("duration", [-1, 0])
def test_a_duration_that_is_not_positive_is_refused(tmp_path: Path, duration: int):
    d, text = _refused(tmp_path, duration=duration)
    _field_at(d, text, "duration")
    assert d.message.startswith("field `duration` is not a positive number")


def test_counts_that_do_not_add_up_are_refused_at_completed(tmp_path: Path):
    # 250 + 0 of 200 asked (fewer, 150 + 0, is a dataset of 150 samples with vLLM's `--no-oversample`, which sent
    # 150: tests/test_calibrate_tool_traffic.py)
    d, text = _refused(tmp_path, completed=250, failed=0)
    _field_at(d, text, "completed")
    assert d.message == ("field `completed` and `failed` do not add up to `num_prompts`: the requests the run sent "
                         "are not told")
    d, _ = _refused(tmp_path, completed=250, failed=None)                  # more completed than sent
    assert d.message.startswith("field `completed` does not add up to `num_prompts`")


def test_more_failed_requests_than_a_few_are_refused_at_failed(tmp_path: Path):
    d, text = _refused(tmp_path, completed=100, failed=100)                 # half the run
    _field_at(d, text, "failed")
    assert d.message.startswith("field `failed` is more than 1 % of the requests the run sent")
    (tmp_path / "two.json").write_text(json.dumps(json.loads(RUN) | {"completed": 198, "failed": 2}))
    (r,) = read_runs(tmp_path / "two.json")                                 # 1 %: a request or two timing out
    assert r.requests == 200


def test_sglangs_errors_count_the_failed_requests_without_a_count(tmp_path: Path):
    """SGLang's `--output-details` says which requests failed in `errors` and writes no count: half of them failed."""
    obj = json.loads(RUN) | {"completed": 100, "errors": [""] * 100 + ["Server disconnected"] * 100}
    for k in ("num_prompts", "failed", "endpoint_type", "mean_e2el_ms"):
        del obj[k]
    (tmp_path / "s.jsonl").write_text(json.dumps(obj) + "\n")
    with pytest.raises(PlanError) as exc:
        read_runs(tmp_path / "s.jsonl")
    (d,) = exc.value.diagnostics
    assert d.message.startswith("field `errors` is more than 1 % of the requests the run sent")
    line = (tmp_path / "s.jsonl").read_text()
    assert (d.span.line, d.span.column) == (1, line.index('"errors"') + 1)


def test_a_run_served_faster_than_its_rate_sent_is_refused_at_its_throughput(tmp_path: Path):
    """200 Poisson arrivals at 4 requests/s span 50 s ± 3.5 s: a summary of 200 served at 5 a second (more than 3
    standard deviations past the rate, 4 × (1 + 3 / √200) = 4.85) is not of the traffic its fields say."""
    d, text = _refused(tmp_path, request_throughput=5.0)
    _field_at(d, text, "request_throughput")
    assert d.message.startswith("field `request_throughput` is more requests a second than `request_rate` sent them")
    assert "5.0" not in render(d) and "4.85" not in render(d)          # the file's figures are never echoed
    (tmp_path / "ok.json").write_text(json.dumps(json.loads(RUN) | {"request_throughput": 4.8}))
    (run,) = read_runs(tmp_path / "ok.json")                           # within the arrivals' noise: read
    assert run.measured["requests_per_s"] == 4.8
    few = json.loads(RUN) | {"num_prompts": 20, "completed": 20, "request_throughput": 9.0}
    (tmp_path / "few.json").write_text(json.dumps(few))
    (run,) = read_runs(tmp_path / "few.json")                          # too few requests to judge
    assert run.requests == 20

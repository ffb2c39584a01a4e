"""A file a benchmark writes beside the summary `dagc calibrate` reads, given in its place, is told as what it is,
and hinted the summary beside it: AIPerf's per-request records (`profile_export.jsonl`), whose every record holds a
`time_to_first_token`, were "none of the fields of vLLM's, SGLang's or AIPerf's results (`mean_ttft_ms`,
`time_to_first_token`, …)"; its CSV export "not valid JSON (truncated?)"; dagc's own report.json "none of the
fields" too (dagc.calibrate.other_files)."""

from __future__ import annotations

import json

import pytest

from dagc.calibrate.runs import read_runs
from dagc.diagnostics import PlanError

# one record of AIPerf's profile_export.jsonl (docs/tutorials/working-with-profile-exports.md, nvda-ci/aiperf@8e6a033d)
RECORD = {"metadata": {"session_num": 0, "x_request_id": "7609a2e7", "turn_index": 0,
                       "request_start_ns": 1759813207532900363, "request_ack_ns": 1759813207650730976,
                       "request_end_ns": 1759813207838764604, "worker_id": "worker_359d423a",
                       "benchmark_phase": "profiling", "was_cancelled": False, "cancellation_time_ns": None},
          "metrics": {"input_sequence_length": {"value": 550, "unit": "tokens"},
                      "time_to_first_token": {"value": 255.9, "unit": "ms"},
                      "request_latency": {"value": 297.5, "unit": "ms"},
                      "output_sequence_length": {"value": 9, "unit": "tokens"},
                      "inter_token_latency": {"value": 5.2, "unit": "ms"}},
          "error": None}


def _refusal(path):
    with pytest.raises(PlanError) as exc:
        read_runs(path)
    (d,) = exc.value.diagnostics
    return d


def test_aiperf_per_request_records_are_told_and_hinted_the_summary(tmp_path):
    path = tmp_path / "profile_export.jsonl"
    path.write_text("".join(json.dumps(RECORD) + "\n" for _ in range(3)))
    d = _refusal(path)
    assert (d.code, d.span.line, d.span.column) == ("E110", 1, 1)
    assert d.message.startswith("this is AIPerf's per-request records (`profile_export.jsonl`")
    assert "`profile_export_aiperf.json`" in (d.hint or "")


def test_a_csv_export_is_told_csv_not_a_truncated_json(tmp_path):
    path = tmp_path / "profile_export_aiperf.csv"
    path.write_text("Metric,avg,min,max,p1,p5,p10,p25,p50,p75,p90,p95,p99,std\n"
                    "Request Latency (ms),6550.36,4996.25,9383.37,5523.64,5641.18,5649.25,5678.54,5799.90,"
                    "7314.96,8594.21,8980.84,9381.63,1171.14\n")
    d = _refusal(path)
    assert (d.code, d.span.line, d.span.column) == ("E110", 1, 1)
    assert d.message.startswith("the run file is CSV, not JSON")
    assert "truncated" not in d.message
    assert "`profile_export_aiperf.json`" in (d.hint or "")


def test_a_dagc_report_is_told_it_holds_no_measured_run(tmp_path):
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"plan": "p.moe", "verdict": {"correct": True, "meets_requirements": True},
                                "requirements": [], "metrics": {"ttft_s": 0.04}}))
    d = _refusal(path)
    assert d.message == "this is a dagc report (`report.json`): dagc's own figures, not a measured run"


def test_a_cut_json_run_is_still_told_so(tmp_path):
    path = tmp_path / "rate4.json"
    path.write_text('{"mean_ttft_ms": 90.5, "num_prompts": 200, "request_rate": 4.0, "backend": "vllm"')
    d = _refusal(path)
    assert d.message == "the run file is not valid JSON (truncated?)"

"""W540 names the requests in flight a plan is judged at when far outside those its calibration's runs held: a vLLM
calibration of runs of at most ~90 in flight moved a plan at `batch = 256` from 42.6 to 33 ms TPOT without a word
(until 2026-11-30). `dagc calibrate` stores the runs' range of requests in flight (`range.in_flight`: vLLM's
`max_concurrent_requests`, a closed loop's clients, a burst's requests); a file written before it is read as
before, with nothing judged of it."""

from __future__ import annotations

import json
from pathlib import Path

from test_calibrate_own_terms import CAL as TRIAL12
from test_calibration_deployment_hint import CAL, PLAN

import dagc
from dagc.cli.main import main
from dagc.lang.load import load_plan_text


def _w540(tmp_path: Path, cal: dict, batch: int) -> list[str]:
    (tmp_path / "cal.json").write_text(json.dumps(cal))
    plan = load_plan_text(PLAN.replace("batch = 64", f"batch = {batch}"), base_dir=tmp_path)
    (result,) = dagc.check(plan, search=False)
    return [d.message for d in result.diagnostics if d.code == "W540"]


def test_a_batch_far_past_the_runs_in_flight_is_named(tmp_path):
    cal = CAL | {"range": CAL["range"] | {"in_flight": [12.0, 90.0]}}
    # 256 > 2 × 90: far outside, said with its unit and the runs' range as W540's other figures
    assert _w540(tmp_path, cal, 256) == ["the plan is far outside the runs calibration `cal.json` was fitted on: "
                                         "batch 256 requests in flight (runs 12–90)"]
    assert _w540(tmp_path, cal, 180) == []                  # 2 × 90: within the factor W540 allows
    assert _w540(tmp_path, cal, 6) == []                    # 12 / 2
    assert _w540(tmp_path, cal, 5) == ["the plan is far outside the runs calibration `cal.json` was fitted on: "
                                       "batch 5 requests in flight (runs 12–90)"]


def test_an_older_file_without_the_runs_in_flight_is_read(tmp_path):
    assert "in_flight" not in CAL["range"]
    assert _w540(tmp_path, CAL, 256) == []


def _calibrated(capsys, tmp_path: Path, **fields: object) -> dict:
    run = json.loads((TRIAL12 / "runs" / "rate2.json").read_text()) | fields
    (tmp_path / "rate2.json").write_text(json.dumps(run))
    plan = tmp_path / "plan.moe"        # beside the file it writes, which the plan may read (no E/W of its path)
    plan.write_text((TRIAL12 / "plan.moe").read_text().replace('calibration from "cal.json"\n', ""))
    out = tmp_path / f"cal{len(fields)}.json"
    assert main(["calibrate", str(tmp_path / "rate2.json"), "--plan", str(plan), "--strategy",
                 "tp4ep", "--set", "workload.rate=2 requests/s", "-o", str(out)]) == 0, capsys.readouterr().out
    return json.loads(out.read_text())


def test_calibrate_stores_the_runs_in_flight(capsys, tmp_path):
    # a vLLM run at a rate: its `max_concurrent_requests`, the peak of requests in flight
    assert _calibrated(capsys, tmp_path, max_concurrent_requests=90)["range"]["in_flight"] == [90.0, 90.0]
    # a run at a rate whose file says no peak: none to store
    assert _calibrated(capsys, tmp_path)["range"]["in_flight"] is None

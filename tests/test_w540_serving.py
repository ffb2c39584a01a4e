"""W540 names a plan served otherwise than the runs its calibration was fitted on: a calibration of a vLLM server's
runs (which batch requests in flight) read by a plan of static batches, or one of a colocated strategy's runs by a
strategy of disaggregated prefill and decode pools (or the reverse), ran the engine in a regime its runs never had,
unsaid until 2026-12-02. `dagc calibrate` records each run's serving (`runs[].serving`); a file written before it is
read as before, nothing judged of its serving."""

from __future__ import annotations

import json
from pathlib import Path

from test_calibrate_own_terms import CAL as TRIAL12
from test_calibration_deployment_hint import CAL, PLAN

import dagc
from dagc.cli.main import main
from dagc.diagnostics import Diagnostic
from dagc.lang.load import load_plan_text

HEAD = "the plan is far outside the runs calibration `cal.json` was fitted on: "
EXTRAPOLATED = ", or read its figures and bands as extrapolated"


def _w540(tmp_path: Path, plan: str, cal: dict | None = None) -> list[Diagnostic]:
    if cal is not None:
        (tmp_path / "cal.json").write_text(json.dumps(cal))
    (result,) = dagc.check(load_plan_text(plan, base_dir=tmp_path), search=False)
    return [d for d in result.diagnostics if d.code == "W540"]


def test_calibrate_records_each_runs_serving_and_a_static_plan_is_told(capsys, tmp_path):
    # a vLLM run at 2 requests/s, calibrated on its in-flight plan (trial12): the file says how it was served
    (tmp_path / "rate2.json").write_text((TRIAL12 / "runs" / "rate2.json").read_text())
    plan = (TRIAL12 / "plan.moe").read_text().replace('calibration from "cal.json"\n', "")
    (tmp_path / "plan.moe").write_text(plan)
    assert main(["calibrate", str(tmp_path / "rate2.json"), "--plan", str(tmp_path / "plan.moe"), "--strategy",
                 "tp4ep", "--set", "workload.rate=2 requests/s", "-o", str(tmp_path / "cal.json")]) == 0, \
        capsys.readouterr().out
    assert [r["serving"] for r in json.loads((tmp_path / "cal.json").read_text())["runs"]] == ["inflight"]
    # the plan it was fitted for, at 4 requests/s (within twice the run's 2): nothing outside
    inflight = plan.replace("strategy tp8 = tp 8\n", "") + 'calibration from "cal.json"\n'
    assert _w540(tmp_path, inflight) == []
    # the same plan served as static batches: the serving the runs never had, named with the runs'
    (w,) = _w540(tmp_path, inflight.replace("serving = inflight", "serving = static"))
    assert w.message == HEAD + "served as static batches (runs: served in flight)"
    assert w.hint == ("serve the plan in flight, as its runs were (`serving = inflight`; `dagc calibrate` fits no "
                      "static plan: no benchmark run measures static batches)" + EXTRAPOLATED)


DISAGGREGATED = PLAN.replace("strategy tp 2", "strategy prefill 1 < tp 1 > decode 1 < tp 1 >")
# the runs' engine instances of 1 and 2 GPUs: a pool's instance of 1 GPU is within them, only the serving differs
OF_1_TO_2 = CAL | {"instance_gpus": [1, 2]}


def _runs_served(*serving: str) -> dict:
    run = CAL["runs"][0]
    return OF_1_TO_2 | {"runs": [run | {"id": f"r{k}.json", "serving": s} for k, s in enumerate(serving)]}


def test_disaggregated_pools_on_runs_of_a_colocated_strategy_are_told(tmp_path):
    (w,) = _w540(tmp_path, DISAGGREGATED, _runs_served("inflight"))
    assert w.message == HEAD + ("served by disaggregated prefill and decode pools (runs: served in flight, each "
                                "instance prefilling and decoding)")
    assert w.hint == ("calibrate on runs of disaggregated pools, as the plan's (`dagc calibrate` with the plan's "
                      "`strategy prefill N < … > decode M < … >`)" + EXTRAPOLATED)


def test_a_colocated_strategy_on_runs_of_disaggregated_pools_is_told(tmp_path):
    (w,) = _w540(tmp_path, PLAN, _runs_served("disaggregated"))
    assert w.message == HEAD + ("served in flight, each instance prefilling and decoding (runs: served by "
                                "disaggregated prefill and decode pools)")
    assert w.hint == ("calibrate on runs of a strategy without pools, as the plan's (`dagc calibrate`), or plan the "
                      "runs' disaggregated pools (`prefill N < … > decode M < … >`)" + EXTRAPOLATED)


def test_a_serving_among_the_runs_is_not_outside(tmp_path):
    both = _runs_served("inflight", "disaggregated")
    assert _w540(tmp_path, PLAN, both) == []
    assert _w540(tmp_path, DISAGGREGATED, both) == []
    assert _w540(tmp_path, PLAN, _runs_served("inflight")) == []
    assert _w540(tmp_path, DISAGGREGATED, _runs_served("disaggregated")) == []


def test_the_serving_is_said_first_and_the_hints_joined(tmp_path):
    # a static plan of prompts 16 times the runs': both said, the serving first, each with its hint
    (w,) = _w540(tmp_path, PLAN.replace("serving = inflight", "serving = static").replace("prompt = 512",
                                                                                          "prompt = 8192"),
                 _runs_served("inflight"))
    assert w.message == HEAD + "served as static batches (runs: served in flight); prompt 8,192 tokens (runs 512)"
    assert w.hint.startswith("serve the plan in flight, as its runs were (")
    assert w.hint.endswith("static batches); calibrate on runs that cover this traffic and engine instance "
                           "(`dagc calibrate`)" + EXTRAPOLATED)


def test_an_older_file_whose_runs_do_not_say_is_read_as_before(tmp_path):
    # no `serving` in its runs (the file of tests/test_calibration_deployment_hint.py, written as before): unknown
    assert "serving" not in CAL["runs"][0]
    assert _w540(tmp_path, PLAN.replace("serving = inflight", "serving = static"), OF_1_TO_2) == []
    assert _w540(tmp_path, DISAGGREGATED, OF_1_TO_2) == []

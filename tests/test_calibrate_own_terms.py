"""`dagc calibrate --plan PLAN` where the plan names a calibration (`calibration from "cal.json"`): the fit starts
from and compares with the engine's own terms, not the old file's, says so, and the file it writes stores them
(it stored the old fit's step_s, 8.262 ms, as "kept" while its method says a term kept is the engine's own). One
run fits no term (docs/calibrate.md: a calibration fits one term fewer than its runs), and is said as "1 run"."""

from __future__ import annotations

import json
from pathlib import Path

from dagc.cli.main import main
from dagc.plan.engines import VLLM_FRONTEND_S, VLLM_STEP_S

CAL = Path(__file__).parent / "fixtures" / "trial12" / "cal"


def _calibrate(capsys, plan: Path, out: Path) -> tuple[str, dict]:
    code = main(["calibrate", str(CAL / "runs" / "rate2.json"), "--plan", str(plan), "--strategy", "tp4ep",
                 "--set", "workload.rate=2 requests/s", "-o", str(out)])
    said = capsys.readouterr().out
    assert code == 0, said
    return said, json.loads(out.read_text())


def test_a_plans_calibration_is_left_out_of_the_fit(capsys, tmp_path):
    said, doc = _calibrate(capsys, CAL / "plan.moe", tmp_path / "one.json")
    old = json.loads((CAL / "cal.json").read_text())["terms"]
    assert round(old["step_s"] * 1e3, 3) == 8.262 and VLLM_STEP_S == 0.001512
    lines = said.splitlines()
    assert lines[0] == "calibrated vllm@0.33.0 on 8 × h100-sxm, qwen3-235b-a22b: 1 run"
    assert lines[1] == ("  note: the plan's `calibration from \"cal.json\"` is left out: the fit starts from, and "
                        "compares with, vllm's own terms")
    assert "  step_s = 1.512 ms (was 1.512 ms; kept: it moves the figures of 1 run, fewer than 3)" in lines
    # the same reason once: the next terms kept for it are "as" the first (until 2026-12-03 said five times over)
    assert "  frontend_s = 20.020 ms (was 20.020 ms; kept: as `step_s`)" in lines
    assert said.count("fewer than 3") == 1
    assert "8.262" not in said
    # the file stores what its method says: a kept term is the engine's own
    assert doc["terms"]["step_s"] == doc["fit"]["start"]["step_s"] == VLLM_STEP_S
    assert doc["terms"]["frontend_s"] == VLLM_FRONTEND_S and "step_s" in doc["fit"]["kept"]
    assert doc["fit"]["cross_validation"] == "none: a fit without one of 1 run has too few to fit a term"
    # the same as calibrating the plan without its calibration line: compared with the engine's own terms
    bare = tmp_path / "bare.moe"
    bare.write_text((CAL / "plan.moe").read_text().replace('calibration from "cal.json"\n', ""))
    bare_said, bare_doc = _calibrate(capsys, bare, tmp_path / "bare.json")
    assert bare_doc["fit"]["median_abs_error"] == doc["fit"]["median_abs_error"]
    assert round(doc["fit"]["median_abs_error"]["uncalibrated"]["tpot"], 3) == 0.335        # it read 3.2 %
    assert "left out" not in bare_said and bare_said.splitlines()[2:-1] == lines[3:-1]


def test_one_run_fits_no_term_and_says_why(capsys, tmp_path):
    said, doc = _calibrate(capsys, CAL / "plan.moe", tmp_path / "one.json")
    assert doc["fit"]["kept"] == ["step_s", "frontend_s", "compute_time_scale", "memory_time_scale",
                                  "step_request_s"]
    # (it read "a calibration fits one term fewer than its runs (3 runs fit 2)", which three runs fitted in stages
    # contradict: the rule that keeps a term of one run is MIN_RUNS's)
    assert ("  no term fitted: 1 run fits none: a term is fitted from the figures of 3 runs or more that it moves, "
            "docs/calibrate.md; the file holds the engine's own terms, with the runs' errors at them: a plan that "
            "reads it keeps the engine's figures, its bands the ledger's widened to these runs' errors (a band of "
            "the runs' own needs 8 runs, docs/bands.md)") in said.splitlines()
    # (it read "its bands from these runs' errors": one run's residuals are no band; the plan's bands are the
    # ledger's, widened where the run's errors reach further — its report says so)
    assert "1 runs" not in said

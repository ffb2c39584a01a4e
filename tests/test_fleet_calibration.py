"""A fleet of a plan whose calibration was fitted on one GPU and engine: one E109 at each fleet value it was not
fitted on, naming that value for what it is (docs/fleet.md)."""

from __future__ import annotations

import json

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.fleet import fleet_plans, load_fleet

CALIBRATION = {"format": 1, "engine": "vllm", "release": "0.33.0", "gpu": "h100-sxm", "gpus": 1,
               "model": "qwen3-30b-a3b", "terms": {"step_s": 0.004, "frontend_s": 0.02},
               "runs": [{"id": "r0", "file": "r0.json", "tool": "vllm", "requests": 100, "prompt": 512, "generate": 64,
                         "rate": 4, "measured": {"ttft_ms": 50}, "dagc": {"ttft_ms": 50},
                         "cross_validated": {"ttft_ms": 50}}],
               "range": {"prompt": [512, 512], "generate": [64, 64], "rate": [4, 4]}, "residuals": {"ttft": [0.0]}}

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 1  gpu preset "h100-sxm"  engine = vllm }
workload { batch = 16  prompt = 512  generate = 64  serving = inflight  requests = 20 }
calibration from "cal.json"
require { tpot_p90 <= 40 ms }
strategy tp 1
fleet {
  gpu preset "h100-sxm" { price = 2.49 $/h }
  gpu preset "h200" { price = 3.49 $/h }
  gpus = [1, 2]
  engine = [vllm, sglang]
  rate = 4 requests/s
}
"""


def test_each_fleet_value_the_calibration_was_not_fitted_on_is_one_error_naming_it(tmp_path):
    (tmp_path / "cal.json").write_text(json.dumps(CALIBRATION))
    path = tmp_path / "fleet.moe"
    path.write_text(PLAN)
    _, fleet = load_fleet(path)
    with pytest.raises(PlanError) as exc:
        fleet_plans(path, fleet)
    found = [(d.code, d.span.line, d.span.column, d.message) for d in exc.value.diagnostics]
    # two values are wrong for the calibration — the GPU type h200 and the engine sglang — each said once, at itself,
    # with what it is; the (h200, sglang) clusters said a third error, at h200, calling its engine the fleet's and
    # h200 the plan's GPU
    fitted = "calibration `cal.json` was fitted on another deployment: "
    assert found == [
        ("E109", 9, 3, fitted + "its GPU is `h100-sxm`, the fleet's `h200`"),
        ("E109", 11, 19, fitted + "its engine is `vllm`, the fleet's `sglang`"),
    ]
    hints = [d.hint for d in exc.value.diagnostics]
    assert "drop `h200` from the fleet" in hints[0] and "drop `sglang` from the fleet" in hints[1]

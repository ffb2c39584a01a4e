"""W540 gives each figure of the plan far outside the calibration's runs with its unit, and the runs' range as one
value where they were all one: it read `prompt 8,192 (runs 512–512); rate 40 (runs 2–8)`."""

from __future__ import annotations

import json

from test_calibration_deployment_hint import CAL, PLAN

import dagc
from dagc.lang.load import load_plan_text


def test_w540_says_each_figure_with_its_unit(tmp_path):
    (tmp_path / "cal.json").write_text(json.dumps(CAL))        # runs of 512 prompt tokens, at 2–8 requests/s
    # 20 of the plan's 200 requests replayed: W540 reads the prompt, the rate and the batch, not how many requests are
    # simulated (the run of 200 prompts of 8,192 tokens at 40 requests/s took a third of the check)
    plan = load_plan_text(PLAN.replace("prompt = 512", "prompt = 8192").replace("4 requests/s", "40 requests/s")
                          .replace("requests = 200", "requests = 20"), base_dir=tmp_path)
    assert plan.workload.traffic is not None and plan.workload.traffic.requests == 20
    (result,) = dagc.check(plan, search=False)
    (w,) = [d for d in result.diagnostics if d.code == "W540"]
    assert w.message == ("the plan is far outside the runs calibration `cal.json` was fitted on: prompt 8,192 tokens "
                         "(runs 512); rate 40 requests/s (runs 2–8)")

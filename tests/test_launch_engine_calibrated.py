"""`dagc launch --engine X` on a plan calibrated on runs of its own engine (`calibration from "cal.json"`): the
calibration is E109 for X, so the plan is not repriced for X; X's commands are written, the figures are the plan's
own as calibrated, and the header says why they are not X's. Until 2026-12-01 nothing was launched (exit 4), its E109
saying "its engine is `vllm`, the plan's `sglang`" of a plan that says vllm (dagc.cli.launch_priced)."""

from __future__ import annotations

import json

from dagc.cli.main import main
from dagc.lang.overrides import load_plan_with
from dagc.launch.engine_check import figures_text
from dagc.verdict.check import check

PLAN = """model preset "gpt-oss-120b"
cluster { gpus = 2  gpu preset "h100-sxm"  engine = vllm }
workload { batch = 64  prompt = 512  generate = 128  serving = inflight }
calibration from "cal.json"
strategy tp 2
"""
# what `dagc calibrate` writes, cut to one run: vLLM 0.33.0 on the plan's GPU and model, its front end fitted to 27 ms
# and its memory-bound kernels to 1.2× (tests/test_calibration_deployment_hint.py)
from test_calibration_deployment_hint import CAL  # noqa: E402


def test_launch_on_another_engine_writes_its_commands_with_the_calibrated_figures(tmp_path, capsys):
    (tmp_path / "cal.json").write_text(json.dumps(CAL))
    (tmp_path / "p.moe").write_text(PLAN)
    code = main(["launch", str(tmp_path / "p.moe"), "--engine", "sglang"])
    out = capsys.readouterr().out
    assert code == 0
    assert "python -m sglang.launch_server" in out
    plan = load_plan_with(tmp_path / "p.moe", ())
    (result,) = check(plan)
    assert result.metrics is not None
    line = next(x for x in out.splitlines() if x.startswith("dagc's figures"))
    assert line == ("dagc's figures for it, served by vllm 0.33.0, the plan's engine, as its calibration `cal.json` "
                    "prices it (--engine sglang: the launch uses sglang's flags; sglang's figures need a calibration "
                    f"of sglang runs, or the plan without `calibration from`): {figures_text(result.metrics)}")

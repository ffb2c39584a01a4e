"""E109 for a calibration fitted on another deployment than the plan's: its hint writes what the plan would say to be
of the calibration's deployment (`engine = vllm@0.11.0`, `gpu preset "h200"`, `model preset "…"`), where it said
"name the calibration's in the plan" — which a user who had tried `--set cluster.engine=vllm` on a calibration of
vLLM 0.11.0 could not act on (the plan's `vllm` is 0.33.0, another release series)."""

from __future__ import annotations

import json

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text

PLAN = """model preset "gpt-oss-120b"
cluster { gpus = 2  gpu preset "h100-sxm"  engine = vllm }
workload { batch = 64  prompt = 512  generate = 128  serving = inflight  rate = 4 requests/s  requests = 200 }
calibration from "cal.json"
strategy tp 2
"""
# what `dagc calibrate` writes (docs/calibrate.md, "The calibration file"), cut to one run: vLLM 0.33.0's release
# series, the plan's GPU and model
CAL = {"format": 1, "engine": "vllm", "release": "0.33.0", "gpu": "h100-sxm", "gpus": 2, "model": "gpt-oss-120b",
       "terms": {"step_s": 0.0015, "frontend_s": 0.027, "compute_time_scale": 1.0, "memory_time_scale": 1.2},
       "runs": [{"id": "rate4.json", "file": "rate4.json", "tool": "vllm", "requests": 200, "prompt": 512.0,
                 "generate": 128.0, "rate": 4.0, "concurrency": None, "measured": {"ttft_ms": 70.0},
                 "dagc": {"ttft_ms": 68.4}, "cross_validated": {"ttft_ms": 68.4}}],
       "range": {"prompt": [512.0, 512.0], "generate": [128.0, 128.0], "concurrency": None, "rate": [2.0, 8.0]},
       "residuals": {"ttft": [0.1, -0.1], "tpot": [0.05, -0.05]}}


@pytest.mark.parametrize("edit, differs, hint", [
    ({"release": "0.11.0"}, "its release series is `0.11`, the plan's `0.33`", "`engine = vllm@0.11.0`"),
    ({"engine": "sglang", "release": "0.5.6"}, "its engine is `sglang`, the plan's `vllm`", "`engine = sglang@0.5.6`"),
    ({"gpu": "h200"}, "its GPU is `h200`, the plan's `h100-sxm`", '`gpu preset "h200"`'),
    ({"model": "gpt-oss-20b", "gpu": "my-gpu"}, "its model is `gpt-oss-20b`",
     'its GPU, `my-gpu`, `model preset "gpt-oss-20b"`'),
])
def test_e109_hint_writes_the_calibrations_deployment(tmp_path, edit, differs, hint):
    (tmp_path / "cal.json").write_text(json.dumps(CAL | edit))
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN, base_dir=tmp_path)
    (d,) = exc.value.diagnostics
    assert d.code == "E109" and differs in d.message
    assert d.hint == ("calibrate on runs of this plan's engine, GPU and model (`dagc calibrate`), or plan the "
                      f"calibration's deployment: {hint}")


def test_a_calibration_of_the_plans_deployment_is_read(tmp_path):
    (tmp_path / "cal.json").write_text(json.dumps(CAL))
    plan = load_plan_text(PLAN, base_dir=tmp_path)
    assert plan.cluster.engine.terms.frontend_s == 0.027


def test_e109_of_another_engine_compares_no_release_series(tmp_path):
    # a calibration of vLLM 0.33.0 in a plan on SGLang (0.5.x): the engines differ, and their releases are not one
    # engine's series to compare — it said "its engine is `vllm`, the plan's `sglang`; its release series is `0.33`,
    # the plan's `0.5`"
    (tmp_path / "cal.json").write_text(json.dumps(CAL))
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN.replace("engine = vllm", "engine = sglang"), base_dir=tmp_path)
    (d,) = exc.value.diagnostics
    assert d.message == ("calibration `cal.json` was fitted on another deployment: its engine is `vllm`, the plan's "
                         "`sglang`")
    assert d.hint is not None and d.hint.endswith("plan the calibration's deployment: `engine = vllm@0.33.0`")


@pytest.mark.parametrize("edit, said, hint", [
    # a file edited by hand: an engine dagc does not know, SGLang at a release of vLLM's, dagc's reference at a release
    # (it has none) — until 2026-12-01 each was read, and told only that it was of another deployment than the plan's
    # (`its engine is `vllm-openai``), or, of the plan's engine, read as calibrated
    ({"engine": "vllm-openai"}, "engine: `vllm-openai` is no engine dagc knows",
     "the engines dagc knows: vllm, sglang, trtllm, pytorch; write the one the runs were of, or calibrate again "
     "(`dagc calibrate`)"),
    ({"engine": "sglang"}, "release: `0.33.0` is no release of sglang dagc knows",
     "sglang's release series dagc knows: 0.5, 0.4; write the release the runs were of, or calibrate again "
     "(`dagc calibrate`)"),
    ({"release": "0.99.1"}, "release: `0.99.1` is no release of vllm dagc knows", None),
    ({"engine": "pytorch", "release": "2.5.0"}, "release: `2.5.0` is no release of pytorch dagc knows",
     "pytorch has no releases; write `\"release\": null`, or calibrate again (`dagc calibrate`)"),
])
def test_e109_an_engine_or_release_dagc_does_not_know_names_the_field_and_the_known_ones(tmp_path, edit, said, hint):
    (tmp_path / "cal.json").write_text(json.dumps(CAL | edit))
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN, base_dir=tmp_path)
    (d,) = exc.value.diagnostics
    assert (d.code, d.message, d.span.text) == ("E109", f"calibration `cal.json`: {said}", '"cal.json"')
    if hint is None:        # vLLM's every series, newest first
        assert d.hint is not None and d.hint.startswith("vllm's release series dagc knows: 0.33, 0.32, ")
        assert "0.7, 0.6; write the release the runs were of" in d.hint
    else:
        assert d.hint == hint

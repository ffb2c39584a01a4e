"""The engine sentence of a plan whose calibration fitted `step_request_s` to 0 says the step's time per request is
none: it listed `step_request_s` among the terms "fitted on 4 measured runs" and said nothing of its value, which a
user read as a term left out (a new user's vLLM sweep of Qwen3-30B-A3B on 2 H100s fitted it to its lower bound)."""

from __future__ import annotations

from dagc.cost.cost_model import engine_text
from dagc.plan.cluster import Cluster
from dagc.plan.engines import engine_of
from dagc.plan.presets import GPU_PRESETS


def _cluster(step_request_s: float) -> Cluster:
    vllm = engine_of("vllm")
    terms = vllm.terms.model_copy(update={"frontend_s": 7.149e-3, "memory_time_scale": 1.17,
                                          "step_request_s": step_request_s})
    return Cluster(gpus=2, gpu=GPU_PRESETS["h100-sxm"], intra_node_bytes_per_s=450e9,
                   engine=vllm.model_copy(update={"terms": terms}))


def test_a_step_request_s_fitted_to_zero_is_said_none():
    text = engine_text(_cluster(0.0), ("cal.json", 4, ("step_s", "compute_time_scale")))
    assert "1.512 ms of host time per step and none per request the step runs, its kernels 1× the profile's" in text
    assert "`frontend_s`, `memory_time_scale` and `step_request_s` fitted on 4 measured runs" in text


def test_a_step_request_s_kept_or_uncalibrated_at_zero_is_not_said():
    # a calibration that kept it (the engine's own, here 0) and a plan without one say nothing of it, as before
    kept = engine_text(_cluster(0.0), ("cal.json", 4, ("step_s", "compute_time_scale", "step_request_s")))
    assert "per request the step runs" not in kept and "per request the step runs" not in engine_text(_cluster(0.0))
    assert "1.512 ms of host time per step and 20 us per request the step runs" in engine_text(
        _cluster(20e-6), ("cal.json", 4, ("step_s", "compute_time_scale")))

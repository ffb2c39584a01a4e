"""A calibration of an engine whose time beyond its kernels is per layer (TensorRT-LLM's `layer_s`): the fit starts
from that time as one per step (`per_step_terms`: step_s + the model's layers × layer_s, layer_s 0), so it can
lower it below the layers' share — a Llama 3.1 8B's TensorRT-LLM runs want about 1 ms a step where 32 layers make
2.3 ms —, and a plan with the calibration has no time per layer beside its step_s."""

from __future__ import annotations

import pytest

from dagc.lang.blocks import Collector
from dagc.lang.calibration import calibrated_cluster, per_step_terms, uncalibrated_cluster
from dagc.lang.load import load_plan_text
from dagc.plan.calibration import CalibratedRange, Calibration
from dagc.plan.engines import TRTLLM_LAYER_S, TRTLLM_STEP_S
from dagc.source import SourceFile, Span
from dagc.verdict.check import check
from conftest import plan_text

PLAN = plan_text(model='model preset "mixtral-8x7b" { layers = 4 }',
                 cluster='cluster { gpus = 1  gpu preset "h100-sxm"  engine = trtllm }',
                 workload="workload { batch = 4  prompt = 128  generate = 8  routing = uniform }",
                 strategy="strategy tp 1")


def _figures(plan) -> tuple[float, float]:
    (r,) = check(plan)
    return r.metrics.ttft_s, r.metrics.tpot_s


def test_the_time_per_layer_folds_into_the_step_as_the_same_time():
    plan = load_plan_text(PLAN)
    folded = per_step_terms(plan)
    t = folded.cluster.engine.terms
    assert t.layer_s == 0.0 and t.step_s == pytest.approx(TRTLLM_STEP_S + 4 * TRTLLM_LAYER_S, rel=1e-12)
    assert _figures(folded) == pytest.approx(_figures(plan), rel=1e-12)
    # an engine without a time per layer is left as it is
    vllm = load_plan_text(PLAN.replace("engine = trtllm", "engine = vllm"))
    assert per_step_terms(vllm) is vllm


def test_a_calibrations_step_time_stands_alone_and_leaving_it_out_restores_the_layers():
    plan = load_plan_text(PLAN)
    step = TRTLLM_STEP_S + 4 * TRTLLM_LAYER_S
    cal = Calibration(file="cal.json", engine="trtllm", release=plan.cluster.engine.release, gpu="h100-sxm", gpus=1,
                      model=plan.model.name, step_s=step, frontend_s=plan.cluster.engine.terms.frontend_s,
                      runs=("a", "b", "c"), residuals={},
                      range=CalibratedRange(prompt=(128, 128), generate=(8, 8), concurrency=None, rate=None))
    out = Collector()
    cluster = calibrated_cluster(out, cal, plan.model, plan.cluster, Span(SourceFile("plan.moe", PLAN), 0, 1))
    assert not out.diags and cluster.engine.terms.layer_s == 0.0 and cluster.engine.terms.step_s == step
    # the calibration's step time is the engine's own time for this model: the same figures, counted once
    calibrated = plan.model_copy(update={"cluster": cluster})
    assert _figures(calibrated) == pytest.approx(_figures(plan), rel=1e-12)
    assert uncalibrated_cluster(cluster).engine.terms == plan.cluster.engine.terms

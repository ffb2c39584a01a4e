"""TensorRT-LLM's routed experts on a Hopper GPU (`TRTLLM_HOPPER_EXPERT_TIME_SCALE`, docs/cost-model.md): the grouped
GEMMs of an MoE layer's experts at the term times the profile's time on a GPU with 8-bit and no 4-bit units priced by
the built-in H100 or H200 profile, from TensorRT-LLM 1.0 on; nowhere else, computed here by hand on a small plan."""

from __future__ import annotations

import dataclasses

import pytest

from dagc.cost.compute import kernel_seconds, priced_kernels
from dagc.cost.cost import template_time_s
from dagc.cost.cost_model import CostModel, engine_text, expert_time_scale
from dagc.cost.op_price import op_price
from dagc.ir.dag import KernelClass, OpKind, Phase, StagePass
from dagc.ir.ops import Op, OpShapes, rank_dims
from dagc.lang.flatten import flatten
from dagc.lang.load import load_plan_text
from dagc.layout.layout import resolve
from dagc.plan.engines import TRTLLM_HOPPER_EXPERT_TIME_SCALE, terms_of

PLAN = """model preset "mixtral-8x7b" {{ layers = 2 }}
cluster {{ gpus = 1  gpu preset "{gpu}"  engine = {engine} }}
workload {{ batch = 4  prompt = 512  generate = 8  routing = uniform }}
strategy tp 1
"""


def _plan(gpu: str = "h200", engine: str = "trtllm"):
    return load_plan_text(PLAN.format(gpu=gpu, engine=engine), "tiny.moe")


def _experts(plan):
    """The prefill's routed-expert op of the plan's first layer."""
    lay = resolve(plan.model, plan.cluster, plan.workload, flatten(plan.strategies[0])[0])
    shapes = OpShapes(plan.model, plan.workload, lay, rank_dims(plan.model, lay),
                      StagePass(Phase.PREFILL, lay.requests()[0], 0), engine=plan.cluster.engine.terms)
    tpl = shapes.get(Op.EXPERT_FFN)
    assert tpl.kind is OpKind.EXPERT_FFN
    return tpl


def test_the_experts_grouped_gemms_take_the_term_times_their_time_by_hand():
    """The same op under TensorRT-LLM on an H200 and under the same cost model without the term: every grouped GEMM
    kernel's seconds × 2.42, every other kernel's unchanged, and the op (no eager floor binds at 2,048 tokens) the
    sum: its time without the term plus 1.42 × its grouped GEMMs' seconds — by the DAG's pricing and the load
    simulation's (`op_price`) alike."""
    assert TRTLLM_HOPPER_EXPERT_TIME_SCALE == 2.42
    plan = _plan()
    cm = CostModel.from_cluster(plan.cluster)
    assert cm.expert_time_scale == 2.42
    plain = dataclasses.replace(cm, expert_time_scale=1.0)
    tpl = _experts(plan)
    kernels = priced_kernels(tpl, cm.profile, cm.glue)
    grouped = [k.cls is KernelClass.GROUPED_GEMM for k in kernels]
    assert sum(grouped) == 2                                  # the gate·up and the down GEMM
    with_term, without = kernel_seconds(tpl, cm), kernel_seconds(tpl, plain)
    for g, a, b in zip(grouped, with_term, without, strict=True):
        assert float(a.max()) == pytest.approx(float(b.max()) * (2.42 if g else 1.0), rel=1e-12)
    grouped_s = sum(float(b.max()) for g, b in zip(grouped, without, strict=True) if g)
    before, after = float(template_time_s(tpl, plain).max()), float(template_time_s(tpl, cm).max())
    assert after == pytest.approx(before + 1.42 * grouped_s, rel=1e-9)
    assert op_price(tpl, cm).seconds(cm) == pytest.approx(after, rel=1e-12)
    assert op_price(tpl, plain).seconds(plain) == pytest.approx(before, rel=1e-12)


@pytest.mark.parametrize("gpu, engine, scale", [("h200", "trtllm", 2.42), ("h100-sxm", "trtllm", 2.42),
                                                ("h800", "trtllm", 2.42), ("b200", "trtllm", 1.68),
                                                ("gb200", "trtllm", 1.68), ("h200", "vllm", 1.0),
                                                ("h200", "sglang", 1.0), ("h200", "pytorch", 1.0)])
def test_only_tensorrt_llm_on_hopper_takes_it(gpu, engine, scale):
    plan = _plan(gpu, engine)
    assert expert_time_scale(plan.cluster) == scale
    assert CostModel.from_cluster(plan.cluster).expert_time_scale == scale
    said = f"GPU its routed experts' grouped GEMMs {scale:g}× the profile's time"
    assert (said in engine_text(plan.cluster)) == (scale != 1.0)


def test_releases_before_the_pytorch_backend_keep_the_profile():
    """The term is fitted on TensorRT-LLM 1.0 and later (its PyTorch backend); 0.x ran the TensorRT engine's MoE
    plugin, of which the calibration half has no MoE run on Hopper."""
    assert terms_of("trtllm", "0.17.0").hopper_expert_time_scale == 1.0
    assert terms_of("trtllm", "0.21").hopper_expert_time_scale == 1.0
    assert terms_of("trtllm", "1.0").hopper_expert_time_scale == 2.42
    assert terms_of("trtllm", "1.3.0rc20").hopper_expert_time_scale == 2.42
    plan = load_plan_text(PLAN.format(gpu="h200", engine="trtllm@0.17.0"), "tiny.moe")
    assert expert_time_scale(plan.cluster) == 1.0

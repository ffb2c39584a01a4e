"""TensorRT-LLM's routed experts on a Blackwell GPU (`TRTLLM_BLACKWELL_EXPERT_TIME_SCALE`, docs/cost-model.md): the
grouped GEMMs of an MoE layer's experts at the term times the profile's time on a GPU with 4-bit units (b200, b300,
gb200, gb300) priced by the built-in profile at its peaks, from TensorRT-LLM 1.2 on, and at
`TRTLLM_BLACKWELL_EXPERT_TIME_SCALE_BEFORE` from 1.0 to 1.1; computed here by hand on a small plan, and the fit
script's `--blackwell` reading only the calibration half's runs that term moves, each release range on its own."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

from dagc.cost.compute import kernel_seconds, priced_kernels
from dagc.cost.cost import template_time_s
from dagc.cost.cost_model import CostModel, engine_text, expert_time_scale
from dagc.cost.op_price import op_price
from dagc.ir.dag import KernelClass
from dagc.lang.load import load_plan_text
from dagc.plan.engines import (
    TRTLLM_BLACKWELL_EXPERT_TIME_SCALE,
    TRTLLM_BLACKWELL_EXPERT_TIME_SCALE_BEFORE,
    TRTLLM_EXPERTS_UNTIL,
    terms_of,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import fit_engine_terms as fit  # noqa: E402  (bench/, on the path above)
from test_engine_hopper_experts import _experts  # noqa: E402  (the prefill's routed-expert op of a plan's first layer)

PLAN = """model preset "mixtral-8x7b" {{ layers = 2 }}
cluster {{ gpus = 1  gpu preset "{gpu}"  engine = {engine} }}
workload {{ batch = 4  prompt = 512  generate = 8  routing = uniform }}
strategy tp 1
"""


def test_the_experts_grouped_gemms_take_1_68_times_their_time_on_a_b200_by_hand():
    """The same op under TensorRT-LLM on a B200 and under the same cost model without the term: each of the two
    grouped GEMM kernels' seconds × 1.68, every other kernel's unchanged, and the op its time without the term plus
    0.68 × its grouped GEMMs' seconds — by the DAG's pricing and the load simulation's (`op_price`) alike."""
    assert TRTLLM_BLACKWELL_EXPERT_TIME_SCALE == 1.68
    plan = load_plan_text(PLAN.format(gpu="b200", engine="trtllm"), "tiny.moe")
    cm = CostModel.from_cluster(plan.cluster)
    assert cm.expert_time_scale == 1.68
    plain = dataclasses.replace(cm, expert_time_scale=1.0)
    tpl = _experts(plan)
    grouped = [k.cls is KernelClass.GROUPED_GEMM for k in priced_kernels(tpl, cm.profile, cm.glue)]
    assert sum(grouped) == 2                                  # the gate·up and the down GEMM
    with_term, without = kernel_seconds(tpl, cm), kernel_seconds(tpl, plain)
    for g, a, b in zip(grouped, with_term, without, strict=True):
        assert float(a.max()) == pytest.approx(float(b.max()) * (1.68 if g else 1.0), rel=1e-12)
    grouped_s = sum(float(b.max()) for g, b in zip(grouped, without, strict=True) if g)
    assert grouped_s > 0
    before, after = float(template_time_s(tpl, plain).max()), float(template_time_s(tpl, cm).max())
    assert after == pytest.approx(before + 0.68 * grouped_s, rel=1e-9)
    assert op_price(tpl, cm).seconds(cm) == pytest.approx(after, rel=1e-12)
    assert "on this Blackwell GPU its routed experts' grouped GEMMs 1.68× the profile's time" in engine_text(
        plan.cluster)


def test_before_1_2_the_experts_grouped_gemms_take_2_18_times_their_time_by_hand():
    """The same op under TensorRT-LLM 1.1 (and 1.0) on a B200: the grouped GEMMs' seconds × 2.18, the fit of the
    1.1 edition's Blackwell runs, every other kernel's unchanged; the op 2.18 / 1.68 of 1.2's in its grouped GEMMs
    alone. The engine sentence says whose release's scale it is."""
    assert (TRTLLM_BLACKWELL_EXPERT_TIME_SCALE_BEFORE, TRTLLM_EXPERTS_UNTIL) == (2.18, (1, 2))
    old = load_plan_text(PLAN.format(gpu="b200", engine="trtllm@1.1"), "tiny-1.1.moe")
    new = load_plan_text(PLAN.format(gpu="b200", engine="trtllm@1.2"), "tiny-1.2.moe")
    cm_old, cm_new = CostModel.from_cluster(old.cluster), CostModel.from_cluster(new.cluster)
    assert (cm_old.expert_time_scale, cm_new.expert_time_scale) == (2.18, 1.68)
    plain = dataclasses.replace(cm_old, expert_time_scale=1.0)
    tpl = _experts(old)
    grouped = [k.cls is KernelClass.GROUPED_GEMM for k in priced_kernels(tpl, cm_old.profile, cm_old.glue)]
    with_term, without = kernel_seconds(tpl, cm_old), kernel_seconds(tpl, plain)
    for g, a, b in zip(grouped, with_term, without, strict=True):
        assert float(a.max()) == pytest.approx(float(b.max()) * (2.18 if g else 1.0), rel=1e-12)
    grouped_s = sum(float(b.max()) for g, b in zip(grouped, without, strict=True) if g)
    t_old, t_new = float(template_time_s(tpl, cm_old).max()), float(template_time_s(_experts(new), cm_new).max())
    assert t_old - t_new == pytest.approx((2.18 - 1.68) * grouped_s, rel=1e-9)
    assert "on this Blackwell GPU its routed experts' grouped GEMMs 2.18× the profile's time" in engine_text(
        old.cluster)
    assert terms_of("trtllm", "1.0").blackwell_expert_time_scale == 2.18


@pytest.mark.parametrize("gpu, engine, scale", [("b200", "trtllm", 1.68), ("b300", "trtllm", 1.68),
                                                ("gb200", "trtllm", 1.68), ("gb300", "trtllm", 1.68),
                                                ("b200", "trtllm@1.2.0", 1.68), ("b200", "trtllm@1.3", 1.68),
                                                ("b200", "trtllm@1.0", 2.18), ("gb200", "trtllm@1.1.0", 2.18),
                                                ("b200", "trtllm@0.17.0", 1.0), ("b200", "vllm", 1.0),
                                                ("b200", "sglang", 1.0), ("a100-80g", "trtllm", 1.0),
                                                ("h200", "trtllm@1.1", 2.42)])
def test_only_tensorrt_llm_from_1_0_on_blackwell_takes_it_each_release_its_own(gpu, engine, scale):
    plan = load_plan_text(PLAN.format(gpu=gpu, engine=engine), "tiny.moe")
    assert expert_time_scale(plan.cluster) == scale
    assert CostModel.from_cluster(plan.cluster).expert_time_scale == scale
    assert terms_of("trtllm", "0.21").blackwell_expert_time_scale == 1.0


def test_the_fit_reads_only_the_calibration_runs_the_blackwell_term_moves():
    """`--blackwell` fits on the calibration half's TensorRT-LLM runs of MoE models on Blackwell GPUs: the 1.2
    performance overview's 101 (95 with an output throughput) for the term from 1.2, the 1.1 edition's 57 for the
    term before it (`release_groups`), no Hopper run, and refuses a held-out run."""
    import fidelity_corpus as fc
    half, files = fc.halves(), fc.load_corpus()
    jobs = fit.hopper_jobs(fit.calibration_jobs(files, half, "trtllm"), "blackwell_expert_time_scale")
    gpus = {r.gpu for _, r in jobs}
    assert gpus == {"b200", "b300", "gb200", "gb300"}
    groups = dict(fit.release_groups(jobs, "trtllm", "blackwell_expert_time_scale"))
    assert list(groups) == ["from 1.2", "before 1.2"]
    assert [len(groups[g]) for g in groups] == [101, 57]
    assert sum("output_tokens_per_s" in r.measured for _, r in groups["from 1.2"]) == 95
    assert {r.release for _, r in groups["before 1.2"]} == {"1.1"}
    assert [g for g, _ in fit.release_groups(jobs, "trtllm", "hopper_expert_time_scale")] == [""]
    held = [(f.source.id, r) for f in files if half.get(f.source.id) == "held-out" for r in f.runs][:1]
    with pytest.raises(fit.HeldOutError):
        fit.fit_hopper(held, "trtllm", {}, half, "blackwell_expert_time_scale")

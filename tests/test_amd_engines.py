"""AMD GPUs and the engines (2026-12-03): SGLang stops loading MXFP4 weights on an MI300X (gfx942: its
`mxfp_supported()` holds on gfx95 only), which dagc now refuses (E734) as `dagc launch` and the fleet do; the engines'
NVIDIA-fitted kernel multipliers (Hopper's experts, Blackwell's memory-bound kernels) no longer apply to an AMD GPU."""

from __future__ import annotations

from dagc.cost.cost_model import blackwell_scale, expert_time_scale
from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text
from dagc.launch.engine_check import check, plan_refusals
from conftest import plan_text


def _plan(engine: str, model: str = 'model preset "gpt-oss-120b"', gpu: str = "mi300x") -> str:
    return plan_text(model=model, cluster=f'cluster {{ gpus = 8  gpu preset "{gpu}"  engine = {engine} }}',
                     workload="workload { batch = 8  prompt = 512  generate = 64  serving = inflight }",
                     strategy="strategy tp 1")


def test_sglang_refuses_mxfp4_experts_on_mi300x():
    [r] = check(load_plan_text(_plan("sglang")))
    (e,) = [d for d in r.diagnostics if d.code == "E734"]
    assert "mi300x is gfx942" in e.message and e.hint.startswith("no strategy changes the weights' format: use vLLM")
    assert not r.valid and [d.code for d in plan_refusals(load_plan_text(_plan("sglang")))] == ["E734"]


def test_vllm_on_mi300x_and_sglang_on_an_nvidia_gpu_are_not_refused():
    [vllm] = check(load_plan_text(_plan("vllm")))
    [h200] = check(load_plan_text(_plan("sglang", gpu="h200")))
    assert "E734" not in {d.code for d in vllm.diagnostics + h200.diagnostics}
    dense = _plan("sglang", model='model preset "qwen3-30b-a3b"')        # bf16 weights: nothing to refuse
    assert plan_refusals(load_plan_text(dense)) == ()


def test_nvidia_fitted_kernel_multipliers_leave_an_amd_gpu_alone():
    for engine in ("vllm", "sglang"):
        try:
            plan = load_plan_text(_plan(engine, model='model preset "qwen3-30b-a3b"'))
        except PlanError as exc:          # pragma: no cover - the plan is valid
            raise AssertionError(exc.diagnostics) from None
        # MI300X: fp8 units and no fp4 ones, priced on the H200's profile: until 2026-12-03 Hopper's expert term
        assert expert_time_scale(plan.cluster) == 1.0 and blackwell_scale(plan.cluster) == 1.0
    h200 = load_plan_text(_plan("trtllm", model='model preset "qwen3-30b-a3b"', gpu="h200"))
    assert expert_time_scale(h200.cluster) == h200.cluster.engine.terms.hopper_expert_time_scale != 1.0


def test_an_amd_node_is_said_in_its_own_words():
    text = _plan("vllm", model='model preset "qwen3-30b-a3b"').replace("gpus = 8 ", "gpus = 16  gpus_per_node = 16 ")
    [r] = check(load_plan_text(text))
    (w,) = [d for d in r.diagnostics if d.code == "W535"]
    assert "`mi300x`'s Infinity Fabric domain holds 8" in w.message and "NVLink" not in w.message + (w.hint or "")
    from dagc.cost.cost_model import engine_text
    assert "its fused glue kernels and HIP graphs" in engine_text(r.plan.cluster)


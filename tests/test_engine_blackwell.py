"""SGLang's memory-bound kernels on a Blackwell GPU (`SGLANG_BLACKWELL_MEMORY_TIME_SCALE`, docs/cost-model.md): the
engine's `memory_time_scale` times the term on a GPU with fp4 units priced by a built-in profile, nowhere else."""

from __future__ import annotations

import pytest

from dagc.cost.cost_model import CostModel, blackwell_scale, engine_text
from dagc.lang.load import load_plan_text
from dagc.plan.engines import SGLANG_BLACKWELL_MEMORY_TIME_SCALE
from dagc.plan.model import DType

PLAN = """model "tiny" {{
  layers = 2  hidden = 4096  heads = 32  kv_heads = 8  head_dim = 128  vocab = 32000
  ffn = 14336  weights = bf16  kv_cache = bf16
}}
cluster {{ gpus = 1  gpu preset "{gpu}"  engine = {engine} }}
workload {{ batch = 1  prompt = 512  generate = 64 }}
strategy tp 1
"""


def cost_model(gpu: str, engine: str) -> CostModel:
    return CostModel.from_cluster(load_plan_text(PLAN.format(gpu=gpu, engine=engine), "tiny.moe").cluster)


def test_sglang_on_b200_scales_memory_bound_time_by_hand():
    """A decode GEMM of one token through a 4096 × 4096 bf16 weight: 2·4096² FLOPs and 2·4096² bytes. On a B200
    (2.25 PFLOP/s bf16, 8 TB/s) its roofline is 1.491e-8 s of compute and 4.194e-6 s of reads, a compute share
    f = 0.003543, so SGLang's multiplier is 1 · f + 1.244 · (1 − f) = 1.24314. A prefill GEMM of 8192 tokens
    (2·8192·4096² FLOPs: 1.2217e-4 s; the weight and 2·8192·4096 bf16 in and out, 1.678e8 bytes: 2.097e-5 s)
    is 85.35 % compute: 0.8535 + 1.244 · 0.1465 = 1.0357."""
    assert SGLANG_BLACKWELL_MEMORY_TIME_SCALE == 1.244
    cm = cost_model("b200", "sglang")
    assert (cm.compute_time_scale, cm.memory_time_scale) == (1.0, 1.244)
    n = 4096.0
    assert cm.time_scale(2 * n * n, 2 * n * n, DType.BF16) == pytest.approx(1.24314, abs=1e-5)
    prefill_flops, prefill_bytes = 2 * 8192 * n * n, 2 * n * n + 2 * 2 * 8192 * n
    tc, tm = prefill_flops / 2.25e15, prefill_bytes / 8e12
    assert cm.time_scale(prefill_flops, prefill_bytes, DType.BF16) == pytest.approx(
        tc / (tc + tm) + 1.244 * tm / (tc + tm), rel=1e-12)
    assert cm.time_scale(prefill_flops, prefill_bytes, DType.BF16) == pytest.approx(1.0357, abs=1e-4)


@pytest.mark.parametrize("gpu, engine", [("h200", "sglang"), ("h100-sxm", "sglang"), ("b200", "vllm"),
                                         ("b200", "trtllm"), ("b200", "pytorch")])
def test_other_gpus_and_engines_keep_the_scaled_profile(gpu, engine):
    cm = cost_model(gpu, engine)
    assert (cm.compute_time_scale, cm.memory_time_scale) == (1.0, 1.0)


def test_every_blackwell_preset_takes_it_and_the_terminal_says_so():
    for gpu in ("b200", "b300", "gb200", "gb300"):
        c = load_plan_text(PLAN.format(gpu=gpu, engine="sglang"), "tiny.moe").cluster
        assert blackwell_scale(c) == 1.244, gpu
        assert "on this Blackwell GPU its memory-bound kernels 1.24× the scaled H200 profile's time" in engine_text(c)
    h200 = load_plan_text(PLAN.format(gpu="h200", engine="sglang"), "tiny.moe").cluster
    assert "Blackwell" not in engine_text(h200)


def test_decode_step_on_b200_grows_by_the_scale_on_its_memory_bound_kernels():
    """The steady state's decode step of the small plan on a B200: with the term every memory-bound op takes
    1.244× (less its compute share), so the step, not all of which is a kernel's reads (its host time per step
    and per request is not), grows by less than 24.4 % and by more than 15 %; the plan without the term
    (`blackwell_memory_time_scale = 1`) is the scaled profile."""
    from dagc.calibrate.figures import with_terms
    from dagc.verdict.check import check_strategy
    plan = load_plan_text(PLAN.format(gpu="b200", engine="sglang"), "tiny.moe")
    plain = with_terms(plan, {"blackwell_memory_time_scale": 1.0})
    tpot = check_strategy(plan, plan.strategies[0]).metrics.tpot_s
    tpot_plain = check_strategy(plain, plain.strategies[0]).metrics.tpot_s
    assert 1.15 < tpot / tpot_plain < 1.244

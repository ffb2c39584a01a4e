"""vLLM's padding of mxfp4 routed experts (`dagc.plan.expert_padding`, docs/cost-model.md, "MXFP4 experts as vLLM
holds them"): the weights a rank holds and the experts' GEMM shapes at the padded dimensions, per kernel — Marlin
(intermediate to 128, hidden to 256), OpenAI's Triton kernels (intermediate to 64, the block scales kept twice) and
FlashInfer's TensorRT-LLM-Gen (intermediate to 128, hidden to 256) —, each figure computed here by hand on a small
plan; other engines and other dtypes as the checkpoint has them."""

from __future__ import annotations

import pytest

from dagc.ir.dag import Phase, StagePass
from dagc.ir.ops import Op, OpShapes, rank_dims
from dagc.lang.flatten import flatten
from dagc.lang.load import load_plan_text
from dagc.layout.layout import resolve
from dagc.memory.activations import activation_bytes_by_stage
from dagc.memory.memory import memory
from dagc.plan.expert_padding import (
    VLLM_MARLIN_FFN_ALIGN,
    VLLM_MARLIN_HIDDEN_ALIGN,
    VLLM_TRITON_FFN_ALIGN,
    VLLM_TRITON_FROM,
    VLLM_TRITON_SCALE_COPIES,
    VLLM_TRTLLM_FFN_ALIGN,
    VLLM_TRTLLM_HIDDEN_ALIGN,
    Mxfp4Backend,
    mxfp4_backend,
)

# gpt-oss's expert dimensions (hidden = expert ffn = 2,880, mxfp4) on a small model: 2 layers of 4 experts
PLAN = """model "tiny-oss" {{
  layers = 2  hidden = 2880  heads = 8  kv_heads = 8  head_dim = 64  vocab = 1024  weights = bf16
  moe {{ experts = 4  top_k = 2  ffn = 2880  weights = {dtype} }}
}}
cluster {{ gpus = {tp}  gpu preset "{gpu}"  engine = {engine} }}
workload {{ batch = 2  prompt = 64  generate = 4 }}
strategy tp {tp}
"""
EXPERTS, LAYERS = 4, 2
MXFP4 = 0.5 + 1 / 32              # bytes per parameter: 4-bit values and one byte of scale per 32


def _plan(engine: str, gpu: str = "h100-sxm", tp: int = 1, dtype: str = "mxfp4"):
    return load_plan_text(PLAN.format(engine=engine, gpu=gpu, tp=tp, dtype=dtype), "tiny-oss.moe")


def _layout(plan):
    return resolve(plan.model, plan.cluster, plan.workload, flatten(plan.strategies[0])[0])


def _routed_expert_bytes(plan) -> float:
    lay = _layout(plan)
    mem = memory(plan.model, plan.workload, plan.cluster, lay,
                 activation_bytes_by_stage(plan.model, plan.workload, plan.cluster, lay))
    return mem.worst.routed_expert_bytes


def _gemm_shapes(plan) -> list[tuple[float, ...]]:
    """The (K, N) of the prefill's routed experts' grouped gate·up and down GEMMs on the first rank."""
    lay = _layout(plan)
    shapes = OpShapes(plan.model, plan.workload, lay, rank_dims(plan.model, lay),
                      StagePass(Phase.PREFILL, lay.requests()[0], 0), engine=plan.cluster.engine.terms)
    tpl = shapes.get(Op.EXPERT_FFN)
    return [(float(k.shape[2][0]), float(k.shape[3][0])) for k in tpl.kernels if k.name in ("gate_up", "down")]


def test_marlin_pads_the_intermediate_to_128_and_the_hidden_to_256():
    # vLLM 0.10 on an H100 (no triton_kernels yet: Marlin): 2,880 → 2,944 (23 · 128) and 2,880 → 3,072 (12 · 256)
    assert (VLLM_MARLIN_FFN_ALIGN, VLLM_MARLIN_HIDDEN_ALIGN) == (128, 256)
    plan = _plan("vllm@0.10.2")
    assert mxfp4_backend(plan.cluster.gpu, plan.cluster.engine) is Mxfp4Backend.MARLIN
    by_hand = LAYERS * EXPERTS * 3 * 3072 * 2944 * MXFP4
    assert _routed_expert_bytes(plan) == pytest.approx(by_hand, rel=1e-12)
    assert _gemm_shapes(plan) == [(3072, 2 * 2944), (2944, 3072)]


def test_marlin_on_an_ampere_gpu_whatever_the_release():
    plan = _plan("vllm", gpu="a100-80g")
    assert mxfp4_backend(plan.cluster.gpu, plan.cluster.engine) is Mxfp4Backend.MARLIN
    assert _routed_expert_bytes(plan) == pytest.approx(LAYERS * EXPERTS * 3 * 3072 * 2944 * MXFP4, rel=1e-12)


def test_triton_pads_the_intermediate_on_a_rank_to_64_and_keeps_the_scales_twice():
    # vLLM 0.33 on two H100s: each rank's 1,440 → 1,472 (23 · 64), the hidden unpadded; the original block
    # scales stay beside the swizzled ones: 0.5 + 2/32 bytes per parameter held, 0.5 + 1/32 read
    assert (VLLM_TRITON_FFN_ALIGN, VLLM_TRITON_SCALE_COPIES) == (64, 2)
    plan = _plan("vllm@0.33.0", tp=2)
    assert mxfp4_backend(plan.cluster.gpu, plan.cluster.engine) is Mxfp4Backend.TRITON
    by_hand = LAYERS * EXPERTS * 3 * 2880 * 1472 * (0.5 + 2 / 32)
    assert _routed_expert_bytes(plan) == pytest.approx(by_hand, rel=1e-12)
    assert _gemm_shapes(plan) == [(2880, 2 * 1472), (1472, 2880)]


def test_triton_at_tp_1_pads_nothing_but_keeps_the_scales_twice():
    plan = _plan("vllm@0.33.0")
    assert _routed_expert_bytes(plan) == pytest.approx(LAYERS * EXPERTS * 3 * 2880 * 2880 * (0.5 + 2 / 32),
                                                       rel=1e-12)
    assert _gemm_shapes(plan) == [(2880, 2 * 2880), (2880, 2880)]


@pytest.mark.parametrize(("release", "backend"), [("0.11.0", Mxfp4Backend.MARLIN), ("0.11.1", Mxfp4Backend.TRITON),
                                                  ("0.12.0", Mxfp4Backend.TRITON)])
def test_hopper_runs_triton_from_the_release_that_brings_triton_kernels(release, backend):
    assert VLLM_TRITON_FROM == (0, 11, 1)
    plan = _plan(f"vllm@{release}")
    assert mxfp4_backend(plan.cluster.gpu, plan.cluster.engine) is backend


def test_flashinfer_trtllm_gen_on_blackwell_pads_the_intermediate_to_128_and_the_hidden_to_256():
    assert (VLLM_TRTLLM_FFN_ALIGN, VLLM_TRTLLM_HIDDEN_ALIGN) == (128, 256)
    plan = _plan("vllm", gpu="b200")
    assert mxfp4_backend(plan.cluster.gpu, plan.cluster.engine) is Mxfp4Backend.TRTLLM
    assert _routed_expert_bytes(plan) == pytest.approx(LAYERS * EXPERTS * 3 * 3072 * 2944 * MXFP4, rel=1e-12)
    assert _gemm_shapes(plan) == [(3072, 2 * 2944), (2944, 3072)]


@pytest.mark.parametrize(("engine", "dtype"), [("sglang", "mxfp4"), ("trtllm", "mxfp4"), ("pytorch", "mxfp4"),
                                               ("vllm@0.10.2", "bf16")])
def test_other_engines_and_dtypes_hold_the_checkpoints_dimensions(engine, dtype):
    plan = _plan(engine, dtype=dtype)
    per = MXFP4 if dtype == "mxfp4" else 2.0
    assert _routed_expert_bytes(plan) == pytest.approx(LAYERS * EXPERTS * 3 * 2880 * 2880 * per, rel=1e-12)
    assert _gemm_shapes(plan) == [(2880, 2 * 2880), (2880, 2880)]


@pytest.mark.parametrize("engine, words", [
    ("vllm@0.10.2", "The engine (vllm, its marlin MoE kernel) holds each routed expert on a GPU as 3,072 × 2,944 "
                    "from 2,880 × 2,880 (docs/cost-model.md"),
    ("vllm@0.11.1", "The engine (vllm, its triton MoE kernel) holds each routed expert on a GPU as 2,880 × 2,880, "
                    "its block scales kept twice (docs/cost-model.md"),
    ("sglang", None)])
def test_report_md_says_how_the_engine_holds_the_experts(engine, words):
    """report.md's memory section says why the weights held exceed the checkpoint's: the padded expert's
    (hidden × intermediate) as the Marlin example above works out, or the Triton path's second copy of scales."""
    from dagc.export.markdown import report_md
    from dagc.verdict.check import check
    md = report_md(check(_plan(engine))[0])
    if words is None:
        assert "MoE kernel) holds each routed expert" not in md
    else:
        assert words in md

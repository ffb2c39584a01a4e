"""Weights in a precision the GPU has no compute units for: W509.

Input: a `RuleContext` (the plan's model dtypes and its GPU's peaks). Output: diagnostics. What the cost model
does with such weights (`dagc.plan.cluster.peak_flops`: dequantised, at the 16-bit peak) is said here, where the
figures would otherwise look faster than they are.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..diagnostics import Diagnostic, Severity, code
from ..plan.model import DType
from ..units import Dimension, exact_text
from .base import RuleContext, diag, make_rule

__all__ = ["RULES", "check_8bit_compute", "check_mxfp4_beyond_experts"]


def check_8bit_compute(ctx: RuleContext) -> Iterator[Diagnostic]:
    """Low-precision weights (or KV cache) on a GPU without compute units for them run at the 16-bit peak.

    Memory counts the narrow bytes, but a GPU without fp8 tensor cores (A100, for instance) dequantises
    8-bit weights and runs its matmuls at the 16-bit peak, and a GPU without fp4 tensor cores (every GPU
    before Blackwell: A100, H100, H200, MI300X) runs nvfp4 and mxfp4 weights weight-only, dequantised to
    16 bits, at the 16-bit peak too (not at its fp8 peak); dagc's cost model does the same, so the figures
    are right, and slower than the dtype suggests. int4 weights run weight-only on every GPU (W4A16: the engines'
    int4 kernels, Marlin and Machete, take 16-bit activations), so they are said on every GPU. Where the engine cannot
    load the format at all,
    `dagc launch` refuses it (E729: TensorRT-LLM's NVFP4 on a GPU before Blackwell).

    Bad:
        model preset "deepseek-v3"                 # fp8 weights
        cluster { gpus = 32  gpu preset "a100-80g" }
        model preset "mixtral-8x7b" { weights = nvfp4 }
        cluster { gpus = 8  gpu preset "h100-sxm" }
    Fixed:
        cluster { gpus = 32  gpu preset "h800" }
        cluster { gpus = 8  gpu preset "b200" }    # fp4 tensor cores
    """
    m, gpu = ctx.plan.model, ctx.plan.cluster.gpu
    weights = [(d, key) for d, key in ((m.weights, "model.weights"), (m.expert_weights, "model.moe.weights"))
               if _without_units(d, gpu.flops_8bit, gpu.flops_4bit)]
    if weights and weights[0][0] == weights[-1][0]:
        weights = weights[:1]
    parts = [f"{d.value} {'weights' if key == 'model.weights' else 'expert weights'}" for d, key in weights]
    kv = m.kv_cache.is_8bit_or_less and not gpu.flops_8bit
    if kv:
        parts.append(f"a {m.kv_cache.value} KV cache")
    if not parts:
        return
    fp4 = any(d.is_fp4 for d, _ in weights)
    int4 = any(d is DType.INT4 for d, _ in weights)
    has = "int4 compute the engines use (their int4 kernels take 16-bit activations)" if int4 else \
        ("fp4 compute" if gpu.flops_8bit else "fp8 or fp4 compute") if fp4 else "fp8 compute"
    how = "weight-only, dequantised to 16 bits," if fp4 or int4 else "dequantised,"
    yield diag("W509", Severity.WARNING,
               f"{' and '.join(parts)} on {code(gpu.name)}, which has no {has}: dagc prices them {how} "
               f"with the matmuls at the 16-bit peak ({exact_text(gpu.flops_16bit, Dimension.COMPUTE)})",
               ctx.plan.span_of(weights[0][1] if weights else "model.kv_cache"),
               "expect 16-bit speed: fp8 weights run at the fp8 peak on a GPU with fp8 units" if int4 else
               "expect 16-bit speed, or use a GPU with fp4 units (b200, b300, gb200, gb300)" if fp4 else
               "expect 16-bit speed, or use a GPU with fp8 units (h100-sxm, h800, h200, b200)")


def _without_units(dtype: DType, flops_8bit: float | None, flops_4bit: float | None) -> bool:
    """Whether a GPU with these peaks has no compute units for weights of `dtype` (SPEC 12: fp4 types run on fp4
    units only, other types of 8 bits or less on fp8 units)."""
    if dtype is DType.INT4:             # no GPU computes the engines' W4A16 in int4 (`peak_flops`)
        return True
    return not flops_4bit if dtype.is_fp4 else dtype.is_8bit_or_less and not flops_8bit


def check_mxfp4_beyond_experts(ctx: RuleContext) -> Iterator[Diagnostic]:
    """MXFP4 weights beyond the routed experts, which no engine dagc launches loads.

    MXFP4 checkpoints (gpt-oss's) quantize the routed experts alone: vLLM's and SGLang's `Mxfp4Config` leave
    every other linear layer unquantised, so attention, the shared experts, the dense layers and the embeddings stay
    in bf16. A plan whose `weights = mxfp4` costs them at 4.25 bits holds less than the engine would and runs their
    matmuls at the fp4 peak: the figures are optimistic (Qwen3-235B-A22B `tp 8`: about 1.45 GB a GPU). Write the
    experts' dtype alone, `moe { weights = mxfp4 }`.

    Bad:
        model preset "qwen3-235b-a22b" { weights = mxfp4 }
    Fixed:
        model preset "qwen3-235b-a22b" { moe { weights = mxfp4 } }
    """
    if ctx.plan.model.weights is DType.MXFP4:
        yield diag("W545", Severity.WARNING,
                   "`weights = mxfp4` costs the attention, shared experts, dense layers and embeddings in mxfp4 too, "
                   "which MXFP4 checkpoints and the engines that load them keep in bf16: the figures are optimistic",
                   ctx.plan.span_of("model.weights"),
                   "write `moe { weights = mxfp4 }`: the routed experts alone, as gpt-oss's checkpoint holds them")


RULES = (
    make_rule("W509", Severity.WARNING, "8- or 4-bit weights on a GPU without compute units for them",
              check_8bit_compute),
    make_rule("W545", Severity.WARNING, "mxfp4 weights beyond the routed experts", check_mxfp4_beyond_experts,
              plan_level=True),
)

"""What TensorRT-LLM needs of the GPU: Blackwell for Helix context parallelism (E727) and for NVFP4 weights
(E729), by the SM version of each NVIDIA GPU preset (a custom GPU, whose architecture dagc cannot tell, is not
refused).

Input: a strategy's `Degrees`. Output: the `Refusal`s `dagc.launch.trtllm.refusals` adds.
"""

from __future__ import annotations

from ..plan.workload import PoolRole
from .degrees import Degrees
from .launch import Refusal

__all__ = ["GPU_SM", "HELIX_DOC", "NVFP4_MIN_SM", "QUANT_DOC", "helix_refusal", "helix_unmet", "nvfp4_refusal"]

GPU_SM = {"a100-80g": 80, "h100-sxm": 90, "h200": 90, "h800": 90, "h20": 90, "b200": 100, "b300": 103,
          "gb200": 100, "gb300": 103}
# Helix context parallelism (`cp C`), as TensorRT-LLM's own page on it states (docs/source/features/helix.md at
# 04c8822cc4): "a context parallelism technique for the decode/generation phase", "designed for generation servers
# in a disaggregated (prefill/decode split) deployment"; it "currently supports models using Multi-head Latent
# Attention (MLA) on Blackwell GPU architecture" (DeepSeek-V3); and the generation servers' YAML must set
# `cp_config.tokens_per_block` and `kv_cache_config.tokens_per_block`, equal (both marked required).
HELIX_DOC = "docs/source/features/helix.md"
HELIX_MIN_SM = 100          # Blackwell
# NVFP4 weights, as TensorRT-LLM's quantization page states (docs/source/features/quantization.md, "Hardware Support
# Matrix"): Blackwell (sm100/103, sm120) only; Hopper, Ada and Ampere have none (E729). MXFP4 is not refused: the
# gpt-oss deployment guide runs MXFP4 experts on H200 with BF16 activations (its TRITON MoE backend).
QUANT_DOC = "docs/source/features/quantization.md"
NVFP4_MIN_SM = 100
FP8_MIN_SM = 89             # Ada: the first with fp8 tensor cores (the matrix's FP8 rows)


def helix_unmet(d: Degrees) -> list[str]:
    """What of Helix's conditions (`HELIX_DOC`) a strategy with `cp` above 1 misses, in words: a decode pool's
    server, an MLA model, a Blackwell GPU (a GPU dagc does not know the architecture of is not counted)."""
    unmet = []
    if d.role is not PoolRole.DECODE:
        unmet.append("a prefill pool's server" if d.role is PoolRole.PREFILL else
                     "a strategy of its own, not the decode pool of a disaggregated one")
    if not d.mla:
        unmet.append("a model without MLA attention")
    sm = GPU_SM.get(d.gpu)
    if sm is not None and sm < HELIX_MIN_SM:
        unmet.append(f"{d.gpu}, an SM{sm} GPU, not Blackwell")
    return unmet


def nvfp4_refusal(d: Degrees) -> list[Refusal]:
    """E729: NVFP4 weights before Blackwell; FP8 weights before Ada (the matrix marks none for Ampere: until
    2026-12-03 DeepSeek-V3's fp8 checkpoint was launched on A100s)."""
    sm = GPU_SM.get(d.gpu)
    if sm is None:
        return []
    if d.nvfp4 and sm < NVFP4_MIN_SM:
        return [Refusal("E729", f"TensorRT-LLM: NVFP4 weights run on Blackwell GPUs only (its hardware support "
                        f"matrix, {QUANT_DOC}); {d.gpu} is an SM{sm} GPU", "model.weights")]
    if d.fp8 and sm < FP8_MIN_SM:
        return [Refusal("E729", f"TensorRT-LLM: FP8 weights run on Ada, Hopper and Blackwell GPUs (SM89 and up: its "
                        f"hardware support matrix, {QUANT_DOC}, marks no FP8 for Ampere); {d.gpu} is an SM{sm} GPU",
                        "model.weights")]
    return []


def helix_refusal(d: Degrees) -> list[Refusal]:
    if d.cp == 1 or not (unmet := helix_unmet(d)):
        return []
    return [Refusal("E727", f"TensorRT-LLM: Helix context parallelism (`cp {d.cp}`, --cp_size) runs on the "
                    "generation servers of a disaggregated deployment, for models with multi-head latent attention "
                    f"(MLA, DeepSeek-V3's) on Blackwell GPUs ({HELIX_DOC}); here {'; '.join(unmet)}", "cp")]

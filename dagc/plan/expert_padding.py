"""How an engine holds a model's mxfp4 routed experts: the dimensions its MoE kernel pads them to, and the copies
of their block scales it keeps (docs/cost-model.md, "MXFP4 experts as vLLM holds them").

Input: a `Model`, the cluster's `Gpu` and `Engine`, and the experts' tensor parallelism `etp`. Output: `HeldExperts`,
what a rank holds and reads of one routed expert, and `mxfp4_backend`, the kernel that decides it. Only vLLM pads:
its MXFP4 MoE method rounds the expert's intermediate size on a rank (and, for some kernels, the hidden size) up
to the kernel's tile before it allocates the weights, so the padding is held in memory and computed by the GEMMs.
SGLang's and TensorRT-LLM's mxfp4 experts, and every other dtype's, are held as the checkpoint has them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import Enum

from .cluster import Gpu, Vendor
from .engines import Engine
from .model import DType, Model
from .params import ffn_params

__all__ = ["Mxfp4Backend", "HeldExperts", "held_experts", "mxfp4_backend", "MXFP4_BLOCK",
           "VLLM_MARLIN_FFN_ALIGN", "VLLM_MARLIN_HIDDEN_ALIGN", "VLLM_TRITON_FFN_ALIGN", "VLLM_TRITON_FROM",
           "VLLM_TRITON_SCALE_COPIES", "VLLM_TRTLLM_FFN_ALIGN", "VLLM_TRTLLM_HIDDEN_ALIGN"]

MXFP4_BLOCK = 32                      # values per e8m0 scale (OCP MX): one byte of scale per 32 weights
# vLLM's MXFP4 MoE padding, per kernel (vllm/model_executor/layers/fused_moe/oracle/mxfp4.py,
# `mxfp4_round_up_hidden_size_and_intermediate_size`; docs/cost-model.md names the lines):
VLLM_MARLIN_FFN_ALIGN = 128           # Marlin: the intermediate size on a rank up to a multiple of 128 …
VLLM_MARLIN_HIDDEN_ALIGN = 256        # … and the hidden size to 256
VLLM_TRITON_FFN_ALIGN = 64            # OpenAI's Triton kernels (triton_kernels): the intermediate size to 64 only
VLLM_TRTLLM_FFN_ALIGN = 128           # FlashInfer's TensorRT-LLM-Gen kernels (Blackwell): the intermediate to 128 …
VLLM_TRTLLM_HIDDEN_ALIGN = 256        # … and the hidden size to 256
# The first release whose `pip install vllm` brings triton_kernels (a dependency from vLLM 0.11.1,
# github.com/vllm-project/vllm/pull/27370): before it, a Hopper GPU falls back to Marlin.
VLLM_TRITON_FROM = (0, 11, 1)
# Block-scale copies the Triton path keeps: it swizzles the scales into a new tensor for its kernel and frees the
# original weights but not the original scales (`process_weights_after_loading`).
VLLM_TRITON_SCALE_COPIES = 2

_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


class Mxfp4Backend(Enum):
    """vLLM's MXFP4 MoE kernel on a GPU, as its backend selection picks it by default."""

    MARLIN = "marlin"                 # weight-only dequantising GEMM: Ampere, and Hopper before triton_kernels
    TRITON = "triton"                 # OpenAI's triton_kernels `matmul_ogs`: Hopper
    TRTLLM = "trtllm"                 # FlashInfer's TensorRT-LLM-Gen MoE: Blackwell (fp4 units)


@dataclass(frozen=True)
class HeldExperts:
    """What one rank holds and reads of one routed expert (its etp share), as its engine holds it.

    `hidden`: the expert's hidden size in its GEMMs; `ffn`: its intermediate size on the rank; `params`: its
    parameters on the rank (padding included); `resident_bytes_per_param`: the bytes the rank holds per parameter
    (weights, block scales and any copy of them); `read_bytes_per_param`: what a GEMM reads per parameter; `backend`:
    the kernel whose tiles it is padded to."""

    hidden: int
    ffn: float
    params: float
    resident_bytes_per_param: float
    read_bytes_per_param: float
    backend: Mxfp4Backend | None = None     # vLLM's mxfp4 MoE kernel that decides it (`mxfp4_backend`); None: as stored


def mxfp4_backend(gpu: Gpu, engine: Engine) -> Mxfp4Backend | None:
    """The kernel vLLM runs mxfp4 experts with on `gpu` by default, None for another engine or a GPU that is not
    NVIDIA's (ROCm's kernels pad otherwise; dagc leaves them unpadded).

    Example:
        >>> from dagc.plan.presets import GPU_PRESETS
        >>> from dagc.plan.engines import engine_of
        >>> [mxfp4_backend(GPU_PRESETS[g], engine_of("vllm", "0.10.2")).value for g in ("a100-80g", "h100-sxm", "b200")]
        ['marlin', 'marlin', 'trtllm']
        >>> mxfp4_backend(GPU_PRESETS["h100-sxm"], engine_of("vllm")).value, mxfp4_backend(GPU_PRESETS["h100-sxm"],
        ...     engine_of("sglang"))
        ('triton', None)
    """
    if engine.name != "vllm" or gpu.vendor is not Vendor.NVIDIA:
        return None
    if gpu.flops_4bit is not None:
        return Mxfp4Backend.TRTLLM
    if gpu.flops_8bit is not None and _release(engine) >= VLLM_TRITON_FROM:
        return Mxfp4Backend.TRITON
    return Mxfp4Backend.MARLIN


def _release(engine: Engine) -> tuple[int, int, int]:
    """The engine's release as (major, minor, patch); a release dagc cannot read is the newest."""
    found = _VERSION.match(engine.release or "")
    if found is None:
        return (99, 0, 0)
    return (int(found.group(1)), int(found.group(2)), int(found.group(3) or 0))


def _round_up(x: float, to: int) -> int:
    """`x` (rounded up to a whole number) rounded up to a multiple of `to`."""
    return -(-math.ceil(x) // to) * to


def held_experts(model: Model, gpu: Gpu, engine: Engine, etp: int) -> HeldExperts:
    """One routed expert of `model` on a rank of `etp`, as `engine` holds it on `gpu`: the checkpoint's dimensions
    and dtype, unless vLLM pads mxfp4 experts (`mxfp4_backend`).

    Example:
        >>> from dagc.plan.presets import GPU_PRESETS
        >>> from dagc.plan.engines import engine_of
        >>> from dagc.lang.model import model_from_preset
        >>> m, h100 = model_from_preset("gpt-oss-120b"), GPU_PRESETS["h100-sxm"]
        >>> e = held_experts(m, h100, engine_of("vllm", "0.10.2"), 1)     # Marlin: 2,880 → 2,944 and 3,072
        >>> e.hidden, e.ffn, e.params == 3 * 3072 * 2944
        (3072, 2944, True)
        >>> held_experts(m, h100, engine_of("pytorch"), 2).ffn
        1440.0
    """
    ebytes = model.expert_weights.bytes
    ffn_r = model.moe.ffn / etp
    backend = mxfp4_backend(gpu, engine) if model.expert_weights is DType.MXFP4 else None
    if backend is None:
        return HeldExperts(model.hidden, ffn_r, ffn_params(model, model.moe.ffn) / etp, ebytes, ebytes)
    hidden, copies = model.hidden, 1
    match backend:
        case Mxfp4Backend.MARLIN:
            ffn = _round_up(ffn_r, VLLM_MARLIN_FFN_ALIGN)
            hidden = _round_up(hidden, VLLM_MARLIN_HIDDEN_ALIGN)
        case Mxfp4Backend.TRITON:
            ffn, copies = _round_up(ffn_r, VLLM_TRITON_FFN_ALIGN), VLLM_TRITON_SCALE_COPIES
        case Mxfp4Backend.TRTLLM:
            ffn = _round_up(ffn_r, VLLM_TRTLLM_FFN_ALIGN)
            hidden = _round_up(hidden, VLLM_TRTLLM_HIDDEN_ALIGN)
    gate = 3 if model.moe.gated else 2
    resident = ebytes + (copies - 1) / MXFP4_BLOCK
    return HeldExperts(hidden, ffn, float(gate * hidden * ffn), resident, ebytes, backend)

"""What a serving engine cannot run on the plan's GPU (`dagc launch`, and `check` on a plan that chose the engine):
E728, an engine on a GPU its builds do not run on; E729, TensorRT-LLM's NVFP4 weights before Blackwell; E730,
vLLM with chunked prefill off below its length limit; and E733, vLLM told to take a GPU's whole memory, which no
strategy changes either. Emitted
like the other E7xx codes by `dagc.rules.launch.engine_refusal`, from the engine tables (`dagc.launch.launch.
refusals_of`, `dagc.launch.trtllm_gpu`); no strategy changes them, so their hint names what would run instead.
"""

from __future__ import annotations

from ..diagnostics import Severity
from .base import pass_rule
from .launch import engine_refusal

__all__ = ["RULES"]

E728 = """
TensorRT-LLM (1.2) runs on NVIDIA GPUs only (its support matrix, docs/source/reference/support-matrix.md,
lists NVIDIA architectures alone; its kernels are CUDA's); vLLM 0.33 and SGLang 0.5.23 also ship ROCm
builds for AMD's Instinct GPUs (`mi300x`). A GPU preset records its maker; a custom GPU, whose maker
dagc does not know, is not refused. The hint names the engines that run on the plan's GPU.

Bad:
    cluster { gpus = 8  gpu preset "mi300x"  engine = trtllm }
Fixed:
    cluster { gpus = 8  gpu preset "mi300x"  engine = vllm }     # or sglang; or trtllm on an NVIDIA GPU
"""

E729 = """
TensorRT-LLM (1.2) loads NVFP4 weights on Blackwell GPUs only: the hardware support matrix of its
quantization page (docs/source/features/quantization.md) marks NVFP4 and MXFP4 for Blackwell (sm100/103,
sm120) and neither for Hopper, Ada or Ampere. dagc refuses `weights = nvfp4` (or `moe { weights = nvfp4 }`)
on a Hopper or Ampere preset with TensorRT-LLM; and, as the matrix marks no FP8 row for Ampere, fp8 weights
(`weights = fp8`, DeepSeek-V3's checkpoint) on an A100 (until 2026-12-03 launched). MXFP4 is not refused: its
gpt-oss deployment guide runs MXFP4 experts on H200 with BF16 activations (the TRITON MoE backend). Other engines
and GPUs without fp4 units run such weights weight-only, at the 16-bit peak, which W509 says (vLLM runs fp8 weights
weight-only on Ampere, with its Marlin kernels). A custom GPU is not refused.

Bad:
    model preset "mixtral-8x7b" { weights = nvfp4 }
    cluster { gpus = 8  gpu preset "h100-sxm"  engine = trtllm }
Fixed:
    model preset "mixtral-8x7b" { weights = fp8 }                  # Hopper's fp8 units
    cluster { gpus = 8  gpu preset "b200"  engine = trtllm }       # or NVFP4 on Blackwell
"""

E730 = """
vLLM (0.33) with chunked prefill off (`--disable-chunked-prefill`, dagc's `chunked_prefill = off`) does not
start unless a step's token budget, `--max-num-batched-tokens` (dagc's `chunk`), is at least its length
limit, `--max-model-len` (the longest request the plan sends, prompt and output): a preempted request is
recomputed whole in one step (vllm/config/scheduler.py, `SchedulerConfig.verify_max_model_len`). dagc
refuses to raise the budget behind the plan's back — a larger one lets a step carry more prompts than the
figures dagc gave — so `dagc launch` refuses the plan, and `dagc check` says so on a plan that names
`engine = vllm`. Write a `chunk` of at least the longest request, or turn chunked prefill on.

Bad:
    cluster { gpus = 1  gpu preset "h100-sxm"  engine = vllm }
    workload { batch = 32  prompt = 2000  generate = 500  serving = inflight  chunk = 2100  chunked_prefill = off }
Fixed:
    cluster { gpus = 1  gpu preset "h100-sxm"  engine = vllm }
    workload { batch = 32  prompt = 2000  generate = 500  serving = inflight  chunk = 2500  chunked_prefill = off }
"""

E733 = """
vLLM (0.33) is told what share of each GPU's total memory it may take (`--gpu-memory-utilization`; dagc
writes (capacity − reserve) / capacity, rounded down to 0.001, or the plan's `memory <= …` in place of the
capacity), and its worker stops at start unless that much of the GPU is free when it measures
("Free memory on device … on startup is less than desired GPU memory utilization",
vllm/v1/worker/gpu_worker.py). Its own CUDA context is on the GPU by then, so a share of 1.000 — a plan
whose `reserve` is under 0.1 % of the GPU, `reserve = 0 GB` — is never free: `dagc launch` refuses the plan,
and `dagc check` says so on a plan that names `engine = vllm`. dagc's default reserve, 4 GiB, leaves room.

Bad:
    cluster { gpus = 1  gpu preset "h100-sxm"  engine = vllm  reserve = 0 GB }
Fixed:
    cluster { gpus = 1  gpu preset "h100-sxm"  engine = vllm }                     # the default reserve, 4 GiB
"""

E734 = """
SGLang (0.5) on AMD GPUs loads MXFP4 weights (gpt-oss's experts) on the MI350 series only: its
`mxfp_supported()` matches the GPU's architecture name against `gfx95`, and on any other AMD GPU
`Mxfp4Config.from_config` stops at load ("Current platform gfx942 not support mxfp4 computation",
python/sglang/srt/layers/quantization/mxfp4.py). dagc refuses `moe { weights = mxfp4 }` (a gpt-oss preset or
checkpoint) with SGLang on an `mi300x`. vLLM runs such weights on MI300X; a custom GPU is not refused.

Bad:
    model preset "gpt-oss-120b"
    cluster { gpus = 8  gpu preset "mi300x"  engine = sglang }
Fixed:
    model preset "gpt-oss-120b"
    cluster { gpus = 8  gpu preset "mi300x"  engine = vllm }
"""

_PASSES = (engine_refusal,)

RULES = (
    pass_rule("E728", Severity.ERROR, "launch: the engine does not run on the GPU's maker's GPUs (TensorRT-LLM: "
              "NVIDIA only)", doc=E728, passes=_PASSES),
    pass_rule("E729", Severity.ERROR, "TensorRT-LLM: NVFP4 weights on Blackwell GPUs only, FP8 from Ada", doc=E729,
              passes=_PASSES),
    pass_rule("E734", Severity.ERROR, "SGLang: MXFP4 weights on AMD GPUs from the MI350 series (gfx95) only",
              doc=E734, passes=_PASSES),
    pass_rule("E730", Severity.ERROR, "vLLM: with chunked prefill off, chunk holds the longest request", doc=E730,
              passes=_PASSES),
    pass_rule("E733", Severity.ERROR, "vLLM: a memory share of the GPU's whole memory never starts", doc=E733,
              passes=_PASSES),
)

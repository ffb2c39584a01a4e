"""The token budget of one engine step a plan gets when it writes no `chunk`: the default of the plan's engine
on the plan's GPU (docs/cost-model.md, "The engines' step budgets").

Input: the engine's name and the GPU (its name and memory). Output: `engine_chunk`, the one place the unwritten
`chunk` is chosen (`dagc.lang.lower` stores it as `Workload.chunk_default`; `Workload.chunk_tokens` reads it), and
the named constants it is made of, each with its source.
"""

from __future__ import annotations

__all__ = ["SGLANG_CHUNK_BY_MEMORY", "SGLANG_CHUNK_LARGEST", "TRTLLM_MAX_NUM_TOKENS", "VLLM_API_CHUNK_LARGE",
           "VLLM_API_CHUNK_SMALL", "VLLM_LARGE_GPU_BYTES", "engine_chunk"]

GiB = 2**30
# vLLM's API server (`vllm serve`, the OPENAI_API_SERVER usage context), vllm/engine/arg_utils.py of 0.10.2 and
# 0.11.0: max_num_batched_tokens 8192 on a GPU of 70 GiB or more whose name does not contain "a100", else 2048.
VLLM_LARGE_GPU_BYTES = 70 * GiB
VLLM_API_CHUNK_LARGE = 8192
VLLM_API_CHUNK_SMALL = 2048
# SGLang 0.5.3 to 0.5.8.post1, sglang/srt/server_args.py `ServerArgs._handle_gpu_memory_settings` (CUDA, the
# GPU's total memory in MiB): chunked_prefill_size 2048 below 35 GiB, 4096 below 60 GiB, 8192 below 160 GiB …
SGLANG_CHUNK_BY_MEMORY: tuple[tuple[int, int], ...] = ((35 * GiB, 2048), (60 * GiB, 4096), (160 * GiB, 8192))
SGLANG_CHUNK_LARGEST = 16384        # … and 16384 from 160 GiB (B200, B300, GB200, GB300, MI300X)
# TensorRT-LLM: BuildConfig.max_num_tokens 8192 (tensorrt_llm/builder.py; the LLM API's default). pytorch (dagc's
# own reference) keeps it too.
TRTLLM_MAX_NUM_TOKENS = 8192


def engine_chunk(engine: str, gpu_name: str, memory_bytes: float) -> int:
    """The tokens one engine step runs at most when the plan writes no `chunk`: `engine`'s default on a GPU
    named `gpu_name` with `memory_bytes` of memory.

    Example:
        >>> MiB = 2**20
        >>> engine_chunk("vllm", "a100-80g", 81_920 * MiB), engine_chunk("vllm", "h100-sxm", 81_559 * MiB)
        (2048, 8192)
        >>> engine_chunk("vllm", "l40s", 46_068 * MiB), engine_chunk("sglang", "l40s", 46_068 * MiB)
        (2048, 4096)
        >>> engine_chunk("sglang", "h100-sxm", 81_559 * MiB), engine_chunk("sglang", "b200", 183_359 * MiB)
        (8192, 16384)
        >>> engine_chunk("trtllm", "a100-80g", 81_920 * MiB), engine_chunk("pytorch", "b200", 183_359 * MiB)
        (8192, 8192)
    """
    if engine == "vllm":
        large = memory_bytes >= VLLM_LARGE_GPU_BYTES and "a100" not in gpu_name.lower()
        return VLLM_API_CHUNK_LARGE if large else VLLM_API_CHUNK_SMALL
    if engine == "sglang":
        return next((chunk for below, chunk in SGLANG_CHUNK_BY_MEMORY if memory_bytes < below), SGLANG_CHUNK_LARGEST)
    return TRTLLM_MAX_NUM_TOKENS


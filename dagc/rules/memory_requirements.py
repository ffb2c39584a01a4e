"""Memory requirements that bound nothing or leave nothing: W524 (above the GPU's memory) and W527 (no room beyond
the runtime's reserve), registered with the other requirements' rules (`dagc.rules.requirements`); `dagc fleet` and a
disaggregated strategy's deployment say them of their own plans."""

from __future__ import annotations

import math
from collections.abc import Iterator

from ..diagnostics import Diagnostic, Severity, code
from ..plan.params import weight_bytes
from ..plan.plan import Plan
from ..plan.workload import RequirementKind
from ..units import count_text, format_bytes, format_gpu_memory
from .base import RuleContext, diag

__all__ = ["check_memory_above_gpu", "check_memory_below_reserve", "memory_above_gpu", "memory_below_reserve"]


def check_memory_above_gpu(ctx: RuleContext) -> Iterator[Diagnostic]:
    """A memory requirement in bytes above the GPU's memory: `memory <= 200 GB` on an H200 (140.40 GiB) bounds
    nothing — every strategy that fits the GPU at all meets it, and the engine's share of memory (`dagc launch`'s,
    and the KV cache dagc sizes from it) stops at the GPU's memory — and `memory >= 200 GB` nothing can meet.
    Almost always the size of a larger GPU, or a share meant (`memory <= 90 %`). dagc judges it as written and
    warns; `dagc fleet` warns of each GPU it sweeps whose memory the requirement is above, once a GPU.

    Bad:
        cluster { gpus = 8  gpu preset "h200" }
        require { memory <= 200 GB }
    Fixed:
        require { memory <= 90 % }          # or a size the GPU holds: memory <= 120 GB
    """
    return memory_above_gpu(ctx.plan)


def memory_above_gpu(plan: Plan) -> Iterator[Diagnostic]:
    """W524 of `plan` on its own cluster's GPU (`check_memory_above_gpu`): also what `dagc fleet` says of each GPU
    it sweeps, whose plans are the plan's on another cluster."""
    gpu = plan.cluster.gpu
    for req in plan.requirements:
        if req.kind is not RequirementKind.MEMORY or req.memory_is_fraction or req.target <= gpu.memory_bytes:
            continue
        what = ("it bounds nothing: every strategy that fits the GPU meets it" if req.op in ("<=", "<")
                else "no strategy can meet it: a GPU holds no more than its memory")
        yield diag("W524", Severity.WARNING,
                   f"`{req.text}` is above the memory of one {code(gpu.name)}, {format_gpu_memory(gpu.memory_bytes)}: "
                   f"{what}", req.span or plan.span_of("require"),
                   "memory requirements are per GPU: write a share of its memory (`memory <= 90 %`) or a size "
                   f"at most {int(gpu.memory_bytes // 2**20):,} MiB, the GPU's own, rounded down")


def check_memory_below_reserve(ctx: RuleContext) -> Iterator[Diagnostic]:
    """A memory requirement that leaves nothing beyond the runtime's reserve. Every GPU keeps the reserve
    (`cluster { reserve = … }`, 4 GiB unless set: the CUDA context, NCCL buffers, allocator slack) outside the
    weights, the KV cache and the activations, whatever the strategy, and an engine's memory share is what the
    limit leaves beyond it (vLLM's --gpu-memory-utilization, SGLang's --mem-fraction-static, as `dagc launch` writes
    them): under `memory <= 3 GB` on an H100 no strategy meets the requirement and no engine starts, its share being
    nothing. Almost always a share of the GPU meant (`memory <= 90 %`) or a size in the wrong unit. The hint gives
    the least limit that holds the reserve and the model's weights spread over every GPU of the cluster, before any
    KV cache. (A memory requirement of 0 or less is E104, where the plan is read.)

    Bad:
        cluster { gpus = 8  gpu preset "h100-sxm" }
        require { memory <= 3 GB }          # the 4 GiB reserve alone is more
    Fixed:
        require { memory <= 90 % }
    """
    return memory_below_reserve(ctx.plan)


def memory_below_reserve(plan: Plan) -> Iterator[Diagnostic]:
    """W527 of `plan` (`check_memory_below_reserve`): a disaggregated strategy's deployment says it once."""
    gpu, reserve, gpus = plan.cluster.gpu, plan.cluster.reserve_bytes, plan.cluster.gpus
    for limit, req in plan.memory_bounds:
        if limit > reserve:
            continue
        least = reserve + weight_bytes(plan.model) / gpus
        share = math.ceil(1000 * least / gpu.memory_bytes) / 10
        written = (f"`memory <= {share:.1f} %` (" if share <= 100 else "a GPU of more than ") + \
            f"{format_bytes(least)}{')' if share <= 100 else ''}"
        yield diag("W527", Severity.WARNING,
                   f"`{req.text}` leaves the engine no memory: it allows {format_bytes(limit)} of the "
                   f"{code(gpu.name)}'s "
                   f"{format_bytes(gpu.memory_bytes)}, and "
                   f"every GPU keeps dagc's reserve of {format_bytes(reserve)} for the runtime beside the weights, KV "
                   "cache and activations; no strategy meets it, and an engine's memory share (what the limit "
                   "leaves beyond the reserve) is nothing", req.span or plan.span_of("require"),
                   "a memory requirement bounds all a GPU holds, the reserve with it: the least that holds the "
                   f"reserve and the model's weights spread over all {count_text(gpus, 'GPU')}, before any KV "
                   f"cache, is {written}; write a share of the GPU (`memory <= 90 %`), or a smaller reserve "
                   "(`cluster { reserve = … }`)")

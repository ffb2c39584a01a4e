"""Whether the engine starts with the KV cache its memory share leaves (E732).

`dagc launch` tells the engine the longest request the plan's traffic sends as its length limit (vLLM
`--max-model-len`, `dagc.serve.requests.length_limit`) and a memory share: the GPU's, or what the plan's
`memory <= …` allows (`Plan.memory_limit`). What that share leaves after the weights, the activations and the
runtime's reserve is one rank's KV cache (`dagc.serve.kv_blocks.kv_capacity_of`). The engines differ on a cache
too small for the limit:

- vLLM does not start: `_check_enough_kv_cache_memory` (vllm/v1/core/kv_cache_utils.py) raises "To serve at
  least one request with the model's max seq len (N), (X GiB KV cache is needed, which is larger than the
  available KV cache memory (Y GiB)", and "No available memory for the cache blocks" when none is left.
- SGLang starts with its longest request cut to the pool: `max_req_len = min(context_len - 1, pool - 1)` and
  `max_req_input_len = max_req_len - 5` (python/sglang/srt/managers/scheduler.py), asserting both above 0
  ("Memory pool size is too small"): it does not start with a pool under `SGLANG_LEAST_POOL` tokens, and
  refuses the longer requests otherwise (W519, as `dagc launch` says it).
- TensorRT-LLM is refused only when its KV cache gets nothing (free_gpu_memory_fraction 0.000): W519 says the rest.

Each share is judged as the flag is written, rounded down to 0.001 of the GPU (`engine_kv_tokens`), and the hint's
memory requirement is the least whose rounded flag holds one request (`_least_limit`).

A strategy its engine would not start is refused, as any other E7xx: `dagc launch` writes no command for it,
and `dagc check` says it of a plan that names the engine (`dagc.launch.engine_check`). The hint gives the
memory requirement that would hold one request of the limit.
"""

from __future__ import annotations

import math

from ..diagnostics import Diagnostic, code
from ..layout.layout import Layout
from ..memory.memory import MemoryBreakdown, kv_room, room_for_kv
from ..plan.plan import Plan
from ..plan.strategy import Strategy
from ..plan.workload import Workload
from ..rules.launch import engine_refusal
from ..serve.requests import length_limit
from ..units import format_bytes
from .serving import Serving, fraction_text, memory_shares, serving

__all__ = ["CODE", "SGLANG_LEAST_POOL", "engine_kv_tokens", "kv_short", "kv_start_hint", "kv_start_refusal",
           "kv_starts_short"]

CODE = "E732"
SGLANG_LEAST_POOL = 7        # max_req_input_len = (pool - 1) - 5 > 0


def kv_start_refusal(plan: Plan, strategy: Strategy, layout: Layout, engine: str,
                     mem: MemoryBreakdown | None, v: Serving | None = None) -> Diagnostic | None:
    """E732 when `engine` does not start with one rank's KV cache under the memory share `dagc launch` writes it
    (module docstring; `engine_kv_tokens`: the flag as written, rounded down to 0.001; `v`, the launch's serving
    figures when it has made them); None when it starts, and without a memory breakdown (no figures).

    Example (Qwen3-30B-A3B's 56.9 GiB of weights on one H200 under `memory <= 45 %`: 63.2 GiB):
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.verdict.check import check
        >>> p = load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 1 gpu preset "h200" } '
        ...     'workload { batch = 8 prompt = 40000 generate = 500 serving = inflight } '
        ...     'require { memory <= 45 % } strategy tp 1')
        >>> r = check(p)[0]
        >>> kv_start_refusal(p, r.strategy, r.layout, "vllm", r.memory).code
        'E732'
        >>> kv_start_refusal(p, r.strategy, r.layout, "sglang", r.memory) is None     # it starts, cut short
        True
    """
    if mem is None or engine not in ("vllm", "sglang", "trtllm"):
        return None
    longest = length_limit(strategy.workload_for(plan.workload), plan.model.context_length)
    v = v if v is not None else serving(plan, strategy, layout, mem)
    kv = engine_kv_tokens(v, mem, layout, strategy.workload_for(plan.workload), engine)
    if not kv_short(engine, longest, kv):
        return None
    if engine == "vllm":
        said = ("\"No available memory for the cache blocks\"" if kv == 0 else
                f"\"To serve at least one request with the model's max seq len ({longest}) … larger than the "
                "available KV cache memory\"")
        return _refusal(plan, f"vLLM does not start: one rank's KV cache holds {kv:,} tokens under "
                        f"--gpu-memory-utilization {fraction_text(v.usable_fraction)} (from {_room(plan)}), less "
                        f"than one request of --max-model-len {longest:,}, the longest the plan sends; it stops with "
                        f"{said} (vllm/v1/core/kv_cache_utils.py)")
    if engine == "sglang":
        return _refusal(plan, f"SGLang does not start: one rank's KV pool holds {kv:,} tokens under "
                        f"--mem-fraction-static {fraction_text(v.static_fraction or 0.0)} (from {_room(plan)}); its "
                        f"scheduler asserts \"Memory pool size is too small\" below {SGLANG_LEAST_POOL} "
                        "(python/sglang/srt/managers/scheduler.py)")
    return _refusal(plan, f"TensorRT-LLM gets no KV cache: free_gpu_memory_fraction "
                    f"{fraction_text(v.free_fraction or 0.0)} of what the weights and activations leave under "
                    f"{_room(plan)}: no request can run")


def kv_short(engine: str, longest: int, kv: int) -> bool:
    """Whether `engine` does not start with `kv` tokens of KV cache a rank under a length limit of `longest`
    (module docstring): vLLM below one request of the limit, SGLang below `SGLANG_LEAST_POOL`, TensorRT-LLM with
    none; never another engine."""
    return (engine == "vllm" and longest > kv) or (engine == "sglang" and kv < SGLANG_LEAST_POOL) or \
        (engine == "trtllm" and kv == 0)


def kv_starts_short(plan: Plan, layout: Layout, workload: Workload, mem: MemoryBreakdown, longest: int) -> bool:
    """Whether the engine the plan serves with (`plan.cluster.engine`) does not start a strategy laid out in `layout`
    running `workload` with memory `mem` under the length limit `longest` (`length_limit`): `kv_start_refusal`'s
    judgement without its words, and without drawing the traffic's lengths again — the strategy search asks it of
    every candidate (`dagc.search.kv_screen`), whose length limit is the same."""
    engine = plan.cluster.engine.name
    return kv_short(engine, longest, engine_kv_tokens(memory_shares(plan, mem), mem, layout, workload, engine))


def engine_kv_tokens(v: Serving, mem: MemoryBreakdown, layout: Layout, workload: Workload, engine: str) -> int:
    """The tokens one rank's KV cache holds under the memory share the launch writes for `engine` (`v`: the flags'
    figures, each rounded down to 0.001 as written): vLLM's --gpu-memory-utilization holds the weights, the
    activations and the KV cache; SGLang's --mem-fraction-static the weights and the KV pool; TensorRT-LLM's
    free_gpu_memory_fraction is the KV cache's share of what the weights and activations leave. The least over
    the stages, each at its own KV bytes a token."""
    cap, held = v.capacity_bytes, max(1, layout.requests_per_rank) * (workload.prompt + workload.generate)
    most = math.inf
    for s in mem.stages:
        if s.kv_needed_bytes <= 0:
            continue
        if engine == "vllm":
            room = v.usable_fraction * cap - s.weights_bytes - s.activation_bytes
        elif engine == "sglang":
            room = (v.static_fraction or 0.0) * cap - s.weights_bytes
        else:
            room = (v.free_fraction or 0.0) * (cap - (v.resident_bytes or 0.0))
        # the engine's KV cache is its share of that room, a calibration's `kv_cache_share` (`kv_room`, as `memory`)
        most = min(most, kv_room(room, s.kv_share) / (s.kv_needed_bytes / held))
    return int(most) if most < math.inf else 1 << 40


def kv_start_hint(plan: Plan, strategy: Strategy, mem: MemoryBreakdown | None, layout: Layout,
                  engine: str = "vllm") -> str:
    """What gives the KV cache room for one request of the length limit under `engine`'s share as written: the
    least memory requirement whose rounded flag holds it (`_least_limit`), else a larger GPU; an 8-bit KV
    cache when it would hold one (a 16-bit cache with some room); more GPUs over the attention; shorter requests."""
    w = strategy.workload_for(plan.workload)
    longest = length_limit(w, plan.model.context_length)
    kv = 0 if mem is None else engine_kv_tokens(serving(plan, strategy, layout, mem), mem, layout, w, engine)
    need = _least_limit(plan, mem, layout, w, longest, engine)
    capacity = plan.cluster.gpu.memory_bytes
    room = (f"a memory requirement of at least `memory <= {math.ceil(1000 * need / capacity) / 10:.1f} %` "
            f"({format_bytes(need)} a GPU, the share the engine's flag then gives holding weights, activations, "
            "reserve and one request's KV cache)" if need <= capacity else f"a GPU of more than {format_bytes(need)}")
    shorter = f"; or requests of at most {kv:,} tokens (prompt + generate)" if kv else ""
    # an 8-bit cache holds bytes-a-value × the tokens: only when that starts the engine (not with no room at all,
    # nor a cache already 8-bit)
    kv8 = plan.model.kv_cache.bytes > 1 and not kv_short(engine, longest, int(kv * plan.model.kv_cache.bytes))
    fp8 = "; an 8-bit KV cache (`model { kv_cache = fp8 }`)" if kv8 else ""
    return f"give one request of {longest:,} tokens room: {room}{fp8}; more GPUs over the attention (tp, cp){shorter}"


def _least_limit(plan: Plan, mem: MemoryBreakdown | None, layout: Layout, w: Workload, longest: int,
                 engine: str) -> float:
    """The least memory a GPU may hold under which `engine`'s share, rounded down to 0.001 of the GPU as the
    launch writes it, holds one request of `longest` tokens on every stage."""
    cap, reserve = plan.cluster.gpu.memory_bytes, plan.cluster.reserve_bytes
    stages = [s for s in (mem.stages if mem is not None else ()) if s.kv_needed_bytes > 0]
    if not stages:
        return 0.0
    held = max(1, layout.requests_per_rank) * (w.prompt + w.generate)
    act = max(s.activation_bytes for s in stages)
    resident = max(s.weights_bytes + s.activation_bytes for s in stages)
    need = max(room_for_kv(longest * s.kv_needed_bytes / held, s.kv_share)    # the KV cache is a share of its room
               + (s.weights_bytes + s.activation_bytes if engine != "sglang" else s.weights_bytes) for s in stages)
    if engine == "trtllm":          # its share is of what the weights and activations leave
        free = max(cap - resident, 1.0)
        return resident + reserve + _ceil3((need - resident) / free) * free
    return _ceil3(need / cap) * cap + reserve + (act if engine == "sglang" else 0.0)


def _ceil3(x: float) -> float:
    return math.ceil(round(x * 1000, 6)) / 1000


def _room(plan: Plan) -> str:
    limit = plan.memory_limit
    gpu = plan.cluster.gpu
    if limit is not None and limit[0] < gpu.memory_bytes:
        return f"`{limit[1]}`: {format_bytes(limit[0])} of the {code(gpu.name)}'s {format_bytes(gpu.memory_bytes)}"
    return f"the {code(gpu.name)}'s {format_bytes(gpu.memory_bytes)}"


def _refusal(plan: Plan, message: str) -> Diagnostic:
    """E732 at what sets the cache's room: the memory requirement when the plan has one, else the lengths."""
    limit = plan.memory_limit
    at = next((r.span for r in plan.requirements if limit is not None and r.text == limit[1]), None)
    return engine_refusal(CODE, message, at or plan.span_of("workload.prompt") or plan.span_of("workload"))

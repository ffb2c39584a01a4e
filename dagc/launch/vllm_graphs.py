"""The CUDA graphs `dagc launch` asks vLLM to capture (`--max-cudagraph-capture-size`) and what its notes say they
run: a decode step of every running request, graphed; on a prefill-only server (a disaggregated strategy's prefill
pool) its steps are prompts, above every captured size, and run without them.
"""

from __future__ import annotations

from ..plan.workload import PoolRole
from ..units import count_text
from .serving import Serving

__all__ = ["capture_size", "graphs_note"]


def capture_size(requests: int, chunk: int) -> int:
    """The largest CUDA-graph size vLLM is told to capture so that a decode step of `requests`
    requests runs graphed: the smallest size of vLLM's capture grid (1, 2, 4, multiples of 8 below
    256, of 16 from 256: `VllmConfig._set_cudagraph_sizes`) that holds them, at most the step's
    token budget (vLLM caps the sizes there and always captures the budget itself).

    Example:
        >>> capture_size(3, 8192), capture_size(32, 8192), capture_size(250, 8192), capture_size(300, 8192)
        (4, 32, 256, 304)
        >>> capture_size(1000, 1001)
        1001
    """
    if requests <= 4:
        size = 1 if requests <= 1 else 2 if requests == 2 else 4
    elif requests < 256:
        size = -(-requests // 8) * 8
    else:
        size = 256 + -(-(requests - 256) // 16) * 16
    return min(size, chunk)


def graphs_note(v: Serving, hip: bool = False) -> str:
    """The serving note's words on CUDA graphs: the size captured (`capture_size`; with speculative decoding in tokens,
    the requests × the positions each verifies) and the steps they run.

    Example:
        >>> from dagc.layout.modes import mode_of
        >>> from dagc.plan.workload import Workload
        >>> w = Workload(batch=32, prompt=1000, generate=100, serving="inflight")
        >>> v = Serving(batch=32, servers=1, ranks=1, pp=1, requests=32, chunk=8192, capacity_bytes=1.0,
        ...             reserve_bytes=0.0, activation_bytes=None, resident_bytes=None, mode=mode_of(w))
        >>> graphs_note(v)
        'CUDA graphs up to 32 requests cover its decode steps'
    """
    size = capture_size(v.requests * v.query_len, v.chunk)
    graphs = count_text(size, "request") if v.query_len == 1 else \
        f"{count_text(size, 'token')} ({count_text(v.requests, 'request')} × {v.query_len} verified positions)"
    runs = "are captured, and its prefill steps, larger, run without them" if v.mode.role is PoolRole.PREFILL \
        else "cover its decode steps"
    return f"{'HIP' if hip else 'CUDA'} graphs up to {graphs} {runs}"      # ROCm's on an AMD GPU

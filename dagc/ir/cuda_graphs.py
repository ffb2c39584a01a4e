"""A serving engine's CUDA graphs (docs/cost-model.md, "The engine"): the size a decode or mixed step is padded to,
and whether it runs eagerly — by its tokens (vLLM) or by its requests (SGLang, TensorRT-LLM:
`EngineTerms.graph_per_request`).

Input: a step's tokens per rank, its phase, the engine's terms and the positions a request runs. Output:
`graphed_tokens`, `graph_size`; the op shapes (`dagc.ir.op_shapes.Shapes`), the load's step prices and W532 read them.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from ..plan.engines import EngineTerms
from .dag import Phase

__all__ = ["graph_size", "graphed_tokens"]


def graphed_tokens(t: np.ndarray, phase: Phase, engine: EngineTerms | None,
                   positions: float = 1.0) -> tuple[np.ndarray, bool]:
    """The tokens each rank's ops run on in a step of `phase` whose ranks carry `t`, and whether the step's
    kernels are launched eagerly (each op then at least its launches at the host's launch time).

    A prefill (static) runs eagerly. A serving engine replays a decode step in the CUDA graph captured
    for the next size at or above its tokens (`EngineTerms.graph_sizes`), every rank of the group at the
    busiest one's (DP ranks pad to one size so that their all-to-alls meet): the padded rows cost as real
    ones in every op but attention, which reads the real requests' KV cache. Above the largest size, or
    between sizes for an engine that does not pad, the step runs eagerly at its own tokens; a mixed step
    too, unless the engine replays graphs for mixed steps (`EngineTerms.mixed_graphs`). Without graph sizes
    (`pytorch`, or no engine) every decode and mixed step is graphed at its own size. `positions`: the tokens a
    request runs in the step (`Workload.step_positions`), by which an engine whose sizes count requests
    (`EngineTerms.graph_per_request`) picks and pads its graph (`graph_size`).

    Example:
        >>> vllm = EngineTerms(graph_sizes=(1, 2, 4, 8))
        >>> t, eager = graphed_tokens(np.array([5.0, 3.0]), Phase.DECODE, vllm); t.tolist(), eager
        ([8.0, 8.0], False)
        >>> nine = np.array([9.0])
        >>> graphed_tokens(nine, Phase.DECODE, vllm)[1], graphed_tokens(nine, Phase.MIXED, vllm)[1]
        (True, True)
    """
    if phase is Phase.PREFILL:
        return t, True
    # the busiest rank's tokens: `t.max()`'s reduction, without its Python wrapper
    size, eager = graph_size(float(np.maximum.reduce(t, axis=None)) if t.size else 0.0, phase, engine, positions)
    return (t if size is None else np.full(t.shape, size)), eager


def graph_size(most: float, phase: Phase, engine: EngineTerms | None,
               positions: float = 1.0) -> tuple[float | None, bool]:
    """The tokens a step whose busiest rank carries `most` tokens is padded to, its captured size's (None: its own
    tokens), and whether it runs eagerly (`graphed_tokens`, for one step; the load simulation asks it of each
    mixed step it prices). An engine whose captured sizes count requests (`EngineTerms.graph_per_request`: SGLang,
    TensorRT-LLM) picks the graph by the step's requests, `most` over the `positions` each runs — with speculative
    decoding the drafted tokens and the next — and pads with whole requests; vLLM's sizes count tokens.

    Example:
        >>> vllm = EngineTerms(graph_sizes=(1, 2, 4, 8))
        >>> graph_size(5.0, Phase.DECODE, vllm), graph_size(9.0, Phase.DECODE, vllm)
        ((8.0, False), (None, True))
        >>> trtllm = EngineTerms(graph_sizes=(1, 2, 4, 8), graph_padding=False, graph_per_request=True)
        >>> graph_size(32.0, Phase.DECODE, trtllm, 4), graph_size(12.0, Phase.DECODE, trtllm, 4)
        ((32.0, False), (None, True))
    """
    if phase is Phase.PREFILL:
        return None, True
    if engine is None or not engine.graph_sizes:
        return None, False
    if phase is Phase.MIXED and not engine.mixed_graphs:
        return None, True
    if most <= 0:
        return None, False
    per = positions if engine.graph_per_request else 1.0          # tokens a captured size's unit runs
    need = math.ceil(most / per - 1e-9)
    sizes = engine.graph_sizes
    at = bisect.bisect_left(sizes, need)
    if at == len(sizes) or (sizes[at] != need and not engine.graph_padding):
        return None, True
    return float(sizes[at] * per), False

"""The batches whose decode step TensorRT-LLM's default CUDA graphs hold, for W532's hint.

Input: the workload the figures are for, its layout and the engine's terms. Output: `graphed_batches`, the
nearest such batches below and above the workload's, in words.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..ir.dag import Phase
from ..ir.op_shapes import graph_size
from ..ir.step_tokens import rank_tokens
from ..layout.layout import Layout
from ..layout.split import request_rows
from ..plan.engines import EngineTerms
from ..plan.workload import Workload

__all__ = ["graphed_batches"]

def graphed_batches(w: Workload, lay: Layout, terms: EngineTerms) -> str:
    """The batches nearest the workload's, below and above it, whose every rank decodes a step TensorRT-LLM's
    default graphs hold (`graph_size`: 1–32, 64 or 128 requests, whatever the positions each verifies; attention-DP
    ranks step together, so a batch whose busiest rank is graphed and another not is not named), as W532's hint
    names them: `batch = 32 (its busiest rank decodes 32 requests a step) or batch = 64 (64)`; a batch's requests
    split over the replicas, micro-batches and attention-DP groups as the layout splits them (`request_rows`), over
    cp."""
    q = w.step_positions

    def ranks(b: int) -> list[float]:
        rows = np.array(request_rows(b, lay.dp, lay.adp, lay.microbatches))
        return [float(t) for t in rank_tokens(rows, q, lay.cp).ravel()]

    def requests(b: int) -> float:
        return max(ranks(b), default=0.0) / q

    def graphed(b: int) -> bool:        # every rank's step in a graph: with attention DP the ranks step together
        return not any(graph_size(t, Phase.DECODE, terms, q)[1] for t in ranks(b) if t > 0)

    below = next((b for b in range(_last_within(w.batch - 1, max(terms.graph_sizes), requests), 0, -1)
                  if graphed(b)), None)
    above = None
    for b in range(w.batch + 1, w.batch + _BATCHES_TRIED):
        if requests(b) > max(terms.graph_sizes):
            break
        if graphed(b):
            above = b
            break
    found = [b for b in (below, above) if b is not None]
    if not found:
        return "a batch whose busiest rank decodes 32, 64 or 128 requests a step"
    said = [f"`batch = {found[0]}` (its busiest rank decodes {requests(found[0]):g} requests a step)"]
    said += [f"`batch = {b}` ({requests(b):g})" for b in found[1:]]
    return " or ".join(said)


_BATCHES_TRIED = 4096       # batches above the workload's W532's hint looks through for one a default graph holds


def _last_within(top: int, most: float, tokens: Callable[[int], float]) -> int:
    """The largest batch up to `top` whose busiest rank decodes at most `most` requests (`tokens`: a rank's, which
    grow with the batch), found by bisection: where `graphed_batches` starts looking down, not at a batch of
    thousands one by one.

    Example:
        >>> _last_within(8000, 128, lambda b: -(-b // 4) * 1.0)     # 4 groups: 512 requests, 128 a group
        512
    """
    if top < 1 or tokens(1) > most:
        return top
    lo, hi = 1, top
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if tokens(mid) <= most:
            lo = mid
        else:
            hi = mid - 1
    return lo


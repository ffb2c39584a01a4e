"""The tokens a step's linear ops carry on each rank, before a CUDA graph pads them: one derivation, for the DAG's
shapes (`dagc.ir.op_shapes.Shapes`) and for the rules that ask what the DAG's busiest rank carries (W532).

Input: a step's requests per attention-DP group, or a `Layout` and its `Workload`. Output: tokens per rank.
"""

from __future__ import annotations

import numpy as np

from ..layout.layout import Layout
from ..plan.workload import Workload

__all__ = ["decode_tokens_per_rank", "rank_tokens"]


def rank_tokens(n_seq: np.ndarray, positions: float, cp: int, chunk: np.ndarray | float = 0.0) -> np.ndarray:
    """The tokens each rank's linear ops carry in a step: its attention group's requests `n_seq` × the `positions`
    each runs (its prompt, or the positions it decodes), over the `cp` context-parallel ranks, and a mixed step's
    `chunk` prompt tokens on the ranks that carry it.

    Example:
        >>> rank_tokens(np.array([3.0, 2.0]), 2, 1, np.array([5.0, 0.0])).tolist()
        [11.0, 4.0]
    """
    return n_seq * positions / cp + chunk


def decode_tokens_per_rank(workload: Workload, lay: Layout) -> float:
    """The tokens the busiest rank's linear ops carry in a decode step: `rank_tokens` of the busiest (micro-batch,
    attention-DP group) cell of the layout's requests (`Layout.requests`, the rows the DAG builds its steps from), at
    `Workload.step_positions` each (one, or with speculative decoding the drafted ones and the next).

    Example:
        >>> from types import SimpleNamespace
        >>> lay = SimpleNamespace(requests=lambda: np.array([[9.0, 8.0], [8.0, 8.0]]), cp=1)
        >>> decode_tokens_per_rank(SimpleNamespace(step_positions=1), lay)
        9.0
    """
    return float(rank_tokens(lay.requests(), workload.step_positions, lay.cp).max(initial=0.0))

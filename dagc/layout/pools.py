"""Where a disaggregated strategy's instances sit on the cluster (SPEC 11.3): one after another,
prefill pool first, on whole nodes where they can.

Input: each instance's GPUs in order (the prefill pool's instances, then the decode pool's) and the
GPUs of a node. Output: each instance's first GPU. `dagc launch` places its servers by it and
placement.svg draws the pools by it.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["instance_starts"]


def instance_starts(sizes: Sequence[int], gpus_per_node: int) -> list[int]:
    """The first GPU of each instance: one after another, an instance of a node or more on a node
    boundary, a smaller one moved to the next node rather than across it.

    Example:
        >>> instance_starts([4, 4, 8, 6, 4], 8)          # two halves of node 0, node 1, then 6 and 4 on nodes 2, 3
        [0, 4, 8, 16, 24]
    """
    cursor, out = 0, []
    for n in sizes:
        start = cursor
        if n >= gpus_per_node or cursor % gpus_per_node + n > gpus_per_node:
            start = -(-cursor // gpus_per_node) * gpus_per_node
        out.append(start)
        cursor = start + n
    return out

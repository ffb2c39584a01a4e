"""E701's hints on a replica no engine places (`dagc.launch.engine_check.refusal_hint`): which pool's replica neither
sits on whole nodes nor shares one evenly, and why no strategy of its size can be launched."""

from __future__ import annotations

from collections.abc import Sequence

from ..verdict.pools import PoolResult

__all__ = ["replica_size_hint", "unplaced_replica"]


def unplaced_replica(pools: Sequence[PoolResult], node: int) -> int | None:
    """The GPUs of the first pool's replica (pp × stage group) that neither sits on whole nodes nor shares one evenly
    (E701's), None when every pool's does. Until 2026-11-30 E701's hint on a pool divided the deployment's GPUs by
    its servers: "no strategy whose replica takes 14 GPUs" for `prefill 2 < tp 8 > decode 1 < tp 4 ; ep 12 >`,
    whose decode pool's replica E701 said takes 12."""
    for p in pools:
        lay = p.analysis.layout
        replica = lay.gpus_used // max(1, lay.dp)
        if replica % node and node % replica:
            return replica
    return None


def replica_size_hint(replica: int, node: int) -> str:
    """E701's hint when no strategy on the same GPUs escapes it: the replica's size (pp × stage group) is what every
    engine places, so no other degrees on those GPUs can be launched; a replica of whole nodes or of a divisor of
    a node can. (Until 2026-11-30 the hint said none of the strategies nearest it "checks without errors", as if
    some had been tried.)

    Example:
        >>> print(replica_size_hint(12, 8))  # doctest: +NORMALIZE_WHITESPACE
        no strategy whose replica takes 12 GPUs can be launched, whatever its degrees: a replica of 8 or 16 GPUs
        (pp × stage group: a divisor of the node's 8 GPUs, or whole nodes) can, e.g. with fewer or more pipeline stages
    """
    below = max(k for k in range(1, node + 1) if node % k == 0 and k <= replica) if replica < node else \
        replica // node * node
    above = min(k for k in range(1, node + 1) if node % k == 0 and k >= replica) if replica < node else \
        -(-replica // node) * node
    sizes = f"{below:,} or {above:,}" if below != above else f"{below:,}"
    return (f"no strategy whose replica takes {replica:,} GPUs can be launched, whatever its degrees: a replica of "
            f"{sizes} GPUs (pp × stage group: a divisor of the node's {node:,} GPUs, or whole nodes) can, e.g. with "
            "fewer or more pipeline stages")

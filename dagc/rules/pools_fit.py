"""E308's hint: the pools of a disaggregated strategy written with fewer instances so that they fit the cluster
(`dagc.rules.serving.pools_fit_cluster`)."""

from __future__ import annotations

from collections.abc import Sequence

from ..plan.printer import strategy_source
from ..plan.strategy import Pool, Strategy

__all__ = ["pools_fit_hint"]

GENERIC = "use fewer instances or smaller ones, or a larger cluster"


def pools_fit_hint(strategy: Strategy, gpus: int, sizes: Sequence[int]) -> str:
    """What fits `gpus`: the decode pool's instances as many as the GPUs the prefill pool leaves hold, and the
    prefill pool's as many as the decode pool leaves (each at least 1, fewer than written), the pools' strategies
    as they are (`sizes`: the GPUs of one instance of each pool); the generic advice when neither fits (an instance
    of each pool alone is too large)."""
    sized = list(zip(strategy.pools, sizes, strict=True))
    options = []
    for k, (pool, size) in enumerate(sized):
        other = sum(q.instances * s for j, (q, s) in enumerate(sized) if j != k)
        fit = (gpus - other) // size if size else 0
        if 1 <= fit < pool.instances:
            pools = tuple(q.model_copy(update={"instances": fit}) if j == k else q for j, (q, _) in enumerate(sized))
            options.append(_written(strategy, pools, other + fit * size))
    if not options:
        return GENERIC
    # the decode pool's first: it holds the batch, and fewer prefill instances lengthen TTFT at the same rate
    return f"on {gpus:,} GPUs: " + ", or ".join(reversed(options)) + f"; else {GENERIC}"


def _written(strategy: Strategy, pools: tuple[Pool, ...], used: int) -> str:
    return f"`{strategy_source(strategy.model_copy(update={'pools': pools}))}` ({used:,} GPUs)"

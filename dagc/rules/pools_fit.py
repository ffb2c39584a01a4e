"""The hints on a disaggregated strategy's GPUs: E308's, the pools written with fewer instances so that they fit the
cluster (`dagc.rules.serving.pools_fit_cluster`), and W505's, what the unused GPUs hold (`dagc.verdict.pools`)."""

from __future__ import annotations

from collections.abc import Sequence

from ..plan.printer import strategy_source
from ..plan.strategy import Pool, Strategy

__all__ = ["pools_fit_hint", "unused_gpus_hint"]

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


def unused_gpus_hint(strategy: Strategy, free: int, sizes: Sequence[int], binding: str | None) -> str:
    """W505's hint for a disaggregated strategy: what the `free` unused GPUs hold — more instances of each pool
    that fits in them, pasteable —, the binding pool named when its instance does not fit (more of the other pool
    does not raise the rate the deployment serves), and the smaller cluster (until 2026-11-30 "add instances to
    the binding pool, or use a smaller cluster", where seed 001's binding decode pool needs 16 GPUs of 12 free)."""
    sized = list(zip(strategy.pools, sizes, strict=True))
    used = sum(p.instances * s for p, s in sized)
    grown = []
    for k, (pool, size) in enumerate(sized):
        if size and (more := free // size) >= 1:
            pools = tuple(q.model_copy(update={"instances": q.instances + more}) if j == k else q
                          for j, (q, _) in enumerate(sized))
            text = strategy_source(strategy.model_copy(update={"pools": pools}))
            many = "s" if more > 1 else ""
            grown.append((pool.role != binding, f"{more:,} more {pool.role} instance{many} (`{text}`)"))
    # the binding pool's first: more of it raises the rate served
    out = f"the {free:,} unused GPUs hold " + " or ".join(t for _, t in sorted(grown)) if grown else \
        f"the {free:,} unused GPUs hold no instance of either pool"
    short = [(p, s) for p, s in sized if p.role == binding and s > free]
    if short:
        out += f", though the {binding} pool binds and its instance needs {short[0][1]:,} GPUs"
    return f"{out}; or use a cluster of {used:,} GPUs"

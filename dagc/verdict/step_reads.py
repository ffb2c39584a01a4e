"""What a checked strategy's run says, as its next steps read it (`dagc.verdict.next_steps`): the limit binding its
load (`dagc.serve.binding`) and that limit's figures as report.json's `load.binding` holds them, the requests in flight
its KV cache admits below a cap (W520), and whether its own TPOT or ITL misses.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ..serve.binding import Binding, Limit
from .check import StrategyResult

__all__ = ["admitted_below", "binding", "binding_figure", "decode_missed", "finite", "limit"]


def binding(r: StrategyResult | None) -> Binding | None:
    """The limit binding a checked strategy's load (`dagc.serve.binding.diagnose`), None without a load."""
    return r.load.binding if r is not None and r.load is not None else None


def limit(r: StrategyResult | None) -> Limit | None:
    b = binding(r)
    return None if b is None else b.limit


def binding_figure(r: StrategyResult | None, figure: Callable[[Binding], float | None]) -> float | None:
    """A figure of the limit binding a checked strategy's load, as report.json's `load.binding` holds it (None
    when not finite), None without a load."""
    b = binding(r)
    return None if b is None else finite(figure(b))


def finite(x: float | None) -> float | None:
    """`x` as report.json's binding holds it: None when it is not finite."""
    return None if x is None or not math.isfinite(x) else float(x)


def admitted_below(r: StrategyResult, batch: int) -> int | None:
    """The requests in flight the KV cache admits for a valid result of a `batch` cap, when fewer (W520)."""
    running = r.metrics.concurrency_effective if r.valid and r.metrics else None
    return running if running is not None and running < batch else None


def decode_missed(r: StrategyResult) -> bool:
    """Whether `r`'s own TPOT or ITL misses its requirement — its figure, not a queue that grows (`unmet`)."""
    return any(q.met is False and q.unmet is None and q.requirement.kind.value in ("tpot", "itl")
               for q in r.requirements)

"""Fields of in-flight serving in a plan served statically: W514.

Input: a `RuleContext`. Output: a warning at each field of the workload that only serving in flight reads —
`chunk` and `chunked_prefill` (the step's token budget), `prefill_batch` and `kv_transfer` (a disaggregated
strategy's prefill pool and its hand-over, which needs `serving = inflight`, E309) — when the plan serves
statically: no figure changes with them.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..diagnostics import Diagnostic, Severity
from ..layout.modes import mode_of
from .base import RuleContext, diag, make_rule

__all__ = ["RULES"]

# the fields of the pools of a disaggregated strategy, which serves in flight (E309)
_POOL_FIELDS = ("prefill_batch", "kv_transfer")


def check_chunk_static(ctx: RuleContext) -> Iterator[Diagnostic]:
    """A field of in-flight serving is written but the workload is served statically: it changes nothing.

    `chunk` is the token budget of one engine step when serving in flight (continuous batching
    with chunked prefill). With `serving = static` (the default) the batch is prefilled whole,
    then decoded, and no figure reads `chunk` (nor `chunked_prefill`). Write `serving = inflight`
    to serve in flight, or remove it. Likewise `prefill_batch` and `kv_transfer`, read only by a
    disaggregated strategy (`prefill N < … > decode M < … >`), which serves in flight (until 2026-12-03
    they were silent). Served in flight they are not warned of beside aggregated strategies alone: the search,
    and the optimal verdict, weigh disaggregated candidates, which read them (docs/search.md).

    Bad:
        workload { batch = 64  prompt = 4000  generate = 500  chunk = 8192 }
    Fixed:
        workload { batch = 64  prompt = 4000  generate = 500  serving = inflight  chunk = 8192 }
    """
    w = ctx.plan.workload
    mode = mode_of(w)
    if mode.continuous or mode.role is not None:       # a pool's instance: the plan serves in flight
        return
    written = {"chunk": w.chunk is not None,
               "chunked_prefill": not w.chunked_prefill or "workload.chunked_prefill" in ctx.plan.spans,
               **{name: f"workload.{name}" in ctx.plan.spans for name in _POOL_FIELDS}}
    for name, value in written.items():
        span = ctx.plan.span_of(f"workload.{name}")
        if not value:
            continue
        if name in _POOL_FIELDS:
            yield diag("W514", Severity.WARNING, f"`{name}` does nothing when serving statically: only a "
                       "disaggregated strategy reads it, and it serves in flight", span,
                       f"write `serving = inflight` and a disaggregated strategy (`prefill 1 < tp 8 > decode 1 < tp 8 "
                       f">`), or remove `{name}`")
        else:
            yield diag("W514", Severity.WARNING, f"`{name}` does nothing when serving statically: the batch is "
                       "prefilled whole", span, f"write `serving = inflight` to serve in flight, or remove `{name}`")


RULES = (
    make_rule("W514", Severity.WARNING, "chunk, chunked_prefill, prefill_batch or kv_transfer with static serving "
              "does nothing", check_chunk_static, plan_level=True),
)

"""Whether a next step changes anything: a change whose figures are the strategy's own is no step.

Input: the check of a strategy that misses its requirements and the check of one change to it
(`dagc.verdict.next_steps`). Output: `moves` — False when the change leaves every figure the step would be
judged and shown by where it was, within `NO_EFFECT_RTOL`: the requirements it misses (the same ones, each
figure the same), each load requirement's figure in its run and the requests a second that run serves, and the
steady state's TTFT, TPOT and decode tokens/s per GPU — and the GPUs, but only a change to fewer: more GPUs
that move none of those figures buy nothing (seed 000's `pp 16 < tp 16 ; ep 16 >` under 2 requests/s, missing
`decode_throughput >= 100 tokens/ms/gpu`, was offered "2,048 GPUs: 8 replicas … still misses … at 0.007007
tokens/ms/gpu", its own figure, until 2026-11-29). An 8-bit KV cache on a deployment whose KV cache
neither binds its load nor weighs in its step time halves the cache and nothing else: "still misses" with the
very figures of the strategy would read as a step toward the target (docs/outputs.md, `next_steps`). A figure
the step does not show and no missed requirement reads — the memory of a strategy that meets its memory
requirement — is not weighed.

Nor does a change that leaves the limit binding the strategy's load where it was, when that limit is the cap
on requests in flight (`dagc.serve.binding.Limit.REQUESTS_IN_FLIGHT`) and the change misses the same
requirements: its run is bound by the same cap, which serves the cap over a request's time in flight, and
serves fewer than `CAP_LIFT` more requests a second — an 8-bit KV cache 2.8 % used, whose shorter attention
reads serve 0.7 % more, is not what holds the load back, and "still misses" would read as a step toward the
target; 8-bit weights that serve a third more under the same cap are.
"""

from __future__ import annotations

import math

from ..serve.binding import Limit
from .check import StrategyResult

__all__ = ["CAP_LIFT", "NO_EFFECT_RTOL", "moves"]

NO_EFFECT_RTOL = 1e-3    # figures this close (relative) are the same: finer than the 4 digits a step is shown to
CAP_LIFT = 0.05          # under the same binding cap, a change serving less than this more (relative) lifts nothing


def moves(step: StrategyResult, base: StrategyResult) -> bool:
    """Whether the change checked in `step` moves a figure of `base`, the strategy it changes (module docstring).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.verdict.check import check
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...     'workload { batch = 32 prompt = 512 generate = 64 } require { tpot <= 1 ms } strategy tp 8')
        >>> [r] = check(p)
        >>> moves(r, r)
        False
    """
    missed = {q.requirement.text for q in base.requirements if q.met is False}
    if missed != {q.requirement.text for q in step.requirements if q.met is False}:
        return True
    theirs = {q.requirement.text: q.value for q in step.requirements}
    pairs = [(q.value, theirs.get(q.requirement.text)) for q in base.requirements
             if q.requirement.text in missed or q.requirement.on_load]
    if base.metrics is None or step.metrics is None or (step.gpus_used or 0) < (base.gpus_used or 0):
        return True                 # fewer GPUs at the same figures is a cheaper deployment; more, for nothing, none
    pairs += [(base.metrics.ttft_s, step.metrics.ttft_s), (base.metrics.tpot_s, step.metrics.tpot_s),
              (base.metrics.decode_tokens_per_s_per_gpu, step.metrics.decode_tokens_per_s_per_gpu)]
    if (base.load is None) != (step.load is None):
        return True
    if _same_cap_binds(step, base):
        return False
    if base.load is not None and step.load is not None:
        if (base.load.queue_grows is None) != (step.load.queue_grows is None):
            return True
        pairs.append((base.load.figures.served_requests_per_s, step.load.figures.served_requests_per_s))
    return not all(_same(a, b) for a, b in pairs)


def _same_cap_binds(step: StrategyResult, base: StrategyResult) -> bool:
    """Both loads bound by the cap on requests in flight, at the same cap, the change's run serving less than
    `CAP_LIFT` more requests a second: the change does not lift the limit."""
    if base.load is None or step.load is None or base.load.binding is None or step.load.binding is None:
        return False
    a, b = base.load.binding, step.load.binding
    served, theirs = base.load.figures.served_requests_per_s, step.load.figures.served_requests_per_s
    return (a.limit is b.limit is Limit.REQUESTS_IN_FLIGHT and a.cap == b.cap
            and served is not None and theirs is not None and theirs < served * (1 + CAP_LIFT))


def _same(a: float | None, b: float | None) -> bool:
    """Two figures the same within `NO_EFFECT_RTOL` (both unknown, or both the same infinity, too)."""
    if a is None or b is None:
        return a is b
    return a == b or math.isclose(a, b, rel_tol=NO_EFFECT_RTOL)

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

`closer` asks more of a step that does not meet: that it brings the requirements the strategy misses nearer their
targets (`shortfall`: each missed figure's distance from its target, as a log ratio, summed) and misses none the
strategy meets. A step that moves a figure the wrong way moves it, and is no step toward the target: until
2026-12-01 `pp 8 < ep 8 >` on examples/10b-moe-pp16-ep16-256gpu.moe, missing `decode_throughput >= 100
tokens/ms/gpu` at 57.68 tokens/s/GPU, was offered "512 GPUs: 8 replicas" on its 256-GPU cluster, at 38.06.
"""

from __future__ import annotations

import math

from ..serve.binding import Limit
from .check import StrategyResult
from .step_reads import binding_figure

__all__ = ["CAP_LIFT", "NO_EFFECT_RTOL", "closer", "further", "gap", "missed_texts", "moves", "shortfall"]

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
    missed = missed_texts(base)
    if missed != missed_texts(step):
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


def missed_texts(r: StrategyResult) -> set[str]:
    """The requirements `r` misses, as written."""
    return {q.requirement.text for q in r.requirements if q.met is False}


def _same(a: float | None, b: float | None) -> bool:
    """Two figures the same within `NO_EFFECT_RTOL` (both unknown, or both the same infinity, too)."""
    if a is None or b is None:
        return a is b
    return a == b or math.isclose(a, b, rel_tol=NO_EFFECT_RTOL)


def shortfall(r: StrategyResult, texts: set[str]) -> float:
    """How far `r` is from meeting the requirements written `texts`: each one it misses, its figure's distance from
    its target as a log ratio (`ln 2` for half a throughput target, or twice a latency's), summed; a line missed only
    because the traffic is not carried, the arrival rate over the rate served; infinite for a figure not known.

    Example:
        >>> from types import SimpleNamespace as N
        >>> from dagc.plan.workload import Requirement, RequirementKind
        >>> from dagc.verdict.verdict import RequirementResult
        >>> t = Requirement(kind=RequirementKind.DECODE_THROUGHPUT, op=">=", target=100.0, text="decode")
        >>> round(shortfall(N(requirements=(RequirementResult(t, 50.0),), load=None), {"decode"}), 4)
        0.6931
        >>> shortfall(N(requirements=(RequirementResult(t, 150.0),), load=None), {"decode"})
        0.0
    """
    total = 0.0
    for q in r.requirements:
        if q.requirement.text in texts and q.met is not False:
            total += 0.0 if q.met else math.inf
        elif q.requirement.text in texts:
            total += _distance(q.requirement.op, q.requirement.target, q.value) or _uncarried(r)
    return total


def closer(step: StrategyResult, base: StrategyResult) -> bool:
    """Whether `step` brings the requirements `base` misses nearer their targets (`gap`, by more than
    `NO_EFFECT_RTOL`), takes none of them further (`further`) and misses none that `base` meets: a change that takes a
    missed figure further from its target, or trades one requirement for another, is no step toward meeting them
    (until 2026-12-03 only their sum was weighed: DeepSeek-V3's `tp 1 ; ep 32` at 6 requests/s was offered "a batch of
    1,088", its p99 TTFT 25.31 s → 1.015 s and its p90 TPOT 129.3 → 194.5 ms, beside a load line that said a larger
    batch alone cannot meet the TPOT)."""
    missed = missed_texts(base)
    if not step.valid or any(q.met is False for q in step.requirements if q.requirement.text not in missed) \
            or further(step, base):
        return False
    before = gap(base, missed)
    if before == 0.0:
        return True         # missed on a capacity no step's own run judges: nothing measured to come nearer
    return gap(step, missed) < before * (1 - NO_EFFECT_RTOL) if math.isfinite(before) else False


def further(step: StrategyResult, base: StrategyResult) -> list[str]:
    """The requirements `base` misses whose figure `step` takes further from its target (its `_distance`, by more than
    `NO_EFFECT_RTOL`), as written, in the plan's order."""
    theirs = {q.requirement.text: q.value for q in step.requirements}
    missed = missed_texts(base)
    out = []
    for q in base.requirements:
        if q.requirement.text not in missed or q.requirement.text not in theirs:
            continue
        op, target = q.requirement.op, q.requirement.target
        before, after = _distance(op, target, q.value), _distance(op, target, theirs[q.requirement.text])
        if math.isfinite(before) and after > before * (1 + NO_EFFECT_RTOL) + 1e-12:
            out.append(q.requirement.text)
    return out


def gap(r: StrategyResult, texts: set[str]) -> float:
    """`shortfall`, and when `r`'s run falls behind its traffic (its queue grows), how far it is from keeping pace (the
    arrival rate over the rate served, as a log ratio): a strategy that misses the traffic alone, every line within its
    target, is brought nearer by a change that serves more. A capacity below the rate is not weighed: a step that
    does not meet is checked without one (`dagc.verdict.step_tries.Tries`)."""
    return shortfall(r, texts) + (_uncarried(r) if r.load is not None and r.load.queue_grows is not None else 0.0)


def _distance(op: str, target: float, value: float | None) -> float:
    """A figure's distance from its target, as a log ratio (0 within it); infinite when not known or not positive."""
    if value is None or value <= 0 or target <= 0:
        return 0.0 if value is not None and value == target else math.inf
    ratio = math.log(value / target)
    return max(0.0, ratio) if op in ("<=", "<") else max(0.0, -ratio) if op in (">=", ">") else abs(ratio)


def _uncarried(r: StrategyResult) -> float:
    """How far a run is from carrying its traffic: the arrival rate over the rate it served, as a log ratio; a
    thousandth when either is not known, so that carrying it is nearer."""
    rate = binding_figure(r, lambda b: b.arrival_rate_requests_per_s)
    served = r.load.figures.served_requests_per_s if r.load is not None else None
    return max(math.log(rate / served), NO_EFFECT_RTOL) if rate and served else NO_EFFECT_RTOL

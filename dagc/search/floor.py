"""The traffic's floor: a candidate whose steady state serves fewer decode tokens a second than the plan's traffic
asks misses that, from the moment it is scored.

Input: a `Plan` with an open-loop traffic (`rate = …`) and a search `Candidate`. Output: the floor
(`traffic_floor`), what falling short of it costs (`traffic_misses`: every requirement judged on the load, at least
one) and the candidate counted short (`floored_for`: `misses` + `traffic_misses`, `short_of_traffic`, judged on its
steady state). Every place a candidate is made counts it (`dagc.search.score`, `pooled`, `rescore`), and so do the
columns of weighed pairs (`dagc.search.pairs`) and the bounds (`dagc.search.bar.surely_misses`).

Why every load requirement: a deployment that does not carry its traffic has a queue that keeps growing, and a run
whose queue grows meets none of its load requirements (docs/load.md, "Carrying the traffic"); a candidate found so
under the traffic counts each of them (`dagc.search.under_traffic.judgement`). Counting one alone for a candidate
that was not simulated ranked it above every one that was, on the same GPUs and worse on every figure (Qwen3-235B
on 8 H200s at 6 requests/s: `tp 4 ; ep 4 with microbatches 2` first at 171.3 tokens/s per GPU, `tp 8 ; ep 8` 74th at
251.7), and which candidates were simulated depended on the rows printed (docs/search.md, "Requirements on the
load").

Why at scoring, not after: the search keeps and prunes by the rank key, requirements missed first
(`dagc.search.result.rank_key`, `dagc.search.bar.BarKeeper`). Had the miss been counted only when the best are
judged under the traffic (`dagc.search.under_traffic`), the best the search kept — under `min-gpus`, say, dozens
of strategies on half the cluster, each short of the traffic — would all sink there, and the strategies that
carry the traffic, pruned or dropped behind them, would never be seen: the search's best, the optimal verdict
and each objective's pick would name a strategy that misses its requirements while one that meets them exists.
"""

from __future__ import annotations

from dataclasses import replace

from ..plan.plan import Plan
from ..serve.load_result import CEILING_MARGIN
from .result import Candidate

__all__ = ["ALL", "STEADY", "floored", "floored_for", "traffic_floor", "traffic_misses"]

ALL, STEADY = "all", "steady-state"      # `Candidate.judged`


def traffic_floor(plan: Plan) -> float | None:
    """The fewest decode tokens a second a deployment's steady state may serve and still carry the plan's open-loop
    traffic: its rate × the tokens each request generates, over 1 + `CEILING_MARGIN`. The steady state — every
    request of its batch in flight — is what it serves on average, and a simulated run keeps pace with up to
    `CEILING_MARGIN` more (the capacity's ceiling, `dagc.verdict.under_load`: a queue drains between bursts of
    the steady state's mixed steps); one whose steady state gives fewer falls behind its arrivals whatever the
    run, whatever the requirements: its queue keeps growing (docs/load.md, "Carrying the traffic"). Until
    2026-12-03 the floor was the rate × the tokens alone, and a strategy whose check carries the traffic was
    counted short of it unsimulated (DeepSeek-V3 `tp 8 ; ep 8` drafting 5 on 8 H200s at 4 requests/s: 1,978
    decode tokens/s of the 2,000 asked, its capacity 4.049 requests/s). None for a closed loop or a request log
    (no rate to keep up with).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> round(traffic_floor(load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 4 gpu preset "h200" } '
        ...     'workload { batch = 64 prompt = 2000 generate = 500 serving = inflight rate = 10 requests/s '
        ...     'requests = 1000 } strategy tp 4')), 2)
        4545.45
    """
    traffic = plan.workload.traffic
    if traffic is None or traffic.rate is None or traffic.concurrency is not None or traffic.log is not None:
        return None
    return traffic.rate * plan.workload.generate / (1 + CEILING_MARGIN)


def traffic_misses(plan: Plan) -> int:
    """The requirements a deployment that does not carry the plan's traffic misses beside its steady state's:
    every one judged on the load — its queue keeps growing, and its percentiles with it — and, when the plan has
    none, one (carrying the traffic is what it misses: docs/load.md, "Carrying the traffic").

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> text = ('model preset "qwen3-30b-a3b" cluster { gpus = 4 gpu preset "h200" } workload { batch = 64 '
        ...         'prompt = 2000 generate = 500 serving = inflight rate = 10 requests/s requests = 1000 } '
        ...         'require { ttft_p99 <= 2 s  tpot_p90 <= 50 ms  memory <= 90 % } strategy tp 4')
        >>> bare = text.split("require")[0] + "strategy tp 4"
        >>> traffic_misses(load_plan_text(text)), traffic_misses(load_plan_text(bare))
        (2, 1)
    """
    return max(1, sum(1 for r in plan.requirements if r.on_load))


def floored(c: Candidate, floor: float | None, missed: int = 1) -> Candidate:
    """`c` counted short of the traffic when its steady state serves fewer decode tokens a second than `floor`
    (`traffic_floor`; None: no floor): `missed` requirements missed more (`traffic_misses`), not meeting them,
    judged on the steady state (`STEADY`: no run under the traffic says otherwise); as it is otherwise, or when it
    is counted so already."""
    if floor is None or c.short_of_traffic or not c.metrics.decode_tokens_per_s < floor:
        return c
    return replace(c, judged=STEADY, meets_requirements=False, misses=c.misses + missed, short_of_traffic=True)


def floored_for(c: Candidate, plan: Plan) -> Candidate:
    """`floored` at the plan's floor, counting what falling short of it misses (`traffic_misses`)."""
    return floored(c, traffic_floor(plan), traffic_misses(plan))

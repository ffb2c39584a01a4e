"""The traffic's floor: a candidate whose steady state serves fewer decode tokens a second than the plan's traffic
asks misses that, from the moment it is scored.

Input: a `Plan` with an open-loop traffic (`rate = …`) and a search `Candidate`. Output: the floor
(`traffic_floor`) and the candidate counted one requirement short (`floored`: `misses` + 1, `short_of_traffic`,
judged on its steady state). Every place a candidate is made counts it (`dagc.search.score`, `pooled`, `rescore`),
and so do the columns of weighed pairs (`dagc.search.pairs`) and the bounds (`dagc.search.bar.surely_misses`).

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
from .result import Candidate

__all__ = ["ALL", "STEADY", "floored", "traffic_floor"]

ALL, STEADY = "all", "steady-state"      # `Candidate.judged`


def traffic_floor(plan: Plan) -> float | None:
    """The decode tokens a second a deployment must serve to carry the plan's open-loop traffic: its rate × the
    tokens each request generates. A deployment whose steady state — every request of its batch in flight, the
    most it serves — gives fewer falls behind its arrivals, whatever the requirements: its queue keeps growing
    (docs/load.md, "Carrying the traffic"). None for a closed loop or a request log (no rate to keep up with).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> traffic_floor(load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 4 gpu preset "h200" } '
        ...     'workload { batch = 64 prompt = 2000 generate = 500 serving = inflight rate = 10 requests/s '
        ...     'requests = 1000 } strategy tp 4'))
        5000.0
    """
    traffic = plan.workload.traffic
    if traffic is None or traffic.rate is None or traffic.concurrency is not None or traffic.log is not None:
        return None
    return traffic.rate * plan.workload.generate


def floored(c: Candidate, floor: float | None) -> Candidate:
    """`c` counted short of the traffic when its steady state serves fewer decode tokens a second than `floor`
    (`traffic_floor`; None: no floor): one requirement missed more, not meeting them, judged on the steady state
    (`STEADY`: no run under the traffic says otherwise); as it is otherwise, or when it is counted so already."""
    if floor is None or c.short_of_traffic or not c.metrics.decode_tokens_per_s < floor:
        return c
    return replace(c, judged=STEADY, meets_requirements=False, misses=c.misses + 1, short_of_traffic=True)

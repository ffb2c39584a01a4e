"""One cluster of a fleet: what `dagc search PLAN --rate R` runs on it, and its pick.

Input: the cluster's `Plan` (the fleet's plan read with the point's `--set` options), the arrival rate and
how many of the search's rows are shown (`top`, as `dagc search --top`). Output: the cluster's answer as
plain JSON data (`answer_cluster`), the same whichever process or machine computes it: the search
(`dagc.search.search.search`), the best judged under the plan's traffic (`judge_under_traffic`), the shown
rows re-scored exactly (`exact_shown`) and the best simulated at the rate, ranked by goodput per GPU
(`dagc.search.at_rate.rank_at_rate`) — `dagc search --rate`'s route, not another. The cluster's pick is the
first of that ranking that meets every requirement, the load's included; without one, the first, which
says what it misses.

What a million tokens cost on the pick: its instance's GPUs (the strategy's, `gpus`) for the time they take
to serve them within the requirements — goodput (requests/s) times the workload's prompt and generated
tokens a request — at the GPU type's price. The cluster's other GPUs hold `instances` - 1 more copies of it,
each able to take as much traffic again; their rent is `rent_per_hour`.
"""

from __future__ import annotations

from ..plan.plan import Plan
from ..schedule.timer import shared_timer
from ..search.at_rate import rank_at_rate, rate_work_events
from ..search.search import search
from ..search.shown import exact_shown
from ..search.under_traffic import judge_under_traffic, judged_under_traffic

__all__ = ["SEARCH_TOP", "answer_cluster", "cluster_json", "failed_answer"]

SEARCH_TOP = 10        # the search's rows shown and re-scored exactly: `dagc search`'s default `--top`

_MILLION_PER_HOUR = 1e6 / 3600.0      # a million tokens at one token/s take this many hours


def cluster_json(plan: Plan) -> dict:
    """The cluster in report.json's words: GPU type, count, GPUs a node, engine, price."""
    c = plan.cluster
    return {"gpu": c.gpu.name, "gpus": c.gpus, "gpus_per_node": c.gpus_per_node, "engine": _engine(plan),
            "price_per_gpu_hour": c.price_per_gpu_hour}


def answer_cluster(plan: Plan, rate: float, top: int = SEARCH_TOP) -> dict:
    """The cluster's search at `rate` requests/s and its pick (module docstring), as JSON data.

    Keys: `cluster`, `searched` (candidates evaluated), `simulated`, `meets_requirements`, `pick` (the
    at-rate row: strategy, GPUs, metrics, load, goodput per GPU; None when none was simulated), `instances`,
    `tokens_per_s`, `gpu_hours_per_million_tokens`, `per_million_tokens` (None without a price),
    `rent_per_hour`, `binding` (the pick's requirement with the least margin, or the first it misses) and
    `note` (why nothing was simulated, else None).
    """
    # the timer of every count of this GPU type in this process: each op priced once (`shared_timer`)
    found = search(plan, objective=plan.objective, top=top, jobs=1, timer=shared_timer(plan))
    if judged_under_traffic(plan):
        found = judge_under_traffic(plan, found, max(top, 1))
    found = exact_shown(plan, found, top)
    out = {"cluster": cluster_json(plan), "searched": found.evaluated, "simulated": 0,
           "meets_requirements": False, "pick": None, "instances": None, "tokens_per_s": None,
           "gpu_hours_per_million_tokens": None, "per_million_tokens": None,
           "rent_per_hour": _rent(plan), "binding": None, "note": None}
    if not found.ranked:
        out["note"] = f"no legal strategy on {plan.cluster.gpus} GPU(s): the search found none (dagc search says why)"
        return out
    events, budget = rate_work_events(plan, found), plan.load_budget_events
    if budget is not None and events > budget:
        out["note"] = (f"not simulated: the best strategies' runs would take about {events:,} engine events, past "
                       f"the load's work budget of {budget:,} (W518)")
        return out
    at = rank_at_rate(plan, found, rate)
    out["simulated"] = len(at.ranked)
    if not at.ranked:
        out["note"] = "no strategy could be simulated at the rate"
        return out
    pick = next((a for a in at.ranked if a.candidate.meets_requirements), at.ranked[0])
    c = pick.candidate
    tokens_per_s = pick.load["goodput_requests_per_s"] * (plan.workload.prompt + plan.workload.generate)
    hours = c.gpus * _MILLION_PER_HOUR / tokens_per_s if tokens_per_s > 0 else None
    price = plan.cluster.price_per_gpu_hour
    missed = c.load_missed or ((c.binding,) if c.binding and not c.meets_requirements else ())
    out.update({"meets_requirements": bool(c.meets_requirements), "pick": pick.to_json(),
                "instances": plan.cluster.gpus // c.gpus, "tokens_per_s": tokens_per_s,
                "gpu_hours_per_million_tokens": hours,
                "per_million_tokens": None if hours is None or price is None else hours * price,
                "binding": missed[0] if missed else c.binding})
    return out


def failed_answer(plan: Plan, reason: str) -> dict:
    """The answer of a cluster whose search did not finish (a worker that died twice, or an error)."""
    return {"cluster": cluster_json(plan), "meets_requirements": False, "pick": None, "failed": reason}


def _engine(plan: Plan) -> str:
    e = plan.cluster.engine
    name = getattr(e.name, "value", e.name)
    return f"{name}@{e.release}" if e.release else str(name)


def _rent(plan: Plan) -> float | None:
    price = plan.cluster.price_per_gpu_hour
    return None if price is None else price * plan.cluster.gpus

"""Next steps that change the GPUs (`dagc.verdict.next_steps`): the strategy replicated `dp` 2, 4 or 8 times,
the cluster grown to hold them when it must be (`replicas`), and fewer replicas of a replicated strategy that misses
a `gpus` cap (`fewer_replicas`). A replica count that takes a missed figure further from its target is no step:
when none brings it nearer, that no number of replicas helps is said instead (`dagc.verdict.step_effect.closer`).
"""

from __future__ import annotations

import shlex

from ..plan.plan import Plan
from ..plan.printer import replicated, strategy_source
from ..plan.strategy import Strategy
from ..units import count_text, said_list
from .check import NextStep, StrategyResult, parse_strategy
from .step_nearest import offered
from .step_sizes import gpus_allowed, gpus_missed, memory_stays_over
from .step_tries import Tries, make_step

__all__ = ["REPLICAS", "REPLICAS_WHAT", "fewer_replicas", "grown", "replicas", "shares", "with_traffic"]

REPLICAS_WHAT = "number of replicas"    # what `replicas` tries, in "no number of replicas helps: …" (`Tries.said`)

REPLICAS = (2, 4, 8)


def grown(result: StrategyResult, tries: Tries, gpus: int, strategy: Strategy, batch: int | None = None
           ) -> tuple[StrategyResult | None, tuple[str, ...]]:
    """`strategy` checked as the plan is on its cluster grown to `gpus` (when that is more) and, given, with
    `batch` requests in flight, as its printed text reads back (`strategy_source`); and the options that say
    the change."""
    plan = result.plan.model_copy(update={"cluster": result.plan.cluster.model_copy(update={"gpus": gpus})})
    if batch is not None:
        plan = plan.model_copy(update={"workload": plan.workload.model_copy(update={"batch": batch})})
    text = strategy_source(strategy)
    options = (*((f"--set cluster.gpus={gpus}",) if gpus != result.plan.cluster.gpus else ()),
               *((f"--set workload.batch={batch}",) if batch is not None else ()),
               f"--strategy {shlex.quote(text)}")
    return tries(plan, parse_strategy(text)), options


def with_traffic(plan: Plan) -> bool:
    """Whether the plan has traffic (a `rate`, `concurrency` or a request log): its requests come from clients
    whatever the deployment's cap, so each added replica is an engine with its own cap on requests in flight.
    Without traffic the plan's `batch` is the requests served at once, which replicas share."""
    return plan.workload.traffic is not None


def replicas(result: StrategyResult, tries: Tries) -> NextStep | None:
    """The fewest replicas (`dp k < … >`, the cluster grown to hold them) that meet; else, of those that bring the
    missed requirements nearer their targets (`closer`), the nearest — one the cluster holds before one it must grow
    to — and, when none does, none: `tries.said` says that no number of replicas helps. With traffic each replica
    keeps the plan's batch (the batch grows k-fold: `--set workload.batch`), as an engine added behind a load
    balancer brings its own cap; otherwise they share it."""
    lay, own = result.layout, result.strategy
    if lay is None or lay.dp != 1 or own is None or own.pools or own.dp != 1:
        return None
    batch, cluster = result.plan.workload.batch, result.plan.cluster.gpus
    own_cap = with_traffic(result.plan)
    if memory_stays_over(result, own_cap, REPLICAS):
        return None             # no number of replicas meets: each GPU holds what it held
    tried: list[tuple[StrategyResult, NextStep, str]] = []
    for k in (k for k in REPLICAS if (own_cap or batch >= k) and gpus_allowed(result.plan, lay.gpus_used * k)):
        gpus = max(cluster, lay.gpus_used * k)         # each replica gets a request
        r, options = grown(result, tries, gpus, replicated(own, k), batch * k if own_cap else None)
        if r is None:
            break
        each = (f", each with the plan's batch of {count_text(batch, 'request')} in flight ({batch * k:,} in all)"
                if own_cap else shares(r))
        more = f"; the cluster has {cluster:,}: {lay.gpus_used * k - cluster:,} more GPUs" \
            if lay.gpus_used * k > cluster else ""
        step = make_step("gpus", f"{lay.gpus_used * k:,} GPUs: {k} replicas of the strategy{each}{more}", options, r)
        if step.meets:
            return step
        tried.append((r, step, f"{k}"))
    share = "" if own_cap else \
        f", the replicas sharing the plan's batch of {count_text(result.plan.workload.batch, 'request')}"
    return offered(result, tries, tried, REPLICAS_WHAT,
                   lambda ws: f"{said_list(ws, 'or')} replicas of the strategy",
                   first=lambda r: r.plan.cluster.gpus > cluster, after=share)


def fewer_replicas(result: StrategyResult, tries: Tries) -> NextStep | None:
    """When a replicated strategy (`dp d < … >`) misses a `gpus` cap: the most replicas under it (`dp k`, k dividing
    d, down to the strategy alone), the plan's batch shared by them — with traffic each keeping its own cap, the
    batch k/d of the plan's. The first that meets, else the one that moves most."""
    own, lay = result.strategy, result.layout
    if not gpus_missed(result) or own is None or lay is None or own.pools or own.dp < 2:
        return None
    per, batch = lay.gpus_used // own.dp, result.plan.workload.batch
    tried: list[tuple[StrategyResult, NextStep, str]] = []
    for k in (k for k in range(own.dp - 1, 0, -1) if own.dp % k == 0 and gpus_allowed(result.plan, per * k)):
        kept = batch * k // own.dp if with_traffic(result.plan) and batch * k % own.dp == 0 else None
        r, options = grown(result, tries, result.plan.cluster.gpus,
                            own.model_copy(update={"dp": k, "name": None}), kept)
        if r is None:
            break
        said = f"{k} replicas of the strategy (from {own.dp})" if k > 1 else \
            f"the strategy alone (from {own.dp} replicas)"
        own_share = count_text(batch // own.dp, "request")
        each = shares(r) if kept is None else f", each keeping its {own_share} in flight ({kept:,} in all)" \
            if k > 1 else f", keeping one replica's {own_share} in flight"
        step = make_step("gpus", f"{per * k:,} GPUs: {said}{each}", options, r)
        if step.meets:
            return step
        tried.append((r, step, f"{k} replicas" if k > 1 else "the strategy alone"))
    return offered(result, tries, tried, "smaller number of replicas", lambda ws: said_list(ws, "or"))


def shares(r: StrategyResult) -> str:
    """How a replicated strategy's replicas share its batch — each a share of it, not a batch each
    (`Layout.replica_requests`): ", each with 16 of the batch's 64 requests in flight"; "" without a layout. The
    batch is the one `r` ran: with `batch = max` its own largest, not the single strategy's (until 2026-11-30 two
    replicas at 958 requests each read "each with 958 of the batch's 958 requests")."""
    lay, batch = r.layout, r.plan.workload.batch
    if lay is None or lay.dp < 2:
        return ""
    each = sorted({int(n) for n in lay.replica_requests})
    share = f"{each[0]:,}" if len(each) == 1 else f"{each[0]:,}–{each[-1]:,}"
    return f", each with {share} of the batch's {count_text(batch, 'request')} in flight"

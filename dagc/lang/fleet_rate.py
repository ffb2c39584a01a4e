"""The arrival rate a plan's `fleet` statement writes, read on its own (docs/fleet.md).

Input: a plan's syntax tree and its source. Output: the fleet's `rate` in requests per second, or None. A
workload that names its traffic without a rate (`requests = 1000` alone), or none with requirements on a load, is read
at the fleet's rate (or `dagc search --rate`'s: `arrival_unsaid`) — by
`dagc fleet`, and by every command that reads the plan without its fleet (`dagc check`, `search`, `compile`,
`launch`: `dagc.lang.overrides.load_plan_with`), so that a plan `dagc fleet` accepts is one they accept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lark import Token, Tree

from ..plan.plan import Plan
from ..source import SourceFile
from .blocks import Collector, Value, child_tree, read_value, subtrees
from .fields import TRAFFIC_FIELDS, WORKLOAD_FIELDS
from .lower import Lowering
from .model import ImportRoots

__all__ = ["arrival_unsaid", "fleet_example", "log_pace", "no_rate_hint", "written_fleet_rate"]


def written_fleet_rate(tree: Tree[Token], src: SourceFile) -> float | None:
    """The `rate` of the plan's (first) `fleet` statement, in requests per second: None when the plan has no
    fleet, its fleet no rate, or a rate that does not read (the fleet's own error, which `dagc fleet` says).

    Example:
        >>> from dagc.lang.parse import parse
        >>> src = SourceFile("p.moe", 'fleet { gpu preset "h200"  rate = 10 requests/s }')
        >>> written_fleet_rate(parse(src), src)
        10.0
    """
    fleet = next((st for st in subtrees(tree.children) if st.data == "fleet"), None)
    if fleet is None:
        return None
    for item in subtrees(fleet.children):
        if item.data == "fleet_value" and str(item.children[0]) == "rate":
            value = Lowering(src, ImportRoots.of(None, ())).transform(child_tree(item, 1))
            got = read_value(Collector(), value, WORKLOAD_FIELDS["rate"], "fleet.rate") \
                if isinstance(value, Value) else None
            return got if isinstance(got, float) else None
    return None


def no_rate_hint(plan: Plan | None) -> str:
    """The hint of a fleet without a rate to compare the clusters at (E103): for a request log replayed at its own
    times, the log's own mean rate ((n − 1) gaps over its last time, as `rate` scales a log), which replays it as
    logged; else a rate to write (until 2026-11-30 always `rate = 12 requests/s`, a log of 4.6 requests/s beside it).

    Example:
        >>> no_rate_hint(None)
        'write `rate = 12 requests/s` in the fleet or the workload'
    """
    pace = log_pace(plan)
    if pace is None:
        return "write `rate = 12 requests/s` in the fleet or the workload"
    n, span = pace
    return (f"write the rate to compare the clusters at in the fleet: `rate = {(n - 1) / span:.4g} requests/s` is the "
            f"request log's own pace ({n:,} requests over {span:,.4g} s), which replays it as logged; a higher rate "
            "scales its times down, bursts and all")


def log_pace(plan: Plan | None) -> tuple[int, float] | None:
    """The requests a plan's request log replays at its own times and the seconds they span, None without such a
    log (or with one whose requests all arrive at once)."""
    traffic = plan.workload.traffic if plan is not None else None
    log = traffic.log if traffic is not None and traffic.concurrency is None else None
    n = min(traffic.requests, log.requests) if traffic is not None and log is not None else 0
    return None if log is None or n < 2 or float(log.arrival[n - 1]) <= 0 else (n, float(log.arrival[n - 1]))


def fleet_example(plan: Plan) -> str:
    """A `fleet` statement to add to `plan`, which it takes: with a rate to compare the clusters at where its workload
    has none (its request log's own pace, else 12 requests/s; until 2026-12-01 the hint of a plan without a fleet left
    it out, and the plan then refused the line for it, E103).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> fleet_example(load_plan_text('model preset "mixtral-8x7b"  cluster { gpus = 8  gpu preset "h100-sxm" }  '
        ...                              'workload { batch = 8  prompt = 512  generate = 64 }  strategy tp 8'))
        'fleet { gpu preset "h100-sxm" { price = 2.5 $/h }  gpus = [8, 16]  rate = 12 requests/s }'
    """
    traffic, pace = plan.workload.traffic, log_pace(plan)
    rate = "" if traffic is not None and traffic.rate is not None else \
        f"  rate = {12 if pace is None else (pace[0] - 1) / pace[1]:.4g} requests/s"
    return f'fleet {{ gpu preset "h100-sxm" {{ price = 2.5 $/h }}  gpus = [8, 16]{rate} }}'


def arrival_unsaid(tree: Tree[Token], options: Sequence[str] = ()) -> bool:
    """Whether the plan's workload describes traffic (a field of `TRAFFIC_FIELDS`) — or none, where its requirements
    are judged on a simulated load (`ttft_p99`, `goodput`: E104 without traffic) — but says neither its `rate`, its
    `concurrency` nor a request log to replay, and no `--set` in `options` says either. (Until 2026-11-30 a plan of
    load requirements and no traffic field was E104 under `dagc search PLAN --rate 8`, which the README pairs with
    them, told to add a rate the command had just given.)"""
    workload = next((s for s in tree.children if isinstance(s, Tree) and s.data == "workload"), None)
    if workload is None or any(re.match(r"\s*workload\.(rate|concurrency)\s*=", o) for o in options):
        return False
    items = [i for i in child_tree(workload, 0).children if isinstance(i, Tree) and i.children]
    names = {str(i.children[0]) for i in items if i.data == "assign" and isinstance(i.children[0], Token)}
    logged = any(i.data == "assign_from" and str(i.children[0]) == "requests" for i in items)
    described = bool(names & set(TRAFFIC_FIELDS)) or _load_required(tree)
    return described and not logged and not names & {"rate", "concurrency"}


def _load_required(tree: Tree[Token]) -> bool:
    """Whether the plan's `require` block names a requirement judged on a simulated load (`Requirement.on_load`: a
    percentile, `e2e`, `itl`, `goodput`)."""
    return any(isinstance(r, Tree) and r.data == "requirement" and _LOAD_REQUIREMENT.fullmatch(str(r.children[0]))
               for s in tree.children if isinstance(s, Tree) and s.data == "require" for r in s.children)


_LOAD_REQUIREMENT = re.compile(r"(ttft|tpot|itl|e2e)_p\d+|e2e|itl|goodput(_per_gpu)?")

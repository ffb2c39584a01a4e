"""What an optimal verdict is under a plan's arrival rate, said after what optimal means: the steady state's, and
the command that ranks the strategies by goodput per GPU at that rate (`dagc check`'s first line, the comparison
page, each strategy's summary)."""

from __future__ import annotations

from ..plan.plan import Plan

__all__ = ["at_rate_text"]


def at_rate_text(plan: Plan) -> str:
    """What an optimal verdict is under the plan's arrival rate, after what optimal means (`dagc check`'s line and
    the comparison's): the steady state's, the search ranking by goodput per GPU at that rate; '' without one."""
    traffic = plan.workload.traffic
    return "" if traffic is None or traffic.rate is None else (
        f"; in the steady state — at the traffic's {traffic.rate:,.10g} requests/s the strategies are ranked by "
        f"goodput per GPU by `dagc search PLAN --rate {traffic.rate:.10g}`")      # `--rate 1,200` is refused

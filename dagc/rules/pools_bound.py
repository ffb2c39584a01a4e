"""W506 of a disaggregated strategy: a latency requirement beyond the physical bound of the pool that makes it.

An aggregated strategy's W506 (`dagc.rules.requirements.check_physical`) bounds its TTFT and TPOT on its own GPUs.
A disaggregated strategy's TTFT is its prefill pool's — an instance prefilling its batch of requests at once, then the
KV transfer and the front end — and its TPOT its decode pool's, an instance decoding its share of the batch
(docs/cost-model.md, "Disaggregated prefill and decode"). So each is bounded on the instance that makes it, at 100 %
efficiency, by the same bounds (`dagc.rules.bounds.bounds` of the instance's own workload, GPUs and replicas): the KV
transfer and the front end left out, the bound stays a lower one. A percentile is bounded at one request alone, as
W506 bounds it. Throughput requirements are not bounded per pool (the binding pool sets them, N604 on the cluster).

Input: the plan, the strategy's label and each pool's instance (its role, the workload and layout it was analysed
at). Output: W506 diagnostics, each naming the pool, with the whole cluster's bound in the hint as W506's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..diagnostics import Diagnostic, Severity
from ..layout.layout import Layout
from ..plan.plan import Plan
from ..plan.workload import PoolRole, RequirementKind, Workload
from ..units import count_text
from .alone import alone_text, any_load_text, bounded_requirements, one_request_alone, precision_text
from .base import diag
from .bounds import bounds
from .requirements import bound_text, cluster_bound_hint, metric_name, ruled_out

__all__ = ["pooled_physical"]

# which pool's instance makes each latency a client reads of a disaggregated deployment, and what else of that
# pool's a hint can name beside its instances' GPUs
_MADE_BY = {RequirementKind.TTFT: (PoolRole.PREFILL, " or fewer requests at once (`prefill_batch`)"),
            RequirementKind.TPOT: (PoolRole.DECODE, "")}


def pooled_physical(plan: Plan, label: str, instances: Sequence[tuple[PoolRole, Workload, Layout]]
                    ) -> Iterator[Diagnostic]:
    """W506 of the disaggregated strategy `label` (module docstring): `instances` holds each pool's role, and the
    workload and layout its instance was analysed at."""
    pools = {role: (w, lay) for role, w, lay in instances}
    for req in bounded_requirements(plan):
        made = _MADE_BY.get(req.kind)
        if made is None or made[0] not in pools:
            continue
        role, fewer = made
        w, lay = pools[role]
        if req.percentile is not None:
            w = one_request_alone(w)
        found = ruled_out(req, bounds(plan.model, w, plan.cluster, gpus=lay.gpus_used, dp=lay.dp))
        if found is None:
            continue
        best, _ = found
        hint = cluster_bound_hint(plan, req, found, f"relax the requirement, or give the {role} pool's instances "
                                  f"more GPUs{fewer}")
        at_once = count_text(w.batch, "request")
        yield diag("W506", Severity.WARNING,
                   f"`{req.text}` is beyond the physical bound of strategy `{label}`'s {role} pool (an instance of "
                   f"{count_text(lay.gpus_used, 'GPU')}, dp {lay.dp}, {at_once} at once) on its {metric_name(req)}: "
                   f"even at 100 % efficiency{alone_text(req)} at {precision_text(plan.model)}, it is at least "
                   f"{bound_text(best, req)}"
                   f"{any_load_text(req)}", req.span, hint)

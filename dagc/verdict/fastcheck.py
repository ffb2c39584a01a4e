"""The fast check of one strategy: what `check` decides, without building its DAG.

Input: a `Plan`, a `Strategy`, the `Workload` it runs and a `dagc.serve.fastsched.Timer`. Output:
`FastCheck` — the layout, the memory breakdown (activations: the DAG's working sets), the
static schedule's figures and the requirements judged — or, when a rule rejects the strategy,
the code of the first error (`E402` when it does not fit in memory).

The rules run on a first memory estimate to reject unsound structures; E402 is then judged
on the working sets of the DAG's ops (`Timer.activations`, the figure of
`dagc.memory.memory.activation_bytes_by_stage`), as `dagc.verdict.analyse` does. The search scores its
candidates with it and `dagc.verdict.batch_max` probes batches with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..layout.layout import Layout, resolve
from ..memory.memory import MemoryBreakdown, memory, with_activations
from ..plan.plan import Plan, Strategy, Workload
from ..rules import RuleContext, run_rules
from ..rules.resources import check_memory
from ..serve.fastsched import Timer, fast_metrics
from .verdict import RequirementResult, judge_requirements

__all__ = ["FastCheck", "fast_check", "MEMORY", "TOO_DEEP"]

MEMORY = "E402"             # `fast_check`'s answer when the strategy does not fit in memory
TOO_DEEP = "E303"           # … when it has more stages than layers


@dataclass(frozen=True)
class FastCheck:
    layout: Layout
    memory: MemoryBreakdown
    metrics: dict                                   # `dagc.serve.metrics.rate_metrics` of the recurrence
    requirements: tuple[RequirementResult, ...]

    @property
    def meets_requirements(self) -> bool:
        return all(r.met for r in self.requirements)


def fast_check(plan: Plan, strategy: Strategy, workload: Workload, timer: Timer) -> FastCheck | str:
    """The fast check of `strategy` running `workload`, or the code of the error that rejects it."""
    lay = resolve(plan.model, plan.cluster, workload, strategy)
    if lay.pp > plan.model.layers:
        return TOO_DEEP
    variant = plan.model_copy(update={"workload": workload})
    first = memory(plan.model, workload, plan.cluster, lay)
    diags = run_rules(RuleContext(variant, None, strategy, lay, first), errors_only=True)
    error = next((d.code for d in diags if d.code != MEMORY), None)
    if error is not None:
        return error
    if any(st.weights_bytes + st.kv_cache_bytes + st.reserve_bytes > st.capacity_bytes for st in first.stages):
        return MEMORY                # E402 whatever the activations: no need to compute them
    mem = with_activations(first, timer.activations(workload, lay))
    if any(True for _ in check_memory(RuleContext(variant, None, strategy, lay, mem))):
        return MEMORY
    metrics = fast_metrics(plan, lay, workload, timer)
    return FastCheck(lay, mem, metrics, judge_requirements(variant, lay, mem, metrics))

"""The fast check of one strategy: what `check` decides, without building its DAG.

Input: a `Plan`, a `Strategy`, the `Workload` it runs and a `dagc.schedule.timer.Timer`. Output:
`FastCheck` — the layout, the memory breakdown (activations: the DAG's working sets), the
static schedule's figures and the requirements judged — or, when a rule rejects the strategy,
`Refused` with the code of the first error (`E402` when it does not fit in memory).

Each stage runs once, in the order `dagc.verdict.analyse` runs them: the layout, the error rules
on the layout (they reject unsound structures), memory — weights, KV cache and reserve first, and
only when those fit the working sets of the DAG's ops (`Timer.activations`, the figure of
`dagc.memory.activations.activation_bytes_by_stage`) — and E402 judged on it, the static
schedule's figures, the requirements. The search scores its candidates with it and
`dagc.verdict.batch_max` probes batches with it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..layout.layout import Layout, resolve
from ..memory.admission import Admission, admission, admitted
from ..memory.memory import MemoryBreakdown, memory
from ..memory.resident import resident_of
from ..plan.plan import Plan
from ..plan.strategy import Strategy
from ..plan.workload import Workload
from ..rules import Reads, RuleContext, run_rules
from ..schedule.timer import Timer
from ..serve.estimate import fast_metrics
from ..serve.rates import InstanceRates
from .steady import InstanceMetrics, SteadyMetrics, instance_metrics, steady_metrics
from .verdict import RequirementResult, judge_requirements

__all__ = ["FastCheck", "Refused", "fast_check", "MEMORY", "TOO_DEEP"]

MEMORY = "E402"             # `fast_check`'s answer when the strategy does not fit in memory
TOO_DEEP = "E303"           # … when it has more stages than layers


@dataclass(frozen=True)
class Refused:
    """`fast_check`'s answer when an error rule rejects the strategy: the rule's code (`MEMORY` when it does not
    fit in memory, `TOO_DEEP` when it has more stages than layers). Its words are the caller's
    (`dagc.rules.requirements.broken_text`)."""

    code: str


@dataclass(frozen=True)
class FastCheck:
    layout: Layout
    memory: MemoryBreakdown
    metrics: SteadyMetrics | InstanceMetrics        # `dagc.serve.estimate.fast_metrics`: the recurrence's
    requirements: tuple[RequirementResult, ...]
    admission: Admission | None = None              # in flight: what the engine admits (`dagc.memory.admission`)

    @property
    def deployment(self) -> SteadyMetrics:
        """The figures of a deployment (the check of no pool's instance alone)."""
        assert isinstance(self.metrics, SteadyMetrics), "a deployment's figures"
        return self.metrics

    @property
    def meets_requirements(self) -> bool:
        return all(r.met for r in self.requirements)


def fast_check(plan: Plan, strategy: Strategy, workload: Workload, timer: Timer) -> FastCheck | Refused:
    """The fast check of `strategy` running `workload`, or `Refused` with the code of the error that rejects it."""
    lay = resolve(plan.model, plan.cluster, workload, strategy)
    if lay.pp > plan.model.layers:
        return Refused(TOO_DEEP)
    variant = plan.model_copy(update={"workload": workload})
    ctx = RuleContext(variant, None, strategy, lay)
    error = next((d.code for d in run_rules(ctx, Reads.LAYOUT, errors_only=True)), None)
    if error is not None:
        return Refused(error)
    resident = resident_of(plan.model, workload, lay)
    if resident.exceeds(plan.cluster):
        return Refused(MEMORY)       # E402 whatever the activations: no need to compute them
    mem = memory(plan.model, workload, plan.cluster, lay, timer.activations(workload, lay), resident,
                 plan.memory_limit_bytes)
    if any(True for _ in run_rules(replace(ctx, memory=mem), Reads.MEMORY, errors_only=True)):
        return Refused(MEMORY)
    adm = admission(workload, lay, mem, plan.cluster.engine.terms) if mem.admits_by_kv else None
    run, run_lay = admitted(plan, strategy, workload, lay, adm)
    rates = fast_metrics(plan, run_lay, run, timer)
    metrics = instance_metrics(rates, run.batch) if isinstance(rates, InstanceRates) else \
        steady_metrics(rates, concurrency_effective=run.batch)
    return FastCheck(lay, mem, metrics, judge_requirements(variant, lay, mem, metrics), adm)

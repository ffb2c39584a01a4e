"""`analyse`: one strategy of a plan → its layout, diagnostics, memory, schedule and verdict.

Input: a `Plan`, a flattened `Strategy` (and optionally a `Workload` that replaces the
plan's). Output: an `Analysis`. This is the one route every figure of a strategy takes —
resolve → rules → memory → build, cost, schedule → requirements → verdict — shared by
`check_strategy` and the search's exact re-scoring.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..cost.cost import cost
from ..diagnostics import Diagnostic, cap, has_errors
from ..ir.build import build
from ..ir.dag import NODE_BUDGET, estimate_nodes, over_work_budget
from ..layout.layout import Layout, resolve
from ..memory.memory import MemoryBreakdown, activation_bytes_by_stage, memory
from ..plan.plan import Plan, Strategy, StrategyDecl, Workload
from ..rules import RuleContext, run_rules
from ..schedule.schedule import schedule
from ..serve.metrics import metrics as derive_metrics
from .compiled import Compiled
from .verdict import RequirementResult, Verdict, judge_requirements, verdict

__all__ = ["Analysis", "analyse", "compile_dag"]

# Errors that leave the DAG meaningful: the plan does not fit the cluster, but its structure is sound.
_RESOURCE_ERRORS = frozenset({"E401", "E402"})


@dataclass(frozen=True)
class Analysis:
    """Everything `analyse` derives for one strategy (`plan` carries the workload it used)."""

    plan: Plan
    strategy: Strategy
    layout: Layout
    memory: MemoryBreakdown | None
    diagnostics: tuple[Diagnostic, ...]           # capped (`diagnostics.cap`)
    requirements: tuple[RequirementResult, ...]
    verdict: Verdict
    metrics: dict | None = field(default=None)    # Metrics.to_json(), None when not computed
    compiled: Compiled | None = field(default=None, repr=False)   # None: no DAG was built

    @property
    def valid(self) -> bool:
        return not has_errors(self.diagnostics)


def analyse(plan: Plan, strategy: Strategy, workload: Workload | None = None,
            decl: StrategyDecl | None = None) -> Analysis:
    """Resolve, run every rule, size memory, build, cost and schedule one strategy, and judge it.

    When the strategy is structurally sound (no error other than E401/E402) the activation
    working sets of the DAG's ops (`activation_bytes_by_stage`, the figure `search` uses too)
    replace the first estimate and the rules run again, so E402 is judged on the DAG's
    figures, whether or not the DAG itself is within the node budget and built.

    The work is bounded before it starts: a layout with more than `dag.STAGE_BUDGET` stages or
    a stage group of more than `dag.GROUP_BUDGET` GPUs gets no per-stage or per-rank figure
    (no memory, no DAG, no metrics) and W511 says so; its requirements are not judged.

    Args:
        plan: the plan.
        strategy: a flattened strategy (`flatten.flatten`, or a search candidate's).
        workload: replaces the plan's workload (the search's micro-batches and overlap).
        decl: the strategy as written, when it was (None for a search candidate).
    """
    if workload is not None:
        plan = plan.model_copy(update={"workload": workload})
    own = strategy.workload_for(plan.workload)          # `with microbatches … overlap …`
    if own is not plan.workload:
        plan = plan.model_copy(update={"workload": own})
    layout = resolve(plan.model, plan.cluster, plan.workload, strategy)
    mem = compiled = None
    # More stages than layers is E303; there is no meaningful per-stage memory then.
    if layout.pp <= plan.model.layers and over_work_budget(layout) is None:
        mem = memory(plan.model, plan.workload, plan.cluster, layout)
    diags = run_rules(RuleContext(plan, decl, strategy, layout, mem))
    sound = mem is not None and not any(d.is_error and d.code not in _RESOURCE_ERRORS for d in diags)
    if sound:
        mem = memory(plan.model, plan.workload, plan.cluster, layout,
                     activation_bytes_by_stage(plan.model, plan.workload, plan.cluster, layout))
        if estimate_nodes(layout) <= NODE_BUDGET:
            compiled = compile_dag(plan, strategy, layout, mem)
        diags = run_rules(RuleContext(plan, decl, strategy, layout, mem, compiled.metrics if compiled else None))
    metrics_json = compiled.metrics.to_json() if compiled is not None else None
    reqs = judge_requirements(plan, layout, mem, metrics_json)
    return Analysis(plan=plan, strategy=strategy, layout=layout, memory=mem, diagnostics=tuple(cap(diags)),
                    requirements=reqs, verdict=verdict(diags, reqs), metrics=metrics_json, compiled=compiled)


def compile_dag(plan: Plan, strategy: Strategy, layout: Layout, mem: MemoryBreakdown) -> Compiled:
    """Build, cost and schedule the DAG of a sound strategy, and derive its metrics."""
    dag = build(plan.model, plan.workload, layout)
    costs = cost(dag, plan.cluster)
    sched = schedule(dag, costs, plan.workload.overlap)
    return Compiled(plan=plan, strategy=strategy, layout=layout, memory=mem, dag=dag, costs=costs, schedule=sched,
                    metrics=derive_metrics(dag, sched, plan.workload, layout))

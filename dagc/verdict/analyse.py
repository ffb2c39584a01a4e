"""`analyse`: one strategy of a plan → its layout, diagnostics, memory, schedule and verdict.

Input: a `Plan`, a flattened `Strategy` (and optionally a `Workload` that replaces the
plan's). Output: an `Analysis`. This is the one route every figure of a strategy takes, shared
by `check_strategy` and the search's exact re-scoring. Each stage runs once, in the pipeline's
order, and hands the next an immutable result:

    resolve → Layout → memory → MemoryBreakdown → build → Dag → cost → Costs → schedule →
    Schedule → metrics → Metrics → requirements, verdict → Verdict

A rule runs once too, as soon as what it reads exists (`rules.Reads`): the rules on the layout
right after it is resolved (their errors decide whether the DAG is worth building), the rule on
memory after memory, the rule that quotes the schedule after the schedule. Their diagnostics
are reported in code order, as one pass over every rule would give them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field, replace

from ..cost.cost import Costs, cost
from ..diagnostics import Diagnostic, cap, has_errors
from ..ir.build import build
from ..ir.dag import NODE_BUDGET, Dag, estimate_nodes, over_work_budget
from ..layout.layout import Layout, resolve
from ..memory.activations import activation_bytes_by_stage
from ..memory.admission import Admission, admission, admitted
from ..memory.memory import MemoryBreakdown, memory
from ..plan.cluster import hardware
from ..plan.plan import Plan
from ..plan.strategy import Strategy, StrategyDecl
from ..plan.workload import Workload
from ..rules import Reads, RuleContext, in_rule_order, run_rules
from ..rules.throughput_tokens import counted_tokens_notes
from ..schedule.schedule import Schedule, schedule
from ..serve.metrics import Metrics, metrics as derive_metrics
from .compiled import Compiled
from .steady import InstanceMetrics, SteadyMetrics, of_schedule
from .verdict import RequirementResult, Verdict, judge_requirements, verdict

__all__ = ["KEEP_COMPILED", "Analysis", "analyse", "compile_dag", "compiled_clear"]

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
    metrics: SteadyMetrics | InstanceMetrics | None = field(default=None)   # None when not computed
                                                  # (`InstanceMetrics`: a disaggregated pool's instance alone)
    compiled: Compiled | None = field(default=None, repr=False)   # None: no DAG was built
    admission: Admission | None = field(default=None)   # in flight: what the engine admits (dagc.memory.admission)

    @property
    def valid(self) -> bool:
        return not has_errors(self.diagnostics)


def analyse(plan: Plan, strategy: Strategy, workload: Workload | None = None,
            decl: StrategyDecl | None = None) -> Analysis:
    """Resolve, size memory, build, cost and schedule one strategy, run every rule, and judge it.

    When the rules on the layout find the strategy structurally sound (no error but E401) its
    memory counts the activation working sets of the DAG's ops (`activation_bytes_by_stage`, the
    figure `search` uses too), so E402 is judged on the DAG's figures whether or not the DAG
    itself is within the node budget and built; otherwise the breakdown's first estimate.

    The work is bounded before it starts: a layout with more than `dagc.ir.dag.STAGE_BUDGET` stages or
    a stage group of more than `dagc.ir.dag.GROUP_BUDGET` GPUs gets no per-stage or per-rank figure
    (no memory, no DAG, no metrics) and W511 says so; its requirements are not judged.

    Args:
        plan: the plan.
        strategy: a flattened strategy (`dagc.lang.flatten.flatten`, or a search candidate's).
        workload: replaces the plan's workload (the search's micro-batches and overlap).
        decl: the strategy as written, when it was (None for a search candidate).
    """
    if workload is not None:
        plan = plan.model_copy(update={"workload": workload})
    own = strategy.workload_for(plan.workload)          # `with microbatches … overlap …`
    if own is not plan.workload:
        plan = plan.model_copy(update={"workload": own})
    layout = resolve(plan.model, plan.cluster, plan.workload, strategy)
    ctx = RuleContext(plan, decl, strategy, layout)
    diags = run_rules(ctx, Reads.LAYOUT)
    structured = not any(d.is_error and d.code not in _RESOURCE_ERRORS for d in diags)
    mem = compiled = None
    # More stages than layers is E303; there is no meaningful per-stage memory then.
    if layout.pp <= plan.model.layers and over_work_budget(layout) is None:
        activations = activation_bytes_by_stage(plan.model, plan.workload, plan.cluster, layout) if structured else None
        mem = memory(plan.model, plan.workload, plan.cluster, layout, activations, limit_bytes=plan.memory_limit_bytes)
    adm = admission(plan.workload, layout, mem, plan.cluster.engine.terms) \
        if mem is not None and mem.admits_by_kv else None
    # the DAG is built for a sound structure with memory, within the node budget
    buildable = structured and mem is not None and estimate_nodes(layout, plan.workload) <= NODE_BUDGET
    diags += run_rules(replace(ctx, memory=mem, admission=adm), Reads.MEMORY)
    running = None
    if buildable and mem is not None:
        # in flight the steady state runs at the concurrency the engine reaches (`dagc.memory.admission`)
        running = admitted(plan, strategy, plan.workload, layout, adm)
        run, run_layout = running
        compiled = compile_dag(plan if run is plan.workload else plan.model_copy(update={"workload": run}),
                               strategy, run_layout, mem)
    # the rules that read the schedule read the requests in flight it was made for (W506, W513)
    diags = in_rule_order(diags + run_rules(replace(ctx, memory=mem, admission=adm, running=running,
                                                    errors=tuple(d.code for d in diags if d.is_error),
                                                    metrics=compiled.metrics if compiled else None), Reads.SCHEDULE))
    figures = None if compiled is None else of_schedule(compiled.metrics, compiled.plan.workload.batch)
    reqs = judge_requirements(plan, layout, mem, figures)
    decode = figures.decode_tokens_per_s if isinstance(figures, SteadyMetrics) else None
    diags = in_rule_order(diags + list(counted_tokens_notes(plan, reqs, layout.gpus_used, decode)))    # N606
    return Analysis(plan=plan, strategy=strategy, layout=layout, memory=mem, diagnostics=tuple(cap(diags)),
                    requirements=reqs, verdict=verdict(diags, reqs), metrics=figures, compiled=compiled,
                    admission=adm)


def compile_dag(plan: Plan, strategy: Strategy, layout: Layout, mem: MemoryBreakdown) -> Compiled:
    """Build, cost and schedule the DAG of a sound strategy, and derive its metrics. The DAG, its costs,
    schedule and metrics are a function of the model, the cluster's hardware (`hardware`), the workload but its
    traffic (the steady state's) and the layout but its GPUs available: the last `KEEP_COMPILED` are kept in
    this process, so that one strategy checked on clusters of one GPU type at several counts (`dagc fleet`), or
    under several traffics (`dagc calibrate`'s runs), is compiled once. The DAG alone reads neither the traffic
    nor the engine's `PRICE_TERMS` (`_built`)."""
    layout_key = layout.timing_key
    steady = plan.workload.model_copy(update={"traffic": None})
    key = (plan.model, hardware(plan.cluster), steady, *layout_key)
    parts = _COMPILED.get(key)
    if parts is None:
        dag = _built(plan, layout, (plan.model, plan.cluster.engine.terms.unpriced(), steady, *layout_key))
        costs = cost(dag, plan.cluster)
        sched = schedule(dag, costs, plan.workload.overlap)
        parts = (dag, costs, sched,
                 derive_metrics(dag, sched, plan.workload, layout, plan.cluster.engine.terms.frontend_alone_s))
        _COMPILED[key] = parts
        while len(_COMPILED) > KEEP_COMPILED:
            _COMPILED.popitem(last=False)
    _COMPILED.move_to_end(key)
    dag, costs, sched, metrics = parts
    return Compiled(plan=plan, strategy=strategy, layout=layout, memory=mem, dag=dag, costs=costs, schedule=sched,
                    metrics=metrics)


def _built(plan: Plan, layout: Layout, key: tuple[Hashable, ...]) -> Dag:
    """The strategy's DAG, built once for plans that differ only in their traffic and the engine's `PRICE_TERMS`
    (`EngineTerms.unpriced`), which no op template reads (`key`: the model, those terms, the workload but its
    traffic and the layout's `Layout.timing_key`): a calibration's simulations of a run, one a set of terms, cost and
    schedule one DAG. The last `KEEP_COMPILED` are kept."""
    dag = _DAGS.get(key)
    if dag is None:
        dag = _DAGS[key] = build(plan.model, plan.workload, layout, engine=plan.cluster.engine.terms)
        while len(_DAGS) > KEEP_COMPILED:
            _DAGS.popitem(last=False)
    _DAGS.move_to_end(key)
    return dag


KEEP_COMPILED = 64      # DAGs kept, with their costs, schedules and metrics (`compile_dag`), and DAGs alone (`_built`)
_COMPILED: OrderedDict[Hashable, tuple[Dag, Costs, Schedule, Metrics]] = OrderedDict()
_DAGS: OrderedDict[Hashable, Dag] = OrderedDict()


def compiled_clear() -> None:
    """Forget every DAG `compile_dag` kept (as a new process would)."""
    _COMPILED.clear()
    _DAGS.clear()

"""`check`: plan → per-strategy results (layout, rules, memory, DAG, schedule, verdicts).

Input: a `Plan` (and optionally a strategy expression that replaces the plan's). Output:
one `StrategyResult` per strategy, with every diagnostic of that strategy and, when the
strategy is sound, its scheduled DAG and metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from .build import build
from .cost import cost
from .dag import NODE_BUDGET, Dag, estimate_nodes, over_work_budget
from .diagnostics import Diagnostic, cap, has_errors
from .flatten import flatten
from .layout import Layout, resolve
from .lower import lower, lower_strategy
from .memory import MemoryBreakdown, activation_bytes_by_stage, memory
from .parse import parse, read_source
from .plan import Plan, Strategy, StrategyDecl
from .rules import RuleContext, run_rules
from .schedule import Metrics, schedule
from .source import SourceFile
from .verdict import RequirementResult, Verdict, judge_requirements, verdict

__all__ = ["StrategyResult", "load_plan", "load_plan_text", "parse_strategy", "check", "check_strategy"]


@dataclass(frozen=True)
class StrategyResult:
    plan: Plan
    decl: StrategyDecl
    strategy: Strategy | None
    layout: Layout | None
    memory: MemoryBreakdown | None
    diagnostics: tuple[Diagnostic, ...]
    requirements: tuple[RequirementResult, ...]
    verdict: Verdict
    metrics: dict | None = field(default=None)       # Metrics.to_json(), None when not computed
    dag: Dag | None = field(default=None, repr=False)
    schedule: Metrics | None = field(default=None, repr=False)
    optimality: dict | None = field(default=None)     # evidence of the optimal verdict (dagc.search)

    @property
    def valid(self) -> bool:
        return not has_errors(self.diagnostics)

    @property
    def label(self) -> str:
        return self.decl.name or self.decl.text


def load_plan(path: str | Path, *, allow_paths: Sequence[Path] = ()) -> Plan:
    """Read, parse and lower a plan file.

    `model from` reads files inside the plan's directory, or inside one of `allow_paths`
    (the CLI's `--allow-path DIR`), and nowhere else.

    Raises:
        PlanError: with located E0xx/E1xx diagnostics.
    """
    base_dir = Path(path).absolute().parent.resolve()   # the directory of the plan as given, not of a link's target
    src = read_source(path, roots=(base_dir, *allow_paths))
    return lower(parse(src), src, base_dir=base_dir, allow_paths=allow_paths)


def load_plan_text(text: str, name: str = "plan.moe", base_dir: Path | None = None, *,
                   allow_paths: Sequence[Path] = ()) -> Plan:
    """Parse and lower a plan given as text (for tests and tools).

    With `base_dir` None the plan has no directory: `model from` can read only inside
    `allow_paths`.

    Example:
        >>> plan = load_plan_text('''
        ...   model preset "mixtral-8x7b"
        ...   cluster { gpus = 8  gpu preset "h100-sxm" }
        ...   workload { batch = 64  prompt = 2048  generate = 256 }
        ...   strategy tp 8''')
        >>> [r.layout.gpus_used for r in check(plan)]
        [8]
    """
    src = SourceFile(name, text)
    return lower(parse(src), src, base_dir=base_dir, allow_paths=allow_paths)


def parse_strategy(text: str, name: str | None = None) -> StrategyDecl:
    """A strategy expression such as `pp 2 < tp 4 ; ep 8 >` (what `--strategy` accepts),
    optionally written `name = expression`, as dagc prints a named strategy.

    Example:
        >>> decl = parse_strategy("balanced = pp 2 # two stages\\n < tp 4;ep 8 >")
        >>> decl.name, decl.text
        ('balanced', 'pp 2 < tp 4 ; ep 8 >')
    """
    src = SourceFile("--strategy", text)
    return lower_strategy(parse(src, start="named_scope"), src, name)


# Errors that leave the DAG meaningful: the plan does not fit the cluster, but its structure is sound.
_RESOURCE_ERRORS = frozenset({"E401", "E402"})


def check_strategy(plan: Plan, decl: StrategyDecl) -> StrategyResult:
    """Flatten, resolve, build, cost and schedule one strategy, and run every rule.

    When the strategy is structurally sound (no error other than E401/E402) the activation
    working sets of the DAG's ops (`activation_bytes_by_stage`, the figure `search` uses too)
    replace the first estimate and the rules run again, so E402 is judged on the DAG's
    figures, whether or not the DAG itself is within the node budget and built.

    The work is bounded before it starts: a layout with more than `dag.STAGE_BUDGET` stages or
    a stage group of more than `dag.GROUP_BUDGET` GPUs gets no per-stage or per-rank figure
    (no memory, no DAG, no metrics) and W511 says so; its requirements are not judged.
    """
    strategy, diags = flatten(decl)
    layout = mem = dag = metrics = None
    if strategy is not None:
        layout = resolve(plan.model, plan.cluster, plan.workload, strategy)
        # More stages than layers is E303; there is no meaningful per-stage memory then.
        if layout.pp <= plan.model.layers and over_work_budget(layout) is None:
            mem = memory(plan.model, plan.workload, plan.cluster, layout)
        diags = run_rules(RuleContext(plan, decl, strategy, layout, mem))
        sound = mem is not None and not any(d.is_error and d.code not in _RESOURCE_ERRORS for d in diags)
        if sound:
            mem = memory(plan.model, plan.workload, plan.cluster, layout,
                         activation_bytes_by_stage(plan.model, plan.workload, plan.cluster, layout))
            if estimate_nodes(layout) <= NODE_BUDGET:
                dag = build(plan.model, plan.workload, plan.cluster, layout)
                cost(dag, plan.cluster)
                metrics = schedule(dag, plan.workload.overlap, plan.workload, layout)
            diags = run_rules(RuleContext(plan, decl, strategy, layout, mem, metrics))
    metrics_json = metrics.to_json() if metrics is not None else None
    reqs = judge_requirements(plan, layout, mem, metrics_json)
    return StrategyResult(plan=plan, decl=decl, strategy=strategy, layout=layout, memory=mem,
                          diagnostics=tuple(cap(diags)), requirements=reqs, verdict=verdict(diags, reqs),
                          metrics=metrics_json, dag=dag, schedule=metrics)


def check(plan: Plan, strategy: str | StrategyDecl | None = None, optimality=None) -> list[StrategyResult]:
    """Check every strategy of a plan (or only `strategy`, which replaces them).

    `optimality`, a `dagc.search.SearchResult`, sets each verdict's `optimal` against it.

    Raises:
        PlanError: when `strategy` text does not parse.
    """
    if isinstance(strategy, str):
        strategy = parse_strategy(strategy)
    decls = (strategy,) if strategy is not None else plan.strategies
    results = [check_strategy(plan, d) for d in decls]
    if optimality is not None:
        from .search import judge_optimal
        judged = []
        for r in results:
            optimal, evidence = judge_optimal(r, optimality)
            judged.append(replace(r, verdict=replace(r.verdict, optimal=optimal), optimality=evidence))
        results = judged
    return results

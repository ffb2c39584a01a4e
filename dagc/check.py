"""`check`: plan → per-strategy results (layout, rules, memory, verdicts).

Input: a `Plan` (and optionally a strategy expression that replaces the plan's). Output:
one `StrategyResult` per strategy, with every diagnostic of that strategy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .diagnostics import Diagnostic, PlanError, has_errors
from .layout import Layout, resolve
from .lower import lower, lower_strategy
from .memory import MemoryBreakdown, memory
from .parse import parse, read_source
from .plan import Plan, Strategy, StrategyDecl
from .rules import RuleContext, run_rules
from .rules.hierarchy import flatten
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
    metrics: dict | None = field(default=None)

    @property
    def valid(self) -> bool:
        return not has_errors(self.diagnostics)

    @property
    def label(self) -> str:
        return self.decl.name or self.decl.text


def load_plan(path: str | Path) -> Plan:
    """Read, parse and lower a plan file.

    Raises:
        PlanError: with located E0xx/E1xx diagnostics.
    """
    src = read_source(path)
    return lower(parse(src), src, base_dir=Path(path).resolve().parent)


def load_plan_text(text: str, name: str = "plan.moe", base_dir: Path | None = None) -> Plan:
    """Parse and lower a plan given as text (for tests and tools).

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
    return lower(parse(src), src, base_dir=base_dir)


def parse_strategy(text: str, name: str | None = None) -> StrategyDecl:
    """A strategy expression such as `pp 2 < tp 4 ; ep 8 >` (what `--strategy` accepts)."""
    src = SourceFile("--strategy", text)
    return lower_strategy(parse(src, start="scope"), src, name)


def check_strategy(plan: Plan, decl: StrategyDecl) -> StrategyResult:
    """Flatten, resolve and run every rule for one strategy of a plan."""
    strategy, diags = flatten(decl)
    layout = mem = None
    if strategy is not None:
        layout = resolve(plan.model, plan.cluster, plan.workload, strategy)
        # More stages than layers is E303; there is no meaningful per-stage memory then.
        if layout.pp <= plan.model.layers:
            mem = memory(plan.model, plan.workload, plan.cluster, layout)
        diags = run_rules(RuleContext(plan, decl, strategy, layout, mem))
    reqs = judge_requirements(plan, layout, mem, None)
    return StrategyResult(plan=plan, decl=decl, strategy=strategy, layout=layout, memory=mem,
                          diagnostics=tuple(diags), requirements=reqs, verdict=verdict(diags, reqs))


def check(plan: Plan, strategy: str | StrategyDecl | None = None) -> list[StrategyResult]:
    """Check every strategy of a plan (or only `strategy`, which replaces them).

    Raises:
        PlanError: when `strategy` text does not parse.
    """
    if isinstance(strategy, str):
        strategy = parse_strategy(strategy)
    decls = (strategy,) if strategy is not None else plan.strategies
    return [check_strategy(plan, d) for d in decls]

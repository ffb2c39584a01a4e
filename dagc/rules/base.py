"""What a rule is and what it sees."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..diagnostics import Diagnostic, Severity
from ..layout import Layout
from ..memory import MemoryBreakdown
from ..plan import Plan, Strategy, StrategyDecl
from ..source import Span

__all__ = ["Rule", "RuleContext", "diag", "largest_divisor"]


@dataclass(frozen=True)
class RuleContext:
    plan: Plan
    decl: StrategyDecl | None           # None for a candidate of the search: it was never written
    strategy: Strategy
    layout: Layout
    memory: MemoryBreakdown | None      # None when pp exceeds the layers (E303)
    metrics: Any = None                 # dagc.schedule.Metrics once the DAG is scheduled


@dataclass(frozen=True)
class Rule:
    code: str
    severity: Severity
    title: str
    doc: str
    check: Callable[[RuleContext], Iterable[Diagnostic]] | None = None


def make_rule(code: str, severity: Severity, title: str, check=None, doc: str | None = None) -> Rule:
    return Rule(code, severity, title, doc if doc is not None else (check.__doc__ or ""), check)


def largest_divisor(n: int, limit: int) -> int:
    """The largest divisor of n not above limit (at least 1), for "use … instead" hints."""
    return max((d for d in range(1, min(n, limit) + 1) if n % d == 0), default=1)


def diag(code: str, severity: Severity, message: str, span: Span | None, hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, severity, message, span, hint)

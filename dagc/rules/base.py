"""What a rule is and what it sees."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from ..diagnostics import Diagnostic, Severity
from ..layout.layout import Layout
from ..memory.admission import Admission
from ..memory.memory import MemoryBreakdown
from ..plan.plan import Plan
from ..plan.strategy import Strategy, StrategyDecl
from ..plan.workload import Workload
from ..source import Span

__all__ = ["Check", "Reads", "Rule", "RuleContext", "ScheduledMetrics", "diag", "largest_divisor", "make_rule",
           "pass_rule", "rule_doc"]


class ScheduledMetrics(Protocol):
    """What the rules that read the schedule read of its metrics (`dagc.serve.metrics.Metrics`, a later stage's)."""

    @property
    def bubble_fraction(self) -> float: ...
    @property
    def ttft_s(self) -> float: ...
    @property
    def ttft_server_s(self) -> float: ...


@dataclass(frozen=True)
class RuleContext:
    plan: Plan
    decl: StrategyDecl | None           # None for a candidate of the search: it was never written
    strategy: Strategy
    layout: Layout
    memory: MemoryBreakdown | None = None   # set for the rules that read memory (None when pp exceeds the layers)
    metrics: ScheduledMetrics | None = None     # dagc.serve.metrics.Metrics, for the rules that read the schedule
    # in flight, what the engine admits (`dagc.memory.admission`), made once with the memory (`dagc.verdict.analyse`)
    admission: Admission | None = None
    # the workload and layout the steady state was scheduled at — in flight, at the concurrency the engine
    # reaches (`dagc.memory.admission.admitted`) — for the rules that read the schedule; None: the plan's
    running: tuple[Workload, Layout] | None = None
    # the codes of the errors the rules of the layout and the memory found, for the rules that read the schedule
    # (run last): W505 suggests replicas only of a strategy that passes them
    errors: tuple[str, ...] = ()

    @property
    def run_workload(self) -> Workload:
        """The workload the figures are for: `batch` the requests in flight the engine reaches (W520)."""
        return self.running[0] if self.running is not None else self.plan.workload

    @property
    def run_layout(self) -> Layout:
        """The layout the figures are for (its requests per rank those the engine runs)."""
        return self.running[1] if self.running is not None else self.layout


class Reads(Enum):
    """What a rule's check reads besides the plan and the layout: a check runs once, as soon as
    that exists (`dagc.verdict.analyse`: layout → memory → build, cost, schedule)."""

    LAYOUT = "layout"                   # the plan, the strategy and its layout only
    MEMORY = "memory"                   # and the per-stage memory breakdown
    SCHEDULE = "schedule"               # and the scheduled DAG's metrics, when there is one


Check = Callable[[RuleContext], Iterable[Diagnostic]]


@dataclass(frozen=True)
class Rule:
    """A diagnostic code: its documentation, and what emits it.

    A rule on the resolved strategy has a `check`, which `run_rules` calls. A code found
    while the plan is read (parse, lower, flatten) is emitted by those passes instead:
    `passes` names them, so that every code says where it comes from.
    """

    code: str
    severity: Severity
    title: str
    doc: str
    check: Check | None = None
    passes: tuple[Callable[..., object], ...] = ()
    plan_level: bool = False            # the same for every strategy of a plan: shown once
    reads: Reads = Reads.LAYOUT

    def __post_init__(self) -> None:
        if (self.check is None) == (not self.passes):
            raise ValueError(f"rule {self.code} needs either a check or the passes that emit it")


def make_rule(code: str, severity: Severity, title: str, check: Check, plan_level: bool = False,
              reads: Reads = Reads.LAYOUT) -> Rule:
    """A rule on the resolved strategy, documented by its check's docstring."""
    return Rule(code, severity, title, rule_doc(code, title, check.__doc__), check, (), plan_level, reads)


def pass_rule(code: str, severity: Severity, title: str, doc: str | None, passes: tuple[Callable[..., object], ...]
              ) -> Rule:
    """A rule whose code the passes that read the plan emit (`passes`), documented by `doc`."""
    return Rule(code, severity, title, rule_doc(code, title, doc), None, passes)


def rule_doc(code: str, title: str, doc: str | None) -> str:
    """A rule's documentation from a docstring, without what `dagc explain` and docs/rules.md print above it: a
    docstring that opens with its code ("W518: …", as a function emitting one code may) loses the code, and its first
    paragraph too when that is the title again. Until 2026-12-02 `dagc explain W518` printed "W518 (warning): the
    load was not simulated: …" and then "W518: the load was not simulated: …".

    Example:
        >>> rule_doc("W518", "the load was not simulated", "W518: the load was not simulated.\\n\\nIt counts …")
        'It counts …'
        >>> rule_doc("N605", "the batch chosen", "N605: `batch = max` — the batch chosen.")
        '`batch = max` — the batch chosen.'
    """
    text = inspect.cleandoc(doc or "")
    if not text.startswith(f"{code}: "):
        return text
    text = text.removeprefix(f"{code}: ")
    first, _, rest = text.partition("\n\n")
    if " ".join(first.split()).rstrip(".") == title and rest:
        return rest.lstrip("\n")
    return text[0].upper() + text[1:]


def largest_divisor(n: int, limit: int) -> int:
    """The largest divisor of n not above limit (at least 1), for "use … instead" hints."""
    return max((d for d in range(1, min(n, limit) + 1) if n % d == 0), default=1)


def diag(code: str, severity: Severity, message: str, span: Span | None, hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, severity, message, span, hint)

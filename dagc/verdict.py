"""Verdicts: is the strategy correct, does it meet the requirements, is it optimal.

Input: a plan, its diagnostics, memory and (when computed) metrics. Output: one
`RequirementResult` per `require` line and the `Verdict`. A requirement whose metric is
not computed yet is reported with value None and met None — never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

from .diagnostics import Diagnostic, has_errors
from .layout import Layout
from .memory import MemoryBreakdown
from .plan import Plan, Requirement, RequirementKind
from .units import Dimension, format_bytes, format_si

__all__ = ["RequirementResult", "Verdict", "judge_requirements", "verdict", "METRIC_OF"]

# report.json metric key behind each requirement (throughputs in tokens/s; /gpu divides).
METRIC_OF = {
    RequirementKind.TTFT: "ttft_s",
    RequirementKind.TPOT: "tpot_s",
    RequirementKind.PREFILL_THROUGHPUT: "prefill_tokens_per_s",
    RequirementKind.DECODE_THROUGHPUT: "decode_tokens_per_s",
    RequirementKind.THROUGHPUT: "throughput_tokens_per_s",
}


@dataclass(frozen=True)
class RequirementResult:
    requirement: Requirement
    value: float | None

    @property
    def met(self) -> bool | None:
        return None if self.value is None else self.requirement.holds(self.value)

    @property
    def margin(self) -> float | None:
        """Relative slack: positive when met (e.g. 0.25 = 25 % better than the target)."""
        r = self.requirement
        if self.value is None or r.target == 0:
            return None
        if r.op in ("<=", "<"):
            return (r.target - self.value) / r.target
        if r.op in (">=", ">"):
            return (self.value - r.target) / r.target
        return -abs(self.value - r.target) / r.target

    def value_text(self) -> str:
        """The value in the requirement's own terms, e.g. '816.9 ms', '23.0 %', '1,148.6 tokens/s/gpu'."""
        r, v = self.requirement, self.value
        if v is None:
            return "not computed"
        match r.kind:
            case RequirementKind.TTFT | RequirementKind.TPOT:
                return format_si(v, Dimension.TIME)
            case RequirementKind.MEMORY:
                return f"{v * 100:.1f} %" if r.memory_is_fraction else format_bytes(v)
            case RequirementKind.GPUS:
                return f"{v:.0f}"
            case _:
                return f"{v:,.1f} tokens/s" + ("/gpu" if r.per_gpu else "")

    def to_json(self) -> dict:
        r = self.requirement
        return {"name": r.kind.value + ("_per_gpu" if r.per_gpu else ""), "op": r.op, "target": r.target,
                "value": self.value, "met": self.met}


@dataclass(frozen=True)
class Verdict:
    correct: bool
    meets_requirements: bool | None
    optimal: bool | None = None

    def to_json(self) -> dict:
        return {"correct": self.correct, "meets_requirements": self.meets_requirements, "optimal": self.optimal}


def judge_requirements(plan: Plan, layout: Layout | None, memory: MemoryBreakdown | None,
                       metrics: dict | None) -> tuple[RequirementResult, ...]:
    out = []
    for req in plan.requirements:
        value = None
        match req.kind:
            case RequirementKind.GPUS:
                value = float(layout.gpus_used) if layout else None
            case RequirementKind.MEMORY:
                if memory is not None:
                    worst = memory.worst
                    value = worst.fraction if req.memory_is_fraction else worst.total_bytes
            case _:
                raw = (metrics or {}).get(METRIC_OF[req.kind])
                if raw is not None and layout is not None:
                    value = raw / layout.gpus_used if req.per_gpu else raw
        out.append(RequirementResult(req, value))
    return tuple(out)


def verdict(diagnostics: list[Diagnostic], requirements: tuple[RequirementResult, ...],
            optimal: bool | None = None) -> Verdict:
    correct = not has_errors(diagnostics)
    if not correct:  # a strategy that cannot be deployed meets nothing
        return Verdict(False, False, optimal)
    mets = [r.met for r in requirements]
    if any(m is False for m in mets):
        meets = False
    elif any(m is None for m in mets):
        meets = None
    else:
        meets = True
    return Verdict(correct, meets, optimal)

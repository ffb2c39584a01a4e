"""Verdicts: is the strategy correct, does it meet the requirements.

Input: a plan, its diagnostics, memory and (when computed) metrics. Output: one
`RequirementResult` per `require` line and the `Verdict`. A requirement whose metric is
not computed yet is reported with value None and met None — never guessed. Whether the
strategy is optimal is judged against the search, by `dagc.verdict.optimal`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..diagnostics import Diagnostic, has_errors
from ..layout.layout import Layout
from ..memory.memory import MemoryBreakdown
from ..plan.plan import Plan
from ..plan.workload import Requirement, RequirementKind
from ..rules.requirement_text import requirement_unit, requirement_value_text
from ..units import format_figure
from .steady import InstanceMetrics, SteadyMetrics, figure_of

if TYPE_CHECKING:
    from ..serve.load_figures import LoadFigures

__all__ = ["MemoryFigures", "RequirementResult", "Verdict", "fuller", "judge_requirements", "memory_figures",
           "requirement_unit", "requirement_value_text", "verdict", "met_text", "METRIC_OF", "near_text",
           "requirement_value"]

# report.json metric key behind each requirement (throughputs in tokens/s; /gpu divides).
METRIC_OF = {
    RequirementKind.TTFT: "ttft_s",
    RequirementKind.TPOT: "tpot_s",
    RequirementKind.PREFILL_THROUGHPUT: "prefill_tokens_per_s",
    RequirementKind.DECODE_THROUGHPUT: "decode_tokens_per_s",
    RequirementKind.THROUGHPUT: "throughput_tokens_per_s",
}



NEAR = 0.005        # a figure within this share of a requirement's target is shown as `near_text` says


def near_text(plan: Plan, kind: RequirementKind, value: float | None, shown: str) -> str:
    """`shown` (a figure as a table prints it), unless the plan has a requirement on `kind` whose target
    the figure lies within `NEAR` of: then in the requirement's unit, with the digits that tell it
    from the target (a TTFT of 1.99983 s is not '2.0 s' beside `ttft <= 2 s`; a memory use of
    79.97 % not '80 %' beside `memory <= 80 %`). Times, throughputs as the requirement reads them
    (per GPU or total, as written, only when `value` is that), memory as a share of a GPU."""
    if value is None:
        return shown
    for req in plan.steady_requirements:
        if req.kind is not kind or not req.target or (kind is RequirementKind.MEMORY and not req.memory_is_fraction):
            continue
        if abs(value - req.target) <= NEAR * abs(req.target):
            return requirement_value_text(req, value)
    return shown


# why a requirement of a strategy with errors is not met, whatever its figure (`met_text`; report.json's entry,
# `dagc.export.result_json.requirement_json`)
ERRORS_UNMET = "it has errors"


@dataclass(frozen=True)
class RequirementResult:
    requirement: Requirement
    value: float | None
    # a steady-state `ttft` or `tpot` line of a plan with traffic: the simulated load's mean of the same latency,
    # shown beside the steady state it is judged on (`dagc.verdict.under_load.judge_on_load`); else None
    load_value: float | None = None
    # a requirement judged on the load, of a deployment that cannot carry its traffic: why it is not met whatever
    # its figure (`dagc.verdict.under_load.not_carried_because`: a queue that keeps growing makes a run's
    # percentiles grow with its length); else None
    unmet: str | None = None

    @property
    def judged_on(self) -> str:
        """What the requirement is judged on: `load` (a percentile or goodput line: the simulated traffic) or
        `steady-state` (report.json's `metrics`, the serving mode's steady state without queueing)."""
        return "load" if self.requirement.on_load else "steady-state"

    @property
    def met(self) -> bool | None:
        if self.unmet is not None:
            return False
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
        return 0.0 if self.value == r.target else -abs(self.value - r.target) / r.target

    def margin_percent(self) -> str:
        """The margin as a signed percentage for people: `+12.5 %`, `-3.0 %`; `0 %` when the value
        is the target (an `==` requirement met), `+<0.1 %` / `-<0.1 %` when it is that close; past ±100 %
        the multiple of the target the value is (`53.2× over` a TTFT target, `2.5× the target` of a throughput).

        Example:
            >>> from dagc.plan.workload import Requirement, RequirementKind
            >>> eq = Requirement(kind=RequirementKind.GPUS, op="==", target=8.0, text="gpus == 8")
            >>> RequirementResult(eq, 8.0).margin_percent(), RequirementResult(eq, 6.0).margin_percent()
            ('0 %', '-25.0 %')
            >>> t = Requirement(kind=RequirementKind.TTFT, op="<=", target=0.1, text="ttft_p99 <= 100 ms")
            >>> RequirementResult(t, 5.32).margin_percent(), RequirementResult(t, 0.15).margin_percent()
            ('53.2× over', '-50.0 %')
        """
        m = self.margin
        if m is None:
            return ""
        if abs(m) <= 1e-9:          # the target itself, to the tolerance `Requirement.holds` judges it by
            return "0 %"
        if abs(m) < 0.0005:
            return f"{'+' if m > 0 else '-'}<0.1 %"
        if abs(m) > 1 and self.value is not None:      # past ±100 %: as the multiple of the target it is
            ratio = format_figure(abs(self.value / self.requirement.target))
            return f"{ratio}× over" if m < 0 else f"{ratio}× the target"
        return f"{m * 100:+.1f} %"

    def value_text(self) -> str:
        """The value in the requirement's own unit (`requirement_value_text`), e.g. '816.9 ms', '23.0 %',
        '0.0967 tokens/ms/gpu'."""
        return requirement_value_text(self.requirement, self.value)


@dataclass(frozen=True)
class Verdict:
    correct: bool
    meets_requirements: bool | None
    optimal: bool | None = None


def met_text(q: RequirementResult, correct: bool | None, no: str = "no", yes: str = "yes") -> str:
    """A requirements table's `met` cell: `yes`, `no` or — (no figure); for a strategy with errors `no`
    whatever its figures (as if it could run), as its verdict says: what cannot be deployed meets
    nothing; `no: its queue grows` for a figure that holds in a run that falls behind (`unmet`)."""
    if correct is False:
        return f"{no}: {ERRORS_UNMET}"
    if q.unmet is not None:
        return f"{no}: its queue grows"
    return {True: yes, False: no, None: "—"}[q.met]


def judge_requirements(plan: Plan, layout: Layout | None, memory: MemoryBreakdown | None,
                       metrics: SteadyMetrics | InstanceMetrics | None) -> tuple[RequirementResult, ...]:
    gpus = layout.gpus_used if layout is not None else None
    return tuple(RequirementResult(req, requirement_value(req, gpus, metrics, *memory_figures(req, memory)))
                 for req in plan.requirements)


@dataclass(frozen=True)
class MemoryFigures:
    """What a memory requirement is judged on, of a strategy's fullest GPU (`memory_figures`): what the rank needs
    (`need_bytes`, the memory table's `use`), what the engine holds (`held_bytes`: `MemoryBreakdown.held_bytes`, in
    flight its whole memory share) and the GPU's capacity. Carried by the search's candidates, so that the search
    and the optimal verdict judge `memory == X` as `check` does (`dagc.search.result.Candidate.memory_figures`)."""

    need_bytes: float
    held_bytes: float
    capacity_bytes: float

    @staticmethod
    def of(memory: MemoryBreakdown) -> MemoryFigures:
        worst = memory.worst
        return MemoryFigures(worst.total_bytes, memory.held_bytes, worst.capacity_bytes)

    @property
    def fraction(self) -> float:
        """What the rank needs, as a share of the GPU (`MemoryBreakdown.worst.fraction`)."""
        return self.need_bytes / self.capacity_bytes

    def judged(self, req: Requirement) -> tuple[float, float]:
        """The figure `req` is judged on, as a share of the GPU and in bytes: for `memory == X` what the engine
        holds, else what the rank needs (`memory_figures`)."""
        held = self.held_bytes if req.kind is RequirementKind.MEMORY and req.op == "==" else self.need_bytes
        return held / self.capacity_bytes, held


def fuller(figures: Iterable[MemoryFigures]) -> MemoryFigures | None:
    """Of a disaggregated strategy's pools, the fuller's (the larger share its rank needs, the first on a tie): the
    pool whose memory the deployment's memory requirements are judged on (`dagc.verdict.pools`); None of none."""
    return max(figures, key=lambda f: f.fraction, default=None)


def memory_figures(req: Requirement, memory: MemoryBreakdown | None) -> tuple[float | None, float | None]:
    """The memory figure `req` is judged on, as a share of the GPU and in bytes: what the fullest rank holds —
    for `memory == X` in flight, what the engine holds (`MemoryBreakdown.held_bytes`: its whole share, which the
    KV cache fills, met when that is the limit). A `<=` or `<` limit is the engine's share too (`Plan.memory_limit`)
    and is judged on what the rank needs of it: within the share, the same verdict as on the share itself."""
    if memory is None:
        return None, None
    return MemoryFigures.of(memory).judged(req)


def requirement_value(req: Requirement, gpus: int | None, metrics: SteadyMetrics | InstanceMetrics | None,
                      memory_fraction: float | None, memory_bytes: float | None = None,
                      load: LoadFigures | None = None) -> float | None:
    """The figure `req` is judged on, of a strategy on `gpus` GPUs with these metrics and its fullest
    GPU's memory (a share, and bytes), or — for a requirement on the load (`Requirement.on_load`) — with
    the simulated run's figures; None when that figure is not known (a pool's instance alone has no
    throughput: `InstanceMetrics`)."""
    if req.on_load:
        return None if load is None else load.value_of(req)
    match req.kind:
        case RequirementKind.GPUS:
            return None if gpus is None else float(gpus)
        case RequirementKind.MEMORY:
            return memory_fraction if req.memory_is_fraction else memory_bytes
    raw = _steady_figure(metrics, req.kind)
    if raw is None or gpus is None:
        return None
    return raw / gpus if req.per_gpu else raw


def _steady_figure(metrics: SteadyMetrics | InstanceMetrics | None, kind: RequirementKind) -> float | None:
    """The figure of `kind` (TTFT, TPOT, a throughput) of these metrics, None when they have none."""
    if isinstance(metrics, InstanceMetrics):
        return metrics.ttft_s if kind is RequirementKind.TTFT else metrics.tpot_s if kind is RequirementKind.TPOT \
            else None
    return None if metrics is None else float(figure_of(metrics, kind))


def verdict(diagnostics: list[Diagnostic], requirements: tuple[RequirementResult, ...],
            optimal: bool | None = None, carried: bool | None = None) -> Verdict:
    """Correct without errors; meets the requirements when every one is met (None: one not judged), and — with
    traffic — when the deployment carries it (`carried`, `dagc.verdict.under_load.carries_traffic`: a queue
    that keeps growing meets nothing, whatever the requirements a run of some length shows)."""
    correct = not has_errors(diagnostics)
    if not correct:  # a strategy that cannot be deployed meets nothing
        return Verdict(False, False, optimal)
    if carried is False:
        return Verdict(correct, False, optimal)
    mets = [r.met for r in requirements]
    if any(m is False for m in mets):
        meets = False
    elif any(m is None for m in mets):
        meets = None
    else:
        meets = True
    return Verdict(correct, meets, optimal)

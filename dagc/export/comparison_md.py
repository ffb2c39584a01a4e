"""The side-by-side page of several strategies of one plan (report.md of `dagc compile`'s comparison).

Input: the plan, its `StrategyResult`s and their directories. Output: Markdown text: what was compared,
one column per strategy (verdicts, figures, each requirement, the load's figures), the plots and what
each objective would pick.
"""

from __future__ import annotations

from collections.abc import Callable

from ..plan.plan import Plan
from ..plan.workload import RequirementKind
from ..units import format_bytes, format_percent
from ..verdict.check import StrategyResult
from ..verdict.steady import figure_of
from ..verdict.verdict import MemoryFigures, met_text, near_text
from .at_rate import at_rate_text
from .compare_load import load_rows
from .md_escape import VERDICT_WORDS, md_code, md_table, md_text
from .optimal_words import optimal_means
from .summary import by_objective_md, metric_text, requirement_value_text

__all__ = ["comparison_md"]


def comparison_md(plan: Plan, results: list[StrategyResult], dirs: list[str], pareto_link: str | None = None,
                  cdf_link: str | None = None) -> str:
    """The side-by-side table of several strategies of one plan (and, when the search ran, a link to
    its plot `pareto_link`, where these strategies are marked; under traffic, their latency CDFs `cdf_link`)."""
    lines = [f"# dagc comparison: {md_code(plan.name)}", "",
             f"{len(results)} strategies for **{md_text(plan.model.name)}** on {plan.cluster.gpus:,} × "
             f"{md_text(plan.cluster.gpu.name)}; "
             f"batch {plan.workload.batch_text} × ({plan.workload.prompt:,} + {plan.workload.generate:,}) tokens.", ""]
    judged = next((r for r in results if r.optimality is not None and r.optimality.objective), None)
    objective = judged.optimality.objective if judged is not None and judged.optimality is not None else None
    if objective is not None:        # the search ran: what its verdicts optimise, and what each objective picks
        lines += [f"Optimal means {optimal_means(objective, plan.objective_from, f'`{objective}`')}"
                  f"{at_rate_text(plan)}.", ""]
    header = ["", *[f"[`{r.decl.name or r.decl.text}`]({d}/report.md)" for r, d in zip(results, dirs, strict=True)]]
    rows = _rows(plan, results) + _requirement_rows(plan, results)
    rows += [[label, *cells] for label, cells in load_rows(results)]     # under the plan's traffic
    plot = ["", f"These strategies among every legal one the search evaluated: [pareto.svg]({pareto_link}).", "",
            f"![Pareto front]({pareto_link})"] if pareto_link is not None else []
    plot += ["", f"Their latencies under the plan's traffic: [{cdf_link}]({cdf_link}).", "",
             f"![latency CDFs]({cdf_link})"] if cdf_link is not None else []
    picks = by_objective_md(judged) if judged is not None else []
    if picks:
        picks = ["", "## What each objective would pick", "", *(line.removeprefix("- ").removeprefix("  ")
                                                                   for line in picks)]
    return "\n".join(lines + md_table(header, rows) + plot + picks) + "\n"


def _rows(plan: Plan, results: list[StrategyResult]) -> list[list[str]]:
    """The rows every comparison has: the verdicts, the GPUs, memory and figures, the errors."""

    def row(name: str, fn: Callable[[StrategyResult], str]) -> list[str]:
        return [name, *[fn(r) for r in results]]

    def metric(key: str, kind: RequirementKind, per_gpu: bool = False) -> Callable[[StrategyResult], str]:
        def fn(r: StrategyResult) -> str:
            if not r.metrics:
                return "—"
            return metric_text(plan, kind, float(figure_of(r.metrics, kind)) / ((r.gpus_used or 1) if per_gpu else 1),
                               per_gpu)
        return fn

    K = RequirementKind

    return [
        row("strategy", lambda r: f"`{r.decl.text}`"),
        row("correct", lambda r: VERDICT_WORDS[r.verdict.correct]),
        row("meets requirements", lambda r: VERDICT_WORDS[r.verdict.meets_requirements]),
        row("optimal", lambda r: VERDICT_WORDS[r.verdict.optimal]),
        row("better strategy (paste it)", _better),
        row("GPUs used", lambda r: str(r.gpus_used) if r.gpus_used else "—"),
        *([row("batch (batch = max)", lambda r: f"{r.plan.workload.batch:,}" + (
            f" (one more breaks {r.plan.workload.batch_breaks})" if r.plan.workload.batch_breaks else "")
            if r.valid else "—")] if plan.workload.batch_max else []),
        row("worst rank memory", lambda r: _fullest(plan, r.fullest_memory)),
        row("TTFT", metric("ttft_s", K.TTFT)),
        row("TPOT", metric("tpot_s", K.TPOT)),
        row("decode throughput per GPU", metric("decode_tokens_per_s", K.DECODE_THROUGHPUT, per_gpu=True)),
        row("prefill throughput per GPU", metric("prefill_tokens_per_s", K.PREFILL_THROUGHPUT, per_gpu=True)),
        row("end-to-end throughput per GPU", metric("throughput_tokens_per_s", K.THROUGHPUT, per_gpu=True)),
        row("errors", lambda r: ", ".join(sorted({d.code for d in r.diagnostics if d.is_error})) or "none"),
    ]


def _fullest(plan: Plan, full: MemoryFigures | None) -> str:
    """The fullest GPU's memory, in bytes and as the plan's `memory` requirement reads it (of a disaggregated
    strategy, its fuller pool's)."""
    if full is None:
        return "—"
    share = format_percent(full.fraction)
    return f"{format_bytes(full.need_bytes)} ({near_text(plan, RequirementKind.MEMORY, full.fraction, share)})"


def _requirement_rows(plan: Plan, results: list[StrategyResult]) -> list[list[str]]:
    """A row per requirement of the plan: whether each strategy meets it, and its value."""
    return [[f"`{req.text}`", *[met_text(r.requirements[k], r.verdict.correct, "**not met**", "met") + (
        f" ({requirement_value_text(req, r.requirements[k].value)})" if r.requirements[k].value is not None
        else "") for r in results]] for k, req in enumerate(plan.requirements)]


def _better(r: StrategyResult) -> str:
    """The strategy the optimal verdict names instead of `r`, as pasteable text; "—" when none."""
    best = r.optimality.best if r.optimality is not None else None
    return f"`{best.text}`" if r.verdict.optimal is False and best is not None else "—"

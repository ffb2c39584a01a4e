"""Verdicts: is the strategy correct, does it meet the requirements, is it optimal.

Input: a plan, its diagnostics, memory and (when computed) metrics. Output: one
`RequirementResult` per `require` line and the `Verdict`. A requirement whose metric is
not computed yet is reported with value None and met None — never guessed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..diagnostics import Diagnostic, has_errors
from ..layout.layout import Layout
from ..memory.memory import MemoryBreakdown
from ..plan.plan import OBJECTIVE_MEANS, OBJECTIVES, Plan, Requirement, RequirementKind
from ..units import (
    Dimension,
    Unit,
    count_text,
    format_bytes,
    format_figure,
    format_in_unit,
    format_si,
    lookup,
    quantity_unit,
)

__all__ = ["RequirementResult", "Verdict", "judge_requirements", "requirement_unit", "requirement_value_text",
           "verdict", "met_text", "METRIC_OF", "Objective", "judge_optimal", "objective_picks_json",
           "OPTIMAL_TOLERANCE", "NOT_SEARCHED", "near_text", "optimal_means", "requirement_value"]

OPTIMAL_TOLERANCE = 0.05        # within 5 % of the best is optimal
# the optimal verdict of a check without a search (`dagc.verdict.check.check` judges it only against one)
NOT_SEARCHED = "not judged: no strategy search was run (--no-search)"

# report.json metric key behind each requirement (throughputs in tokens/s; /gpu divides).
METRIC_OF = {
    RequirementKind.TTFT: "ttft_s",
    RequirementKind.TPOT: "tpot_s",
    RequirementKind.PREFILL_THROUGHPUT: "prefill_tokens_per_s",
    RequirementKind.DECODE_THROUGHPUT: "decode_tokens_per_s",
    RequirementKind.THROUGHPUT: "throughput_tokens_per_s",
}


def requirement_unit(req: Requirement, per_gpu: bool | None = None) -> Unit | None:
    """The unit `req` is written in; for a throughput, switched to per GPU or total as asked."""
    unit = quantity_unit(req.text)
    if unit is None or per_gpu is None or unit.dimension is not Dimension.THROUGHPUT or unit.per_gpu == per_gpu:
        return unit
    return lookup(unit.name + "/gpu") if per_gpu else lookup(unit.name.removesuffix("/gpu"))


def requirement_value_text(req: Requirement, value: float | None) -> str:
    """A figure of `req`'s metric (SI, as `RequirementResult.value` and `Requirement.target`) in the
    unit the requirement is written in: `decode_throughput >= 100 tokens/ms/gpu` shows 96.7
    tokens/s/gpu as '0.0967 tokens/ms/gpu'.

    Example:
        >>> from dagc.plan.plan import Requirement, RequirementKind
        >>> q = Requirement(kind=RequirementKind.DECODE_THROUGHPUT, op=">=", target=1e5, per_gpu=True,
        ...                 text="decode_throughput >= 100 tokens/ms/gpu")
        >>> requirement_value_text(q, 96.7), requirement_value_text(q, q.target)
        ('0.0967 tokens/ms/gpu', '100 tokens/ms/gpu')

        A figure just beside the target keeps the digits that tell it apart:

        >>> t = Requirement(kind=RequirementKind.TTFT, op="<=", target=2.0, text="ttft <= 2 s")
        >>> requirement_value_text(t, 1.99983), requirement_value_text(t, 2.0)
        ('1.99983 s', '2 s')
    """
    if value is None:
        return "not computed"
    unit = requirement_unit(req)
    if unit is not None:
        text = format_in_unit(value, unit)
        if value != req.target and text == format_in_unit(req.target, unit):
            text = f"{value / unit.factor:.6g} {unit.name}"
        return text
    match req.kind:
        case RequirementKind.GPUS:
            return f"{value:,.0f} GPU{'' if value == 1 else 's'}"
        case RequirementKind.TTFT | RequirementKind.TPOT:
            return format_si(value, Dimension.TIME)
        case RequirementKind.MEMORY:
            return f"{value * 100:.1f} %" if req.memory_is_fraction else format_bytes(value)
    return f"{format_figure(value)} tokens/s" + ("/gpu" if req.per_gpu else "")


NEAR = 0.005        # a figure within this share of a requirement's target is shown as `near_text` says


def near_text(plan: Plan, kind: RequirementKind, value: float | None, shown: str) -> str:
    """`shown` (a figure as a table prints it), unless the plan has a requirement on `kind` whose target
    the figure lies within `NEAR` of: then in the requirement's unit, with the digits that tell it
    from the target (a TTFT of 1.99983 s is not '2.0 s' beside `ttft <= 2 s`; a memory use of
    79.97 % not '80 %' beside `memory <= 80 %`). Times, throughputs as the requirement reads them
    (per GPU or total, as written, only when `value` is that), memory as a share of a GPU."""
    if value is None:
        return shown
    for req in plan.requirements:
        if req.kind is not kind or not req.target or (kind is RequirementKind.MEMORY and not req.memory_is_fraction):
            continue
        if abs(value - req.target) <= NEAR * abs(req.target):
            return requirement_value_text(req, value)
    return shown


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
        return 0.0 if self.value == r.target else -abs(self.value - r.target) / r.target

    def margin_percent(self) -> str:
        """The margin as a signed percentage for people: `+12.5 %`, `-3.0 %`; `0 %` when the value
        is the target (an `==` requirement met), `+<0.1 %` / `-<0.1 %` when it is that close.

        Example:
            >>> from dagc.plan.plan import Requirement, RequirementKind
            >>> eq = Requirement(kind=RequirementKind.GPUS, op="==", target=8.0, text="gpus == 8")
            >>> RequirementResult(eq, 8.0).margin_percent(), RequirementResult(eq, 6.0).margin_percent()
            ('0 %', '-25.0 %')
        """
        m = self.margin
        if m is None:
            return ""
        if m == 0:
            return "0 %"
        if abs(m) < 0.0005:
            return f"{'+' if m > 0 else '-'}<0.1 %"
        return f"{m * 100:+.1f} %"

    def value_text(self) -> str:
        """The value in the requirement's own unit (`requirement_value_text`), e.g. '816.9 ms', '23.0 %',
        '0.0967 tokens/ms/gpu'."""
        return requirement_value_text(self.requirement, self.value)

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


def met_text(q: RequirementResult, correct: bool | None, no: str = "no", yes: str = "yes") -> str:
    """A requirements table's `met` cell: `yes`, `no` or — (no figure); for a strategy with errors `no`
    whatever its figures (as if it could run), as its verdict says: what cannot be deployed meets
    nothing."""
    if correct is False:
        return f"{no}: it has errors"
    return {True: yes, False: no, None: "—"}[q.met]


def optimal_means(objective: str, source: str, name: str) -> str:
    """What an optimal verdict under `objective` (written `name`; from `source`, e.g. "the default")
    means, in words: what a report says above its verdicts."""
    return (f"{OBJECTIVE_MEANS[objective]} (objective {name}, {source}), subject to the plan's requirements; "
            f"within {OPTIMAL_TOLERANCE * 100:.0f} % of the best counts as optimal")


def judge_requirements(plan: Plan, layout: Layout | None, memory: MemoryBreakdown | None,
                       metrics: dict | None) -> tuple[RequirementResult, ...]:
    gpus = layout.gpus_used if layout is not None else None
    worst = memory.worst if memory is not None else None
    return tuple(RequirementResult(req, requirement_value(
        req, gpus, metrics, worst.fraction if worst else None, worst.total_bytes if worst else None))
        for req in plan.requirements)


def requirement_value(req: Requirement, gpus: int | None, metrics: dict | None, memory_fraction: float | None,
                      memory_bytes: float | None = None) -> float | None:
    """The figure `req` is judged on, of a strategy on `gpus` GPUs with these metrics and its fullest
    GPU's memory (a share, and bytes); None when that figure is not known."""
    match req.kind:
        case RequirementKind.GPUS:
            return None if gpus is None else float(gpus)
        case RequirementKind.MEMORY:
            return memory_fraction if req.memory_is_fraction else memory_bytes
    raw = (metrics or {}).get(METRIC_OF[req.kind])
    if raw is None or gpus is None:
        return None
    return raw / gpus if req.per_gpu else raw


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


class Objective:
    """Objectives: a score, higher is better."""

    NAMES = OBJECTIVES
    MEANS = OBJECTIVE_MEANS             # what each one's best is, in words

    @staticmethod
    def score(name: str, metrics: dict, gpus: int) -> float:
        match name:
            case "tokens-per-gpu":
                return metrics["decode_tokens_per_s"] / gpus
            case "min-gpus":
                # fewer GPUs first; among equals, more decode tokens/s per GPU
                return -gpus + min(0.999, metrics["decode_tokens_per_s"] / gpus / 1e9)
            case "ttft":
                return -metrics["ttft_s"]
            case "tpot":
                return -metrics["tpot_s"]
            case "throughput":
                return metrics["throughput_tokens_per_s"]
        raise ValueError(f"unknown objective {name!r}; one of {', '.join(Objective.NAMES)}")


def objective_picks_json(picks: dict[str, Any]) -> dict[str, dict | None]:
    """What each objective's search picks (`dagc.search.search.objective_picks`), as report.json states it:
    per objective its best candidate's text, whether it meets the requirements, and its figures."""
    return {o: None if c is None else {"strategy": c.text, "meets_requirements": c.meets_requirements,
                                       "batch": c.batch, **_figures(c.metrics, c.gpus, c.memory_fraction)}
            for o, c in picks.items()}


def judge_optimal(result: Any, found: Any, tolerance: float = OPTIMAL_TOLERANCE, picks: dict | None = None
                  ) -> tuple[bool | None, dict]:
    """The optimal verdict of a checked strategy against the search, under the search's objective.

    Returns (optimal, evidence): optimal is None when nothing could be compared — and when
    the search was partial and found nothing better: the candidates it did not evaluate may
    hold one, so "optimal" would be a claim it cannot make. A better strategy found by a
    partial search is still evidence of "not optimal".

    Args:
        result: a `check.StrategyResult` (typed loosely: `check` comes after this stage).
        found: a `search.SearchResult` of the default objective (likewise).
        picks: what the search picks under each objective (`dagc.search.search.objective_picks`), recorded
            in the evidence as `by_objective`.
    """
    optimal, evidence = _judge_optimal(result, found, tolerance)
    if picks is not None:
        evidence["by_objective"] = objective_picks_json(picks)
    return optimal, evidence


def _judge_optimal(result: Any, found: Any, tolerance: float) -> tuple[bool | None, dict]:
    after = f"the search stopped after {found.evaluated:,} of {found.total:,} candidates"
    how = f"{found.order}, {found.stop_reason()}"
    stopped = f"{after} ({how})"
    partial = "" if found.complete else f" ({after}, {how})"
    best = found.best
    if best is not None and getattr(found, "rescore_cut", False) and not best.exact:
        partial += "; its figures are the search's estimate: the time budget left no time to re-score it"
    if best is None:
        if found.complete:
            return None, {"note": f"no legal strategy was found on this cluster (all {found.total:,} candidates "
                                  "evaluated)", "evaluated": found.evaluated, "total": found.total, "complete": True}
        return None, {"note": f"not judged: {stopped} before finding a legal strategy",
                      "evaluated": found.evaluated, "total": found.total, "complete": False}
    own = None
    if result.metrics is not None and result.layout is not None:
        own = Objective.score(found.objective, result.metrics, result.layout.gpus_used)
    evidence: dict[str, object] = {"objective": found.objective, "best_strategy": best.text, "best_score": best.score,
                "best_gpus": best.gpus, "best_microbatches": best.microbatches, "best_overlap": best.overlap.value,
                "best_batch": best.batch,
                # `batch = max`: what one more request would break for the better strategy (as `batch_breaks`)
                "best_batch_breaks": best.binding if best.batch is not None else None,
                "best_meets_requirements": best.meets_requirements, "own_score": own, "tolerance": tolerance,
                "evaluated": found.evaluated, "total": found.total, "complete": found.complete}
    own_meets = result.verdict.meets_requirements is not False
    best_gpus = f"{best.gpus} GPU{'s' if best.gpus > 1 else ''}"
    if own is None or not result.valid:
        evidence["note"] = (f"`{best.text}` is a legal strategy that "
                            f"{'meets' if best.meets_requirements else 'misses'} the requirements on {best_gpus}"
                            + partial)
        return False, evidence
    evidence["best_figures"] = _figures(best.metrics, best.gpus, best.memory_fraction)
    evidence["own_figures"] = _figures(result.metrics, result.layout.gpus_used,
                                       result.memory.worst.fraction if result.memory is not None else None)
    if best.meets_requirements and not own_meets:
        m = best.metrics
        evidence["note"] = (f"`{best.text}` meets the requirements on {best_gpus} (TTFT "
                            f"{format_si(m['ttft_s'], Dimension.TIME)}, TPOT {format_si(m['tpot_s'], Dimension.TIME)}, "
                            f"{m['decode_tokens_per_s'] / best.gpus:,.1f} tokens/s per GPU); this strategy does not"
                            + partial)
        return False, evidence
    own_misses = sum(1 for q in result.requirements if q.met is False)
    if 0 < best.misses < own_misses:
        evidence["note"] = (f"`{best.text}` misses fewer requirements on {best_gpus} ({best.misses} against "
                            f"{own_misses}: {_missed_text(result.requirements)} for this strategy)" + partial)
        return False, evidence
    if own >= best.score - tolerance * abs(best.score) or (best.meets_requirements is False and own_meets):
        if not found.complete:
            evidence["note"] = (f"not judged: no better strategy among the {found.evaluated:,} evaluated "
                                f"(the best of them `{best.text}`), but {stopped}")
            return None, evidence
        figure = _objective_text(found.objective, best.metrics, best.gpus)
        evidence["note"] = (f"within {tolerance * 100:.0f} % of the best of {found.evaluated:,} strategies by "
                            f"{found.objective} (`{best.text}`: {figure})")
        return True, evidence
    further = _further(best, result) if best.meets_requirements is False and not own_meets else []
    if further:
        among = "dagc searched" if found.complete else "of those evaluated"
        gain = _gain(found.objective, best, result)
        evidence["note"] = (f"not judged: no strategy {among} meets every requirement, and `{best.text}`, the best "
                            f"by {found.objective} of those that miss the fewest, {gain} but is further than this "
                            f"strategy from {', '.join(f'`{t}`' for t in further)} ({_shortfalls(best, result)})"
                            + partial)
        return None, evidence
    evidence["factor"] = best.score / own if own > 0 else (own / best.score if best.score < 0 else math.inf)
    where = "" if found.objective == "min-gpus" else f" on {best_gpus}"      # min-gpus names the GPUs already
    evidence["note"] = (f"`{best.text}` {_gain(found.objective, best, result)}{where}{_batch_text(best, result)}"
                        + _misses_too(best, result, own_meets, found.complete) + partial)
    return False, evidence


def _misses_too(best: Any, result: Any, own_meets: bool, complete: bool) -> str:
    """When the better strategy misses requirements as this one does (the best misses the fewest, so
    every strategy searched misses some): saying so, and which this one misses, lest the reader take
    it for a fix."""
    if best.meets_requirements is not False or own_meets or not best.misses:
        return ""
    which = "a requirement" if best.misses == 1 else f"{best.misses} requirements"
    among = "dagc searched" if complete else "of those evaluated"
    return (f"; it misses {which} too, as this strategy misses {_missed_text(result.requirements)}: "
            f"no strategy {among} meets them all ({_shortfalls(best, result)})")


def _further(best: Any, result: Any) -> list[str]:
    """The requirements this strategy misses that the better one by the objective misses by more (by
    its relative margin): of two strategies that both miss a line, the one further from it is no
    better, whatever its score."""
    return [own.requirement.text for own, theirs in _side_by_side(best, result)
            if own.met is False and theirs.margin is not None and own.margin is not None
            and theirs.margin < own.margin]


def _shortfalls(best: Any, result: Any) -> str:
    """Each requirement the better strategy or this one misses, with both figures in its unit: how far
    each is from it (the better one by the objective can be further from a line both miss)."""
    return "; ".join(f"`{own.requirement.text}`: {theirs.value_text()} against this strategy's {own.value_text()}"
                     for own, theirs in _side_by_side(best, result) if own.met is False or theirs.met is False)


def _side_by_side(best: Any, result: Any) -> list[tuple[RequirementResult, RequirementResult]]:
    """Each of this strategy's requirement results beside the search candidate `best`'s."""
    return [(own, RequirementResult(own.requirement, requirement_value(own.requirement, best.gpus, best.metrics,
                                                                        best.memory_fraction)))
            for own in result.requirements]


def _batch_text(best: Any, result: Any) -> str:
    """With a varied batch (`batch = max`): the requests each strategy serves and at what TPOT — the
    answer to "how much can this cluster serve"."""
    if best.batch is None or result.layout is None or result.metrics is None:
        return ""
    plan = result.plan

    def tpot(value: float) -> str:
        return near_text(plan, RequirementKind.TPOT, value, format_si(value, Dimension.TIME))

    return (f", serving {count_text(best.batch, 'request')} at TPOT {tpot(best.metrics['tpot_s'])}"
            f"{_limited(best.binding, plan)} (this strategy: {result.layout.batch:,} at "
            f"{tpot(result.metrics['tpot_s'])}{_limited(plan.workload.batch_breaks, plan)})")


def _limited(breaks: str | None, plan: Plan) -> str:
    """What one more request would break, of a strategy at its largest batch (`Workload.batch_breaks`,
    or a candidate's `binding`): a requirement of the plan, quoted, or the GPU's memory or a rule."""
    if not breaks:
        return ""
    text = breaks.strip("`")
    return f", limited by `{text}`" if any(r.text == text for r in plan.requirements) else f", limited by {text}"



def _missed_text(requirements: tuple[RequirementResult, ...]) -> str:
    return ", ".join(f"`{q.requirement.text}`" for q in requirements if q.met is False)


def _figures(metrics: dict, gpus: int, memory_fraction: float | None) -> dict:
    """The figures a reader compares two strategies by."""
    return {"gpus": gpus, "ttft_s": metrics["ttft_s"], "tpot_s": metrics["tpot_s"],
            "decode_tokens_per_s_per_gpu": metrics["decode_tokens_per_s"] / gpus,
            "throughput_tokens_per_s": metrics["throughput_tokens_per_s"], "memory_fraction": memory_fraction}


def _objective_text(objective: str, metrics: dict, gpus: int) -> str:
    """A strategy's figure under an objective, with its unit."""
    match objective:
        case "ttft":
            return f"TTFT {format_si(metrics['ttft_s'], Dimension.TIME)}"
        case "tpot":
            return f"TPOT {format_si(metrics['tpot_s'], Dimension.TIME)}"
        case "throughput":
            return f"{metrics['throughput_tokens_per_s']:,.1f} tokens/s end to end"
        case "min-gpus":
            return f"{gpus} GPU{'s' if gpus > 1 else ''}"
    return f"{metrics['decode_tokens_per_s'] / gpus:,.1f} tokens/s per GPU"


def _times(ratio: float) -> str:
    """A ratio of two figures, '1.85×': with two decimals, three below 1.1 (a strategy within 5 % of the
    best is optimal: 1.054× is not '1.05×'), more where three would still read as 1.050.

    Example:
        >>> _times(1.8512), _times(1.0536), _times(1.05004)
        ('1.85×', '1.054×', '1.05004×')
    """
    digits, edge = (2 if ratio >= 1.1 else 3), 1 + OPTIMAL_TOLERANCE
    while digits < 6 and ratio != edge and f"{ratio:.{digits}f}" == f"{edge:.{digits}f}":
        digits += 1
    return f"{ratio:.{digits}f}×"


def _gain(objective: str, best: Any, result: Any) -> str:
    """How much better the best candidate is than `result`, in the objective's own terms."""
    b, o, og = best.metrics, result.metrics, result.layout.gpus_used
    mine = o["decode_tokens_per_s"] / og
    theirs = b["decode_tokens_per_s"] / best.gpus
    match objective:
        case "ttft":
            return (f"has a {_times(o['ttft_s'] / b['ttft_s'])} shorter TTFT ({_objective_text('ttft', b, best.gpus)} "
                    f"vs {format_si(o['ttft_s'], Dimension.TIME)})")
        case "tpot":
            return (f"has a {_times(o['tpot_s'] / b['tpot_s'])} shorter TPOT ({_objective_text('tpot', b, best.gpus)} "
                    f"vs {format_si(o['tpot_s'], Dimension.TIME)})")
        case "throughput":
            return (f"gives {_times(b['throughput_tokens_per_s'] / o['throughput_tokens_per_s'])} the end-to-end "
                    f"throughput ({b['throughput_tokens_per_s']:,.1f} vs {o['throughput_tokens_per_s']:,.1f} tokens/s)")
        case "min-gpus":
            return (f"needs fewer GPUs ({best.gpus} vs {og}), decoding {theirs:,.1f} vs {mine:,.1f} tokens/s per "
                    f"GPU")
    return (f"gives {_times(theirs / mine)} the decode throughput per GPU ({theirs:,.1f} vs {mine:,.1f} tokens/s per "
            f"GPU)")

"""The optimal verdict: is the strategy within reach of the best the search found.

Input: a checked strategy's result and the search's result under the plan's objective.
Output: the optimal verdict (True, False, or None when it cannot be claimed) and its evidence,
the note a report prints; the `Objective` scores the search ranks by, and what each means.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..plan.plan import OBJECTIVE_MEANS, OBJECTIVES, Plan
from ..plan.printer import options_source, scope_source
from ..plan.workload import RequirementKind
from ..units import Dimension, count_text, format_figure, format_si
from .ledger import band_ratio, within_error_text
from .optimal_text import TOLERANCE, figures as _figures, gain as _gain, objective_text as _objective_text
from .under_load import not_simulated
from .verdict import RequirementResult, near_text, requirement_value

__all__ = ["Objective", "judge_optimal", "meets_words", "objective_picks_json", "OPTIMAL_TOLERANCE", "NOT_SEARCHED",
           "optimal_means"]

OPTIMAL_TOLERANCE = TOLERANCE   # within 5 % of the best is optimal
# the optimal verdict of a check without a search (`dagc.verdict.check.check` judges it only against one)
NOT_SEARCHED = "not judged: no strategy search was run (--no-search)"


def optimal_means(objective: str, source: str, name: str) -> str:
    """What an optimal verdict under `objective` (written `name`; from `source`, e.g. "the default")
    means, in words: what a report says above its verdicts."""
    return (f"{OBJECTIVE_MEANS[objective]} (objective {name}, {source}), subject to the plan's requirements; "
            f"within {OPTIMAL_TOLERANCE * 100:.0f} % of the best counts as optimal")


class Objective:
    """Objectives: a score, higher is better (of one candidate's figures, or elementwise of arrays of
    them: the search weighs many disaggregated pairs at once)."""

    NAMES = OBJECTIVES
    MEANS = OBJECTIVE_MEANS             # what each one's best is, in words

    @staticmethod
    def score(name: str, metrics: dict, gpus: int) -> float:
        match name:
            case "tokens-per-gpu":
                return metrics["decode_tokens_per_s"] / gpus
            case "min-gpus":
                # fewer GPUs first; among equals, more decode tokens/s per GPU
                return -gpus + np.minimum(0.999, metrics["decode_tokens_per_s"] / gpus / 1e9)   # arrays too
            case "ttft":
                return -metrics["ttft_s"]
            case "tpot":
                return -metrics["tpot_s"]
            case "throughput":
                return metrics["throughput_tokens_per_s"]
            case "cost":
                # GPU-seconds per token, negated: the price per GPU-hour scales it, never reorders (arrays too)
                return -gpus / metrics["throughput_tokens_per_s"]
        raise ValueError(f"unknown objective {name!r}; one of {', '.join(Objective.NAMES)}")


def objective_picks_json(picks: dict[str, Any]) -> dict[str, dict | None]:
    """What each objective's search picks (`dagc.search.search.objective_picks`), as report.json states it:
    per objective its best candidate's text, whether it meets the requirements, and its figures."""
    return {o: None if c is None else {"strategy": c.text, "meets_requirements": c.meets_requirements,
                                       "judged": _judged(c),
                                       "load_requirements_missed": list(getattr(c, "load_missed", ())),
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
        result: a `dagc.verdict.check.StrategyResult` (typed loosely: `check` comes after this stage).
        found: a `dagc.search.result.SearchResult` of the default objective (likewise).
        picks: what the search picks under each objective (`dagc.search.search.objective_picks`), recorded
            in the evidence as `by_objective`.
    """
    optimal, evidence = _judge_optimal(result, found, tolerance)
    if picks is not None:
        evidence["by_objective"] = objective_picks_json(picks)
    return optimal, evidence


def _judge_optimal(result: Any, found: Any, tolerance: float) -> tuple[bool | None, dict]:
    """`judge_optimal` less the picks: the comparison (`_compared`), then what it may claim of what was judged —
    never "no" against a best not simulated under the plan's traffic (a load requirement may rule it out),
    never "yes" for a strategy whose own requirements were not all judged."""
    best = found.best
    this = best is not None and _judged(best) != "all" and _is_this(best, result)
    if this and result.verdict.meets_requirements is True:     # this strategy's check judged the best: it meets
        best = _as_all(best)
        found = _with_best(found, best)
    optimal, evidence = _compared(result, found, tolerance)
    if best is None or not result.valid or result.metrics is None:
        return optimal, evidence
    if this and result.verdict.meets_requirements is not True:
        evidence["note"] = _self_note(result, found)
        return None, evidence
    if optimal is False and _judged(best) != "all":
        gain = _gain(found.objective, best, result)
        evidence["note"] = (f"not judged: `{best.text}` {gain}, but {_unsimulated(result, found)}"
                            + _caveats(found, "" if found.complete else " (the search stopped early)"))
        return None, evidence
    if optimal is True and result.verdict.meets_requirements is None:
        evidence["note"] = ("not judged: this strategy scores within the best the search found, but its own "
                            f"requirements are not all judged{_why_own_unjudged(result)}: optimal is subject to them")
        return None, evidence
    return optimal, evidence


def _is_this(best: Any, result: Any) -> bool:
    """Whether the search's candidate `best` is the checked strategy itself: its text with the execution
    options the check ran, at the batch (and drafted tokens) the check ran."""
    s = result.strategy
    if s is None:
        return False
    w = s.workload_for(result.plan.workload)
    mb = result.layout.microbatches if result.layout is not None else w.microbatches     # the count it ran
    if scope_source(s) + options_source(mb, w.overlap, s.redundant) != best.text:
        return False
    if best.batch is not None and best.batch != w.batch:
        return False
    tokens = getattr(best, "speculative_tokens", None)
    return tokens is None or (w.speculative is not None and w.speculative.tokens == tokens)


def _as_all(best: Any) -> Any:
    """A search candidate judged on every requirement (by the check of the same strategy, which meets them)."""
    from dataclasses import replace
    return replace(best, judged="all", meets_requirements=True)


def _with_best(found: Any, best: Any) -> Any:
    from dataclasses import replace
    return replace(found, ranked=(best, *found.ranked[1:]))


def _simulated(found: Any) -> int:
    """The search's candidates judged under the plan's traffic."""
    return sum(1 for c in getattr(found, "ranked", ()) if _judged(c) == "all")


def _load_skipped(result: Any) -> bool:
    """Whether the plan's traffic is simulated for no strategy: its run is past the load's work budget (W518)."""
    return not_simulated(result.plan) is not None


def _unsimulated(result: Any, found: Any) -> str:
    """Why the search's best was judged on the steady state alone, in words."""
    if _load_skipped(result):
        return ("neither it nor this strategy was simulated under the plan's traffic, which is past the load's work "
                "budget (W518): their load requirements are not judged")
    return (f"it was judged on the steady state alone: dagc simulated {_simulated(found)} of the search's best under "
            "the plan's traffic, not this one (`dagc check --strategy` judges its load requirements)")


def _why_own_unjudged(result: Any) -> str:
    if _load_skipped(result):
        return " (the plan's traffic is past the load's work budget, W518: the load requirements are not judged)"
    missing = ", ".join(f"`{q.requirement.text}`" for q in result.requirements if q.met is None)
    return f" ({missing})" if missing else ""


def _self_note(result: Any, found: Any) -> str:
    """The note when the search's best is this strategy, judged there on the steady state alone, and its check
    does not show it meets every requirement: the best that does is among candidates dagc did not simulate."""
    if result.verdict.meets_requirements is False:
        said = f"checked here it misses {_missed_text(result.requirements)}"
        rest = (f"dagc simulated {_simulated(found)} of the search's best under the plan's traffic, and the best that "
                "meets every requirement is among those it did not (`dagc check --strategy` judges each)")
    else:
        said = f"its own requirements are not all judged{_why_own_unjudged(result)}"
        rest = "nothing better is known"
    return (f"not judged: the search's best by {found.objective} is this strategy, judged there on the steady state "
            f"alone; {said}, and {rest}")


def _compared(result: Any, found: Any, tolerance: float) -> tuple[bool | None, dict]:
    after = f"the search stopped after {found.evaluated:,} of {found.total:,} candidates"
    how = f"{found.order}, {found.stop_reason()}"
    stopped = f"{after} ({how})"
    partial = _caveats(found, "" if found.complete else f" ({after}, {how})")
    best = found.best
    if best is None:
        if found.complete and getattr(result, "valid", False):
            # this strategy is legal, yet none of the search's: it lies outside the space the search tries
            return None, {"note": f"not judged: this strategy is legal, but none of the search's {found.total:,} "
                                  "candidates is (it lies outside the strategies the search tries, docs/search.md): "
                                  "there is nothing to compare it with", "evaluated": found.evaluated,
                          "total": found.total, "complete": True}
        if found.complete:
            return None, {"note": f"no legal strategy was found on this cluster (all {found.total:,} candidates "
                                  "evaluated)", "evaluated": found.evaluated, "total": found.total, "complete": True}
        return None, {"note": f"not judged: {stopped} before finding a legal strategy",
                      "evaluated": found.evaluated, "total": found.total, "complete": False}
    own = None
    if result.metrics is not None and result.gpus_used:
        own = Objective.score(found.objective, result.metrics, result.gpus_used)
    evidence: dict[str, object] = {"objective": found.objective, "best_strategy": best.text, "best_score": best.score,
                "best_gpus": best.gpus, "best_microbatches": best.microbatches, "best_overlap": best.overlap.value,
                "best_batch": best.batch,
                # `batch = max`: what one more request would break for the better strategy (as `batch_breaks`)
                "best_batch_breaks": best.binding if best.batch is not None else None,
                "best_meets_requirements": best.meets_requirements, "best_judged": _judged(best),
                "best_load_requirements_missed": list(getattr(best, "load_missed", ())), "own_score": own,
                "tolerance": tolerance,
                "evaluated": found.evaluated, "total": found.total, "complete": found.complete}
    own_meets = result.verdict.meets_requirements is not False
    best_gpus = f"{best.gpus} GPU{'s' if best.gpus > 1 else ''}"
    if own is None or not result.valid:
        said = meets_words(best, _load_skipped(result))
        evidence["note"] = f"`{best.text}` is a legal strategy that {said} on {best_gpus}" + partial
        return False, evidence
    evidence["best_figures"] = _figures(best.metrics, best.gpus, best.memory_fraction)
    evidence["own_figures"] = _figures(result.metrics, result.gpus_used,
                                       result.memory.worst.fraction if result.memory is not None else None)
    if best.meets_requirements and not own_meets:
        simulated = sum(1 for c in getattr(found, "ranked", ()) if _judged(c) == "all")
        return _only_best_meets(best, evidence, partial, simulated)
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
                            f"{found.objective} (`{best.text}`: {figure})" + partial)
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
    factor = evidence["factor"] = best.score / own if own > 0 else (own / best.score if best.score < 0 else math.inf)
    # the two figures' bands overlap: the search cannot tell them apart within dagc's error (docs/bands.md)
    ratio = evidence["error_band_ratio"] = band_ratio(result.plan, found.objective, result.pooled is not None)
    evidence["within_error"] = None if ratio is None else bool(factor <= ratio)
    where = "" if found.objective == "min-gpus" else f" on {best_gpus}"      # min-gpus names the GPUs already
    evidence["note"] = (f"`{best.text}` {_gain(found.objective, best, result)}{where}{_batch_text(best, result)}"
                        + (within_error_text(factor, ratio) if ratio is not None and factor <= ratio else "")
                        + _misses_too(best, result, own_meets, found.complete) + partial)
    return False, evidence


def _only_best_meets(best: Any, evidence: dict, partial: str, simulated: int) -> tuple[bool | None, dict]:
    """The verdict when the search's best meets the requirements and this strategy does not: not optimal,
    unless the best was judged on the steady state alone (it may miss a load requirement too: `simulated`
    candidates were judged under the traffic, and it was not among them)."""
    gpus = count_text(best.gpus, "GPU")
    if _judged(best) != "all":
        evidence["note"] = (f"not judged: `{best.text}` meets the steady-state requirements on {gpus} and this "
                            f"strategy does not meet every requirement, but dagc simulated {simulated} of the search's "
                            "best under the plan's traffic, not this one (`dagc check --strategy` judges its load "
                            "requirements)" + partial)
        return None, evidence
    m = best.metrics
    evidence["note"] = (f"`{best.text}` meets the requirements on {gpus} (TTFT "
                        f"{format_si(m['ttft_s'], Dimension.TIME)}, TPOT {format_si(m['tpot_s'], Dimension.TIME)}, "
                        f"{format_figure(m['decode_tokens_per_s'] / best.gpus)} tokens/s per GPU); this strategy "
                        "does not" + partial)
    return False, evidence


def _judged(best: Any) -> str:
    """What a search candidate's `meets_requirements` judged (`Candidate.judged`): "all" or "steady-state"."""
    return getattr(best, "judged", "all")


def meets_words(best: Any, skipped: bool = False) -> str:
    """Whether a search candidate meets the requirements, in words that say what was judged: "meets the
    requirements", "misses the requirements (under the plan's traffic, `tpot_p90 <= 30 ms`)", or "meets the
    steady-state requirements (…)" for one not simulated under the traffic (`dagc.search.under_traffic`);
    `skipped`: nothing was simulated, the traffic being past the load's work budget."""
    if not best.meets_requirements:
        missed = ", ".join(f"`{t}`" for t in getattr(best, "load_missed", ()))
        return "misses the requirements" + (f" (under the plan's traffic, {missed})" if missed else "")
    if _judged(best) != "all" and skipped:       # the plan's traffic past the load's work budget (W518)
        return "meets the steady-state requirements (the load requirements are not judged: W518)"
    if _judged(best) != "all":
        return ("meets the steady-state requirements (the load requirements are judged by `dagc check --strategy`: "
                "dagc simulated only the search's first candidates under the plan's traffic)")
    return "meets the requirements"


def _caveats(found: Any, partial: str) -> str:
    """What a note adds after `partial` (a partial search's words): estimated figures of the best, and a
    part of the space that a complete search still left out (`SearchResult.left_out`)."""
    best = found.best
    if best is not None and getattr(found, "rescore_cut", False) and not best.exact:
        partial += "; its figures are the search's estimate: the time budget left no time to re-score it"
    left_out = getattr(found, "left_out", None)
    return partial + (f"; the search left out {left_out}" if left_out else "")


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
            f"{_limited(best.binding, plan)} (this strategy: {plan.workload.batch:,} at "
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

"""The optimal verdict: is the strategy within reach of the best the search found.

Input: a checked strategy's result and the search's result under the plan's objective.
Output: the optimal verdict (True, False, or None when it cannot be claimed) and its evidence, an
`OptimalEvidence`: which comparison decided it (`Why`), the search's best by name with its figures, the
margin (`factor`), whether the two are within dagc's error, and what the search covered — data, never
sentences: the words are made where results are put into words (`dagc.export.optimal_words`, the CLI).
The objectives' scores are `dagc.plan.objective`'s.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TypeVar

from ..layout.layout import instance_gpus
from ..plan.objective import OBJECTIVES, StrategyFigures
from ..plan.printer import options_source, scope_source
from ..plan.workload import Requirement
from .carrying import requirements_missed
from .ledger import band_ratio
from .searched import Checked, Rejection, Searched, SearchedCandidate
from .steady import SteadyMetrics
from .under_load import not_simulated
from .verdict import RequirementResult, requirement_value

__all__ = ["BestCandidate", "ObjectivePick", "OptimalEvidence", "Why", "dominating", "figures", "judge_optimal",
           "judged_on", "picked", "OPTIMAL_TOLERANCE"]

OPTIMAL_TOLERANCE = 0.05   # within 5 % of the best is optimal
C = TypeVar("C", bound=SearchedCandidate)


@dataclass(frozen=True)
class ObjectivePick:
    """What one objective's search picks (report.json's `by_objective`): its best candidate's text, whether it
    meets the requirements and how they were judged, and its figures."""

    strategy: str
    meets_requirements: bool
    judged: str
    load_missed: tuple[str, ...]   # simulated under the traffic: the load requirements it misses, as written
    batch: int | None
    concurrency_effective: int | None      # in flight, the requests its KV cache runs at once (W520), else None
    figures: StrategyFigures


def figures(metrics: SteadyMetrics, gpus: int, memory_fraction: float | None) -> StrategyFigures:
    """The figures a reader compares two strategies by."""
    return {"gpus": gpus, "ttft_s": metrics.ttft_s, "tpot_s": metrics.tpot_s,
            "decode_tokens_per_s_per_gpu": metrics.decode_tokens_per_s / gpus,
            "throughput_tokens_per_s": metrics.throughput_tokens_per_s, "memory_fraction": memory_fraction}



class Why(Enum):
    """Which comparison decided the optimal verdict (its value in brackets)."""

    OUTSIDE_SPACE = "outside-space"          # (None) this strategy is legal, none of the search's candidates is
    NONE_LEGAL = "none-legal"                # (None) a complete search found no legal strategy on the cluster
    STOPPED_BEFORE_LEGAL = "stopped-before-legal"    # (None) a partial search stopped before a legal one
    BEST_IS_LEGAL = "best-is-legal"          # (False) this strategy is not legal or has no figures; the best is
    ONLY_BEST_MEETS = "only-best-meets"      # (False) the best meets every requirement, this one does not
    ONLY_BEST_MEETS_UNSIMULATED = "only-best-meets-unsimulated"   # (None) … the best judged on the steady state
    FEWER_MISSES = "fewer-misses"            # (False) the best misses fewer requirements
    NONE_BETTER_SO_FAR = "none-better-so-far"    # (None) nothing better among those a partial search evaluated
    WITHIN_TOLERANCE = "within-tolerance"    # (True) within `tolerance` of the best
    ONLY_OWN_MEETS = "only-own-meets"        # (True) the best misses a requirement this one meets; not within it
    FURTHER = "further"                      # (None) none meets every requirement; the better one is further
    BETTER = "better"                        # (False) the best scores better by `factor`
    BETTER_UNSIMULATED = "better-unsimulated"    # (None) a better one, judged on the steady state alone
    OWN_UNJUDGED = "own-unjudged"            # (None) within the best, but its own requirements are not all judged
    SELF_UNSIMULATED = "self-unsimulated"    # (None) the best is this strategy, judged there on the steady state
    # (None) the best is this strategy, judged there on its run without its capacity, which its check finds short
    SELF_SHORT = "self-short"
    # (None) an open loop's best met every requirement on its run, its capacity not bisected: the firsts the search
    # judged so fell short by theirs, and it judges no more (`dagc.search.verify`)
    BEST_UNVERIFIED = "best-unverified"


@dataclass(frozen=True)
class BestCandidate:
    """The search's best, as the evidence names it (`dagc.search.result.Candidate`'s figures)."""

    text: str
    score: float
    gpus: int
    microbatches: int
    overlap: str
    batch: int | None
    batch_breaks: str | None        # `batch = max`: what one more request would break for it
    meets_requirements: bool | None
    judged: str                     # "all" the requirements, or "steady-state" (`dagc.search.under_traffic`)
    load_missed: tuple[str, ...]    # simulated under the traffic: the load requirements it misses, as written
    misses: int                     # the requirements it misses
    exact: bool                     # re-scored by the full scheduler
    pooled: bool = False            # disaggregated: its pools' regime of dagc's errors (`dagc.verdict.ledger`)
    instance_gpus: tuple[int, ...] = ()     # the GPUs of each of its engine instances (`layout.instance_gpus`)
    # judged by a check in the search: what its requirements' odds rest on (`dagc.verdict.bands.OddsBasis`, which
    # imports `check`, and `check` this module: `searched_odds` weighs it)
    odds_basis: object | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class OptimalEvidence:
    """The evidence of an optimal verdict: `why` it is what it is, and the figures and names behind it.

    `by_objective` (report.json's `by_objective`, what each objective picks) is data already.
    `best_requirements`: each of the checked strategy's requirements judged on the best's figures (a load
    requirement on its run under the traffic, when the search simulated it), in the same order (when the two
    were compared); `further`: the requirements both miss that the search's best misses by more (`passed_over`:
    then `best` is another, better on every count). `stop_reason` and `left_out` are the search's own account of
    what it did not cover ('' and None for a complete search that covered its space).
    """

    why: Why
    evaluated: int
    total: int
    complete: bool
    order: str = ""
    stop_reason: str = ""
    left_out: str | None = None
    objective: str | None = None
    best: BestCandidate | None = None
    own_score: float | None = None
    tolerance: float = OPTIMAL_TOLERANCE
    best_figures: StrategyFigures | None = None
    own_figures: StrategyFigures | None = None
    factor: float | None = None
    error_band_ratio: float | None = None
    within_error: bool | None = None
    estimate: bool = False            # the best's figures are the search's estimate (the budget cut its re-scoring)
    simulated: int = 0                # the search's candidates judged under the plan's traffic
    load_skipped: bool = False        # the traffic is past the load's work budget (W518): simulated for none
    further: tuple[str, ...] = ()
    # `best` is not the search's best, which is further than this strategy from the lines `further`, but the best of
    # those below it better than this strategy on every count (`dominating`): the search's best, as text
    passed_over: str | None = None
    best_requirements: tuple[RequirementResult, ...] = field(default=())
    by_objective: dict[str, ObjectivePick | None] | None = None
    # a plan that names no engine, whose best the default engine cannot start (`dagc.search.startable`): the codes
    # `dagc launch` gives it, and the best candidate that engine starts (None: none the search kept), its figures,
    # and whether it is the strategy checked
    best_refused: tuple[str, ...] = ()
    startable: BestCandidate | None = None
    startable_figures: StrategyFigures | None = None
    startable_is_this: bool = False
    # the search ranked no candidate: the rules that rejected them, most candidates first (`Searched.rejected_by`)
    rejected_by: tuple[Rejection, ...] = ()


def picked(c: SearchedCandidate) -> ObjectivePick:
    """One objective's pick (`dagc.search.search.objective_picks`) as the evidence carries it."""
    return ObjectivePick(strategy=c.text, meets_requirements=c.meets_requirements, judged=c.judged,
                         load_missed=c.load_missed, batch=c.batch,
                         concurrency_effective=c.metrics.concurrency_effective,
                         figures=figures(c.metrics, c.gpus, c.memory_fraction))


def judge_optimal(result: Checked, found: Searched, tolerance: float = OPTIMAL_TOLERANCE,
                  picks: Mapping[str, SearchedCandidate | None] | None = None) -> tuple[bool | None, OptimalEvidence]:
    """The optimal verdict of a checked strategy against the search, under the search's objective.

    Returns (optimal, evidence): optimal is None when nothing could be compared — and when
    the search was partial and found nothing better: the candidates it did not evaluate may
    hold one, so "optimal" would be a claim it cannot make. A better strategy found by a
    partial search is still evidence of "not optimal".

    Args:
        result: a `dagc.verdict.check.StrategyResult` (`Checked`: `check` imports this module).
        found: a `dagc.search.result.SearchResult` of the default objective (`Searched`: a later stage).
        picks: what the search picks under each objective (`dagc.search.search.objective_picks`), recorded
            in the evidence as `by_objective`.
    """
    optimal, evidence = _judge_optimal(result, found, tolerance)
    if picks is not None:
        evidence = replace(evidence, by_objective={o: None if c is None else picked(c) for o, c in picks.items()})
    return optimal, evidence


def _judge_optimal(result: Checked, found: Searched, tolerance: float) -> tuple[bool | None, OptimalEvidence]:
    """`judge_optimal` less the picks: the comparison (`_compared`), then what it may claim of what was judged —
    never "no" against a best not simulated under the plan's traffic (a load requirement may rule it out),
    never "yes" for a strategy whose own requirements were not all judged."""
    best, ranked = found.best, found.ranked
    this = best is not None and best.judged != "all" and _is_this(best, result)
    if best is not None and this and result.verdict.meets_requirements is True:   # this strategy's check judged
        best = best.judged_meeting()                                                # the best: it meets
        ranked = (best, *ranked[1:])
    optimal, evidence = _compared(result, found, ranked, tolerance)
    if best is None or not result.valid or result.metrics is None:
        return optimal, evidence
    if this and result.verdict.meets_requirements is not True:
        return None, replace(evidence, why=Why.SELF_UNSIMULATED)
    if best.judged == "all" and result.verdict.meets_requirements is False and _is_this(best, result) \
            and (best.meets_requirements or evidence.why is Why.FEWER_MISSES):
        # the search's run met (or missed fewer); the check, its capacity bisected, finds it short: not another
        # strategy, nor "better" than itself (until 2026-11-30 Llama 4 Maverick's `tp 8 ; ep 8` read "`tp 8 ; ep 8
        # with microbatches 1 overlap none` misses fewer requirements (1 against 2)" of itself)
        return None, replace(evidence, why=Why.SELF_SHORT)
    if optimal is False and best.judged != "all":
        return None, replace(evidence, why=Why.BETTER_UNSIMULATED)
    if optimal is False and best.meets_requirements and not best.capacity_judged \
            and any(c.capacity_judged for c in ranked):
        # the search judged its firsts that met with their capacities, as this check judges it, and they fell short:
        # the best that met after them on its run alone is not known to meet as this check would judge it
        return None, replace(evidence, why=Why.BEST_UNVERIFIED)
    if optimal is True and result.verdict.meets_requirements is None:
        return None, replace(evidence, why=Why.OWN_UNJUDGED)
    return optimal, evidence


def _is_this(best: SearchedCandidate, result: Checked) -> bool:
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
    tokens = best.speculative_tokens
    return tokens is None or (w.speculative is not None and w.speculative.tokens == tokens)


def _best(best: SearchedCandidate) -> BestCandidate:
    return BestCandidate(text=best.text, score=best.score, gpus=best.gpus, microbatches=best.microbatches,
                         overlap=best.overlap.value, batch=best.batch,
                         batch_breaks=best.binding if best.batch is not None else None,
                         meets_requirements=best.meets_requirements, judged=best.judged,
                         load_missed=best.load_missed, misses=best.misses, exact=best.exact,
                         pooled=bool(best.strategy.pools), instance_gpus=instance_gpus(best.strategy),
                         odds_basis=best.odds_basis)


def _compared(result: Checked, found: Searched, ranked: tuple[SearchedCandidate, ...], tolerance: float
              ) -> tuple[bool | None, OptimalEvidence]:
    """The comparison of this strategy with the search's best, the first of `ranked` (the search's ranking, its
    best as this strategy's check judged it), before what was judged of either is weighed."""
    covered = OptimalEvidence(Why.BEST_IS_LEGAL, evaluated=found.evaluated, total=found.total, complete=found.complete,
                              order=found.order, stop_reason=found.stop_reason(), left_out=found.left_out)
    best = ranked[0] if ranked else None
    if best is None:
        covered = replace(covered, rejected_by=found.rejected_by)
        if found.complete and result.valid:
            # this strategy is legal, yet none of the search's: it lies outside the space the search tries
            return None, replace(covered, why=Why.OUTSIDE_SPACE)
        return None, replace(covered, why=Why.NONE_LEGAL if found.complete else Why.STOPPED_BEFORE_LEGAL)
    own = OBJECTIVES[found.objective].score_of(result.metrics, result.gpus_used) \
        if result.metrics is not None and result.gpus_used else None
    evidence = replace(covered, objective=found.objective, best=_best(best), own_score=own, tolerance=tolerance,
                       estimate=found.rescore_cut and not best.exact,
                       simulated=sum(1 for c in ranked if c.judged == "all"),
                       load_skipped=not_simulated(result.plan) is not None)
    evidence = _with_startable(evidence, best, found, result)
    if own is None or result.metrics is None or result.gpus_used is None or not result.valid:
        return False, evidence
    evidence = replace(evidence, best_figures=figures(best.metrics, best.gpus, best.memory_fraction),
                       own_figures=figures(result.metrics, result.gpus_used, result.memory_fraction),
                       best_requirements=_best_requirements(best, result))
    own_meets = result.verdict.meets_requirements is not False
    if best.meets_requirements and not own_meets:
        if best.judged != "all":
            return None, replace(evidence, why=Why.ONLY_BEST_MEETS_UNSIMULATED)
        return False, replace(evidence, why=Why.ONLY_BEST_MEETS)
    # counted as the search counts its candidates': one that does not carry its traffic misses every load line
    own_misses = requirements_missed((q for q in result.requirements if q.met is not None),
                                     None if result.load is None else result.load.carries_traffic)
    if 0 < best.misses < own_misses:
        return False, replace(evidence, why=Why.FEWER_MISSES)
    if best.meets_requirements is False and own_meets and (claim := _claiming(ranked, own, tolerance)) is not None:
        # the walk under the traffic ran out (`SearchResult.known_first`): the simulated, which missed, rank above a
        # better candidate that meets on the steady state alone — not "yes" beside it (until 2026-12-03 a 32-GPU
        # strategy was optimal by min-gpus beside a 24-GPU one its own check found meeting every requirement)
        return None, replace(_against(evidence, claim, result), why=Why.BETTER_UNSIMULATED)
    # a score is higher for the better: within `tolerance` of the best's is within it of the best's figure, for a
    within = own >= best.score - tolerance * abs(best.score)    # negative score (a latency, GPUs, …) as a positive
    if within or (best.meets_requirements is False and own_meets):
        if not found.complete:
            return None, replace(evidence, why=Why.NONE_BETTER_SO_FAR)
        return True, replace(evidence, why=Why.WITHIN_TOLERANCE if within else Why.ONLY_OWN_MEETS)
    further = _further(evidence.best_requirements, result) if best.meets_requirements is False and not own_meets \
        else ()
    if further:
        better = dominating(ranked, result, own, tolerance)
        if not better:
            return None, replace(evidence, why=Why.FURTHER, further=further)
        # another ranks below the best, but beats this strategy on every count: the verdict can say no
        passed_over, best = best.text, better[0]
        evidence = replace(_against(evidence, best, result), further=further, passed_over=passed_over)
    factor = best.score / own if own > 0 else (own / best.score if best.score < 0 else math.inf)
    # the two figures' bands overlap: the search cannot tell them apart within dagc's error (docs/bands.md)
    ratio = band_ratio(result.plan, found.objective, result.pooled is not None)
    return False, replace(evidence, why=Why.BETTER, factor=factor, error_band_ratio=ratio,
                          within_error=None if ratio is None else bool(factor <= ratio))


def _with_startable(evidence: OptimalEvidence, best: SearchedCandidate, found: Searched,
                    result: Checked) -> OptimalEvidence:
    """`evidence` with `best_refused` and the best candidate the default engine starts, when it cannot start the
    search's best (`Candidate.engine_refusals`, a plan that names no engine); as it is otherwise."""
    refused = tuple(best.engine_refusals)
    if not refused:
        return evidence
    c = next((c for c in found.ranked if not c.engine_refusals), None)
    if c is None:
        return replace(evidence, best_refused=refused)
    return replace(evidence, best_refused=refused, startable=_best(c), startable_is_this=_is_this(c, result),
                   startable_figures=figures(c.metrics, c.gpus, c.memory_fraction))


def _against(evidence: OptimalEvidence, c: SearchedCandidate, result: Checked) -> OptimalEvidence:
    """The evidence with `c`, a candidate below the search's best, in the best's place: its figures and requirements,
    exact, and none of what was said of the search's best (its engine's refusals, the best it can start)."""
    return replace(evidence, best=_best(c), best_figures=figures(c.metrics, c.gpus, c.memory_fraction),
                   best_requirements=_best_requirements(c, result), estimate=False, best_refused=(),
                   startable=None, startable_figures=None, startable_is_this=False)


def _claiming(ranked: Sequence[SearchedCandidate], own: float, tolerance: float) -> SearchedCandidate | None:
    """The best-ranked candidate judged on the steady state alone that meets every requirement there and scores
    better than this strategy (`own`) by more than `tolerance`; None when there is none."""
    return next((c for c in ranked if c.judged != "all" and c.meets_requirements
                 and own < c.score - tolerance * abs(c.score)), None)


def dominating(ranked: Sequence[C], result: Checked, own: float, tolerance: float, exact: bool = True) -> list[C]:
    """The search's candidates (below its best) that beat this strategy on every count, the best score first: past
    `tolerance` on the objective (`own` its score), each requirement met or, one this strategy misses too, missed
    by no more (by its relative margin); judged on every requirement, startable by the plan's engine and — `exact`
    — re-scored exactly, so that `check --strategy` gives the same figures (`dagc.drive.dominated` re-scores the
    search's estimates when a check's verdict is `Why.FURTHER`). Until 2026-11-30 the best alone was weighed, and a
    best further from a line both miss left the verdict "not judged" beside a strategy better on every count."""
    reqs = [q.requirement for q in result.requirements]
    out = [c for c in ranked[1:] if (c.exact or not exact) and c.judged == "all" and not c.engine_refusals
           and own < c.score - tolerance * abs(c.score)
           and all(map(_no_worse, result.requirements, judged_on(c, reqs)))]
    return sorted(out, key=lambda c: -c.score)


def _no_worse(own: RequirementResult, theirs: RequirementResult) -> bool:
    """Whether a candidate's result on a requirement is no worse than this strategy's: met, or missed by no more
    than this strategy misses it."""
    return theirs.met is True or (own.met is False and theirs.met is False and theirs.margin is not None
                                  and own.margin is not None and theirs.margin >= own.margin)


def _further(theirs_all: tuple[RequirementResult, ...], result: Checked) -> tuple[str, ...]:
    """The requirements this strategy misses that the better one by the objective misses by more (by
    its relative margin): of two strategies that both miss a line, the one further from it is no
    better, whatever its score."""
    return tuple(own.requirement.text for own, theirs in zip(result.requirements, theirs_all, strict=True)
                 if own.met is False and theirs.margin is not None and own.margin is not None
                 and theirs.margin < own.margin)


def _best_requirements(best: SearchedCandidate, result: Checked) -> tuple[RequirementResult, ...]:
    """Each of this strategy's requirements judged on the search candidate `best`'s figures (`judged_on`)."""
    return judged_on(best, [own.requirement for own in result.requirements])


def judged_on(c: SearchedCandidate, requirements: Sequence[Requirement]) -> tuple[RequirementResult, ...]:
    """Each of `requirements` judged on the search candidate `c`'s figures, as `check` judges them: a load
    requirement on the figure of its run under the plan's traffic (`load_figures`, None when it was not
    simulated), the others on its steady state, GPUs and memory."""
    load = dict(c.load_figures)
    return tuple(RequirementResult(q, load.get(q.name) if q.on_load else
                                   requirement_value(q, c.gpus, c.metrics, *_memory_judged(c, q)))
                 for q in requirements)


def _memory_judged(best: SearchedCandidate, q: Requirement) -> tuple[float | None, float | None]:
    """The memory figures requirement `q` is judged on of the search's candidate `best`, as `check` judges them
    (`MemoryFigures.judged`: `memory == X` in flight on the engine's share); its memory share alone when it carries
    no figures."""
    return (best.memory_fraction, None) if best.memory_figures is None else best.memory_figures.judged(q)

"""The search's results: `Candidate`, `SearchResult`, the ranking and the Pareto front.

Input: the candidates the search scored (`dagc.search.score.evaluate`). Output: the best `k` by
`rank_key` (`TopK`, memory bounded by 2·k) and the non-dominated ones (`ParetoFront`,
`pareto_front`), from which `dagc.search.search.search` makes a `SearchResult`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ..plan.objective import OBJECTIVES
from ..plan.printer import options_source, scope_source
from ..plan.strategy import Strategy
from ..plan.workload import Overlap
from ..verdict.steady import SteadyMetrics
from ..verdict.verdict import MemoryFigures

if TYPE_CHECKING:
    from ..verdict.bands import OddsBasis

__all__ = ["BatchProbes", "Candidate", "PooledSummary", "RejectedBy", "SearchResult", "option_text", "pareto_front",
           "search_order", "text_of", "MAX_SEARCH_CANDIDATES", "PARETO_MAX", "SKIPPED_SPLITS", "SKIPPED_RESCORE"]

MAX_SEARCH_CANDIDATES = 100_000  # candidates one search evaluates at most, the first generated (~1 min on one core)
PARETO_MAX = 1_000              # Pareto-front points kept (beyond: the best by decode tokens/s per GPU)
SKIPPED_SPLITS = "balanced pipeline splits"           # `SearchResult.skipped`: not tried (for all the best)
SKIPPED_RESCORE = "exact re-scoring of the best"      # `SearchResult.skipped`: the top are (partly) estimates


def search_order(objective: str, best_first: bool = False) -> str:
    """The order a search under `objective` visits its candidates in, in words: `best_first`, the
    strategies by the best their GPUs' and pipeline's bounds allow (`dagc.search.screen.Columns.best_first`); else
    the most GPUs first for an objective whose best strategies tend to use the most (`Objective.most_gpus_first`),
    so that the bar tightens early, the fewest first for the others."""
    if best_first:
        return "best bound first"
    return "most GPUs first" if OBJECTIVES[objective].most_gpus_first else "fewest GPUs first"


def option_text(strategy: str, microbatches: int, overlap: Overlap) -> str:
    """A strategy's printed scope (`dagc.plan.printer.scope_source`) with these execution options (SPEC 3.5),
    as the printer writes them: what `Candidate.text` is for a candidate of that scope.

    Example:
        >>> option_text("dp 2 < tp 4 ; ep 4 >", 1, Overlap.NONE)
        'dp 2 < tp 4 ; ep 4 > with microbatches 1 overlap none'
    """
    return strategy + options_source(microbatches, overlap)


_TEXTS: dict[tuple[int, int, Overlap], tuple[Strategy, str]] = {}   # `text_of`, by the strategy object's id
_TEXTS_MAX = 100_000


def text_of(strategy: Strategy, microbatches: int, overlap: Overlap) -> str:
    """`Candidate.text`, printed once per strategy object and options (a strategy is immutable; the search's
    ranking and its judging under traffic ask a candidate's text many times, through copies that share its
    strategy)."""
    key = (id(strategy), microbatches, overlap)
    hit = _TEXTS.get(key)
    if hit is not None and hit[0] is strategy:
        return hit[1]
    if len(_TEXTS) >= _TEXTS_MAX:
        _TEXTS.clear()
    text = scope_source(strategy) + options_source(microbatches, overlap, strategy.redundant)
    _TEXTS[key] = (strategy, text)
    return text


@dataclass(frozen=True)
class Candidate:
    strategy: Strategy
    microbatches: int
    overlap: Overlap
    gpus: int
    metrics: SteadyMetrics
    meets_requirements: bool
    score: float
    memory_fraction: float
    binding: str | None            # the requirement with the least margin
    exact: bool = False            # re-scored by the full scheduler
    batch: int | None = None       # the batch it runs when the batch varies (`batch = max`); None: the plan's
    misses: int = 0                # requirements it does not meet (0 when it meets them all)
    speculative_tokens: int | None = None   # the tokens drafted per step when they vary (`--vary speculative`)
    # what `meets_requirements` judged (`dagc.search.under_traffic`): "all" the requirements, or only the
    # "steady-state" ones (a candidate of a plan with load requirements that was not simulated under its traffic)
    judged: str = "all"
    load_missed: tuple[str, ...] = ()     # simulated under the traffic: the load requirements it misses, as written
    # simulated under the traffic: each load requirement's figure in that run, by its name (`tpot_p90`), SI — what
    # `meets_requirements` judged it on (the steady state's `metrics` are the candidate's batch all in flight)
    load_figures: tuple[tuple[str, float | None], ...] = ()
    # a plan that names no engine: the E7xx the default engine's launcher gives it (`dagc.search.startable`)
    engine_refusals: tuple[str, ...] = ()
    # not simulated: its steady state serves fewer requests a second than the plan's traffic sends, so it cannot
    # carry it (`dagc.search.under_traffic.traffic_floor`)
    short_of_traffic: bool = False
    # judged by a check: the requirements not judged on the load that it misses, by name (`memory`), beside
    # `load_missed` (`dagc.search.under_traffic.judgement`)
    others_missed: tuple[str, ...] = ()
    # `replicas` copies of a strategy of the search on the cluster's GPUs, each with the search's batch (`batch`
    # is theirs together): how `dagc search --rate` judges a strategy with fewer GPUs than the cluster
    # (`dagc.search.at_rate.replicas_of`)
    replicas: int = 1
    # its fullest GPU's memory as a memory requirement is judged on it (`dagc.verdict.verdict.MemoryFigures`: `memory
    # == X` in flight on the engine's share, as `check` judges it); of a disaggregated candidate, its fuller pool's
    memory_figures: MemoryFigures | None = None
    # judged by a check: what its requirements' odds within dagc's error rest on (`dagc.search.row_odds`)
    odds_basis: OddsBasis | None = field(default=None, compare=False, repr=False)
    # judged by a check with its capacity bisected, as `dagc check` judges it: an open loop's best
    # (`dagc.search.verify`)
    capacity_judged: bool = False

    @property
    def text(self) -> str:
        """The strategy with its execution options: what `--strategy` and a plan line accept back and
        evaluate to the same figures (SPEC 3.5)."""
        return text_of(self.strategy, self.microbatches, self.overlap)

    def judged_meeting(self) -> Candidate:
        """This candidate judged on all the requirements, meeting them (the check of the same strategy said so:
        `dagc.verdict.optimal`)."""
        return replace(self, judged="all", meets_requirements=True)


@dataclass(frozen=True, slots=True)
class BatchProbes:
    """With `batch = max` (`dagc.search.pooled_max`): the batches probed for the decode instances' largest, the
    decode instances left out past the cap on probes, and that cap."""

    probes: int
    left_out: int
    max_probes: int


@dataclass(frozen=True, slots=True)
class PooledSummary:
    """What weighing disaggregated candidates did (`dagc.search.pairs.PooledCounts.summary`): instances evaluated
    in each role, decode instances pruned by their floor (or bounds), pairs weighed, legal candidates among
    them, whether it ran to its end; with `batch = max`, its probes (`BatchProbes`)."""

    prefill_instances: int
    decode_instances: int
    pruned: int
    pairs: int
    legal: int
    complete: bool
    batch_max: BatchProbes | None = None

    @staticmethod
    def merged(summaries: Iterable[PooledSummary]) -> PooledSummary:
        """Several searches' summaries summed (`dagc.search.speculative`): complete when all are."""
        kept = list(summaries)
        probes = [s.batch_max for s in kept if s.batch_max is not None]
        return PooledSummary(
            prefill_instances=sum(s.prefill_instances for s in kept), decode_instances=sum(s.decode_instances
                                                                                          for s in kept),
            pruned=sum(s.pruned for s in kept), pairs=sum(s.pairs for s in kept), legal=sum(s.legal for s in kept),
            complete=all(s.complete for s in kept),
            batch_max=BatchProbes(sum(b.probes for b in probes), sum(b.left_out for b in probes),
                                  sum(b.max_probes for b in probes)) if probes else None)


@dataclass(frozen=True, slots=True)
class RejectedBy:
    """One rule's share of the candidates a search rejected (`dagc.search.rejections`): its `code`, how many
    `candidates` it rejected first (each is counted once, under the first error its check finds), the first of
    them the search met (`example`, text `--strategy` accepts) and, once that example is checked
    (`dagc.search.reasons.with_reasons`), the rule's `message` and `hint` for it (None before, or when the check of
    the example does not give that code)."""

    code: str
    candidates: int
    example: str
    message: str | None = None
    hint: str | None = None


@dataclass(frozen=True)
class SearchResult:
    objective: str
    evaluated: int
    legal: int
    seconds: float
    ranked: tuple[Candidate, ...]                 # the best (at most RANKED_KEEP), best first
    pareto: tuple[Candidate, ...] = field(default=())
    total: int = 0                                # candidates in the space (evaluated < total: stopped early)
    stopped: str | None = None                    # why it stopped early: "budget" or "cap"
    limit: int = MAX_SEARCH_CANDIDATES            # the cap on candidates evaluated
    pareto_complete: bool = True                  # False: the front was thinned to PARETO_MAX points
    skipped: tuple[str, ...] = ()                 # steps after the evaluation that the time budget cut short:
                                                  # SKIPPED_SPLITS, SKIPPED_RESCORE
    pruned: int = 0                               # of the evaluated: shown unable to enter the best or the front
                                                  # by their bounds (`dagc.search.bound`), not checked further
    splits: int = 0                               # of the evaluated: the best again with a cost-balanced split
    exact_top: int = 0                            # `ranked[:exact_top]` is the space's best, in order; beyond,
                                                  # only candidates that were evaluated in full
    pareto_kept: bool = True                      # False: no front was asked for (`search(…, front=False)`)
    best_first: bool = False                      # visited best bound first (`search_order`)
    disaggregated: PooledSummary | None = None    # in flight: what weighing pooled candidates did; None: not
                                                  # weighed
    left_out: str | None = None                   # what a complete search still left out of its space, in words
                                                  # (`PooledCounts.left_out_text`): the optimal verdict says it
    known_first: bool = False                     # the walk under the traffic ran out with its best not simulated:
                                                  # what is known ranks first (`dagc.search.under_traffic.known_key`)
    rejected_by: tuple[RejectedBy, ...] = ()      # the `rejected`, by the rule that rejects each, most first

    @property
    def complete(self) -> bool:
        return self.evaluated >= self.total and (self.disaggregated is None or self.disaggregated.complete)

    def stop_reason(self) -> str:
        """Why a partial search stopped, in words ('' when complete)."""
        if self.complete:
            return ""
        if self.stopped == "cap":
            return f"at its cap of {self.limit:,} candidates"
        return "when its time budget was spent"

    def shown(self, top: int | None = None) -> tuple[Candidate, ...]:
        """The best `top` of the ranking, by default its first `exact_top` (beyond: not the space's order)."""
        return self.ranked[:top if top is not None else (self.exact_top or None)]

    @property
    def best(self) -> Candidate | None:
        return self.ranked[0] if self.ranked else None

    @property
    def rescore_cut(self) -> bool:
        """Whether the time budget cut the exact re-scoring of the best (some are estimates)."""
        return SKIPPED_RESCORE in self.skipped

    @property
    def order(self) -> str:
        """The order the candidates were visited in (`search_order`): what a partial search covered."""
        return search_order(self.objective, self.best_first)

    def counts_text(self) -> str:
        """How the candidates examined ended, e.g. "13,201 strategies examined: 12,401 pruned by their
        bounds; of the other 800, 393 rejected by the rules, 407 legal" (`rejected`: the legal ones
        are counted among those not pruned, so the count depends on how much was pruned); a partial
        search says of how many and in what order ("454 of 33,827 strategies examined (the search
        stopped early, most GPUs first): …")."""
        rest = ", ".join(p for p in (f"{self.rejected:,} rejected by the rules" if self.rejected else "",
                                     f"{self.legal:,} legal") if p)
        if self.pruned:
            rest = f"{self.pruned:,} pruned by their bounds; of the other {self.evaluated - self.pruned:,}, {rest}"
        if self.complete:
            head = f"{self.evaluated:,} {'strategy' if self.evaluated == 1 else 'strategies'} examined"
            if self.splits:       # beyond the space, which is the same under every objective
                head += (f" ({self.evaluated - self.splits:,} of the search's space and {self.splits:,} of the best "
                         f"with a cost-balanced layer split)")
        else:
            head = f"{self.evaluated:,} of {self.total:,} strategies examined (the search stopped early, {self.order})"
        return f"{head}: {rest}" + self._pooled_text()

    def _pooled_text(self) -> str:
        """What weighing disaggregated candidates did, as a sentence (or '')."""
        d = self.disaggregated
        if d is None:
            return ""
        pruned = f" ({d.pruned:,} more pruned by their floors)" if d.pruned else ""
        cut = "; cut short by the time budget" if not d.complete else ""
        cut += f"; left out {self.left_out}" if self.left_out else ""
        if d.batch_max is not None:         # `batch = max`: each decode instance at its largest batch
            more = f"; {d.pruned:,} more pruned by their bounds" if d.pruned else ""
            pruned = f" at their largest batch ({d.batch_max.probes:,} batches probed{more})"
        return (f"; disaggregated: {d.prefill_instances:,} prefill and {d.decode_instances:,} decode instances "
                f"evaluated{pruned}, {d.pairs:,} pairs weighed, {d.legal:,} kept{cut}")

    @property
    def rejected(self) -> int:
        """Candidates examined that were neither pruned nor legal: a rule (memory among them) rejects
        them, or they were set aside for memory; `rejected_by` counts them by rule."""
        return self.evaluated - self.pruned - self.legal


# rank_key: requirements missed, −score (to SCORE_DIGITS), GPUs, then the tie-break: TTFT, TPOT, memory, then
# the names: text, micro-batches, overlap, tokens drafted (docs/search.md, "Ties")
RankKey = tuple[int, float, int, float, float, float, str, int, str, int]
RANK_HEAD = 3            # the rank key's head: what a candidate's bounds know (`dagc.search.bar.BestAtBounds`)
RANK_NAMES = 6           # where the names start in a rank key
# front_key: −decode tokens/s per GPU, TPOT (the axes), then the tie-break: TTFT, memory, then as the rank key:
# GPUs, text, micro-batches, overlap, drafted
FrontKey = tuple[float, float, float, float, int, str, int, str, int]
SCORE_DIGITS = 13        # significant digits of a score the ranking reads: scores equal to them tie (float noise)


def score_key(score: float) -> float:
    """A score as the ranking reads it: rounded to `SCORE_DIGITS` significant digits, so that two scores
    apart by float noise alone tie (monotone: a bound of a score stays a bound of it).

        >>> score_key(329.13144357912256) == score_key(329.1314435791226), score_key(329.1) < score_key(329.2)
        (True, True)
    """
    return float(f"{score:.{SCORE_DIGITS}g}")


def rank_key(c: Candidate) -> RankKey:
    """Fewest requirements missed first (all met before any missed; when no strategy can meet one,
    those that meet the rest come first), then the objective's score, then fewer GPUs; candidates
    tied on those come lower TTFT first, then lower TPOT, then less memory, then by name."""
    m = c.metrics
    return (c.misses, -score_key(c.score), c.gpus, float(m.ttft_s), float(m.tpot_s), c.memory_fraction,
            c.text, c.microbatches, c.overlap.value, c.speculative_tokens or 0)


class TopK:
    """The best `k` candidates by `rank_key`, in memory bounded by 2·k."""

    def __init__(self, k: int):
        self.k = k
        self.items: list[Candidate] = []

    def add(self, c: Candidate) -> None:
        self.items.append(c)
        if len(self.items) >= 2 * self.k:
            self._trim()

    def _trim(self) -> None:
        self.items.sort(key=rank_key)
        del self.items[self.k:]

    def ranked(self) -> list[Candidate]:
        self._trim()
        return list(self.items)


def front_key(c: Candidate) -> FrontKey:
    """A candidate's place on the front: its figures (the axes, to `SCORE_DIGITS` as a score: float noise
    ties), then, among candidates with the same figures, its TTFT and memory, then fewer GPUs first (as in
    the ranking), then its name. TTFT and memory to `SCORE_DIGITS` too: a point and its row, figures apart by float
    noise alone, are one point (until 2026-12-03 `--vary speculative` printed a row's point as an estimate beside it,
    its TTFT 1e-15 apart)."""
    m = c.metrics
    return (-score_key(m.decode_tokens_per_s_per_gpu), score_key(m.tpot_s), score_key(float(m.ttft_s)),
            score_key(c.memory_fraction), c.gpus, c.text, c.microbatches, c.overlap.value, c.speculative_tokens or 0)


def _beats(f: FrontKey, c: FrontKey) -> bool:
    """Front keys: f dominates c — no worse on both axes and better on one; or the same on both axes, no
    worse on TTFT and memory, and first (better on one of them, or fewer GPUs, or an earlier name). A strict
    order: the front does not depend on the order of arrival (docs/search.md, "Ties")."""
    if not (f[0] <= c[0] and f[1] <= c[1]):
        return False
    return f[0] < c[0] or f[1] < c[1] or (f[2] <= c[2] and f[3] <= c[3] and f < c)


class ParetoFront:
    """The Pareto front (more decode tokens/s per GPU, less TPOT: the trade-off pareto.svg draws; TTFT
    enters through the requirements, which every point meets, and among points equal on both axes, with
    memory: one no worse on both dominates), kept incrementally.

    A point joins unless a point of the front beats it, and evicts the points it beats; the
    result does not depend on the order of arrival. Beyond `cap` points the front keeps the
    `cap` with the most decode tokens/s per GPU and says so (`complete`).
    """

    def __init__(self, cap: int | None = PARETO_MAX):
        self.cap = cap
        self.points: list[tuple[FrontKey, Candidate]] = []
        self.complete = True

    def add(self, c: Candidate) -> None:
        k = front_key(c)
        if any(_beats(f, k) for f, _ in self.points):
            return
        self.points = [(f, x) for f, x in self.points if not _beats(k, f)]
        self.points.append((k, c))
        if self.cap is not None and len(self.points) > self.cap:
            self.points.sort(key=lambda p: p[0])
            del self.points[self.cap:]
            self.complete = False

    def result(self) -> tuple[Candidate, ...]:
        return tuple(c for _, c in sorted(self.points, key=lambda p: p[0]))


def pareto_front(cands: Iterable[Candidate]) -> tuple[Candidate, ...]:
    """Non-dominated candidates among those that meet the requirements: more decode tokens/s per
    GPU, less TPOT."""
    front = ParetoFront(cap=None)
    for c in cands:
        if c.meets_requirements:
            front.add(c)
    return front.result()

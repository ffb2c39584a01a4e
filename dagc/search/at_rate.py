"""`dagc search --rate R`: the search's best strategies ranked again by goodput per GPU at an arrival rate.

Input: a `Plan`, its `SearchResult` and an arrival rate. Output: `RankedAtRate` — the candidates the search found
best on its steady-state figures (its ranking's first `RATE_CANDIDATES`, with every point of its Pareto front over
TTFT, TPOT and tokens/s per GPU, and the best of each fewer GPU count: `_fewer_gpus`), each checked as `dagc check
--strategy TEXT --set 'workload.rate=R requests/s'` checks it (`dagc.search.under_traffic.check_candidate`: the
plan's traffic arriving at `rate` simulated through it — a disaggregated one through its pools — without the
capacity bisection; without traffic, `REQUESTS_DEFAULT` poisson arrivals from seed 0), ranked those meeting every
requirement and keeping up first, then those keeping up, then the overloaded, each by goodput per GPU — requests per
second served within every latency requirement, per GPU — best first, ties to the lower p99 TTFT; runs of one tier
whose goodputs per GPU lie within 1 % of one another (`GOODPUT_TIE`: the runs' noise) by their headroom instead, the
least margin of their load requirements, the most first. Keeping up is carrying the traffic
(`UnderLoad.carries_traffic`: not overloaded, nor behind by its cap or its capacity). Each row carries that check's
figures and verdict: whether it meets every requirement at `rate`, the load's judged on its own run. The steady
state picks which strategies are worth simulating; the simulation ranks them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..lang.traffic import REQUESTS_DEFAULT
from ..plan.plan import SHOWN_DEFAULT, Plan, shown_percentiles
from ..plan.printer import copies
from ..plan.workload import Traffic
from ..verdict.bands import Odds, bands_of
from ..verdict.under_load import UnderLoad, load_events
from ..verdict.verdict import RequirementResult
from .pool import calls_ahead
from .result import Candidate, SearchResult
from .under_traffic import check_candidate, judgement
from .verify import RATE_VERIFIED, verify_first

if TYPE_CHECKING:
    from ..verdict.check import StrategyResult

__all__ = ["RATE_CANDIDATES", "SHOWN_DEFAULT", "AtRate", "RankedAtRate", "plan_at_rate", "rank_at_rate",
           "rate_work_events", "replica_counts", "replicas_of", "shown_percentiles", "with_capacity"]

RATE_CANDIDATES = 32      # of the search's ranking, simulated at the rate (beside its Pareto front)
# goodputs per GPU this close (relative) to the best of their group are one within the runs' noise: ranked by headroom
GOODPUT_TIE = 0.01
# load requirements' margins this close (absolute, as shares of their targets) are one within the runs' noise: the
# next-least margin decides (a TPOT p90 of 27.88 against 27.91 ms under 40 ms, with a TTFT p99 of 1.02 s against 485 ms)
MARGIN_TIE = 0.01


@dataclass(frozen=True)
class AtRate:
    """One candidate under the load: its run (without the capacity, not bisected), and its goodput per GPU."""

    candidate: Candidate
    load: UnderLoad
    goodput_per_gpu: float
    # the least margin of its load requirements in the run (0.1: 10 % better than the target; None: none has one)
    headroom: float | None = None
    margins: tuple[float, ...] = ()   # every load requirement's margin in the run, least first (`headroom` the first)
    capacity_judged: bool = False     # judged as `dagc check` judges it, its capacity bisected (`_verified`)
    # its requirements judged at the rate and their odds within dagc's error, as `dagc check` gives them
    # (`dagc.verdict.bands.bands_of` of the same check), in the plan's order
    requirements: tuple[RequirementResult, ...] = ()
    odds: tuple[Odds, ...] = ()
    # its goodput's band within dagc's error (report.json's `bands["load.goodput_requests_per_s"]` of the same
    # check: low, high), None when the check gives none
    goodput_band: tuple[float, float] | None = None


@dataclass(frozen=True)
class RankedAtRate:
    """The candidates simulated at `rate`, best goodput per GPU first; `skipped`: how many of the search's
    were not simulated (one that `dagc check` rejects at the rate's workload, such as a disaggregated candidate
    whose pools do not check without errors)."""

    rate: float
    traffic: Traffic
    ranked: tuple[AtRate, ...]
    skipped: int = 0
    percentiles: tuple[int, int] = SHOWN_DEFAULT      # the TTFT and TPOT percentiles shown (`shown_percentiles`)
    beyond: int = 0     # candidates not simulated: their goodput per GPU cannot reach the rows shown (`_out_of_reach`)
    budget_stopped: bool = False    # the time budget stopped the search before it found a legal strategy


def _pool(found: SearchResult) -> list[Candidate]:
    """The ranking's first `RATE_CANDIDATES`, the Pareto front, and the best of each GPU count up to the first's that
    neither holds (`_fewer_gpus`), each once, in that order."""
    seen: set[str] = set()
    out = []
    for c in (*found.ranked[:RATE_CANDIDATES], *found.pareto):
        if c.text not in seen:
            seen.add(c.text)
            out.append(c)
    return out + _fewer_gpus(found, out)


def _fewer_gpus(found: SearchResult, pool: list[Candidate]) -> list[Candidate]:
    """The best-ranked candidate of each GPU count at most the ranking's first's that `pool` holds none of: a
    strategy on fewer GPUs has the higher ceiling of goodput per GPU at a rate (R over its GPUs), and its steady state,
    at the plan's whole batch, can rank it far down — seed 003's 10B MoE at 2 requests/s: `tp 2 ; ep 2` on 2 GPUs,
    34th by tokens per GPU behind 33 pairs of pools on 6 to 12, meets every requirement with 0.95 requests/s per GPU,
    and until 2026-11-30 was never simulated: the conclusion was a pair on 6 GPUs at 0.33."""
    if not found.ranked:
        return []
    ceiling, held = found.ranked[0].gpus, {c.gpus for c in pool}
    best: dict[int, Candidate] = {}
    for c in found.ranked:
        if c.gpus <= ceiling and c.gpus not in held:
            best.setdefault(c.gpus, c)
    return [best[g] for g in sorted(best)]


def rate_work_events(plan: Plan, found: SearchResult) -> int:
    """The engine events `rank_at_rate` would take at most (`dagc.verdict.load_size.load_events`): each
    candidate it simulates, a run of the traffic's requests; compared with `Plan.load_budget_events`
    before it starts."""
    requests = (plan.workload.traffic or Traffic(requests=REQUESTS_DEFAULT)).requests
    pool = _pool(found)         # each candidate, and again as replicas where the cluster holds more than one copy
    return load_events(plan, requests) * (len(pool) + sum(min(REPLICA_TRIES, plan.cluster.gpus // c.gpus - 1)
                                                          for c in pool if plan.cluster.gpus // c.gpus > 1))


def rank_at_rate(plan: Plan, found: SearchResult, rate: float,
                 progress: Callable[[int, int], None] | None = None, shown: int | None = None,
                 jobs: int = 1) -> RankedAtRate:
    """The search's best candidates ranked by goodput per GPU at `rate` requests/s (module docstring). With
    `shown`, the rows a reader is shown (`dagc search --rate`'s `--top`), a candidate whose goodput per GPU
    cannot reach them is not simulated (`_out_of_reach`): the first `shown` rows are those of ranking every
    candidate, and `RankedAtRate.beyond` counts the candidates left out; None simulates every one. With `jobs`
    above 1 the candidates' checks at the rate run ahead in that many worker processes (`calls_ahead`), taken in
    the same order: the same rows, sooner on as many cores."""
    trial = plan_at_rate(plan, rate)
    traffic = trial.workload.traffic
    assert traffic is not None
    runs = _Runs(trial, found.objective, rate, shown, jobs)
    beyond = runs.simulate(_pool(found), progress)
    ranked = _verified(trial, runs.ranking(), found.objective)
    if runs.left and not _out_of_reach(ranked, runs.left, rate, shown):
        return rank_at_rate(plan, found, rate, progress, jobs=jobs)   # a verified row fell short: every one run
    if progress is not None:
        progress(1, 1)
    return RankedAtRate(rate, traffic, ranked, runs.skipped, shown_percentiles(plan), beyond=beyond,
                        budget_stopped=not found.ranked and not found.complete and found.stopped == "budget")


def plan_at_rate(plan: Plan, rate: float) -> Plan:
    """The plan under its traffic at `rate` requests/s, as `dagc search --rate` runs its candidates: its own traffic's
    requests and lengths at that rate, or `REQUESTS_DEFAULT` requests where it has none."""
    traffic = (plan.workload.traffic or Traffic(requests=REQUESTS_DEFAULT)).at_rate(rate)
    return plan.model_copy(update={"workload": plan.workload.model_copy(update={"traffic": traffic})})


class _Runs:
    """The runs of `rank_at_rate`: each candidate checked at the rate and, when it falls short on its own GPUs,
    as replicas of it (`replica_counts`), each remembered at its place among them all (the pool's order, then
    the replicas in their candidates' order: ties keep it); with `shown`, the candidates fewest GPUs first and
    those whose goodput per GPU cannot reach the rows shown (`_out_of_reach`) left in `left`."""

    def __init__(self, trial: Plan, objective: str, rate: float, shown: int | None, jobs: int = 1) -> None:
        self.trial, self.objective, self.rate, self.shown, self.jobs = trial, objective, rate, shown, jobs
        self.runs: list[tuple[tuple[int, int, int], AtRate]] = []
        self.left: list[Candidate] = []
        self.skipped = 0

    def ranking(self) -> tuple[AtRate, ...]:
        return _ranked([a for _, a in sorted(self.runs, key=lambda run: run[0])])

    def simulate(self, pool: list[Candidate], progress: Callable[[int, int], None] | None) -> int:
        """Each of `pool` run at the rate, then the replicas of those falling short; how many of `pool` were left
        out of reach."""
        order = sorted(range(len(pool)), key=lambda i: pool[i].gpus) if self.shown is not None else range(len(pool))
        short: list[tuple[int, AtRate]] = []
        calls = ((self.trial, pool[i], self.objective) for i in order)
        with closing(calls_ahead(_checked, calls, self.jobs)) as checks:
            for done, (i, checked) in enumerate(zip(order, checks, strict=True)):
                if progress is not None:
                    progress(done, len(pool))
                if self._beyond(pool[i]):
                    self._replicas(short)       # their rows may raise the reach; the rest, fewer GPUs none, cannot
                    short = []
                    if self._beyond(pool[i]):
                        self.left += [pool[j] for j in order[done:]]
                        return len(pool) - done
                if self._known(pool[i]) is not None:       # run already as replicas of a strategy on fewer GPUs
                    continue
                if (a := checked()) is None:
                    self.skipped += 1
                    continue
                self.runs.append(((0, i, 0), a))
                if _tier(a) != 0:
                    short.append((i, a))
        self._replicas(short)
        return 0

    def _replicas(self, short: list[tuple[int, AtRate]]) -> None:
        """The runs of `short`, which fall short on their GPUs, judged again as replicas (`replica_counts`), up to
        the fewest that carry the rate."""
        for i, a in short:
            for k in replica_counts(self.trial, a, self.rate):
                copies_of = replicas_of(self.trial, a.candidate, k)
                if copies_of is None:       # more copies than the cluster holds: `replica_counts` gives none such
                    continue
                if self._beyond(copies_of):
                    self.left.append(copies_of)
                    break               # more replicas, more GPUs: as far out of reach
                known = self._known(copies_of)
                if known is not None:   # the search's own candidate of that text and batch: its run, not a twin
                    if _tier(known) == 0:
                        break
                    continue
                again = _checked(self.trial, copies_of, self.objective)
                if again is not None:
                    self.runs.append(((1, i, k), again))
                    if _tier(again) == 0:
                        break       # the fewest replicas that carry the rate: the most goodput per GPU of them

    def _known(self, c: Candidate) -> AtRate | None:
        """The run of `c`'s deployment when one was simulated already: the same text, batch and drafted tokens —
        `dp 2 < tp 1 >` at 744 requests is the search's own candidate (`batch = max`: each replica's largest batch,
        twice) and the replicas of `tp 1` at 372 alike. Until 2026-11-30 both were simulated and the table showed
        the same row twice, figure for figure."""
        key = (c.text, c.batch, c.speculative_tokens)
        return next((a for _, a in self.runs
                     if (a.candidate.text, a.candidate.batch, a.candidate.speculative_tokens) == key), None)

    def _beyond(self, c: Candidate) -> bool:
        return self.shown is not None and _out_of_reach(self.ranking(), [c], self.rate, self.shown)


def _out_of_reach(ranked: tuple[AtRate, ...], left: list[Candidate], rate: float, shown: int | None) -> bool:
    """Whether no candidate of `left` can enter the first `shown` rows of `ranked`, nor be verified before them
    (`_verified`): a candidate serves at most the rate, so its goodput per GPU is at most `rate / GPUs`, and the
    first `shown` rows meeting every requirement and keeping up each have a goodput per GPU more than that
    bound by the runs' noise twice over (`GOODPUT_TIE`: a run within it of a row may be ranked by margins
    before it; a row verified before them lies within it of their first)."""
    if shown is None or not left:
        return False
    firsts = [a for a in ranked if _tier(a) == 0][:shown]
    if len(firsts) < shown:
        return False
    reach = max(rate / c.gpus for c in left)
    return min(a.goodput_per_gpu for a in firsts) * (1 - GOODPUT_TIE) ** 2 > reach


REPLICA_TRIES = 3      # replica counts a strategy falling short on its own GPUs is simulated at, at most


def replica_counts(plan: Plan, a: AtRate, rate: float) -> list[int]:
    """The replica counts a candidate that falls short at `rate` on its own GPUs (`a`) is judged at, fewest first:
    the fewest whose copies each serve what `a` served (`ceil(rate / served)`, at least 2) and the next, then the
    most the cluster holds — `REPLICA_TRIES` at most. Fewer replicas carrying the rate have more goodput per GPU
    (the cluster's other GPUs idle); the most is what the cluster can do. Empty: the cluster holds one copy only.

    Example:
        >>> from types import SimpleNamespace as N
        >>> plan = N(cluster=N(gpus=8))
        >>> one = N(candidate=N(gpus=1, replicas=1), load=N(figures=N(served_requests_per_s=5.0)))
        >>> replica_counts(plan, one, 12.0), replica_counts(plan, one, 39.0), replica_counts(plan, one, 100.0)
        ([3, 4, 8], [8], [8])
    """
    most = plan.cluster.gpus // a.candidate.gpus
    if most < 2 or a.candidate.replicas > 1:
        return []
    served = a.load.figures.served_requests_per_s
    fewest = min(most, max(2, math.ceil(rate / served - 1e-9))) if served > 0 else most
    return sorted({*range(fewest, min(fewest + REPLICA_TRIES - 1, most)), most})


def replicas_of(plan: Plan, c: Candidate, k: int | None = None) -> Candidate | None:
    """Candidate `c` as `k` replicas of it — by default the most the cluster holds, `plan.cluster.gpus // c.gpus`
    (`dagc.plan.printer.copies`: `dp k < … >`, or k times each pool's instances), each with `c`'s batch —
    the plan's, or the search's varied one — so that theirs together is k times it (`--set workload.batch`), as an
    engine added behind a load balancer brings its own cap; None when the cluster holds one copy only."""
    k = plan.cluster.gpus // c.gpus if k is None else k
    if k < 2 or c.replicas > 1 or k * c.gpus > plan.cluster.gpus:
        return None
    batch = c.batch if c.batch is not None else plan.workload.batch
    return replace(c, strategy=copies(c.strategy, k), gpus=c.gpus * k, batch=batch * k, replicas=k,
                   exact=False)


def _checked(trial: Plan, c: Candidate, objective: str) -> AtRate | None:
    """Candidate `c` checked at the rate as `dagc check --strategy TEXT --set workload.rate=R` checks it, without its
    capacity; None when the check rejects it or runs no load (a worker process's call: `calls_ahead`)."""
    r = check_candidate(trial, c)
    return None if isinstance(r, str) or r.load is None else _at_rate(r, c, objective)


def _at_rate(r: StrategyResult, c: Candidate, objective: str) -> AtRate:
    """Candidate `c` as its check `r` at the rate judged it, with its goodput per GPU and headroom."""
    assert r.load is not None, "a candidate at a rate ran its traffic"
    margins = sorted(q.margin for q in r.requirements if q.requirement.on_load and q.margin is not None)
    banded = bands_of(r)
    goodput = banded.figures.get("load.goodput_requests_per_s")
    return AtRate(judgement(r, c).of(c, objective), r.load, r.load.figures.goodput_requests_per_s / c.gpus,
                  margins[0] if margins else None, tuple(margins), requirements=r.requirements,
                  odds=banded.requirements, goodput_band=None if goodput is None else (goodput.low, goodput.high))


def with_capacity(trial: Plan, a: AtRate, objective: str) -> AtRate | None:
    """Run `a` judged again as `dagc check` judges it on `trial` (the plan at the rate), its capacity bisected:
    a run that keeps up but whose capacity lies below the rate does not carry it (`_tier` 2); `a` itself when
    already so judged, None when the check rejects it or runs no load."""
    if a.capacity_judged:
        return a
    r = check_candidate(trial, a.candidate, with_capacity=True)
    if isinstance(r, str) or r.load is None:
        return None
    return replace(_at_rate(r, a.candidate, objective), capacity_judged=True)


def _verified(trial: Plan, ranked: tuple[AtRate, ...], objective: str) -> tuple[AtRate, ...]:
    """The ranking with its first that meets every requirement and keeps up judged as `dagc check` judges it —
    its capacity bisected, which a run that keeps up but lies above its capacity does not carry — and, while
    that one does not hold, the next, `RATE_VERIFIED` at most (`dagc.search.verify`, as the plain search's walk under
    open-loop traffic judges its best): the conclusion is then the check's own (a run of 600 requests at 8.5
    requests/s kept up where the capacity's trials gave 7.9, and `check` said BEHIND)."""
    for _ in range(RATE_VERIFIED):
        out, judged = verify_first(ranked, lambda a: _tier(a) == 0, lambda a: a.capacity_judged,
                                   lambda a: with_capacity(trial, a, objective), _ranked, lambda a: _tier(a) == 1)
        ranked = tuple(out)
        if judged is None or _tier(judged) < 2:      # it holds its tier: those below it stay below
            break
    return ranked


def _ranked(runs: Sequence[AtRate]) -> tuple[AtRate, ...]:
    """The runs in their places (`_rank`), the runs of one tier whose goodput per GPU lies within `GOODPUT_TIE`
    of the first of their group taken by their margins (`_by_margins`) (then as `_rank` had them): their
    goodputs differ by the run's noise, their margins under the requirements do not."""
    runs = sorted(runs, key=_rank)
    out: list[AtRate] = []
    while runs:
        first = runs[0]
        n = 1
        while n < len(runs) and _tier(runs[n]) == _tier(first) \
                and runs[n].goodput_per_gpu >= first.goodput_per_gpu * (1 - GOODPUT_TIE):
            n += 1
        group, runs = runs[:n], runs[n:]
        out += _by_margins(group)
    return tuple(out)


def _by_margins(runs: list[AtRate], k: int = 0) -> list[AtRate]:
    """`runs` by their `k`-th least margin, the most first (none last); runs within `MARGIN_TIE` of the first of
    their group by their next-least margin, and so on, else as they came.

    Example:
        >>> a, b = (AtRate(None, None, 1.0, m[0], m) for m in ((0.303, 0.795), (0.302, 0.903)))   # type: ignore
        >>> [r.margins for r in _by_margins([a, b])]        # the least margins tie: the TTFT p99's decides
        [(0.302, 0.903), (0.303, 0.795)]
    """
    def margin(a: AtRate) -> float:
        ms = a.margins or ((a.headroom,) if a.headroom is not None else ())     # a run given its headroom alone
        return ms[k] if k < len(ms) else -math.inf

    runs = sorted(runs, key=lambda a: -margin(a))
    out: list[AtRate] = []
    while runs:
        top = margin(runs[0])
        n = 1
        while n < len(runs) and math.isfinite(top) and margin(runs[n]) >= top - MARGIN_TIE:
            n += 1
        group, runs = runs[:n], runs[n:]
        out += _by_margins(group, k + 1) if n > 1 and math.isfinite(top) else group
    return out


def _tier(a: AtRate) -> int:
    """Meeting every requirement and keeping up (0), keeping up (1), or not (2)."""
    up = a.load.carries_traffic
    return 0 if up and a.candidate.meets_requirements else 1 if up else 2


def _rank(a: AtRate) -> tuple[int, float, float]:
    """A run's place: meeting every requirement and keeping up, then keeping up, then overloaded (`_tier`), each
    by goodput per GPU, best first, then the lower p99 TTFT — so that the table's first is the conclusion's."""
    return _tier(a), -a.goodput_per_gpu, a.load.figures.ttft_s.p99 or 0.0


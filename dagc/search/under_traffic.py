"""One notion of "meets": the search's best candidates judged again under the plan's traffic.

Input: a `Plan` whose requirements include some judged on the simulated load (`Requirement.on_load`: a
percentile such as `ttft_p99`, `e2e`, `itl`, goodput) and a `SearchResult` of it, which judges each
candidate on the steady state alone. Output: the `SearchResult` with its first candidates judged as
`dagc check --strategy` judges their text — by `check_strategy` itself: the plan's traffic simulated through
each, without the capacity bisection, which no requirement reads — and ranked again (`rank_key`): a
candidate that misses a load requirement falls below those that miss fewer, and says which it misses
(`Candidate.load_missed`). A candidate judged carries its check's figures too (`exact`; scored under the
search's objective), unless the check chose another batch (`batch = max`).

The walk is lazy and bounded: it judges the highest-ranked candidate not yet judged among the first `need`
(the rows a table prints, the best a verdict compares), ranks again, and stops when those `need` are all
judged or `JUDGE_LIMIT` candidates have been simulated — fewer when their runs together would pass the plan's
load work budget (`Plan.load_budget_events`: none past it, as `dagc check` emits W518). Past `JUDGE_LIMIT` it
goes on for the best alone while the best is not judged, up to `BEST_LIMIT` times as many: when the best
candidates all miss under the traffic (eight GPUs of a plan whose traffic needs sixteen), the one that rises
to the top is simulated too, not named best on its steady state. In an open loop (`capacity_decides`) the first
that meets every requirement on its run is then judged as `dagc check` judges it, its capacity bisected, and while
it falls short — a run that keeps pace above its capacity does not carry the traffic — the next, `VERIFIED` at
most, as `dagc search --rate` does (`_Walk.verify`, `dagc.search.verify`); the walk goes on for the rows that need
it, so that the best it names is one its check says meets every requirement. Every candidate it did
not simulate keeps its steady-state verdict and says so (`judged = "steady-state"`). When the walk for the
best alone runs out with its best still not simulated, the ranking is by what is known: every candidate
simulated first (those that meet, then by the requirements missed), then those judged on the steady state
alone. The Pareto front is made again over the candidates as judged (`pareto_front`: the ranking's and the old
front's), so that a point found to miss a load requirement leaves it and one it dominated may join it; its points not
simulated say so too.
The judgments (`Judgement`: whether a candidate meets each requirement, not its score) are kept for the last
plan judged (`_Memo`) by what they depend on — the candidate's text, batch and drafted tokens — so the
searches under each objective (`objective_picks`) share the simulations and score each candidate by their own
objective. A walk applies only the judgments of the candidates it visits (each counted against its limits,
simulated or found kept), so what it concludes is what it would conclude in a process of its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from ..diagnostics import PlanError
from ..lang.load import parse_strategy
from ..plan.objective import objective as objective_of
from ..plan.plan import Plan
from ..plan.workload import Requirement
from ..verdict.bands import OddsBasis
from ..verdict.carrying import REACHES, CapacityMode, requirements_missed
from ..verdict.check import StrategyResult, check_strategy
from ..verdict.steady import SteadyMetrics
from ..verdict.under_load import carries_traffic, load_events, not_simulated
from ..verdict.verdict import MemoryFigures, fuller
from .floor import ALL, STEADY, floored, traffic_floor, traffic_misses
from .result import Candidate, RankKey, SearchResult, front_key, pareto_front, rank_key
from .score import binding_of
from .verify import VERIFIED, verify_first

__all__ = ["ALL", "STEADY", "JUDGE_LIMIT", "BEST_LIMIT", "Judgement", "capacity_decides", "check_candidate",
           "judge_under_traffic", "judgement", "judged_best", "judged_under_traffic", "known_key", "load_requirements",
           "ranking_key", "steady_claim", "steady_only_text", "traffic_floor", "unsimulated_text"]

JUDGE_LIMIT = 10          # candidates of one ranking simulated under the traffic at most (a second each, or so)
SCORE_RTOL = 1e-9        # a judged candidate's exact score this close to the search's is the search's (a tie kept)
BEST_LIMIT = 3            # × JUDGE_LIMIT: how far the walk goes on while its best is not judged (the best alone)

Key = tuple[str, int | None, int | None]
Floor = tuple[float | None, int]     # the traffic's floor (`traffic_floor`) and what short of it misses


def judged_under_traffic(plan: Plan) -> bool:
    """Whether the plan's candidates are judged under its traffic: whenever it has traffic — its load
    requirements, and with or without them whether the deployment carries the traffic
    (`dagc.verdict.under_load.not_carried_because`), which the steady state cannot tell."""
    return plan.workload.traffic is not None


def capacity_decides(plan: Plan) -> bool:
    """Whether `dagc check` may judge the plan's deployments short of their traffic by their capacity, which its
    run without the bisection does not show: an open loop (a rate, or a request log's own times) — a closed loop has
    no arrival rate to fall below (`dagc.verdict.carrying.not_carried_because`)."""
    traffic = plan.workload.traffic
    return traffic is not None and traffic.concurrency is None


def load_requirements(plan: Plan) -> tuple[Requirement, ...]:
    """The plan's requirements judged on the simulated load, which the search's steady state cannot judge."""
    return tuple(r for r in plan.requirements if r.on_load)


def unsimulated_text(plan: Plan) -> str | None:
    """Why no candidate of the plan can be simulated under its traffic, in words: its run is past the load's
    work budget (as `dagc check` says in W518); None when a run fits."""
    traffic, budget = plan.workload.traffic, plan.load_budget_events
    if traffic is None or budget is None or not_simulated(plan) is None:
        return None
    return (f"{traffic.requests:,} requests would take about {load_events(plan, traffic.requests):,} engine events, "
            f"past the load's work budget of {budget:,}")


def steady_claim(plan: Plan) -> str:
    """What a candidate not simulated under the traffic claims: to meet the plan's steady-state requirements — or,
    when every requirement is judged on the load, nothing (saying it meets the steady-state ones would be vacuous).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> text = ('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } workload { batch = 8 '
        ...         'prompt = 512 generate = 64 rate = 1 requests/s } require { ttft_p99 <= 2 s } strategy tp 8')
        >>> steady_claim(load_plan_text(text))
        'is not simulated under the traffic (the plan has no steady-state requirement to meet)'
    """
    if all(r.on_load for r in plan.requirements) and plan.requirements:
        return "is not simulated under the traffic (the plan has no steady-state requirement to meet)"
    return "meets the steady-state requirements"


def steady_only_text(plan: Plan) -> str:
    """What a candidate that was not simulated under the traffic has been judged on, in words."""
    names = ", ".join(f"`{r.text}`" for r in load_requirements(plan))
    what = (f"the load requirements ({names}) are" if names else "whether it carries the plan's traffic is")
    if unsimulated_text(plan) is not None:       # check does not judge them either
        return (f"{steady_claim(plan)}; {what} not judged: the plan's traffic is past the load's "
                "work budget (W518), for `dagc check --strategy` too")
    return f"{steady_claim(plan)}; {what} judged by `dagc check --strategy`"


@dataclass(frozen=True)
class Judgement:
    """A candidate's judgement on every requirement (`dagc check --strategy` of its text): what does not
    depend on the objective the candidate is scored under."""

    meets: bool
    misses: int
    load_missed: tuple[str, ...]
    binding: str | None
    load_figures: tuple[tuple[str, float | None], ...] = ()     # each load requirement's figure in the run
    others_missed: tuple[str, ...] = ()      # the requirements not judged on the load that it misses, by name
    # the check's exact figures (report.json's `metrics`) and memory used, when it ran the candidate's batch
    metrics: SteadyMetrics | None = None
    memory: MemoryFigures | None = None      # its fullest GPU's (`_memory`)
    # what its requirements' odds within dagc's error rest on (`dagc.verdict.bands.checked_odds`), weighed only for
    # the rows a search prints
    odds_basis: OddsBasis | None = field(default=None, compare=False, repr=False)
    capacity: bool = False      # its check bisected its capacity (`_Walk.verify`)

    def of(self, c: Candidate, objective: str | None = None) -> Candidate:
        """`c` with this judgement; with `objective`, with the check's exact figures too, scored under it."""
        c = replace(c, meets_requirements=self.meets, judged=ALL, load_missed=self.load_missed,
                    misses=self.misses, binding=self.binding, load_figures=self.load_figures, short_of_traffic=False,
                    others_missed=self.others_missed, odds_basis=self.odds_basis, capacity_judged=self.capacity)
        if objective is None or self.metrics is None or self.memory is None:
            return c
        metrics = self.metrics.like(c.metrics)
        score = objective_of(objective).score_of(metrics, c.gpus)
        # the check's figures and the search's may differ in their last bits: a tie stays the search's tie
        score = c.score if math.isclose(score, c.score, rel_tol=SCORE_RTOL) else score
        return replace(c, metrics=metrics, memory_fraction=self.memory.fraction, memory_figures=self.memory, exact=True,
                       score=score)


REJECTED, UNPARSED = "rejected", "unparsed"      # a candidate `check` rejects; one whose text does not parse back


class _Memo:
    """The judgments of the last plan judged, by what they depend on: the candidate's text, batch and drafted
    tokens (`Key`) — never its score, which is its objective's; those of a check with its capacity bisected apart
    (`verified`)."""

    def __init__(self) -> None:
        self.plan: Plan | None = None
        self.judged: dict[Key, Judgement | str] = {}
        self.verified: dict[Key, Judgement | str] = {}

    def of(self, plan: Plan) -> _Memo:
        if self.plan is not plan:
            self.plan, self.judged, self.verified = plan, {}, {}
        return self


_MEMO = _Memo()


def _key(c: Candidate) -> Key:
    return c.text, c.batch, c.speculative_tokens


def judge_under_traffic(plan: Plan, found: SearchResult, need: int, limit: int = JUDGE_LIMIT,
                        progress: Callable[[int, int], None] | None = None,
                        best_limit: int | None = None) -> SearchResult:
    """`found` with its first `need` candidates judged under the plan's traffic (module docstring); as it is
    when the plan has no traffic. `progress(done, total)` follows the candidates simulated; `best_limit`, how
    many the walk simulates at most while its best is not judged (None: `BEST_LIMIT` × `limit`, within the
    load's work budget)."""
    traffic = plan.workload.traffic
    if traffic is None or not judged_under_traffic(plan):
        return found
    budget, events = plan.load_budget_events, load_events(plan, traffic.requests)
    if budget is not None:          # the candidates' runs together within one run's work budget (W518)
        limit = min(limit, budget // max(events, 1))
    best_limit = _best_limit(limit, budget, events) if best_limit is None else max(limit, best_limit)
    walk = _Walk(plan, found, limit, best_limit)
    verify = capacity_decides(plan)     # an open loop's best judged with its capacity, as `dagc check` judges it
    while (c := walk.next(need)) is not None or (verify and walk.verify()):
        if c is None:
            continue
        if progress is not None:
            progress(walk.spent, max(limit, walk.spent + 1))
        walk.judge(c)
        walk.spent += 1
        walk.ranked = walk.rank(walk.ranked)        # each copy of its text too
    if progress is not None:
        progress(max(limit, walk.spent), max(limit, walk.spent))
    ranked = list(walk.ranked)
    if best_limit > limit and walk.spent >= best_limit and ranked and ranked[0].judged != ALL:
        # the walk went on for the best alone and ran out, each best it simulated sinking below the next: the
        # steady state's claims do not hold for this plan, so rank by what is known — each candidate simulated, and
        # each short of the traffic (known to miss every load line: `traffic_misses`), above those judged on the
        # steady state alone, whose claim nobody checked
        ranked.sort(key=known_key)
        found = replace(found, known_first=True)
    kept = tuple(ranked)
    front = _front(walk.seen, found, walk.floor) if found.pareto_kept else found.pareto
    return replace(found, ranked=kept, pareto=front, exact_top=min(found.exact_top, len(kept)))


class _Walk:
    """One walk of `judge_under_traffic`: its ranking as judged so far, the candidates it simulated (`spent`) and
    judged with their capacity (`verified`), and the judgments of those it visited (`seen`), from the plan's memo
    when an earlier walk made them (each visit counts against the limits all the same): what the walk concludes is
    what it would in a process of its own, whatever was judged before it."""

    def __init__(self, plan: Plan, found: SearchResult, limit: int, best_limit: int) -> None:
        self.plan, self.objective, self.limit, self.best_limit = plan, found.objective, limit, best_limit
        self.memo, self.floor = _MEMO.of(plan), (traffic_floor(plan), traffic_misses(plan))
        self.seen: dict[Key, Judgement | str] = {}
        self.spent = self.verified = 0
        self.ranked: Sequence[Candidate] = self.rank(found.ranked)

    def rank(self, cands: Iterable[Candidate]) -> list[Candidate]:
        return _ranked(_known(self.seen, c, self.objective, self.floor) for c in cands)

    def next(self, need: int) -> Candidate | None:
        """The next candidate to simulate: the highest-ranked of the first `need` not yet judged; past `limit`, the
        best alone, when it claims to meet — the pick a verdict compares with is one the traffic was simulated
        through (a candidate short of the traffic's rate is known to miss: `_known`); None when none is left."""
        if self.spent >= self.best_limit:
            return None
        past = self.spent >= self.limit
        return next((c for c in self.ranked[:1 if past else need]
                     if c.judged != ALL and not (past and c.short_of_traffic) and _key(c) not in self.seen), None)

    def judge(self, c: Candidate, with_capacity: bool = False) -> Candidate | None:
        """`c` judged as `dagc check --strategy` judges it (its capacity bisected: `with_capacity`), that judgment
        kept for every copy of its text; None when check rejects it."""
        memo = self.memo.verified if with_capacity else self.memo.judged
        if _key(c) not in memo:
            memo[_key(c)] = _judged(self.plan, c, with_capacity)
        self.seen[_key(c)] = memo[_key(c)]
        return _known(self.seen, c, self.objective, self.floor)

    def verify(self) -> bool:
        """The best that meets every requirement on its run judged again with its capacity bisected, as `dagc check`
        judges it (`dagc.search.verify`: `VERIFIED` at most, as `dagc search --rate` does); whether one was."""
        if self.verified >= VERIFIED:
            return False
        self.ranked, judged = verify_first(self.ranked, lambda c: c.meets_requirements,
                                           lambda c: c.judged != ALL or c.capacity_judged,
                                           lambda c: self.judge(c, with_capacity=True), self.rank)
        self.verified += judged is not None
        return judged is not None


def known_key(c: Candidate) -> tuple[bool, RankKey]:
    """The rank key of a walk that ran out with its best not simulated (`SearchResult.known_first`): what is known
    first — each candidate simulated, and each short of the traffic (known to miss every load line:
    `traffic_misses`) —, then those judged on the steady state alone, each part by `rank_key`."""
    return c.judged != ALL and not c.short_of_traffic, rank_key(c)


def ranking_key(found: SearchResult) -> Callable[[Candidate], tuple[bool, RankKey] | RankKey]:
    """The key `found` is ranked by, for whatever ranks it again (`dagc.search.shown`): `known_key` when its walk
    ran out (`SearchResult.known_first`), else `rank_key`."""
    return known_key if found.known_first else rank_key


def _best_limit(limit: int, budget: int | None, events: int) -> int:
    """How many candidates the walk simulates at most while its best is not yet judged: `BEST_LIMIT` times
    `limit`, within the load's work budget (the runs together within one run's, as `limit` is).

    Example:
        >>> _best_limit(10, None, 5_000), _best_limit(10, 100_000, 5_000), _best_limit(3, 100_000, 50_000)
        (30, 20, 3)
    """
    most = limit * BEST_LIMIT
    return max(limit, min(most, budget // max(events, 1))) if budget is not None else most


def _front(memo: dict[Key, Judgement | str], found: SearchResult, floor: Floor) -> tuple[Candidate, ...]:
    """The Pareto front made again over the ranking's candidates and the old front's, each as judged (a point
    simulated and found missing leaves it; one it dominated may join)."""
    pool = {front_key(c): c for c in (_known(memo, x, found.objective, floor) for x in (*found.ranked, *found.pareto))
            if c is not None}
    return pareto_front(pool.values())


def _ranked(cands: Iterable[Candidate | None]) -> list[Candidate]:
    """The candidates (None: rejected by check) best first (`rank_key`)."""
    return sorted((c for c in cands if c is not None), key=rank_key)


def judged_best(plan: Plan, found: SearchResult) -> Candidate | None:
    """The best candidate of `found` judged on every requirement (`judge_under_traffic` with `need` 1)."""
    return judge_under_traffic(plan, found, 1).best


def _known(memo: dict[Key, Judgement | str], c: Candidate, objective: str | None = None,
           floor: Floor = (None, 1)) -> Candidate | None:
    """The candidate as judged under the traffic when it was (its own score kept), else as the search judged
    it: on the steady state alone — it meets the requirements when it misses none of the steady state's (the
    search's fast check cannot value a load requirement, which it does not count as missed) and serves the
    traffic's `floor` of decode tokens a second (`traffic_floor`, and what falling short of it misses:
    `traffic_misses`): one whose steady state serves fewer cannot carry the traffic, and counts every load
    requirement missed, at least one (`short_of_traffic`), not simulated."""
    j = memo.get(_key(c))
    if isinstance(j, Judgement):
        return j.of(c, objective)
    if j == REJECTED:
        return None
    if c.short_of_traffic:          # counted short when it was scored (`dagc.search.floor`): its miss counted once
        return c
    short = floored(c, *floor)
    return short if short is not c else replace(c, judged=STEADY, meets_requirements=c.misses == 0)


def _judged(plan: Plan, c: Candidate, with_capacity: bool = False) -> Judgement | str:
    """The candidate judged as `dagc check --strategy` judges its text (its capacity bisected: `with_capacity`, as far
    as whether it reaches the rate, `REACHES`): REJECTED when check rejects it; UNPARSED (judged as the search judged
    it, on the steady state) when its text does not parse back."""
    r = check_candidate(plan, c, REACHES if with_capacity else False)
    if isinstance(r, str):
        return r
    j = judgement(r, c)
    if not with_capacity and capacity_decides(plan) and r.load is not None and r.load.carries_traffic \
            and r.load.figures.misses.latencies:
        # its run misses a percentile at the rate: its capacity, which never contradicts its run (the highest rate at
        # which they hold), lies below it, and its check counts every load line missed (`requirements_missed`) —
        # as the rows judged with their capacities are; until 2026-12-03 such a row counted the lines its run
        # missed and ranked above a row found past its capacity by its bisection, whose run met every line
        j = replace(j, misses=requirements_missed(r.requirements, False),
                    binding=binding_of(r.requirements, r.plan.workload, False))
    return replace(j, capacity=with_capacity)


def check_candidate(plan: Plan, c: Candidate, with_capacity: CapacityMode = False) -> StrategyResult | str:
    """`dagc check --strategy` of the candidate's text on `plan` (its traffic simulated, without the capacity
    bisection unless `with_capacity`; replicas, `Candidate.replicas`, at their batch): REJECTED when check
    rejects it, UNPARSED when its text does not parse back."""
    try:
        decl = parse_strategy(c.text)
    except PlanError:
        return UNPARSED
    trial = plan
    if c.replicas > 1 and c.batch is not None:     # replicas: each the batch it was searched with, theirs together
        trial = plan.model_copy(update={"workload": plan.workload.model_copy(update={"batch": c.batch,
                                                                                    "batch_max": False})})
    spec = plan.workload.speculative
    if c.speculative_tokens is not None and spec is not None:        # `--vary speculative`: its own count
        trial = trial.model_copy(update={"workload": trial.workload.model_copy(
            update={"speculative": spec.model_copy(update={"tokens": c.speculative_tokens})})})
    r = check_strategy(trial, decl, with_capacity=with_capacity)
    if not r.valid or r.metrics is None:
        return REJECTED
    return r


def judgement(r: StrategyResult, c: Candidate) -> Judgement:
    """The verdict of candidate `c`'s check, which judged every requirement and whether it carries the traffic
    (one that does not counts every load requirement missed, at least one: `requirements_missed`), with the
    check's figures when it ran `c`'s batch (a `batch = max` check chooses its own)."""
    missed = tuple(q.requirement.text for q in r.requirements if q.requirement.on_load and q.met is not True)
    same = c.batch is None or r.plan.workload.batch == c.batch
    # a deployment that cannot carry its traffic misses every load requirement, at least one, whatever its run's
    # own percentiles — as a candidate short of the traffic's floor counts it unsimulated (`traffic_misses`)
    misses = requirements_missed(r.requirements, carries_traffic(r.load))
    return Judgement(meets=r.verdict.meets_requirements is True, load_missed=missed, misses=misses,
                     binding=binding_of(r.requirements, r.plan.workload, carries_traffic(r.load)),
                     load_figures=tuple((q.requirement.name, q.value) for q in r.requirements if q.requirement.on_load),
                     others_missed=tuple(q.requirement.name for q in r.requirements
                                         if not q.requirement.on_load and q.met is not True),
                     metrics=r.metrics if same and r.metrics is not None and r.metrics.has_all_of(c.metrics) else None,
                     memory=_memory(r) if same else None, odds_basis=OddsBasis.of(r))


def _memory(r: StrategyResult) -> MemoryFigures | None:
    """The memory of the checked strategy's fullest GPU, as its memory requirements are judged on it (of its fuller
    pool, disaggregated)."""
    if r.pooled is not None:
        return fuller(MemoryFigures.of(p.analysis.memory) for p in r.pooled.pools if p.analysis.memory is not None)
    return MemoryFigures.of(r.memory) if r.memory is not None else None

"""The fleet's ranking: the clusters whose pick meets every requirement, cheapest per million tokens first.

Input: the fleet, its points and each point's answer (`dagc.fleet.cluster.answer_cluster`, a `StoredAnswer`).
Output: `FleetResult` — its `FleetRow`s, the clusters meeting every requirement (the load's percentiles included;
with traffic mixes, under every mix) ranked by what renting the cluster costs a million tokens — every GPU it rents
charged, idle or not (`rented_cost`) — in money when every GPU type has a price, else in GPU-hours; then by the cost
on the GPUs its pick uses; then by the objective's score (higher first, as `dagc search` ranks); then by the
cluster's rent per hour (the smaller cluster that holds the same pick first); then by the sweep's order. The others
follow in the sweep's order, each with what it misses. With mixes, a cluster's cost is the mean of its mixes'
weighted by their weights (their shares of the tokens served), and its pick shown is the heaviest mix's; each mix's
answer is in its row's `mixes`. report.json's `fleet` is `dagc.export.fleet_json.fleet_json`;
`dagc.export.fleet_words` puts them into words.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..lang.fleet_ir import Fleet, FleetPoint
from .stored import StoredAnswer

__all__ = ["COSTS", "FleetResult", "FleetRow", "MixAnswer", "answer_cost", "cost_band", "rank_fleet",
           "rented_cost"]

COSTS = ("per_million_tokens", "gpu_hours_per_million_tokens")


def answer_cost(answer: StoredAnswer, figure: str = COSTS[0]) -> float | None:
    """An answer's cost per million tokens on the GPUs its pick uses: `figure` names it (money, or GPU-hours)."""
    return answer.per_million_tokens if figure == COSTS[0] else answer.gpu_hours_per_million_tokens


def _rented(answer: StoredAnswer, figure: str) -> float | None:
    """An answer's cost with every GPU its cluster rents charged (`rented_cost`)."""
    cost = answer_cost(answer, figure)
    used = None if answer.pick is None else answer.pick.gpus
    gpus = answer.cluster.gpus
    return cost if cost is None or not gpus or not used else cost * gpus / used


@dataclass(frozen=True)
class MixAnswer:
    """One traffic mix's answer on a cluster: the mix, its weight, the `--set` options of its plan, its rate."""

    mix: str
    weight: float
    options: tuple[str, ...]
    rate_requests_per_s: float | None
    answer: StoredAnswer


@dataclass(frozen=True)
class FleetRow:
    """One cluster's row: its place in the sweep (`index`), `label`, `options` (the `--set` options that make the
    plan this cluster's; with mixes, the cluster's own), the rate, its answer — with mixes, the mixes' answers
    combined (`_mixed`): the heaviest mix's cluster, pick, instances and rent, the costs weighted, what the first mix
    that misses misses — and each cost with every GPU it rents charged (`rented`, by `COSTS`). The best's capacity
    at the traffic (`capacity_judged`: bisected, `FleetResult.with_best_capacity`)."""

    index: int
    label: str
    options: tuple[str, ...]
    rate_requests_per_s: float | None
    answer: StoredAnswer
    rented: tuple[float | None, float | None]
    mixes: tuple[MixAnswer, ...] = ()
    capacity_requests_per_s: float | None = None
    capacity_judged: bool = False

    def cost(self, figure: str = COSTS[0]) -> float | None:
        """The cost per million tokens on the GPUs its pick uses (with mixes, weighted)."""
        return answer_cost(self.answer, figure)

    @property
    def heaviest(self) -> MixAnswer | None:
        """With mixes, the first of the heaviest; else None."""
        return max(self.mixes, key=lambda m: m.weight) if self.mixes else None


@dataclass(frozen=True)
class FleetResult:
    """The fleet's answers, ranked (module docstring)."""

    by: str                              # "money" or "gpu-hours": what ranks the clusters
    ranked: tuple[FleetRow, ...]         # meeting every requirement, best first
    missed: tuple[FleetRow, ...]         # the others (failed ones included), in the sweep's order
    objective: str
    mixes: tuple[str, ...] = ()
    # how many times its low end the high end of a cost's 80 % band is (`dagc.verdict.ledger.band_ratio` of the
    # plan's regime, throughput's errors): clusters whose cost lies within it of the best's are indistinguishable
    error_band_ratio: float | None = None
    # the ranked rows whose pick runs engine instances outside the runs of the plan's calibration, in one line
    # (`dagc.fleet.calibrated.outside_calibration`); None without a calibration or when none does
    outside_calibration: str | None = None

    @property
    def rates(self) -> list[float]:
        """The arrival rates the clusters were searched at, each once."""
        return sorted({rate for rows in (self.ranked, self.missed) for r in rows
                       for rate in ([m.rate_requests_per_s for m in r.mixes] or [r.rate_requests_per_s])
                       if rate is not None})

    @property
    def meeting_text(self) -> str:
        """`3 of 8 clusters meet every requirement`; of one cluster, `1 of 1 cluster meets` or `the only cluster does
        not meet` (until 2026-11-30 `0 of 1 cluster meet`)."""
        n = len(self.ranked) + len(self.missed)
        if n == 1 and not self.ranked:
            return "the only cluster does not meet every requirement"
        verb = "meets" if len(self.ranked) == 1 else "meet"
        return f"{len(self.ranked)} of {n} cluster{'' if n == 1 else 's'} {verb} every requirement"

    @property
    def best(self) -> FleetRow | None:
        return self.ranked[0] if self.ranked else None

    def with_best_capacity(self, capacity_requests_per_s: float | None) -> FleetResult:
        """This result, its best's capacity at the traffic bisected (`dagc.fleet.cluster.pick_capacity`)."""
        if not self.ranked:
            return self
        best = replace(self.ranked[0], capacity_requests_per_s=capacity_requests_per_s, capacity_judged=True)
        return replace(self, ranked=(best, *self.ranked[1:]))

    @property
    def within_error(self) -> tuple[FleetRow, ...]:
        """The runners-up whose cost band overlaps the best's, so that dagc cannot tell them from it within its error
        (docs/bands.md) — each cost's band from its pick's goodput band (`cost_band`: a cost is the rent over the
        goodput's tokens, and a pick that carries its rate has the rate for goodput whatever dagc's error), or where
        a row has none, the cost within `error_band_ratio` of the best's — not those holding the pick of a cluster
        ranked above them (the best's: `same_pick`), whose figures are that one's and which only rent more GPUs."""
        best, ratio = self.best, self.error_band_ratio
        figure = COSTS[0] if self.by == "money" else COSTS[1]
        top = None if best is None else rented_cost(best, figure)
        if not top:
            return ()
        top_band = cost_band(best, figure) if best is not None else None

        def overlaps(r: FleetRow) -> bool:
            band = cost_band(r, figure)
            if band is not None and top_band is not None:
                return band[0] <= top_band[1]
            return ratio is not None and (rented_cost(r, figure) or 0.0) / top <= ratio

        # a cluster holding the pick of a cluster ranked above it (the best's: `same_pick`) is that pick on more GPUs
        keys = [_pick_key(r) for r in self.ranked]
        return tuple(r for k, r in enumerate(self.ranked[1:], 1) if overlaps(r)
                     and (keys[k] is None or keys[k] not in keys[:k]))

    @property
    def same_pick(self) -> tuple[FleetRow, ...]:
        """The runners-up whose pick is the best's — the same strategy on the same GPU type and engine, its cost the
        same — on a cluster of more GPUs: more instances of it than the traffic needs, at a higher rent."""
        best = self.best
        if best is None:
            return ()
        key = _pick_key(best)
        return () if key is None else tuple(r for r in self.ranked[1:] if _pick_key(r) == key
                                            and r.answer.cluster.gpus > best.answer.cluster.gpus)


def _pick_key(row: FleetRow) -> tuple[object, ...] | None:
    """What makes two clusters' picks the same: GPU type, engine, strategy — with mixes, each mix's, not the
    heaviest's alone (the table's strategy cell names each) — and cost (None: a row without a pick)."""
    a = row.answer
    if a.pick is None:
        return None
    strategies = tuple((m.mix, None if m.answer.pick is None else m.answer.pick.strategy) for m in row.mixes) \
        or a.pick.strategy
    return a.cluster.gpu, a.cluster.engine, strategies, a.per_million_tokens, a.gpu_hours_per_million_tokens


def rented_cost(row: FleetRow, figure: str = COSTS[0]) -> float | None:
    """A cluster's cost per million tokens (`figure`: money, or GPU-hours) with every GPU it rents charged, at the
    traffic's rate — what the fleet ranks by: its pick's cost × the cluster's GPUs over the pick's (the GPUs
    beyond those the rate needs are paid for and idle); with mixes, each mix's, weighted as their costs are.

    Example:
        >>> from dagc.fleet.stored import parse_answer
        >>> a = parse_answer({"cluster": {"gpu": "h200", "gpus": 8, "gpus_per_node": 8, "engine": "vllm"},
        ...     "meets_requirements": True, "per_million_tokens": 0.2585, "pick": {"strategy": "tp 4", "gpus": 4,
        ...     "workload": {}, "load": {"goodput_requests_per_s": 4.0, "ttft_s": {}, "tpot_s": {}}}})
        >>> p = FleetPoint(0, "h200", None, (), 0, rate=4.0)
        >>> rented_cost(rank_fleet(Fleet((), (), 4.0, None), [(p, a)], "cost").missed[0])
        0.517
    """
    return row.rented[COSTS.index(figure)]


def cost_band(row: FleetRow, figure: str = COSTS[0]) -> tuple[float, float] | None:
    """A cluster's cost (`rented_cost`) within dagc's error: the rent over the tokens of its pick's goodput, so
    between the cost × the goodput over its band's high end and × the goodput over its low end (`goodput_band`,
    `dagc.search.at_rate.AtRate`); with mixes, each mix's weighted as their costs are. None where a pick has no
    goodput band or a goodput of 0."""
    answers = [(m.weight, m.answer) for m in row.mixes] or [(1.0, row.answer)]
    low = high = total = 0.0
    for weight, a in answers:
        cost, pick = _rented(a, figure), a.pick
        band = None if pick is None else pick.goodput_band
        goodput = None if pick is None else pick.load.goodput_requests_per_s
        if cost is None or not band or not goodput or not band.low:
            return None
        low, high, total = low + weight * cost * goodput / band.high, high + weight * cost * goodput / band.low, \
            total + weight
    return low / total, high / total


def rank_fleet(fleet: Fleet, answers: list[tuple[FleetPoint, StoredAnswer]], objective: str,
               error_band_ratio: float | None = None) -> FleetResult:
    """The answers ranked (module docstring): a row a cluster (`FleetRow`), its answer with its `index`, `label`,
    `options` (the `--set` options that make the plan this cluster's) and `rate_requests_per_s`;
    `error_band_ratio` (`FleetResult.within_error`) names the runners-up dagc cannot tell from the best.

    Example:
        >>> from dagc.fleet.stored import parse_answer
        >>> c = {"gpu": "h100-sxm", "gpus": 1, "gpus_per_node": 8, "engine": "vllm"}
        >>> a = parse_answer({"cluster": c, "meets_requirements": True, "per_million_tokens": 0.2,
        ...     "gpu_hours_per_million_tokens": 0.1, "rent_per_hour": 20.0, "pick": {"strategy": "tp 1", "gpus": 1,
        ...     "score": 5.0, "workload": {}, "load": {"goodput_requests_per_s": 4.0, "ttft_s": {}, "tpot_s": {}}}})
        >>> b = a.model_copy(update={"per_million_tokens": 0.1, "gpu_hours_per_million_tokens": 0.05})
        >>> p, q = FleetPoint(0, "h100-sxm", None, (), 0, rate=4.0), FleetPoint(1, "h200", None, (), 1, rate=4.0)
        >>> fleet = Fleet((), (), 4.0, None)          # no GPU type is read: no price, GPU-hours rank
        >>> [r.label for r in rank_fleet(fleet, [(p, a), (q, b)], "cost").ranked]
        ['h200', 'h100-sxm']
    """
    by = "money" if fleet.gpus and fleet.priced else "gpu-hours"
    figure = COSTS[0] if by == "money" else COSTS[1]
    groups: dict[int, list[tuple[FleetPoint, StoredAnswer]]] = {}
    for p, a in answers:
        groups.setdefault(p.cluster, []).append((p, a))
    rows = [_row(members) for members in groups.values()]
    meeting = [r for r in rows if r.answer.meets_requirements and r.cost(figure) is not None]

    def key(r: FleetRow) -> tuple[float, float, float, float, int]:
        score = None if r.answer.pick is None else r.answer.pick.score
        return (rented_cost(r, figure) or 0.0, r.cost(figure) or 0.0, -(score or 0.0),
                r.answer.rent_per_hour or 0.0, r.index)

    meeting.sort(key=key)
    chosen = {r.index for r in meeting}
    return FleetResult(by, tuple(meeting), tuple(r for r in rows if r.index not in chosen), objective,
                       tuple(m.name for m in fleet.mixes), error_band_ratio)


def _row(members: list[tuple[FleetPoint, StoredAnswer]]) -> FleetRow:
    """One cluster's row: its answer, or with mixes its mixes' answers combined (module docstring)."""
    p0, answer = members[0]
    if p0.mix is None:
        return FleetRow(p0.cluster, p0.label, p0.options, p0.rate, answer,
                        (_rented(answer, COSTS[0]), _rented(answer, COSTS[1])))
    mixes = tuple(MixAnswer(p.mix or "", p.weight, p.options, p.rate, a) for p, a in members)
    heaviest = max(mixes, key=lambda m: m.weight)      # the first of the heaviest
    return FleetRow(p0.cluster, p0.label, p0.cluster_options, heaviest.rate_requests_per_s, *_mixed(mixes), mixes)


def _mixed(mixes: tuple[MixAnswer, ...]) -> tuple[StoredAnswer, tuple[float | None, float | None]]:
    """The mixes' answers combined (module docstring), and their rented costs weighted."""
    heaviest = max(mixes, key=lambda m: m.weight)
    total = sum(m.weight for m in mixes)
    costs = [sum(m.weight * (answer_cost(m.answer, k) or 0.0) for m in mixes) / total
             if all(answer_cost(m.answer, k) is not None for m in mixes) else None for k in COSTS]
    rented = [sum(m.weight * (_rented(m.answer, k) or 0.0) for m in mixes) / total if cost is not None else None
              for k, cost in zip(COSTS, costs, strict=True)]
    missing = next((m for m in mixes if not m.answer.meets_requirements), None)
    why = missing or heaviest
    binding = why.answer.binding or why.answer.failed or why.answer.note
    h = heaviest.answer
    fields = {"cluster": h.cluster, "meets_requirements": missing is None, "pick": h.pick, "instances": h.instances,
              "per_million_tokens": costs[0], "gpu_hours_per_million_tokens": costs[1],
              "rent_per_hour": h.rent_per_hour, "binding": f'mix "{why.mix}": {binding}' if binding else None}
    if missing is not None and missing.answer.failed:
        fields["failed"] = f'mix "{missing.mix}": {missing.answer.failed}'
    # built from answers already read (`parse_answer`): nothing to check again
    return StoredAnswer.model_construct(set(fields), **fields), (rented[0], rented[1])

"""The fleet's ranking: the clusters whose pick meets every requirement, cheapest per million tokens first.

Input: the fleet, its points and each point's answer (`dagc.fleet.cluster.answer_cluster`, JSON data).
Output: `FleetResult` — the clusters meeting every requirement (the load's percentiles included; with traffic
mixes, under every mix) ranked by what renting the cluster costs a million tokens — every GPU it rents charged,
idle or not (`rented_cost`) — in money when every GPU type has a price, else in GPU-hours; then by the cost on
the GPUs its pick uses; then by the objective's score (higher first, as `dagc search` ranks); then by the
cluster's rent per hour (the smaller cluster that holds the same pick first); then by the sweep's order. The
others follow in the sweep's order, each with what it misses. With mixes, a cluster's cost is the mean of its
mixes' weighted by their weights (their shares of the tokens served), and its pick shown is the heaviest mix's;
each mix's answer is in its row's `mixes`. report.json's `fleet` is `FleetResult.to_json()`;
`dagc.export.fleet_words` puts them into words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..lang.fleet_ir import Fleet, FleetPoint

__all__ = ["COSTS", "FleetResult", "cost_band", "missed_pick", "rank_fleet", "rented_cost"]

COSTS = ("per_million_tokens", "gpu_hours_per_million_tokens")
_RENTED = {k: f"rented_{k}" for k in COSTS}       # each with every GPU the cluster rents charged (`rented_cost`)


@dataclass(frozen=True)
class FleetResult:
    """The fleet's answers, ranked (module docstring)."""

    by: str                              # "money" or "gpu-hours": what ranks the clusters
    ranked: tuple[dict[str, Any], ...]   # meeting every requirement, best first
    missed: tuple[dict[str, Any], ...]   # the others (failed ones included), in the sweep's order
    objective: str
    mixes: tuple[str, ...] = ()
    # how many times its low end the high end of a cost's 80 % band is (`dagc.verdict.ledger.band_ratio` of the
    # plan's regime, throughput's errors): clusters whose cost lies within it of the best's are indistinguishable
    error_band_ratio: float | None = None

    @property
    def rates(self) -> list[float]:
        """The arrival rates the clusters were searched at, each once."""
        return sorted({m["rate_requests_per_s"] for rows in (self.ranked, self.missed) for r in rows
                       for m in r.get("mixes", [r])})

    @property
    def meeting_text(self) -> str:
        """`3 of 8 clusters meet every requirement`."""
        n = len(self.ranked) + len(self.missed)
        verb = "meets" if len(self.ranked) == 1 else "meet"
        return f"{len(self.ranked)} of {n} cluster{'' if n == 1 else 's'} {verb} every requirement"

    @property
    def best(self) -> dict[str, Any] | None:
        return self.ranked[0] if self.ranked else None

    @property
    def within_error(self) -> tuple[dict[str, Any], ...]:
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

        def overlaps(r: dict[str, Any]) -> bool:
            band = cost_band(r, figure)
            if band is not None and top_band is not None:
                return band[0] <= top_band[1]
            return ratio is not None and (rented_cost(r, figure) or 0.0) / top <= ratio

        # a cluster holding the pick of a cluster ranked above it (the best's: `same_pick`) is that pick on more GPUs
        keys = [_pick_key(r) for r in self.ranked]
        return tuple(r for k, r in enumerate(self.ranked[1:], 1) if overlaps(r)
                     and (keys[k] is None or keys[k] not in keys[:k]))

    @property
    def same_pick(self) -> tuple[dict[str, Any], ...]:
        """The runners-up whose pick is the best's — the same strategy on the same GPU type and engine, its cost the
        same — on a cluster of more GPUs: more instances of it than the traffic needs, at a higher rent."""
        best = self.best
        if best is None:
            return ()
        key = _pick_key(best)
        return () if key is None else tuple(r for r in self.ranked[1:] if _pick_key(r) == key
                                            and r["cluster"]["gpus"] > best["cluster"]["gpus"])

    def to_json(self) -> dict[str, Any]:
        """report.json's `fleet`."""
        rates = self.rates
        return {"rate_requests_per_s": rates[0] if len(rates) == 1 else None, "mixes": list(self.mixes),
                "objective": self.objective, "ranked_by": self.by,
                "clusters": len(self.ranked) + len(self.missed), "meeting": len(self.ranked),
                "best": self.best, "ranked": list(self.ranked), "not_meeting": list(self.missed),
                "error_band_ratio": self.error_band_ratio,
                "within_error_of_best": [r["label"] for r in self.within_error],
                "within_error_of_best_index": [r["index"] for r in self.within_error],
                "same_pick_as_best": [r["label"] for r in self.same_pick],
                "same_pick_as_best_index": [r["index"] for r in self.same_pick]}


def _pick_key(row: dict[str, Any]) -> tuple[object, ...] | None:
    """What makes two clusters' picks the same: GPU type, engine, strategy — with mixes, each mix's, not the
    heaviest's alone (the table's strategy cell names each) — and cost (None: a row without them)."""
    c, pick = row.get("cluster"), row.get("pick") or {}
    if c is None or "strategy" not in pick:
        return None
    strategies = tuple((m["mix"], (m.get("pick") or {}).get("strategy")) for m in row.get("mixes") or ()) \
        or pick["strategy"]
    return c["gpu"], c["engine"], strategies, row.get("per_million_tokens"), row.get("gpu_hours_per_million_tokens")


def rented_cost(row: dict[str, Any], figure: str = COSTS[0]) -> float | None:
    """A cluster's cost per million tokens (`figure`: money, or GPU-hours) with every GPU it rents charged, at the
    traffic's rate — what the fleet ranks by: its pick's cost × the cluster's GPUs over the pick's (the GPUs
    beyond those the rate needs are paid for and idle); with mixes, each mix's, weighted as their costs are.

    Example:
        >>> rented_cost({"cluster": {"gpus": 8}, "pick": {"gpus": 4}, "per_million_tokens": 0.2585})
        0.517
    """
    if _RENTED[figure] in row:
        rented: float | None = row[_RENTED[figure]]
        return rented
    cost = row.get(figure)
    gpus, used = (row.get("cluster") or {}).get("gpus"), (row.get("pick") or {}).get("gpus")
    return cost if cost is None or not gpus or not used else cost * gpus / used


def cost_band(row: dict[str, Any], figure: str = COSTS[0]) -> tuple[float, float] | None:
    """A cluster's cost (`rented_cost`) within dagc's error: the rent over the tokens of its pick's goodput, so
    between the cost × the goodput over its band's high end and × the goodput over its low end (`goodput_band`,
    `dagc.search.at_rate.AtRate`); with mixes, each mix's weighted as their costs are. None where a pick has no
    goodput band or a goodput of 0.

    Example:
        >>> pick = {"gpus": 4, "load": {"goodput_requests_per_s": 8.0}, "goodput_band": {"low": 6.4, "high": 8.0}}
        >>> cost_band({"cluster": {"gpus": 8}, "pick": pick, "per_million_tokens": 0.2})
        (0.4, 0.5)
    """
    rows = [(m.get("weight", 1.0), m) for m in row.get("mixes") or [row]]
    low = high = total = 0.0
    for weight, m in rows:
        pick, cost = m.get("pick") or {}, rented_cost(m, figure)
        band, goodput = pick.get("goodput_band"), (pick.get("load") or {}).get("goodput_requests_per_s")
        if cost is None or not band or not goodput or not band["low"]:
            return None
        low, high, total = low + weight * cost * goodput / band["high"], high + weight * cost * goodput / band["low"], \
            total + weight
    return low / total, high / total


def missed_pick(row: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """The pick whose figures show why a cluster misses — with mixes, that of the first mix that misses, the one its
    `binding` names, not the heaviest mix's — and ` under mix "long"` to say whose (else '')."""
    missing = next((m for m in row.get("mixes") or () if not m.get("meets_requirements")), None)
    if missing is None:
        return row.get("pick"), ""
    return missing.get("pick"), f' under mix "{missing["mix"]}"'


def rank_fleet(fleet: Fleet, answers: list[tuple[FleetPoint, dict[str, Any]]], objective: str,
               error_band_ratio: float | None = None) -> FleetResult:
    """The answers ranked (module docstring); each row is the cluster's answer with its `index`, `label`,
    `options` (the `--set` options that make the plan this cluster's) and `rate_requests_per_s`;
    `error_band_ratio` (`FleetResult.within_error`) names the runners-up dagc cannot tell from the best.

    Example:
        >>> a = {"meets_requirements": True, "per_million_tokens": 0.2, "gpu_hours_per_million_tokens": 0.1,
        ...      "rent_per_hour": 20.0, "pick": {"score": 5.0}}
        >>> b = {**a, "per_million_tokens": 0.1, "gpu_hours_per_million_tokens": 0.05}
        >>> p, q = FleetPoint(0, "h100-sxm", None, (), 0, rate=4.0), FleetPoint(1, "h200", None, (), 1, rate=4.0)
        >>> fleet = Fleet((), (), 4.0, None)          # no GPU type is read: no price, GPU-hours rank
        >>> [r["label"] for r in rank_fleet(fleet, [(p, a), (q, b)], "cost").ranked]
        ['h200', 'h100-sxm']
    """
    by = "money" if fleet.gpus and fleet.priced else "gpu-hours"
    figure = COSTS[0] if by == "money" else COSTS[1]
    groups: dict[int, list[tuple[FleetPoint, dict[str, Any]]]] = {}
    for p, a in answers:
        groups.setdefault(p.cluster, []).append((p, a))
    rows = [_row(members) for members in groups.values()]
    meeting = [r for r in rows if r.get("meets_requirements") and r.get(figure) is not None]

    def key(r: dict[str, Any]) -> tuple[float, float, float, float, int]:
        return (rented_cost(r, figure) or 0.0, r[figure], -((r.get("pick") or {}).get("score") or 0.0),
                r.get("rent_per_hour") or 0.0, r["index"])

    meeting.sort(key=key)
    chosen = {r["index"] for r in meeting}
    return FleetResult(by, tuple(meeting), tuple(r for r in rows if r["index"] not in chosen), objective,
                       tuple(m.name for m in fleet.mixes), error_band_ratio)


def _row(members: list[tuple[FleetPoint, dict[str, Any]]]) -> dict[str, Any]:
    """One cluster's row: its answer, or with mixes its mixes' answers combined (module docstring)."""
    p0 = members[0][0]
    head = {"index": p0.cluster, "label": p0.label, "options": list(p0.cluster_options)}
    if p0.mix is None:
        answer = members[0][1]
        return {**head, "options": list(p0.options), "rate_requests_per_s": p0.rate, **answer,
                **{_RENTED[k]: rented_cost(answer, k) for k in COSTS}}
    mixes = [{"mix": p.mix, "weight": p.weight, "options": list(p.options), "rate_requests_per_s": p.rate, **a}
             for p, a in members]
    heaviest = max(mixes, key=lambda m: m["weight"])      # the first of the heaviest
    total = sum(m["weight"] for m in mixes)
    costs = {k: (sum(m["weight"] * m[k] for m in mixes) / total if all(m.get(k) is not None for m in mixes)
                 else None) for k in COSTS}
    costs.update({_RENTED[k]: (sum(m["weight"] * (rented_cost(m, k) or 0.0) for m in mixes) / total
                               if costs[k] is not None else None) for k in COSTS})
    missing = next((m for m in mixes if not m.get("meets_requirements")), None)
    why = missing or heaviest
    binding = why.get("binding") or why.get("failed") or why.get("note")
    return {**head, "rate_requests_per_s": heaviest["rate_requests_per_s"], "cluster": heaviest.get("cluster"),
            "meets_requirements": missing is None, "pick": heaviest.get("pick"),
            "instances": heaviest.get("instances"), **costs, "rent_per_hour": heaviest.get("rent_per_hour"),
            "binding": f'mix "{why["mix"]}": {binding}' if binding else None,
            **({"failed": f'mix "{missing["mix"]}": {missing["failed"]}'} if missing and missing.get("failed") else {}),
            "mixes": mixes}

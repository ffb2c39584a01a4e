"""The fleet's ranking: the clusters whose pick meets every requirement, cheapest per million tokens first.

Input: the fleet, its points and each point's answer (`dagc.fleet.cluster.answer_cluster`, JSON data).
Output: `FleetResult` — the clusters meeting every requirement (the load's percentiles included) ranked by
money per million tokens when every GPU type has a price, else by GPU-hours per million tokens; then by the
objective's score (higher first, as `dagc search` ranks); then by the cluster's rent per hour (the smaller
cluster that holds the same pick first); then by the sweep's order. The others follow in the sweep's
order, each with what it misses. report.json's `fleet` is `FleetResult.to_json()`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..lang.fleet import Fleet, FleetPoint

__all__ = ["FleetResult", "rank_fleet"]


@dataclass(frozen=True)
class FleetResult:
    """The fleet's answers, ranked (module docstring); `failed`: points whose search did not finish."""

    rate: float
    by: str                              # "money" or "gpu-hours": what ranks the clusters
    ranked: tuple[dict, ...]             # meeting every requirement, best first
    missed: tuple[dict, ...]             # the others (failed ones included), in the sweep's order
    objective: str

    @property
    def meeting_text(self) -> str:
        """`3 of 8 clusters meet every requirement`."""
        n = len(self.ranked) + len(self.missed)
        verb = "meets" if len(self.ranked) == 1 else "meet"
        return f"{len(self.ranked)} of {n} cluster{'' if n == 1 else 's'} {verb} every requirement"

    @property
    def best(self) -> dict | None:
        return self.ranked[0] if self.ranked else None

    def to_json(self) -> dict:
        """report.json's `fleet`."""
        return {"rate_requests_per_s": self.rate, "objective": self.objective, "ranked_by": self.by,
                "clusters": len(self.ranked) + len(self.missed), "meeting": len(self.ranked),
                "best": self.best, "ranked": list(self.ranked), "not_meeting": list(self.missed)}


def rank_fleet(fleet: Fleet, answers: list[tuple[FleetPoint, dict]], rate: float, objective: str) -> FleetResult:
    """The answers ranked (module docstring); each row is the answer with the point's `index`, `label` and
    `options` (the `--set` options that make the plan this cluster's).

    Example:
        >>> from dagc.lang.fleet import FleetPoint
        >>> a = {"meets_requirements": True, "per_million_tokens": 0.2, "gpu_hours_per_million_tokens": 0.1,
        ...      "rent_per_hour": 20.0, "pick": {"score": 5.0}}
        >>> b = {**a, "per_million_tokens": 0.1}
        >>> p, q = FleetPoint(0, "h100-sxm", "2 $/h", ()), FleetPoint(1, "h200", "4 $/h", ())
        >>> fleet = Fleet((), (), 4.0, None)          # the GPU types are not read: no price, GPU-hours rank
        >>> [r["label"] for r in rank_fleet(fleet, [(p, a), (q, b)], 4.0, "cost").ranked]
        ['h100-sxm', 'h200']
    """
    by = "money" if fleet.gpus and fleet.priced else "gpu-hours"
    figure = "per_million_tokens" if by == "money" else "gpu_hours_per_million_tokens"
    rows = [{"index": p.index, "label": p.label, "options": list(p.options), **a} for p, a in answers]
    meeting = [r for r in rows if r.get("meets_requirements") and r.get(figure) is not None]

    def key(r: dict) -> tuple:
        return (r[figure], -(r["pick"].get("score") or 0.0), r.get("rent_per_hour") or 0.0, r["index"])

    meeting.sort(key=key)
    chosen = {r["index"] for r in meeting}
    return FleetResult(rate, by, tuple(meeting), tuple(r for r in rows if r["index"] not in chosen), objective)

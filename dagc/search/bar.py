"""The bar of the branch and bound: what a candidate must beat to change the search's result.

Input: the legal candidates the search has taken so far (`BarKeeper`), and the best a candidate
could do at some bounds of its TTFT and TPOT (`BestAtBounds`, made by `dagc.search.candidate_bounds`).
Output: `Bar` — the `k`-th best rank key among the legal candidates, the Pareto front's figures:
decode tokens/s per GPU and TPOT — and whether a candidate doing at most that best could still
enter the best `k` or the front (`could_matter`; `is_out_of_reach` whatever its name). Every
objective's score falls as TTFT and TPOT grow, so the score at lower bounds of them is an upper
bound; a requirement is surely missed when a TTFT, TPOT or throughput line is out of reach of
those figures (`surely_misses`).

Determinism: the search hands each chunk of candidates the bar as it stood a fixed number of
chunks earlier (`BAR_LAG`; with `batch = max`, whose candidates each cost many fast checks,
`BAR_LAG_BATCH_MAX`, so that more worker processes have chunks in flight), in one process as in
many, so what is pruned — and every count the result reports — does not depend on `--jobs` or
the machine.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import NamedTuple

from ..plan.plan import Plan
from ..plan.workload import RequirementKind
from ..rules.bounds import unreachable
from ..verdict.steady import SteadyMetrics, figure_of
from ..verdict.verdict import METRIC_OF, RequirementResult
from .floor import traffic_floor, traffic_misses
from .result import RANK_HEAD, Candidate, RankKey, front_key, rank_key

__all__ = ["BAR_LAG", "BAR_LAG_BATCH_MAX", "Bar", "BarKeeper", "surely_misses"]

BAR_LAG = 2                 # chunks between a bar's making and its use (≥ the chunks in flight)
BAR_LAG_BATCH_MAX = 16      # the same with `batch = max`, whose candidates each probe batches: more in flight

_LOWER_BOUNDED = (RequirementKind.TTFT, RequirementKind.TPOT)   # their figures here are lower bounds


@dataclass(frozen=True)
class Bar:
    """What a candidate must beat to matter: the `k`-th best rank key among the legal candidates
    found so far (None: fewer than `k` found) and the front's figures, one row per point:
    (−decode tokens/s per GPU, TPOT); None when the search keeps no front (`search(…, front=False)`),
    so that only the best `k` matter."""

    kth: RankKey | None = None
    front: tuple[tuple[float, float], ...] | None = ()


class BarKeeper:
    """The best `k` rank keys of the legal candidates taken so far, and the bars made from them."""

    def __init__(self, k: int):
        self.k = k
        self.keys: list[RankKey] = []

    def take(self, c: Candidate) -> None:
        if self.k <= 0:
            return
        key = rank_key(c)
        if len(self.keys) < self.k or key < self.keys[-1]:
            bisect.insort(self.keys, key)
            del self.keys[self.k:]

    def bar(self, front: list[Candidate] | None) -> Bar:
        """The bar of the best `k` so far and the `front`'s points (None: no front is kept)."""
        kth = self.keys[-1] if self.k > 0 and len(self.keys) >= self.k else None
        if front is None:
            return Bar(kth, None)
        return Bar(kth, tuple((float(k[0]), float(k[1])) for k in (front_key(c) for c in front)))


def surely_misses(plan: Plan, metrics: SteadyMetrics, gpus: int) -> int:
    """How many requirements are surely missed: a GPU count out of range (exact), or a TTFT, TPOT or
    throughput line out of reach of `metrics` (TTFT and TPOT lower bounds, throughputs upper
    bounds); and the plan's traffic, when even those decode tokens a second fall short of it (a candidate
    counts that as every load requirement missed, at least one: `dagc.search.floor.traffic_misses`). A lower
    bound of the requirements the candidate misses."""
    floor = traffic_floor(plan)
    missed = traffic_misses(plan) if floor is not None and float(metrics.decode_tokens_per_s) < floor else 0
    for req in plan.steady_requirements:
        if req.kind is RequirementKind.GPUS:
            missed += RequirementResult(req, float(gpus)).met is False
            continue
        if req.kind not in METRIC_OF:
            continue
        figure = float(figure_of(metrics, req.kind))
        value = figure / gpus if req.per_gpu else figure
        missed += unreachable(req, value, lower=req.kind in _LOWER_BOUNDED)
    return missed


class BestAtBounds(NamedTuple):
    """The best a candidate could do at some bounds of its TTFT and TPOT: its rank key's head
    (requirements surely missed, −score as ranked, `score_key`, GPUs), how many it misses, and its
    point for the front (−decode tokens/s per GPU, TPOT, each to `SCORE_DIGITS` as `front_key` reads it)."""

    head: tuple[int, float, int]
    missed: int
    point: tuple[float, float]

    def row(self) -> tuple[float, float, float, float, float]:
        """The best as a row of `dagc.search.screen.out_of_reach`'s columns: its head, then its point
        (integers of a rank key are exact in a float)."""
        missed, score, gpus = self.head
        return float(missed), score, float(gpus), self.point[0], self.point[1]


def could_matter(best: BestAtBounds, bar: Bar) -> bool:
    """Whether a candidate that does at most `best` could rank before the bar's `k`-th best or join its
    front. A tie of the head could go either way: the tie-break (TTFT, TPOT, memory, then the name)
    reads figures bounds do not give."""
    assert bar.kth is not None
    if best.head <= bar.kth[:RANK_HEAD]:
        return True
    if best.missed or bar.front is None:
        return False                 # ranks after the k-th best, and the front (if kept) holds only what meets
    return not _beaten(bar.front, *best.point)


def is_out_of_reach(best: BestAtBounds, bar: Bar) -> bool:
    """Whether no candidate that does at most `best` can matter, whatever its name: it ranks after
    the bar's `k`-th best by more than the name, and it misses a requirement, or no front is
    kept, or a front point beats it (`could_matter` says no to every name)."""
    assert bar.kth is not None
    if best.head <= bar.kth[:RANK_HEAD]:
        return False
    return bool(best.missed) or bar.front is None or _beaten(bar.front, *best.point)


def _beaten(front: tuple[tuple[float, float], ...], x: float, y: float) -> bool:
    """Whether a point of the front (−decode tokens/s per GPU, TPOT) is no worse than (x, y) on both
    figures and better on one: then (x, y) cannot join it (a few dozen points)."""
    return any(fx <= x and fy <= y and (fx < x or fy < y) for fx, fy in front)

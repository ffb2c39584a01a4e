"""A run's percentile requirements watched as its requests are served, so that a run whose verdict is already
known — a requirement missed whatever its remaining requests do — stops there (`dagc.verdict.under_load`'s
capacity trials, which read nothing of a run but that verdict).

Input: a `Plan`'s requirements on a percentile of TTFT, TPOT or end-to-end latency (at most a target) and the
run's requests' output tokens. Output: `Watch`, told each request's first token and end by the replica
(`dagc.serve.replica`; a disaggregated run's pools, `dagc.serve.load_pools`), which raises `Missed` once more of
the requests are past a requirement's target than its percentile lets be: report.json's percentile (numpy's,
linear between the two order statistics about (n − 1) × p / 100) then lies past the target too, as the figures
`dagc.serve.load_figures.load_figures` computes from the whole run would say. Each figure is computed as
`dagc.serve.load_result.Load` computes it, bit for bit (the client's TTFT and latency: the server's plus the
front-end time the run adds). `Observers`: a watch, a progress callback and whether the run records its timeline,
as the replicas take them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..plan.plan import Plan
from ..plan.workload import RequirementKind

__all__ = ["Missed", "Observers", "Watch"]

_WATCHED = (RequirementKind.TTFT, RequirementKind.TPOT, RequirementKind.E2E)


class Missed(Exception):
    """A watched run misses a percentile requirement whatever its remaining requests do (`Watch`)."""


class Watch:
    """Counts, per percentile requirement watched, the requests past its target still allowed (module docstring)."""

    def __init__(self, plan: Plan, output: np.ndarray, frontend_s: float | None = None) -> None:
        """`frontend_s`: the front-end time a client's TTFT and latency add (`Load.frontend_s`), the engine's
        `frontend_s` unless given (a disaggregated run's pools add a request's own, `frontend_alone_s`)."""
        self.frontend_s = plan.cluster.engine.terms.frontend_s if frontend_s is None else frontend_s
        self.output = [int(x) for x in output.tolist()]     # read one request at a time (`end`)
        # per kind: [target, strict (`<`), requests past the target still allowed before the percentile is]
        self.limits: dict[RequirementKind, list[list[float]]] = {}
        for req in plan.requirements:
            if req.percentile is None or req.kind not in _WATCHED or req.op not in ("<=", "<"):
                continue
            count = int(np.count_nonzero(output > 1)) if req.kind is RequirementKind.TPOT else len(output)
            if count < 2:
                continue
            # the percentile interpolates between order statistics floor(i) and floor(i) + 1, i = (n − 1) p / 100:
            # it is past the target once the lower one is, with one more request for the index's rounding
            below = math.floor(np.float64(req.percentile) / 100 * (count - 1))
            self.limits.setdefault(req.kind, []).append([req.target, req.op == "<", count - below + 1])
        self.ttft = self.limits.get(RequirementKind.TTFT)
        self.tpot, self.e2e = self.limits.get(RequirementKind.TPOT), self.limits.get(RequirementKind.E2E)
        self.ends = self.tpot is not None or self.e2e is not None

    @property
    def watching(self) -> bool:
        return bool(self.limits)

    @staticmethod
    def _count(limits: list[list[float]], value: float) -> None:
        for limit in limits:
            if value > limit[0] or limit[1] and value == limit[0]:
                limit[2] -= 1
                if limit[2] <= 0:
                    raise Missed

    def first(self, arrival: float, first: float) -> None:
        """A request's first token, at `first`: its client's TTFT counted."""
        if self.ttft is not None:
            self._count(self.ttft, first - arrival + self.frontend_s)

    def end(self, i: int, arrival: float, first: float, finish: float) -> None:
        """Request `i`'s end: its TPOT (of an output of more than one token) and its client's latency counted."""
        if not self.ends:
            return
        tpot = self.tpot
        out = self.output[i]
        if tpot is not None and out > 1:
            self._count(tpot, (finish - first) / (out - 1))     # out > 1
        e2e = self.e2e
        if e2e is not None:
            self._count(e2e, finish - arrival + self.frontend_s)


@dataclass(frozen=True, slots=True)
class Observers:
    """What follows an in-flight run as it goes: `progress`, called with the requests ended so far, and `watch`,
    which stops the run once it misses a percentile requirement (`Watch`); `timeline`, whether the run records its
    timeline (`dagc.serve.replica_timeline`; a capacity's trial, whose verdict reads its requests' figures alone,
    does not)."""

    progress: Callable[[int], None] | None = None
    watch: Watch | None = None
    timeline: bool = True

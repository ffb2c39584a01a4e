"""Which cluster each worker answers next: the clusters of one deployment kept on one worker.

Input: the sweep's points to answer with their plans, and the number of workers. Output: `Lanes`, which hands
each worker (a lane) its next cluster as it finishes one. The clusters are grouped by deployment — the model,
the cluster's hardware and the workload (`dagc.schedule.timer.deployment_key`): a fleet's counts of one GPU
type — and a lane answers a group's clusters one after another, fewest GPUs first, so that the timings they
share stay in its process (`dagc.schedule.timer.shared_timer`, `dagc.serve.shared`, `dagc.verdict.analyse`):
a strategy checked on 8 H200s is priced, run and compiled once for every count of H200s that lane answers. A
lane whose group is done takes a group no lane has started (the largest first), else the last cluster of
the group with the most left. Where a cluster runs changes only how long it takes: each answer is computed
from its cluster's plan alone, so the answers are the same whichever lane gives them.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Generic, TypeVar

from ..plan.plan import Plan
from ..schedule.timer import deployment_key

__all__ = ["Lanes"]

T = TypeVar("T")


class Lanes(Generic[T]):
    """The clusters still to answer, by group, and the group each lane works on (module docstring).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> p = load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 8 gpu preset "h200" } '
        ...                    'workload { batch = 8 prompt = 512 generate = 64 } strategy tp 8')
        >>> q = p.model_copy(update={"cluster": p.cluster.model_copy(update={"gpus": 16})})
        >>> r = p.model_copy(update={"cluster": p.cluster.model_copy(update={"gpu": p.cluster.gpu.model_copy(
        ...     update={"name": "other"})})})
        >>> lanes = Lanes([("a", p), ("b", r), ("c", q)], 2)
        >>> [x and x[0] for x in (lanes.next(0), lanes.next(1), lanes.next(1), lanes.next(0), lanes.next(0))]
        ['a', 'b', 'c', None, None]
    """

    def __init__(self, items: Sequence[tuple[T, Plan]], lanes: int) -> None:
        groups: dict[Hashable, list[tuple[int, int, tuple[T, Plan]]]] = {}
        for i, (it, plan) in enumerate(items):
            groups.setdefault(deployment_key(plan), []).append((plan.cluster.gpus, i, (it, plan)))
        self.groups: list[list[tuple[T, Plan]]] = [[x[2] for x in sorted(g, key=lambda x: x[:2])]
                                                   for g in groups.values()]
        self.started = [False] * len(self.groups)
        self.working: list[tuple[int, bool] | None] = [None] * lanes     # its group, and whether from the end

    def next(self, lane: int) -> tuple[T, Plan] | None:
        """The next cluster `lane` answers; None when every cluster has been handed out."""
        at = self.working[lane]
        if at is not None and self.groups[at[0]]:
            return self.groups[at[0]].pop(-1 if at[1] else 0)
        fresh = [i for i, left in enumerate(self.groups) if left and not self.started[i]]
        if fresh:                                   # a group no lane has started: the largest
            g = max(fresh, key=lambda i: (len(self.groups[i]), -i))
            self.started[g], self.working[lane] = True, (g, False)
            return self.groups[g].pop(0)
        left = [i for i, rest in enumerate(self.groups) if rest]
        if not left:
            return None
        g = max(left, key=lambda i: (len(self.groups[i]), -i))      # help another lane: from its group's end
        self.working[lane] = (g, True)
        return self.groups[g].pop()

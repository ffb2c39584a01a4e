"""Which cluster each worker answers next: the clusters of one deployment kept on one worker.

Input: the sweep's points to answer with their plans, and the number of workers. Output: `Lanes`, which hands
each worker (a lane) its next cluster as it finishes one. The clusters are grouped by deployment — the model,
the cluster's hardware and the workload (`dagc.schedule.timer.deployment_key`): a fleet's counts of one GPU
type — and a lane answers a group's clusters one after another, fewest GPUs first, so that the timings they
share stay in its process (`dagc.schedule.timer.shared_timer`, `dagc.serve.shared`, `dagc.verdict.analyse`):
a strategy checked on 8 H200s is priced, run and compiled once for every count of H200s that lane answers. A
lane whose group is done takes a group no lane has started (the largest first), else the last cluster of
the group with the most left when more than `HELP_LEFT` are left, else nothing: it is done. Where a cluster runs
changes only how long it takes: each answer is computed from its cluster's plan alone, so the answers are the same
whichever lane gives them.

Why `HELP_LEFT`: a cluster answered first in its process (cold) makes the timings its group's later clusters reuse,
and costs 2.5–9× one answered after them (warm, measured 2026-12-03 in one process: Qwen3-30B-A3B on 8 B200s 2.98
CPU s cold, 0.32 s warm; Qwen3-235B-A22B on 64 H200s at 8 requests/s 2.65 s and 1.11 s). A lane that helps with `k`
clusters left pays one cold answer C to save the owner k/2 warm ones w: a gain only when k > 2 (C/w − 1), 3–16 on
those figures. Until 2026-12-03 a lane helped whatever was left: a fleet of two GPU types at 8 counts each took 14.8
CPU s and 10.0 s of wall time with `--jobs 2` against 8.7 s and 8.9 s in one process (12.1 and 7.1 without
helping); one GPU type at 8 counts, 9.3 CPU s and 5.5 s wall against 4.5 s.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Generic, TypeVar

from ..plan.plan import Plan
from ..schedule.timer import deployment_key

__all__ = ["HELP_LEFT", "Lanes", "lanes_at_work"]

HELP_LEFT = 8       # a lane helps with another lane's group only while more of its clusters than this are left

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
        ['a', 'b', None, 'c', None]
        >>> many = Lanes([(n, p.model_copy(update={"cluster": p.cluster.model_copy(update={"gpus": n})}))
        ...               for n in range(1, 12)], 2)       # one GPU type at 11 counts: lane 1 helps, from its end
        >>> [x and x[0] for x in (many.next(0), many.next(1), many.next(1), many.next(1))]
        [1, 11, 10, 9]
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
        """The next cluster `lane` answers; None when every cluster has been handed out, or those left are another
        lane's, too few to help with (`HELP_LEFT`)."""
        at = self.working[lane]
        if at is not None and self.groups[at[0]]:
            return self.groups[at[0]].pop(-1 if at[1] else 0)
        fresh = [i for i, left in enumerate(self.groups) if left and not self.started[i]]
        if fresh:                                   # a group no lane has started: the largest
            g = max(fresh, key=lambda i: (len(self.groups[i]), -i))
            self.started[g], self.working[lane] = True, (g, False)
            return self.groups[g].pop(0)
        left = [i for i, rest in enumerate(self.groups) if len(rest) > HELP_LEFT]
        if not left:                                # too few left to pay for a cold start (module docstring)
            return None
        g = max(left, key=lambda i: (len(self.groups[i]), -i))      # help another lane: from its group's end
        self.working[lane] = (g, True)
        return self.groups[g].pop()


def lanes_at_work(items: Sequence[tuple[T, Plan]], lanes: int) -> int:
    """How many of `lanes` get a cluster to start with: the lanes that ever work (one that starts without a cluster
    never gets one: fewer are left each time). One alone is this process's work: a worker process would only add its
    start (measured 2026-12-03: one GPU type at 8 counts, 5.6 s with `--jobs 2` against 4.4 s in one process).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> p = load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 8 gpu preset "h200" } '
        ...                    'workload { batch = 8 prompt = 512 generate = 64 } strategy tp 8')
        >>> counts = [(n, p.model_copy(update={"cluster": p.cluster.model_copy(update={"gpus": n})})) for n in (8, 16)]
        >>> lanes_at_work(counts, 2)
        1
    """
    handed = Lanes(items, lanes)
    return sum(1 for lane in range(lanes) if handed.next(lane) is not None)

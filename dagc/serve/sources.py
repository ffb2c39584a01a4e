"""Where a replica's requests come from in the load simulation (`dagc.serve.load`): an open loop's arrival
times, or a closed loop's clients each sending its next request when its last one ends.

Input: the requests' ids and (open loop) arrival times. Output: a source that holds its next arrival time
(`upcoming`) and the engine step of its next request started in steps (`step_due`), and that the replica
asks for the requests due by a time and the arrivals before a time (for Little's law), and tells of each end.
"""

from __future__ import annotations

import heapq
import math

__all__ = ["ClosedLoop", "OpenLoop"]


class OpenLoop:
    """Requests `ids` arriving at `times` (ascending)."""

    def __init__(self, ids: list[int], times: list[float]) -> None:
        self.ids, self.times, self.at = ids, times, 0
        self.total = len(ids)
        self.upcoming = times[0] if times else math.inf     # the next arrival's time, inf when none is to come
        self.step_due: float = math.inf                     # the step of the next request due by step (`due_at_step`)

    def due(self, now: float) -> list[tuple[float, int]]:
        """(arrival, request) of those arrived by `now`, earliest first."""
        at, times = self.at, self.times
        if at >= self.total or times[at] > now:
            return []
        stop = at + 1
        while stop < self.total and times[stop] <= now:
            stop += 1
        self.at = stop
        self.upcoming = times[stop] if stop < self.total else math.inf
        return list(zip(times[at:stop], self.ids[at:stop], strict=True))

    def wait_before(self, end: float) -> float:
        """Σ (end − arrival) over the arrivals not yet due that come before `end`."""
        out, times = 0.0, self.times
        for j in range(self.at, self.total):
            a = times[j]
            if a >= end:
                break
            out += end - a
        return out

    def ended(self, i: int, t: float) -> None:
        """An open loop's arrivals do not depend on ends."""

    def due_at_step(self, step: int, now: float) -> list[tuple[float, int]]:
        """(arrival, request) of those due by engine step `step` (they arrive `now`): none but a closed
        loop's first requests started in steps."""
        return []


class ClosedLoop(OpenLoop):
    """Clients `mine` of `clients`, each sending requests c, c + clients, … one after the other: the
    first at c × ramp / clients — or, given `first_steps`, when the replica reaches engine step
    `first_steps[c]` — each next one when the last ends."""

    def __init__(self, mine: list[int], ramp: float, clients: int, n: int,
                 first_steps: list[int] | None = None) -> None:
        self.clients, self.n = clients, n
        self.heap = [(c * ramp / clients, c) for c in mine] if first_steps is None else []
        heapq.heapify(self.heap)
        self.stepped = [] if first_steps is None else sorted(((first_steps[c], c) for c in mine), reverse=True)
        self.total = sum(len(range(c, n, clients)) for c in mine)
        self.upcoming = self.heap[0][0] if self.heap else math.inf
        self.step_due = self.stepped[-1][0] if self.stepped else math.inf

    def due(self, now: float) -> list[tuple[float, int]]:
        out = []
        heap = self.heap
        while heap and heap[0][0] <= now:
            out.append(heapq.heappop(heap))       # (time, request): the client's request is its id
        self.upcoming = heap[0][0] if heap else math.inf
        return out

    def wait_before(self, end: float) -> float:
        return sum(end - a for a, _ in self.heap if a < end)

    def due_at_step(self, step: int, now: float) -> list[tuple[float, int]]:
        out = []
        stepped = self.stepped
        while stepped and stepped[-1][0] <= step:
            out.append((now, stepped.pop()[1]))
        self.step_due = stepped[-1][0] if stepped else math.inf
        return out

    def ended(self, i: int, t: float) -> None:
        if i + self.clients < self.n:
            heapq.heappush(self.heap, (t, i + self.clients))
            self.upcoming = self.heap[0][0]

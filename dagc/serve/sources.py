"""Where a replica's requests come from in the load simulation (`dagc.serve.load`): an open loop's arrival
times, or a closed loop's clients each sending its next request when its last one ends — through the
engine's front end (`FrontEnd`), when it takes time of its own per request.

Input: the requests' ids and (open loop) arrival times, the engine's `ingest_s`. Output: a `Source` (an
`OpenLoop` or a `ClosedLoop`, two of its kind, neither built on the other) that holds
its next arrival time at the engine (`upcoming`) and the engine step of its next request started in steps
(`step_due`), and that the replica asks for the requests due by a time (with their clients' arrival times),
the arrivals before a time (for Little's law) and when a token made at a time reaches its client
(`deliver`), and tells of each end.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections import deque
from collections.abc import Callable
from typing import Protocol

__all__ = ["ClosedLoop", "FrontEnd", "OpenLoop", "Source"]


class Source(Protocol):
    """What a replica reads of where its requests come from (module docstring)."""

    total: int              # the requests it sends
    upcoming: float         # its next arrival's time at the engine, inf when none
    unseen: float           # the earliest sending of those not at the engine yet
    step_due: float         # the engine step of its next request due by step, inf when none

    def due(self, now: float) -> list[tuple[float, int]]:
        """(client's arrival, request) of those at the engine by `now`, earliest first."""

    def due_at_step(self, step: int, now: float) -> list[tuple[float, int]]:
        """(arrival, request) of those due by engine step `step` (they arrive `now`)."""

    def deliver(self, t: float) -> float:
        """When a token made at `t` reaches its client (`FrontEnd.deliver`)."""

    def wait_before(self, start: float, end: float) -> float:
        """Σ over the requests sent before `end` and not yet at the engine of their time in the system between
        `start` and `end`: end − max(sent, start)."""

    def ended(self, i: int, t: float) -> None:
        """Request `i` ended at `t`, as its client has it."""


class FrontEnd:
    """The engine's front end as one server (the API server's event loop: HTTP, chat template, tokenisation),
    `ingest_s` of its time per request, first come first served. Its loop hands a request on to the engine only
    after the handlers queued before that hand-on: request i, taken in by c_i, reaches the engine when the last
    request sent before c_i has been taken in; a token the engine makes at t reaches its client when the last
    request sent by t has been taken in — docs/load.md, "The front end". A burst (every request sent before the
    first is taken in) reaches the engine together, when its last is taken in; a steady stream above the server's
    pace is handed on request by request, each behind the queue sent while it was taken in. `ingest_s` = 0: no
    time, nothing held.

    Example:
        >>> f = FrontEnd(0.01)
        >>> [f.take(0.0) for _ in range(3)], round(f.enters(0), 3), round(f.deliver(0.005), 3), f.deliver(0.5)
        ([0, 1, 2], 0.03, 0.03, 0.5)
        >>> g = FrontEnd(0.01)          # sent 0, 5 and 15 ms in: the first waits for the second alone
        >>> g.take_all([0.0, 0.005, 0.015]), [round(g.enters(i), 3) for i in range(3)]
        ([0, 1, 2], [0.02, 0.03, 0.03])
    """

    __slots__ = ("arrived", "done", "ingest_s", "until")

    def __init__(self, ingest_s: float) -> None:
        self.ingest_s = ingest_s
        self.until = -math.inf                   # when the front end has taken in every request it was sent
        self.arrived: list[float] = []           # clients' sending times, in the order taken in (ascending)
        self.done: list[float] = []              # … and when each was taken in

    def take(self, arrival: float) -> int:
        """A request sent at `arrival` (no earlier than the last sent) taken in: its number, for `enters`."""
        self.until = (arrival if arrival > self.until else self.until) + self.ingest_s
        self.arrived.append(arrival)
        self.done.append(self.until)
        return len(self.arrived) - 1

    def take_all(self, arrivals: list[float]) -> list[int]:
        """`take` of each of `arrivals` (ascending, none before the last sent) in turn: the number of each."""
        done, until, ingest_s = self.done, self.until, self.ingest_s
        first = len(done)
        for a in arrivals:
            until = (a if a > until else until) + ingest_s
            done.append(until)
        self.until = until
        self.arrived += arrivals
        return list(range(first, len(done)))

    def enters(self, i: int) -> float:
        """When request `i` (`take`'s number) reaches the engine: when the last request sent before it was taken in
        has been taken in (the requests sent later still may lengthen it, until then)."""
        return self.done[bisect.bisect_left(self.arrived, self.done[i]) - 1]

    def enters_all(self) -> list[float]:
        """`enters` of every request taken in, in order (ascending): both lists ascend, so one pass."""
        arrived, done = self.arrived, self.done
        out, k, n = [], 0, len(done)
        for c in done:
            while k + 1 < n and arrived[k + 1] < c:
                k += 1
            out.append(done[k])
        return out

    def deliver(self, t: float) -> float:
        """When a token the engine makes at `t` reaches its client: once the last request sent by `t` is taken in."""
        if t >= self.until:
            return t
        k = bisect.bisect_right(self.arrived, t)
        if not k:
            return t
        e = self.done[k - 1]
        return e if e > t else t


class OpenLoop:
    """Requests `ids` arriving at `times` (ascending), through `front` (None: a front end taking no time)."""

    def __init__(self, ids: list[int], times: list[float], front: FrontEnd | None = None) -> None:
        self.front = front = front if front is not None else FrontEnd(0.0)
        self.ids, self.times, self.at = ids, times, 0
        if front.ingest_s > 0.0:        # when each reaches the engine (ascending): `FrontEnd.enters`
            front.take_all(times)
            self.enters = front.enters_all()
        else:
            self.enters = times
        self.total = len(ids)
        self.upcoming = self.enters[0] if times else math.inf   # the next arrival's time at the engine, inf when none
        self.unseen = times[0] if times else math.inf       # the earliest sending of those not at the engine yet
        self.step_due: float = math.inf                     # the step of the next request due by step (`due_at_step`)
        # when a token made at `t` reaches its client: the front end's own (`FrontEnd.deliver`, `t` itself when it
        # takes no time), called as it is, with no call of this source's between (a replica calls it twice a request)
        self.deliver: Callable[[float], float] = front.deliver

    def due(self, now: float) -> list[tuple[float, int]]:
        """(client's arrival, request) of those at the engine by `now`, earliest first."""
        at, enters = self.at, self.enters
        if at >= self.total or enters[at] > now:
            return []
        stop, total, times = at + 1, self.total, self.times
        while stop < total and enters[stop] <= now:
            stop += 1
        self.at = stop
        if stop < total:
            self.upcoming, self.unseen = enters[stop], times[stop]
        else:
            self.upcoming = self.unseen = math.inf
        if stop == at + 1:                          # mostly one at a time
            return [(times[at], self.ids[at])]
        return list(zip(times[at:stop], self.ids[at:stop], strict=True))

    def wait_before(self, start: float, end: float) -> float:
        """Σ over the requests sent before `end` and not yet at the engine of their time in the system between
        `start` and `end`: end − max(sent, start)."""
        out, times = 0.0, self.times
        for j in range(self.at, self.total):
            a = times[j]
            if a >= end:
                break
            out += end - (a if a > start else start)
        return out

    def ended(self, i: int, t: float) -> None:
        """An open loop's arrivals do not depend on ends."""

    def due_at_step(self, step: int, now: float) -> list[tuple[float, int]]:
        """(arrival, request) of those due by engine step `step` (they arrive `now`): none but a closed
        loop's first requests started in steps."""
        return []


class ClosedLoop:
    """Clients `mine` of `clients`, each sending requests c, c + clients, … one after the other: the
    first at c × ramp / clients — or, given `first_steps`, when the replica reaches engine step
    `first_steps[c]` — each next one when its client has the last one's last token; through `front`."""

    def __init__(self, mine: list[int], ramp: float, clients: int, n: int,
                 first_steps: list[int] | None = None, front: FrontEnd | None = None) -> None:
        self.front = front if front is not None else FrontEnd(0.0)
        self.clients, self.n = clients, n
        self.heap = [(c * ramp / clients, c) for c in mine] if first_steps is None else []
        heapq.heapify(self.heap)
        self.sent: deque[tuple[int, float, int]] = deque()     # (front end's number, sent, request) being taken in
        self.stepped = [] if first_steps is None else sorted(((first_steps[c], c) for c in mine), reverse=True)
        self.total = sum(len(range(c, n, clients)) for c in mine)
        self.upcoming = self.unseen = self.heap[0][0] if self.heap else math.inf
        self.step_due = self.stepped[-1][0] if self.stepped else math.inf

    def _send(self, now: float) -> None:
        """The requests clients have sent by `now`, and those sent while the front end is still busy taking
        them in, into the front end (`sent`); `upcoming` updated."""
        heap = self.heap
        if not heap or heap[0][0] > now and heap[0][0] >= self.front.until:      # none sent to take in (most calls)
            return
        sent, front = self.sent, self.front
        if front.ingest_s <= 0.0:
            while heap and heap[0][0] <= now:
                a, i = heapq.heappop(heap)      # (time, request): the client's request is its id
                sent.append((0, a, i))
        else:
            while heap and (heap[0][0] <= now or heap[0][0] < front.until):
                a, i = heapq.heappop(heap)
                sent.append((front.take(a), a, i))
        self._upcoming()

    def _at_engine(self, entry: tuple[int, float, int]) -> float:
        return self.front.enters(entry[0]) if self.front.ingest_s > 0.0 else entry[1]

    def _upcoming(self) -> None:
        nxt = unseen = self.heap[0][0] if self.heap else math.inf
        if self.sent:
            head = self.sent[0]
            at = self._at_engine(head)
            nxt = at if at < nxt else nxt
            unseen = head[1] if head[1] < unseen else unseen
        self.upcoming, self.unseen = nxt, unseen

    def due(self, now: float) -> list[tuple[float, int]]:
        self._send(now)
        sent = self.sent
        out = []
        while sent and self._at_engine(sent[0]) <= now:
            _, a, i = sent.popleft()
            out.append((a, i))
        if out:
            self._upcoming()
        return out

    def deliver(self, t: float) -> float:
        front = self.front
        if front.ingest_s <= 0.0:
            return t
        self._send(t)
        return t if t >= front.until else front.deliver(t)

    def wait_before(self, start: float, end: float) -> float:
        return (sum(end - (a if a > start else start) for a, _ in self.heap if a < end)
                + sum(end - (a if a > start else start) for _, a, _ in self.sent if a < end))

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
            if t < self.upcoming:
                self.upcoming = t
            if t < self.unseen:
                self.unseen = t

"""One decode replica of a disaggregated deployment, for `dagc.serve.load_pools`.

Input: the most requests the replica holds and the price of its decode step at `n` requests in flight.
Output: its events — the step at which a request that arrived joins, the steps at which requests end —
and the stretches of steps it ran (each step's time and the tokens the stretch emitted). Steps are
counted from the replica's start; between two events the requests decoding do not change, so the
steps between them run as one stretch at one step time.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable

__all__ = ["DecodeReplica"]


class DecodeReplica:
    """A replica decoding its requests in flight, one step for all of them at a time.

    Example:
        >>> rep = DecodeReplica(4, lambda n: 0.01 * (1 + n))         # a step of 10 ms + 10 ms per request
        >>> rep.join(0.0, 7, 3)                                       # request 7 needs 3 steps: joins now
        (0.0, 1)
        >>> rep.advance(0.0), rep.next_event()
        (([], None), (0.06, 2))
        >>> rep.advance(0.06)                                         # 3 steps of 20 ms: 3 tokens
        ([7], (0.02, 3.0))
    """

    def __init__(self, cap: int, price: Callable[[int], float]) -> None:
        self.cap, self.price = cap, price
        self.prices: dict[int, float] = {}             # `price` by requests in flight, as asked in this run
        self.active = 0                                 # requests decoding in this stretch
        self.t0, self.s0, self.dt = 0.0, 0, 0.0         # the stretch's start (time, step) and step time
        self.ends: list[tuple[int, int]] = []           # (step it ends at, request)
        self.joiners: list[tuple[int, int]] = []        # (request, its decode steps), joining at `join_step`
        self.join_step: int | None = None
        self.next_step = 0
        self.version = 0                                # the event scheduled last; earlier ones are stale

    def join(self, t: float, i: int, steps: int) -> tuple[float, int]:
        """Request `i`, needing `steps` decode steps, joins at the first step boundary from `t` (at once
        when idle). Returns the replica's next event (time, version)."""
        if self.join_step is None:
            if self.active == 0:
                self.t0, self.join_step = t, self.s0
            else:       # the boundary at or after t; rounding must not push one due at t to the next
                self.join_step = self.s0 + max(0, math.ceil((t - self.t0) / self.dt - 1e-9))
        self.joiners.append((i, steps))
        event = self.next_event()
        assert event is not None
        return event

    def next_event(self) -> tuple[float, int] | None:
        """The next step at which a request joins or ends, as (time, version); None when idle."""
        end, join = self.ends[0][0] if self.ends else None, self.join_step
        if end is None:
            if join is None:
                return None
            self.next_step = join
        else:
            self.next_step = join if join is not None and join < end else end      # the earlier
        self.version += 1
        return self.t0 + (self.next_step - self.s0) * self.dt, self.version

    def advance(self, t: float) -> tuple[list[int], tuple[float, float] | None]:
        """Run to the scheduled event, at `t`: the requests that ended, and the stretch just run (its step
        time, the tokens it emitted) if any."""
        s = self.next_step
        stretch = (self.dt, float(self.active * (s - self.s0))) if self.active and s > self.s0 else None
        ended = []
        while self.ends and self.ends[0][0] <= s:
            ended.append(heapq.heappop(self.ends)[1])
        self.active -= len(ended)
        if self.join_step is not None and self.join_step <= s:
            for i, steps in self.joiners:
                heapq.heappush(self.ends, (s + steps, i))
            self.active += len(self.joiners)
            self.joiners, self.join_step = [], None
        self.t0, self.s0 = t, s
        n = self.active
        if n:
            dt = self.prices.get(n)
            self.dt = dt if dt is not None else self.prices.setdefault(n, self.price(n))
        else:
            self.dt = 0.0
        return ended, stretch

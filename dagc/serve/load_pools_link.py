"""A link that transfers share: processor sharing, for `dagc.serve.load_pools`.

Input: transfers, each started at a time with its work — the seconds it takes alone on the link
(`dagc.serve.disagg.transfer_seconds` of one request). Output: when each ends. While `k` transfers
are under way, each moves at 1/k of the link's bandwidth, so two equal transfers started together each
take twice as long as one alone. The link keeps a virtual clock — the work each transfer under way has
done since the clock started — so a start or an end costs a heap operation, not a pass over the others.
"""

from __future__ import annotations

import heapq
import math
from typing import Generic, TypeVar

__all__ = ["SharedLink"]


_T = TypeVar("_T")


class SharedLink(Generic[_T]):
    """A link whose transfers under way share its bandwidth equally.

    Example:
        >>> link = SharedLink()
        >>> link.start(0.0, 1.0, "a"); link.start(0.0, 1.0, "b")
        >>> link.next_end()                       # two at once: each at half speed
        2.0
        >>> sorted(link.ended(2.0))
        ['a', 'b']
    """

    def __init__(self) -> None:
        self.virtual = 0.0              # work each transfer under way has done since the link started
        self.at = 0.0                   # the time `virtual` was brought up to
        self.flows: list[tuple[float, int, _T]] = []      # (virtual time it ends at, order, what)
        self.order = 0

    def _advance(self, t: float) -> None:
        if self.flows:
            self.virtual += (t - self.at) / len(self.flows)
        self.at = t

    def start(self, t: float, work_s: float, what: _T) -> None:
        """A transfer of `work_s` seconds alone starts at `t` (not before the link's last event)."""
        self._advance(t)
        heapq.heappush(self.flows, (self.virtual + work_s, self.order, what))
        self.order += 1

    def next_end(self) -> float:
        """When the next transfer ends, as things stand (inf: none under way)."""
        if not self.flows:
            return math.inf
        return self.at + (self.flows[0][0] - self.virtual) * len(self.flows)

    def ended(self, t: float) -> list[_T]:
        """The transfers that have ended by `t` (at `next_end()`), in the order they started."""
        self._advance(t)
        done = []
        # a transfer due by `t` ends, whatever rounding the clocks took on the way (judged in real time:
        # late in a run, `t` has far fewer digits after the point than the virtual clock)
        flows, due = self.flows, t + 1e-12 * abs(t) + 1e-15
        while flows and self.at + (flows[0][0] - self.virtual) * len(flows) <= due:      # `next_end()`
            self.virtual = max(self.virtual, flows[0][0])
            done.append(heapq.heappop(flows))
        if len(done) == 1:
            return [done[0][2]]
        return [what for _, _, what in sorted(done, key=lambda f: f[1])]

    def __len__(self) -> int:
        return len(self.flows)

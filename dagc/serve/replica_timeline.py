"""A replica's timeline (`dagc.serve.replica`): after each event, its time, its requests in flight and waiting, and
the fullest attention-DP rank's share of its KV blocks — on several ranks without taking every rank's decode blocks at
every event (`ReplicaTimeline.note`).

Input: at each event the replica's time, counts and step; its `DecodeBlocks`, whose ranks on several take their
decode blocks only when next read or changed (`DecodeBlocks.sync`), and the ranks whose requests changed since the
last event (a request admitted, prefilled or released there). Output: the four series (`Run.series`); the KV shares
as `DecodeBlocks.kv_share` reads them with every rank's blocks taken to the event's step, bit for bit
(tests/test_replica_timeline.py).

Between two changes of a rank its decoding requests and their block phases stay as they are, so the blocks it holds
at step S are those it held at its last change, at step S0, and the blocks its requests take over [S0, S) — as
`DecodeBlocks.sync` counts them: n·((S − S0) // P) and the phase counts of the window left over. The replica brings
a rank up to its step before changing it, so a changed rank's state is noted as it stands (the step it was brought
up to, the blocks it holds, its decoding requests and their phase counts); every `CHUNK` events the blocks of every
rank at each of those events are computed at once, as arrays, and the notes but each rank's last let go. A rank's
cached blocks evicted on the way change nothing here: an eviction takes as many blocks from `used` as from
`evictable`. On an engine that never preempts the share is the blocks promised (`DecodeBlocks.kv_share`), which
change only with the requests admitted and released: read at each event.
"""

from __future__ import annotations

from array import array

import numpy as np

from .replica_blocks import PHASE_BITS, DecodeBlocks

__all__ = ["CHUNK", "ReplicaTimeline"]

CHUNK = 4096            # events whose shares are computed at once (the notes kept meanwhile: about 1.5 an event)


class ReplicaTimeline:
    """A replica's timeline as it goes (module docstring). `lazy`: its ranks take their decode blocks late, and the
    KV shares are computed from notes (`note`) — the replica adds each rank it changes to `dirty`, and calls `note`
    where its ranks' blocks would be taken for an event's steps, then `noted` once the event is over; else its one
    rank's share is the one `DecodeBlocks.grow` returns (`grown`); on an engine that never preempts, the share of the
    blocks promised, read at each event (`read`)."""

    __slots__ = ("blocks", "dirty", "lazy", "notes", "packs", "read", "state", "steps", "tl")

    def __init__(self, blocks: DecodeBlocks, lazy: bool) -> None:
        self.blocks, self.lazy, self.read = blocks, lazy and not blocks.no_evict, lazy and blocks.no_evict
        self.tl = (array("d"), array("d"), array("d"), array("d"))
        self.dirty: set[int] = set()
        # the blocks' lists a note reads (changed in place, never replaced): each rank's pool, step brought up to,
        # decoding requests and their block phases' counts, packed (`DecodeBlocks.packed`)
        self.state = (blocks.kv, blocks.since, blocks.ndec, blocks.packed)
        self.steps: list[int] = []                       # the steps of the events whose shares are still to compute
        # each rank's notes: (event, step, blocks held, decoding requests), and beside them the phase counts packed;
        # the first stands for the events before any change (the empty rank), then for the last note of the events
        # computed already
        self.notes: list[list[tuple[int, int, int, int]]] = [[(-1, 0, 0, 0)] for _ in range(blocks.g)]
        self.packs: list[list[int]] = [[0] for _ in range(blocks.g)]

    def note(self) -> None:
        """The ranks changed since their last note, noted for the event to come as they are at the step they were
        last brought up to (`DecodeBlocks.since`: the replica brings a rank up to its step before changing it)."""
        e, notes, packs, (kvs, since, ndec, packed) = len(self.tl[0]), self.notes, self.packs, self.state
        for r in self.dirty:
            kv = kvs[r]
            notes[r].append((e, since[r], kv.used - kv.evictable, ndec[r]))
            packs[r].append(packed[r])
        self.dirty.clear()

    def grown(self, t: float, running: int, waiting: int, step: int, kv_used: float) -> None:
        """An event is over at time `t` (and `step`) on a replica whose one rank takes its blocks at every event:
        `kv_used`, the share `DecodeBlocks.grow` returned, or -1 when requests were released in it (the share is
        read after them)."""
        tl = self.tl
        tl[0].append(t)
        tl[1].append(running)
        tl[2].append(waiting)
        tl[3].append(kv_used if kv_used >= 0 else self.blocks.kv_share())

    def noted(self, t: float, running: int, waiting: int, step: int, kv_used: float) -> None:
        """`grown` of a replica whose ranks take their blocks late: the share computed from the notes (`lazy`), or read
        (`read`); `kv_used` is 0, or -1 when requests were released in the event."""
        tl = self.tl
        if self.read:
            tl[3].append(self.blocks.kv_share())
        else:
            if kv_used < 0 and self.dirty:
                self.note()                     # as the event's own (the events so far: `tl[0]`)
            self.steps.append(step)
        tl[0].append(t)
        tl[1].append(running)
        tl[2].append(waiting)
        if len(self.steps) >= CHUNK:
            self._compute()

    def series(self) -> tuple[np.ndarray, ...]:
        """(time, running, waiting, KV share) after each event (`Run.series`)."""
        self._compute()
        return tuple(np.frombuffer(a, dtype=float) if len(a) else np.zeros(0) for a in self.tl)

    def _compute(self) -> None:
        """The shares of the events noted since the last call, from each rank's notes; each rank's last note kept."""
        if not self.steps:
            return
        last = len(self.tl[0])
        at = np.arange(last - len(self.steps), last)
        steps = np.asarray(self.steps, dtype=np.int64)
        most = np.zeros(len(at), dtype=np.int64)
        for rec, packs in zip(self.notes, self.packs, strict=True):
            most = np.maximum(most, _held(rec, packs, at, steps, self.blocks.P))
            del rec[:-1], packs[:-1]
        self.steps = []
        self.tl[3].extend((most / self.blocks.kv[0].total).tolist())


def _held(rec: list[tuple[int, int, int, int]], packs: list[int], at: np.ndarray, steps: np.ndarray,
          P: int) -> np.ndarray:
    """A rank's blocks held after the events `at` (their `steps`), from its notes (`ReplicaTimeline.notes`: event,
    step, blocks held, decoding requests; `packs`, the P phase counts of each packed as `DecodeBlocks.packed`): the
    blocks of its last note at or before each event and those its decoding requests take since (`DecodeBlocks.sync`).

    Example (two decoding requests of phases 0 and 2 over P = 4 steps, noted holding 10 blocks at step 4, read at
    steps 4, 5, 7 and 9; the rank empty before):
        >>> notes, packs = [(-1, 0, 0, 0), (1, 4, 10, 2)], [0, 1 + (1 << 2 * PHASE_BITS)]
        >>> _held(notes, packs, np.array([0, 1, 2, 3, 4]), np.array([2, 4, 5, 7, 9]), 4).tolist()
        [0, 10, 10, 11, 12]
    """
    if len(rec) == 1 and rec[0][3] == 0:          # no decoding request since the last change: no growth
        return np.full(len(at), rec[0][2], dtype=np.int64)
    notes = np.array(rec, dtype=np.int64)
    event, since, held, ndec = notes[:, 0], notes[:, 1], notes[:, 2], notes[:, 3]
    size = PHASE_BITS // 8 * P
    counts = np.frombuffer(b"".join([x.to_bytes(size, "little") for x in packs]), dtype=f"<u{PHASE_BITS // 8}")
    counts = counts.reshape(len(rec), P).astype(np.int64)
    # the phase counts round twice, summed from the left: a window of `rem` phases from `lo` is two reads
    prefix = np.zeros((len(rec), 2 * P + 1), dtype=np.int64)
    np.cumsum(np.concatenate((counts, counts), axis=1), axis=1, out=prefix[:, 1:])
    j = np.searchsorted(event, at, side="right") - 1
    s0 = since[j]
    k = steps - s0
    whole, rem = np.divmod(k, P)
    lo = (P - rem - s0) % P
    return held[j] + ndec[j] * whole + prefix[j, lo + rem] - prefix[j, lo]

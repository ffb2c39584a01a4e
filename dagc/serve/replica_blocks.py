"""The KV blocks a replica's decoding requests take as they decode (`dagc.serve.replica`), one stretch of
steps at a time.

Input: each attention-DP rank's block pool (`dagc.serve.kv_blocks.RankKV`), its decoding requests and the
step of each one's block cycle at which it takes its next block. Output: how many of the next decode steps
every rank has blocks for (preempting a request of a rank that has none for the next), and the blocks taken
over a stretch.

A decoding request takes a block every P steps (P = 16 / its tokens a step) at its own phase ψ
(`Req.block_phase`); `block_phases[r][ψ]` counts rank r's, so the blocks its requests take over k steps from
step S are n·(k // P) and one for each request whose phase comes round within the remaining k % P steps.

`roomy`: where every rank holds its cap of the run's largest requests at their longest, no rank ever runs
short and `DecodeBlocks.kv_steps` has nothing to check.

`step_chunks`: the prompt tokens each rank's step carries.
"""

from __future__ import annotations

from collections import deque
from itertools import compress

import numpy as np

from .kv_blocks import BLOCK_TOKENS, RankKV
from .requests import Requests
from .run import Req, Run

__all__ = ["PHASE_BITS", "DecodeBlocks", "roomy", "step_chunks"]

B = BLOCK_TOKENS
PHASE_BITS = 32         # a rank's phase counts packed in one integer, a field of this many bits each (`packed`)


def roomy(requests: Requests, caps: list[int], blocks: int, steps_per_block: int, emitted: float) -> bool:
    """Whether each rank's `blocks` hold its cap of requests, each as many blocks as any request can hold:
    then `DecodeBlocks.kv_steps` never finds a rank short, and never preempts.

    A request holds its own blocks and its prompt's cached hashed blocks (each ⌈hash tokens / 16⌉ blocks,
    at most (prompt − 1) // hash tokens of them); a decoding one, admitted `s` decode steps ago, ⌈its
    own prompt tokens / 16⌉ + (its first block's steps + s) // P own blocks, the first block's steps under
    P. `kv_steps` asks for k // P + 1 more blocks for each, k no more than the decode steps left to the
    first of them to end, so the blocks a rank holds and asks for are at most, over its requests,
    ⌈prompt / 16⌉ + its hashed blocks + ⌈its decode steps / P⌉ + 2: never preempted, a request's tokens
    are its prompt's."""
    if not len(requests):
        return True
    prompt = requests.prompt.astype(np.int64)
    steps = np.ceil((requests.output.astype(np.int64) - 1) / emitted)
    hashed = 0 if requests.hash_ids is None else (prompt - 1) // requests.block_tokens * -(
        -requests.block_tokens // BLOCK_TOKENS)
    most = -(-prompt // BLOCK_TOKENS) + hashed + np.ceil(steps / steps_per_block) + 2
    return bool(max(caps) * most.max() <= blocks)


class DecodeBlocks:
    """The KV blocks of a `dagc.serve.replica.Replica`'s decoding requests (module docstring), held by the replica:
    each rank's pool (`kv`), its decoding requests (`ndec`) by their block phase (`block_phases`), and on an
    engine that never preempts the blocks promised to each request. The replica's step is handed to each call;
    it holds no reference back to the replica (which preempts a request of the rank `kv_steps` finds `short`),
    so a replica's run is freed as soon as it ends."""

    __slots__ = ("E", "P", "blind", "block_phases", "g", "hash_tokens", "inflight", "kv", "lazy", "ndec", "no_evict",
                 "output", "packed", "promise", "promised", "short", "since", "unit")

    def __init__(self, run: Run, kv: list[RankKV], emitted: float, inflight: list[int], no_evict: bool,
                 lazy: bool) -> None:
        """`kv`, each rank's pool; `inflight`, the replica's requests in flight on each rank (read, not changed:
        a rank's only request goes on); `lazy`, whether a rank's blocks are taken only when it is next read
        or changed (`sync`)."""
        self.g, self.kv, self.inflight = len(kv), kv, inflight
        self.short = -1                                       # the rank `kv_steps` found with no block for a step
        self.E = emitted                                      # tokens a decode step emits per request
        self.P = max(1, round(B / emitted))                   # decode steps per block
        self.output, self.hash_tokens = run.output, run.requests.block_tokens
        self.ndec = [0] * self.g                              # each rank's decoding requests
        self.block_phases = [[0] * self.P for _ in kv]
        # the same counts of each rank packed in one integer, phase ψ in bits [ψ·PHASE_BITS, (ψ + 1)·PHASE_BITS): what a
        # recorded run's timeline notes at each change of a rank (`dagc.serve.replica_timeline`), one number a note
        self.packed, self.unit = [0] * self.g, [1 << (PHASE_BITS * psi) for psi in range(self.P)]
        # a run on several ranks, or one recording no timeline, takes each rank's decode blocks only when the rank is
        # next read or changed (`sync`), rather than every rank's at every event: `since[r]`, the step it is up to
        # date at (a recorded run's KV shares: `dagc.serve.replica_timeline.KvShares`)
        self.lazy, self.since = lazy, [0] * self.g
        # an engine that never preempts: each rank's blocks promised to its requests at their full length, and each's
        self.no_evict, self.promised, self.promise = no_evict, [0] * self.g, dict[int, int]()
        # a replica whose blocks nothing reads (`Replica`: a trial that neither runs short nor refuses a request):
        # only each rank's decoding requests are counted, which its steps read
        self.blind = False

    def promisable(self, req: Req, r: int, j: int) -> bool:
        """Whether rank `r` holds `req` at its full length (its prompt beside `j` cached hashed blocks, and its
        output) beside every request admitted there at theirs and the hashed blocks they hold: how TensorRT-LLM's
        capacity scheduler admits by default (GUARANTEED_NO_EVICT), so that no request is ever preempted."""
        kv = self.kv[r]
        return self.promised[r] + self._full(req, j) <= kv.total - len(kv.held) * kv.entry_blocks

    def promise_full(self, req: Req, r: int, j: int) -> None:
        self.promise[req.i] = full = self._full(req, j)
        self.promised[r] += full

    def unpromise(self, req: Req, r: int) -> None:
        self.promised[r] -= self.promise.pop(req.i)

    def _full(self, req: Req, j: int) -> int:
        """The blocks of its own `req` holds at its full length, beside `j` cached hashed blocks."""
        return -(-(req.tokens + int(self.output[req.i]) - j * self.hash_tokens) // B)

    def decoding(self, req: Req, r: int, u0: int) -> None:
        """`req`, of `u0` own prompt tokens, decodes on rank `r` from its `start` step: its block phase counted."""
        if self.blind:
            self.ndec[r] += 1
            return
        P = self.P
        c = min(P - 1, int(((u0 - 1) % B) / self.E)) - req.start         # `phase0`, written out
        req.block_phase = psi = c % P
        # its own blocks at step S, (u0 − 1) // 16 + 1 + (c + S) // P: these and (ψ + S) // P (c − ψ is a multiple of P)
        req.own_blocks = (u0 - 1) // B + 1 + c // P
        self.block_phases[r][psi] += 1
        self.packed[r] += self.unit[psi]
        self.ndec[r] += 1

    def stop_decoding(self, req: Req, r: int, step: int) -> None:
        """`req`, decoding on rank `r`, leaves it at `step`: its blocks given back, its block phase uncounted."""
        if self.blind:
            self.ndec[r] -= 1
            return
        self.kv[r].give(self.blocks_now(req, step))
        self.block_phases[r][req.block_phase] -= 1
        self.packed[r] -= self.unit[req.block_phase]
        self.ndec[r] -= 1

    def kv_steps(self, k: int, step: int) -> int:
        """The most of the next `k` decode steps from `step` every rank has blocks for; 0 when a rank has none
        for the next (`short`: one of its requests is to be preempted)."""
        if self.lazy:
            for r in range(self.g):
                self.sync(r, step)
        P, S = self.P, step
        for r, (n, kv) in enumerate(zip(self.ndec, self.kv, strict=True)):
            if not n:
                continue
            free = kv.total - kv.used + kv.evictable
            if free >= n * (k // P + 1):
                continue
            full = free // n if free > 0 else 0
            most = full * P
            rem, cnt = free - full * n, self.block_phases[r]
            for extra in range(1, P):
                rem -= cnt[(P - extra - S) % P]
                if rem < 0:
                    break
                most += 1
            if most == 0:
                if self.inflight[r] == 1:      # alone it goes on (a rank holds at least the longest request)
                    continue
                self.short = r
                return 0
            k = min(k, most)
        return k

    def grow(self, k: int, step: int) -> float:
        """The one rank's decoding requests take their blocks for `k` steps from `step`: its share in use, as
        `kv_share` reads it (a recorded run on one rank; a `lazy` replica's ranks take theirs when next read or
        changed, `sync`)."""
        P = self.P
        rem, whole = k % P, k // P
        lo = (P - rem - step) % P
        kv, n = self.kv[0], self.ndec[0]
        if n:
            cnt = self.block_phases[0]
            # one step a time mostly (`rem` 1): its phase's count read in place, a longer stretch summed (`_window`)
            out = n * whole + (cnt[lo] if rem == 1 else 0 if not rem else sum(cnt[lo:lo + rem]) if lo + rem <= P
                               else sum(cnt[lo:]) + sum(cnt[:lo + rem - P]))
            if out:
                kv.used += out
                if kv.used > kv.total:
                    kv.take(0)                     # evicts cached blocks
        held = kv.used - kv.evictable
        return self._promised_share() if self.no_evict else (held if held > 0 else 0) / kv.total

    def sync(self, r: int, step: int) -> None:
        """Rank `r`'s decoding requests take the blocks of the steps since it was last brought up to date (a `lazy`
        replica) until `step`: the blocks over steps [S, S + k) are the count of each request's block steps in
        them, so taken at once they are the sum of those `grow` takes step stretch by stretch, and its pool, read
        or changed only after this, is the same (an eviction too: the fewest least recently used cached blocks
        that bring the pool within its blocks, in either case)."""
        S = self.since[r]
        k = step - S
        if not k:
            return
        self.since[r] = step
        n = self.ndec[r]
        if not n:
            return
        P = self.P
        rem, whole = k % P, k // P
        lo = (P - rem - S) % P
        out = n * whole + (_window(self.block_phases[r], lo, rem, P) if rem else 0)
        if out:
            kv = self.kv[r]
            kv.used += out
            if kv.used > kv.total:
                kv.take(0)

    def kv_share(self) -> float:
        """The fullest rank's share of its KV cache in use — on an engine that never preempts, promised to its
        requests at their full length, which is what holds its admission back."""
        if self.no_evict:
            return self._promised_share()
        if self.g == 1:
            kv = self.kv[0]
            return (kv.used - kv.evictable) / kv.total
        return max([kv.used - kv.evictable for kv in self.kv]) / self.kv[0].total

    def _promised_share(self) -> float:
        return max(p + len(kv.held) * kv.entry_blocks for p, kv in zip(self.promised, self.kv, strict=True)) \
            / self.kv[0].total

    def blocks_now(self, req: Req, step: int) -> int:
        """A decoding request's own blocks at `step` (`decoding`)."""
        return req.own_blocks + (req.block_phase + step) // self.P

    def phase0(self, u0: int) -> int:
        return min(self.P - 1, int(((u0 - 1) % B) / self.E))     # the block's tokens so far, in steps


def _window(cnt: list[int], lo: int, rem: int, P: int) -> int:
    """The block steps a rank's decoding requests take over `rem` steps (0 < rem < P) from phase `lo`: the counts of
    phases lo … lo + rem − 1, taken round the P phases.

    Example:
        >>> _window([1, 0, 2, 3], 1, 2, 4), _window([1, 0, 2, 3], 3, 2, 4), _window([1, 0, 2, 3], 2, 1, 4)
        (2, 4, 2)
    """
    return sum(cnt[lo:lo + rem]) if lo + rem <= P else sum(cnt[lo:]) + sum(cnt[:lo + rem - P])



def step_chunks(prefill: list[deque[Req]], ndec: list[int], chunk: int, q: int, whole: bool
                ) -> tuple[list[list[tuple[Req, int]]], int, int]:
    """Each rank's prompt tokens this step, first come first served in the room its budget (`chunk`) leaves after
    its `ndec` decode requests' `q` positions each (the last prompt chunked, or with chunked prefill off — `whole` —
    whole prompts only), the most of any rank and of all ranks together."""
    if len(prefill) == 1 and prefill[0]:            # one rank, prefilling: no ranks to pick
        mine, size = _rank_chunk(prefill[0], ndec[0], chunk, q, whole)
        return [mine], size, size
    chunks: list[list[tuple[Req, int]]] = []
    p = total = 0
    for queue, n in compress(zip(prefill, ndec, strict=True), prefill):     # the ranks prefilling
        mine, size = _rank_chunk(queue, n, chunk, q, whole)
        chunks.append(mine)
        p = max(p, size)
        total += size
    return chunks, p, total


def _rank_chunk(queue: deque[Req], n: int, chunk: int, q: int, whole: bool) -> tuple[list[tuple[Req, int]], int]:
    """One rank's prompt tokens this step (`step_chunks`) beside its `n` decode requests, and how many."""
    room = max(1, chunk - n * q)
    size = 0
    mine = []
    for req in queue:
        if whole and req.left > room - size:
            if size or (n and req.left <= chunk):   # it waits for a step with room for all of it
                break
            room = req.left          # longer than any step's budget: its own step, beside the decodes
        take = min(room - size, req.left)
        mine.append((req, take))
        size += take
        if size >= room:
            break
    return mine, size

"""One data-parallel replica of an in-flight deployment, simulated step by step (`dagc.serve.load`).

Input: the replica's request source (`dagc.serve.sources`), each request's lengths and prompt block hash
ids (`dagc.serve.requests.Requests`), each attention-DP rank's most requests in flight and KV blocks
(`dagc.serve.kv_blocks`), and the step-time surrogate (`dagc.serve.surrogate.StepSurface`). Output: the
shared `Run`, filled with every request's arrival, first token, end, preemptions and cached prompt
tokens, each step's gap and tokens, and the replica's timeline.

Its attention-DP ranks step together. Waiting requests are admitted first come first served, each to the rank with
the fewest in flight (else the one with the most free blocks), while it holds fewer than its share of the batch and
has free blocks for the request's prompt beyond the longest chain of its prompt's hashed blocks cached there; no
request is admitted in a step that preempted one (as vLLM). A step fills each rank's token budget (`chunk`) after its
decode tokens with prompt tokens, first come first served (the last prompt chunked; with chunked prefill off, whole
prompts while they fit, as TensorRT-LLM's scheduler takes them — a prompt longer than the whole budget, which no step
could hold, takes a step's prompt tokens alone once it heads its rank's queue, beside the rank's decode tokens); it
costs what the surrogate says for the replica's requests in flight, the largest rank's prompt tokens, and the prefix
the decode requests attend to (their mean context less half the workload's `generate`; a prompt's own length when
none decodes) — with what the other ranks' prompt tokens add to the experts they share (`StepSurface.spread`). A
request ending its prompt emits its first token and caches its prompt's hashed blocks; each decode step grows its KV
by a token, a block every 16. When a rank has no block for that, its most recently admitted request is preempted
(vLLM V1's recompute): its blocks are freed, it goes back to the head of the queue, and later prefills its prompt and
the tokens it had generated again — except on an engine that never preempts (TensorRT-LLM's GUARANTEED_NO_EVICT),
which admits a request only while its rank holds it and every request there at full length. An engine that runs
prefill steps apart (`EngineTerms.prefill_apart`, SGLang's) runs a step of prompt tokens alone, at the whole budget,
while any prompt waits, the decode requests waiting; one that reserves output admits as `dagc.serve.reserve` says.
Stretches of decode steps with nothing to admit, no end and enough blocks run as one event. The first `warm` prompts'
blocks are in every rank's prefix cache before the first arrival (`Run.warm_ids`).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Sequence

from ..plan.workload import Workload
from .kv_blocks import BLOCK_TOKENS, RankKV
from .replica_blocks import DecodeBlocks, roomy, step_chunks
from .replica_timeline import ReplicaTimeline
from .reserve import OutputReserve, decode_gaps
from .run import DECODING, ENDING, PREFILLING, Req, Run
from .sources import OpenLoop, Source
from .surrogate import StepSurface
from .watch import Observers

__all__ = ["Replica"]

B = BLOCK_TOKENS
_NO_CHUNKS: tuple[tuple[list[tuple[Req, int]], ...], int, int] = ((), 0, 0)     # a step without prompt tokens


class Replica:
    """One data-parallel replica (module docstring); its decoding requests' KV blocks are its `blocks`."""

    def __init__(self, run: Run, source: Source, caps: list[int], kv_blocks: int, surface: StepSurface,
                 workload: Workload, observers: Observers) -> None:
        """`workload`'s chunk, positions a decode step, tokens a step (`emitted`) and output length are the
        replica's."""
        self.run_, self.source, self.caps, self.surface = run, source, caps, surface
        self.step_time = surface.time      # `surface.spread` of a step whose prompt tokens are all on its busiest rank
        self.one_rank = surface.adp <= 1
        self.watch = observers.watch if observers.watch is not None and observers.watch.watching else None
        self.g, self.whole = len(caps), not workload.chunked_prefill
        self.chunk, self.q, self.half = workload.chunk_tokens, workload.step_positions, workload.generate // 2
        self.E = emitted = workload.tokens_per_step
        self.hash_tokens = run.requests.block_tokens
        self.inflight = [0] * self.g
        # Σ inflight; the requests a step is priced at, set when a rank's requests in flight change rather than at
        # every step: those in flight, and on several ranks at least the fullest rank's (`top`) less one on every
        # rank and one more, as the surrogate prices the busiest rank's step (the ranks step together)
        self.nin = self.priced = self.top = 0
        self.open, self.nprefill = self.g, 0     # ranks with fewer in flight than their cap; requests prefilling
        self.record = observers.timeline
        self.lazy = not self.record or self.g > 1             # `DecodeBlocks.sync` (the shares: `ReplicaTimeline`)
        terms = getattr(surface.prices, "terms", None)                # an engine that never preempts (`promisable`)
        self.no_evict = bool(terms is not None and terms.no_evict)
        self.apart, self.stall = bool(terms is not None and terms.prefill_apart), 0.0     # SGLang's prefill steps
        self.q_room = 0 if self.apart else self.q             # a step's positions per decode request beside prompts
        self.reserve = OutputReserve.of(terms, self.g, surface.adp, emitted)   # … and admission (`_fit`, `_admit`)
        self.blocks = blocks = DecodeBlocks(run, [RankKV(kv_blocks, self.hash_tokens) for _ in caps], emitted,
                                            self.inflight, self.no_evict, self.lazy)
        self.kv, self.ndec = blocks.kv, blocks.ndec           # the blocks' own lists, read here
        for kv in self.kv:                                    # the prompts cached before the run (`warm`)
            kv.preload(run.warm_ids())
        self.timeline = timeline = ReplicaTimeline(blocks, self.lazy) if self.record else None
        self.recorded = None if timeline is None else timeline.noted if self.lazy else timeline.grown
        self.shares = self.timeline if self.timeline is not None and self.timeline.lazy else None
        self.dirty = set[int]() if self.shares is None else self.shares.dirty    # the ranks changed: `ReplicaTimeline`
        self.roomy = roomy(run.requests, caps, kv_blocks, blocks.P, emitted)     # no rank can run short
        # nor refuse a request (`_fit`) — without a prefix cache to look in, on an engine that preempts: admission
        # reads no rank's blocks, and a lazy rank takes its decode blocks only where its block phases change
        self.always_fits = self.roomy and not run.hash_offsets and not self.no_evict and self.reserve is None
        # … and records no timeline (a capacity's trial): nothing reads its KV blocks, so none are counted, but each
        # rank's decoding requests (`DecodeBlocks.blind`); `syncs`: a rank's blocks taken where it changes (`sync`)
        blocks.blind = self.always_fits and not self.record
        self.syncs = self.lazy and not blocks.blind
        self.ctx_base, self.ndec_all = 0.0, 0                 # Σ (tokens − start·E) of decoding requests; their count
        self.prefill: list[deque[Req]] = [deque() for _ in caps]
        self.admitted: list[dict[int, None]] = [{} for _ in caps]     # rank → its requests in admission order
        self.live: dict[int, Req] = {}
        self.ends: list[tuple[int, int, int]] = []            # (step it ends after, request, epoch)
        self.preempted = False                  # whether a request was: then an end in `ends` may be one left behind
        self.waiting: deque[int | Req] = deque()    # requests by id until first tried, then as `Req`
        self.step, self.t, self.done, self.hold_admission = 0, 0.0, 0, False
        self.progress, self.tell_end = observers.progress, None if isinstance(source, OpenLoop) else source.ended

    # --- the loop -------------------------------------------------------------------------------

    def run(self) -> None:
        source = self.source
        while self.done < source.total:
            if source.upcoming <= self.t or source.step_due <= self.step:
                self._arrive()
            if self.waiting and not self.hold_admission and not (self.reserve is not None and self.reserve.full):
                self._admit()
            if self.nin:
                self._advance()
                continue
            self.hold_admission = False
            if not self.waiting and source.step_due < math.inf:     # no step to wait: jump
                self.step = max(self.step, int(source.step_due))
            elif not self.waiting:
                if source.upcoming == math.inf:
                    raise RuntimeError("the requests' source ran dry before every request ended")
                t = max(self.t, source.upcoming)
                if source.unseen < t:           # requests the front end is taking in meanwhile
                    self.run_.area += source.wait_before(self.t, t)
                self.t = t
        if self.timeline is not None:
            self.run_.series.append(self.timeline.series())

    def _arrive(self) -> None:
        """The requests arrived by now join the queue (their wait inside the last step is in `area`)."""
        source, arrive, waiting = self.source, self.run_.arrive, self.waiting
        due = source.due(self.t)
        if source.step_due <= self.step:          # a closed loop's first requests, started in steps
            due += source.due_at_step(self.step, self.t)
        for a, i in due:
            arrive[i] = a
            waiting.append(i)

    def _admit(self) -> None:
        """First come first served while a rank has room (module docstring)."""
        g, caps, inflight, kv, waiting, ranks = self.g, self.caps, self.inflight, self.kv, self.waiting, range(self.g)
        while waiting and self.open:
            head = waiting[0]
            req = head if isinstance(head, Req) else self._new(head)
            if g == 1:
                plan, r = ((0, -(-req.tokens // B)) if self.always_fits else self._fit(req, 0)), 0
            else:
                r = inflight.index(min(inflight))           # the first with the fewest: open unless the caps differ
                if inflight[r] >= caps[r]:
                    r = min((x for x in ranks if inflight[x] < caps[x]), key=inflight.__getitem__)
                if (plan := self._fit(req, r)) is None:
                    open_ = [x for x in ranks if inflight[x] < caps[x]]
                    if self.lazy:
                        for x in open_:
                            self.blocks.sync(x, self.step)
                    r = max(open_, key=lambda x: kv[x].free)
                    plan = self._fit(req, r)
            if plan is None:
                if not isinstance(head, Req):
                    waiting[0] = req
                if self.reserve is not None:        # SGLang's `batch_is_full`: tried again when a request leaves
                    self.reserve.full = True
                return
            waiting.popleft()
            self._place(req, r, *plan)

    def _new(self, i: int) -> Req:
        run, tokens = self.run_, self.run_.prompt[i]
        return Req(i, math.ceil((run.output[i] - 1) / self.E), tokens, run.prompt_ids(i, tokens // self.hash_tokens))

    def _fit(self, req: Req, r: int) -> tuple[int, int] | None:
        """(cached hashed blocks, blocks to take) when rank `r` has room for `req`'s prompt, else None (an
        empty rank always has: it holds at least the longest request)."""
        if self.always_fits:            # a rank short of its cap holds it (`roomy`), and nothing is cached
            return 0, -(-req.tokens // B)
        if self.lazy:
            self.blocks.sync(r, self.step)
        kv = self.kv[r]
        j = idle = 0
        if req.ids:
            j, idle = kv.match(req.ids[:(req.tokens - 1) // self.hash_tokens])
        need = -(-(req.tokens - j * self.hash_tokens) // B)
        if need > kv.free - idle * kv.entry_blocks and self.inflight[r]:
            return None
        if self.no_evict and self.inflight[r] and not self.blocks.promisable(req, r, j):
            return None
        if self.reserve is not None and self.inflight[r] and not self.reserve.admits(
                r, kv.free * B, req.tokens - j * self.hash_tokens, self.run_.output[req.i], self.step):
            return None
        return j, need

    def _place(self, req: Req, r: int, j: int, need: int) -> None:
        kv = self.kv[r]
        if j:
            kv.hold(req.ids[:j])
        kv.take(need)
        if self.no_evict:
            self.blocks.promise_full(req, r, j)
        req.r, req.nheld, req.own_blocks, req.phase = r, j, need, PREFILLING
        self.dirty.add(r)
        req.cached = j * self.hash_tokens
        req.left = req.tokens - req.cached
        if req.steps_done == 0 and not self.run_.preemptions[req.i]:
            self.run_.cached[req.i] = req.cached
        n = self.inflight[r] = self.inflight[r] + 1
        self.nin += 1
        if n > self.top:
            self.top = n
        self.priced = max(self.nin, self.g * (self.top - 1) + 1) if self.g > 1 else self.nin
        if self.inflight[r] == self.caps[r]:
            self.open -= 1
        self.admitted[r][req.i] = None
        if self.reserve is not None:
            self.reserve.admitted(r, self.run_.output[req.i])
        self.live[req.i] = req
        self.prefill[r].append(req)
        self.nprefill += 1

    # --- one event: a mixed step, or a stretch of decode steps ------------------------------------

    def _advance(self) -> None:
        # each rank's prompt tokens this step (`step_chunks`; in a prefill step apart, the whole budget)
        chunks, p, total = step_chunks(self.prefill, self.ndec, self.chunk, self.q_room, self.whole) \
            if self.nprefill else _NO_CHUNKS
        k = 1 if p else self._decode_stretch()
        apart = self.apart and p > 0                         # a prefill step: the decode requests wait
        if self.ndec_all and not self.roomy and not apart:
            k = self.blocks.kv_steps(k, self.step)
            if k == 0:                                        # a rank has no block for the next step
                self._preempt(self.blocks.short)
                return
        nin, ndec, n = self.nin, self.ndec_all, 1 if apart else self.priced
        ell = self._prefix(chunks, 0 if apart else ndec, k)
        dt = self.step_time(n, p, ell) if total <= p or self.one_rank else self.surface.spread(n, p, total, ell)
        end = self.t + dt * k
        run, source = self.run_, self.source
        run.area += (nin + len(self.waiting)) * dt * k + (
            source.wait_before(self.t, end) if source.unseen < end else 0.0)
        kd = 0 if apart else k                               # decode steps run
        if ndec:
            self.stall = decode_gaps(run, self.stall, dt, ndec, kd)
            if self.reserve is not None:
                self.reserve.decoded(kd)
        kv_used = 0.0 if self.lazy else self.blocks.grow(kd, self.step)     # a lazy replica's: when next read
        if self.shares is not None and self.dirty:
            self.shares.note()
        self.t, self.step = end, self.step + kd
        self.hold_admission = False
        for c in chunks:
            for req, take in c:
                req.left -= take
                if req.left == 0:
                    self._prefilled(req)
        ends, live, step = self.ends, self.live, self.step
        while ends and ends[0][0] <= step:
            _, i, epoch = heapq.heappop(ends)
            ending = live.get(i)
            if ending is not None and ending.epoch == epoch:
                self._end(ending)
                kv_used = -1.0
        if self.recorded is not None:
            self.recorded(end, self.nin, len(self.waiting), self.step, kv_used)

    def _prefix(self, chunks: Sequence[list[tuple[Req, int]]], ndec: int, k: int) -> float:
        """The prefix a step of `ndec` decode requests attends to over `k` steps (module docstring), at least 1."""
        if ndec:
            ell = (self.ctx_base + ndec * self.E * (self.step + k / 2)) / ndec - self.half
        else:
            ell = max(req.tokens for c in chunks for req, _ in c)
        return ell if ell > 1.0 else 1.0

    def _decode_stretch(self) -> int:
        """Decode steps until the next end, or the next arrival that could be admitted."""
        ends, live = self.ends, self.live
        while ends and self.preempted:               # the ends of requests since preempted are dropped
            _, i, epoch = ends[0]
            req = live.get(i)
            if req is not None and req.epoch == epoch:
                break
            heapq.heappop(ends)
        k = ends[0][0] - self.step if ends else 1
        if not self.waiting and self.open:     # a rank has room
            source = self.source
            if source.step_due < math.inf:
                k = min(k, max(1, int(min(source.step_due - self.step, k))))
            a = source.upcoming
            if a < math.inf:
                ndec = self.ndec_all
                ell = (self.ctx_base + ndec * self.E * self.step) / (ndec if ndec > 1 else 1) - self.half
                dt = self.step_time(self.priced, 0, ell if ell > 1.0 else 1.0)
                k = min(k, math.ceil((a - self.t) / dt))
        return k if k > 1 else 1

    # --- a request's milestones -------------------------------------------------------------------

    def _prefilled(self, req: Req) -> None:
        """Its prompt is in: it caches its prompt's hashed blocks, emits its first token, and decodes."""
        r, kv, ht = req.r, self.kv[req.r], self.hash_tokens
        if self.syncs:
            self.blocks.sync(r, self.step)
            self.dirty.add(r)
        self.prefill[r].popleft()
        self.nprefill -= 1
        if req.ids:
            j0 = req.nheld
            j = kv.add(req.ids, j0, min(len(req.ids), (req.tokens - 1) // ht))
            if j > j0:                 # its own blocks of those prompt blocks become cached ones
                before = req.own_blocks
                req.nheld, req.cached = j, j * ht
                req.own_blocks = -(-(req.tokens - req.cached) // B)
                kv.used += (j - j0) * kv.entry_blocks + req.own_blocks - before
        run = self.run_
        first = run.first[req.i]
        if first != first:                 # NaN: its first token is still to come
            first = run.first[req.i] = self.source.deliver(self.t)      # as its client has it
            if self.watch is not None:
                self.watch.first(run.arrive[req.i], first)
        steps = req.steps_total - req.steps_done
        if steps <= 0:
            req.phase = ENDING
            self._end(req)
            return
        req.phase, req.start = DECODING, self.step
        self.blocks.decoding(req, r, req.tokens - req.cached)
        if self.reserve is not None:
            self.reserve.start(r, self.step)
        self.ndec_all += 1
        self.ctx_base += req.tokens - req.start * self.E
        heapq.heappush(self.ends, (self.step + steps, req.i, req.epoch))

    def _release(self, req: Req) -> None:
        """Free `req`'s blocks and take it off its rank."""
        r, kv = req.r, self.kv[req.r]
        if self.syncs:
            self.blocks.sync(r, self.step)
            self.dirty.add(r)
        if self.reserve is not None:
            self.reserve.left(r, self.run_.output[req.i], req.start if req.phase is DECODING else None)
            self.reserve.full = False
        if req.phase is DECODING:
            self.blocks.stop_decoding(req, r, self.step)
            self.ndec_all -= 1
            self.ctx_base -= req.tokens - req.start * self.E
        else:
            kv.give(req.own_blocks)
            if req.phase is PREFILLING:
                self.prefill[r].remove(req)
                self.nprefill -= 1
        if req.nheld:
            kv.release(req.ids, req.nheld)
        if self.inflight[r] == self.caps[r]:
            self.open += 1
        self.inflight[r] -= 1
        self.nin -= 1
        if self.inflight[r] + 1 == self.top:
            self.top = max(self.inflight)
        self.priced = max(self.nin, self.g * (self.top - 1) + 1) if self.g > 1 else self.nin
        del self.admitted[r][req.i]
        if self.no_evict:
            self.blocks.unpromise(req, r)
        del self.live[req.i]
        req.epoch += 1
        if self.reserve is not None and not self.nin:
            self.reserve.idle()

    def _end(self, req: Req) -> None:
        self._release(req)
        run = self.run_
        finish = run.finish[req.i] = self.source.deliver(self.t)         # as its client has it
        run.area += finish - self.t                                       # in the system until then
        if self.watch is not None:
            self.watch.end(req.i, run.arrive[req.i], run.first[req.i], finish)
        self.done += 1
        run.done += 1
        if self.progress is not None:
            self.progress(run.done)
        if self.tell_end is not None:               # a closed loop's client sends again (an open loop's need not)
            self.tell_end(req.i, finish)

    def _preempt(self, r: int) -> None:
        """Rank `r` has no block for its next step: its most recently admitted request goes back to the
        head of the queue, to prefill its prompt and generated tokens again."""
        req = self.live[next(reversed(self.admitted[r]))]
        decoding = req.phase is DECODING
        self._release(req)
        if decoding:
            done = self.step - req.start
            req.steps_done += done
            req.tokens += round(done * self.E)
        req.phase = PREFILLING
        self.run_.preemptions[req.i] += 1
        self.preempted = True
        if self.reserve is not None:
            self.reserve.retracted([q for q in self.live.values() if q.phase is DECODING], self.step, self.run_.output)
        self.waiting.appendleft(req)
        self.hold_admission = True

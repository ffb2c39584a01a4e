"""Load on a disaggregated deployment: requests through a prefill pool, KV transfers and a decode pool.

Input: a `Plan` whose workload has `Traffic`, and its disaggregated strategy as dagc checked it — each
pool's instances and the analysis of one instance (`Pooled`: `dagc.verdict.pools.PooledCheck` is one).
Output: `simulate_pools`'s `Load`, as `dagc.serve.load.simulate` gives an aggregated strategy.

The model (docs/load_pools.md), one event at a time, seeded by the traffic:
- a router sends each arriving request to the prefill instance with the least queued work — the rest of
  its running prefill and its waiting prompts' tokens at a full batch's seconds per token — the first on
  a tie;
- a prefill instance idle with requests waiting prefills up to `prefill_batch` of them at once, first
  come first served — those waiting at that instant, without waiting for more; the prefill is priced as
  dagc prices `t_p`, the instance strategy's static prefill at that batch (scaled by the batch's prompt
  tokens when they are not the workload's);
- a prefilled request waits, first come first served, for room on a decode replica — the one with the
  fewest requests in flight, each holding at most its share of the plan's batch as dagc splits it, and no
  more than its KV cache admits (W520: `PoolResult.running_per_instance`) — which reserves its KV; its KV
  then moves over the sending prefill instance's link, shared with the other transfers under way on it
  (`dagc.serve.load_pools_link.SharedLink`); its first token arrives when the transfer ends (TTFT =
  prefill + transfer, waiting included);
- a decode replica (each data-parallel replica of each decode instance) runs in-flight decode steps, each
  priced as dagc prices TPOT, the decode step at its requests in flight (`dagc.serve.load_pools_decode`);
  a request joins at the next step boundary and ends after its decode steps; stretches of steps with
  nothing joining or ending run as one event.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable
from typing import Protocol

import numpy as np

from ..layout.layout import Layout
from ..layout.split import even_split
from ..plan.plan import Plan
from ..plan.strategy import Pool
from ..plan.workload import PoolRole
from .disagg import decode_kv_bytes, transfer_layers, transfer_seconds
from .load_pools_decode import DecodeReplica
from .load_pools_link import SharedLink
from .load_result import Load, Timeline
from .requests import Requests, requests_of
from .step_prices import StepPrices
from .watch import Watch

__all__ = ["InstanceRun", "PoolPrices", "PoolRun", "Pooled", "simulate_pools"]

ARRIVE, PREFILLED, TRANSFERRED, DECODE, START = range(5)


class InstanceRun(Protocol):
    """One instance as dagc analysed it (`dagc.verdict.analyse.Analysis`): the plan with the workload it
    ran, and its layout."""

    @property
    def plan(self) -> Plan: ...

    @property
    def layout(self) -> Layout: ...


class PoolRun(Protocol):
    """One pool (`dagc.verdict.pools.PoolResult`): its instances, each one's requests, one's analysis."""

    @property
    def pool(self) -> Pool: ...

    @property
    def batch_per_instance(self) -> int: ...

    @property
    def running_per_instance(self) -> int: ...

    @property
    def analysis(self) -> InstanceRun: ...


class Pooled(Protocol):
    """A checked disaggregated strategy (`dagc.verdict.pools.PooledCheck`): its prefill and decode pools, and the
    link a prefill instance sends KV over (`dagc.serve.disagg.transfer_link`; None when the check gave no figures)."""

    @property
    def pools(self) -> tuple[PoolRun, ...]: ...

    @property
    def link_bytes_per_s(self) -> float | None: ...


class PoolPrices:
    """Both pools' step prices — the prefill instance's static prefill, the decode replica's decode step —
    each priced once when first needed, and kept over the runs they are passed to (a capacity's runs at
    several rates price each step once)."""

    def __init__(self, pooled: Pooled) -> None:
        prefill, decode = _roles(pooled)
        self.prefill = StepPrices(prefill.analysis.plan, prefill.pool.strategy, prefill.analysis.layout)
        self.decode = StepPrices(decode.analysis.plan, decode.pool.strategy, decode.analysis.layout)


def _roles(pooled: Pooled) -> tuple[PoolRun, PoolRun]:
    roles = {p.pool.role: p for p in pooled.pools}
    if set(roles) != {PoolRole.PREFILL, PoolRole.DECODE}:
        raise ValueError(f"simulate_pools needs a prefill and a decode pool, not {sorted(roles)}")
    return roles[PoolRole.PREFILL], roles[PoolRole.DECODE]


def simulate_pools(plan: Plan, pooled: Pooled, progress: Callable[[int, int], None] | None = None,
                   prices: PoolPrices | None = None, watch: bool = False) -> Load:
    """Run the workload's traffic through a disaggregated strategy's two pools (module docstring).

    Args:
        plan: the plan as checked (`PooledCheck.plan`: with `batch = max`, the batch chosen); its
            workload's `traffic` is what arrives.
        pooled: both pools as dagc checked them, each with its analysed instance.
        progress: called with (requests ended, requests) about 20 times over the run, the last at the end.
        prices: the pools' step prices, when the caller has some priced already (`PoolPrices(pooled)`).
        watch: stop once the run misses a percentile requirement, raising `dagc.serve.watch.Missed`, as a watched
            in-flight run does (`dagc.serve.load.simulate`; a capacity's trial).

    Returns:
        The run's `Load`.

    Raises:
        ValueError: when `pooled` has not both a prefill and a decode pool.

    Example:
        >>> from dagc.lang.flatten import flatten
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.verdict.pools import check_pools
        >>> plan = load_plan_text(
        ...     'model preset "deepseek-v3" cluster { gpus = 64 gpus_per_node = 8 gpu preset "h200" } '
        ...     'workload { batch = 256 prompt = 4000 generate = 500 serving = inflight '
        ...     '           rate = 0.01 requests/s requests = 4 arrival = uniform } '
        ...     'strategy pd = prefill 3 < tp 8 > decode 1 < dp 4 < tp 2 ; ep 8 > >')
        >>> pooled = check_pools(plan, flatten(plan.strategies[0])[0])
        >>> load = simulate_pools(pooled.plan, pooled)       # each request alone: a prefill of one, its transfer
        >>> steady = pooled.figures.rates.ttft_server_s        # the steady state: a batch of 2
        >>> load.ttft_server.round(3).tolist(), round(steady, 3)  # the server's TTFT
        ([0.127, 0.127, 0.127, 0.127], 0.223)
        >>> (load.ttft - load.ttft_server).round(5).tolist()      # the client's adds vLLM's front end, a request's own
        [0.02402, 0.02402, 0.02402, 0.02402]
    """
    traffic = plan.workload.traffic
    assert traffic is not None, "simulate_pools needs traffic"
    prices = prices or PoolPrices(pooled)
    reqs = requests_of(traffic, plan.workload)
    watched = Watch(plan, reqs.output, plan.cluster.engine.terms.frontend_alone_s) if watch else None
    return _Pools(plan, pooled, prices, reqs, progress, watched if watched and watched.watching else None).run()


class _Pools:
    """The two pools' state and the event loop (module docstring)."""

    def __init__(self, plan: Plan, pooled: Pooled, prices: PoolPrices, reqs: Requests,
                 progress: Callable[[int, int], None] | None, watch: Watch | None = None) -> None:
        prefill, decode = _roles(pooled)
        w = plan.workload
        assert w.traffic is not None
        self.plan, self.w, self.traffic, self.reqs, self.progress = plan, w, w.traffic, reqs, progress
        self.watch = watch
        n = self.n = len(reqs)
        self.prompt = [int(p) for p in reqs.prompt]
        self.steps = [math.ceil((int(o) - 1) / w.tokens_per_step) for o in reqs.output]
        self.arrive, self.first, self.finish = np.zeros(n), np.zeros(n), np.zeros(n)
        self.heap: list[tuple[float, int, int, int, int]] = []     # (time, order, kind, which, version)
        self.order = 0
        # prefill pool
        lay_d = decode.analysis.layout
        self.prefill_prices = prices.prefill
        self.prefill_batch = prefill.batch_per_instance
        self.prefill_cache: dict[tuple[int, int], float] = {}
        n_p = prefill.pool.instances
        self.queues: list[deque[int]] = [deque() for _ in range(n_p)]
        self.queued_tokens = [0] * n_p
        self.busy_until = [0.0] * n_p
        self.running: list[list[int]] = [[] for _ in range(n_p)]
        self.prefill_busy_s = 0.0                       # the instances' prefill seconds, summed (binding.py)
        self.starting = [False] * n_p
        self.s_per_token = self._prefill_s(self.prefill_batch, self.prefill_batch * w.prompt) / (
            self.prefill_batch * w.prompt)
        # transfers: a link per prefill instance's sending side, the steady state's
        link_bytes_per_s = pooled.link_bytes_per_s
        assert link_bytes_per_s is not None, "simulate_pools needs a checked strategy with figures"
        layerwise = w.kv_transfer == "layerwise"

        def alone(prompt: int) -> float:
            """A request's transfer alone on its link: its KV as the steady state counts it, its visible part."""
            kv = decode_kv_bytes(plan.model, w.model_copy(update={"prompt": prompt}), lay_d)
            return transfer_seconds(kv, 1, link_bytes_per_s, transfer_layers(plan.model, w), layerwise)
        by_prompt = {p: alone(p) for p in {*self.prompt, w.prompt}}
        self.transfer_s = [by_prompt[p] for p in self.prompt]
        self.typical_transfer_s = by_prompt[w.prompt]
        self.links: list[SharedLink[int]] = [SharedLink() for _ in range(n_p)]   # requests' KV transfers
        self.link_version = [0] * n_p
        self.sender = [0] * n
        self.target = [0] * n
        # decode pool: every data-parallel replica of every instance steps on its own
        # at most its share of `batch`, and no more than its KV cache admits (W520), as the steady state runs it
        caps = [max(1, k) for k in even_split(decode.running_per_instance, lay_d.dp)]
        self.replicas = [DecodeReplica(cap, prices.decode.decode) for _ in range(decode.pool.instances) for cap in caps]
        self.inflight = [0] * len(self.replicas)
        self.decoding = 0                               # requests holding a decode slot, over all replicas
        self.slots = sum(caps) * decode.pool.instances
        self.kv_capped = decode.running_per_instance < decode.batch_per_instance
        self.decode_wait: deque[int] = deque()
        # the run's counts
        self.in_system, self.waiting, self.area, self.at = 0, 0, 0.0, 0.0
        self.done = 0
        self.itl: list[float] = []
        self.weight: list[float] = []
        self.samples: list[tuple[float, int, int, int, int]] = []    # t, running, waiting, decoding, for decode
        self.arrival = reqs.arrival
        self.clients = min(self.traffic.concurrency or 1, n)

    # events
    def _push(self, t: float, kind: int, which: int, version: int = 0) -> None:
        heapq.heappush(self.heap, (t, self.order, kind, which, version))
        self.order += 1

    def _count(self, t: float, delta: int) -> None:
        """Requests in the system change at `t`: the area under their count, from the scheduler's own."""
        self.area += self.in_system * (t - self.at)
        self.at, self.in_system = t, self.in_system + delta

    def _sample(self, t: float) -> None:
        self.samples.append((t, self.in_system - self.waiting, self.waiting, self.decoding, len(self.decode_wait)))

    def run(self) -> Load:
        warm = self._start()
        handlers = (self._arrived, self._prefilled, self._transferred, self._decoded, self._start_prefill)
        heap, step = self.heap, max(1, -(-self.n // 20))
        while heap:
            t, _, kind, which, version = heapq.heappop(heap)
            before = self.done
            handlers[kind](t, which, version)
            if self.progress is not None and self.done // step != before // step and self.done < self.n:
                self.progress(self.done, self.n)
        if self.progress is not None:
            self.progress(self.done, self.n)
        return self._load(warm)

    def _start(self) -> float:
        """The first arrivals: an open loop's next one, a closed loop's clients' first ones spread over
        `ramp` (default: one request's expected life). Returns until when the run warms up."""
        if self.arrival is not None:
            self._push(float(self.arrival[0]), ARRIVE, 0)
            return 0.0
        w, clients = self.w, self.clients
        per_replica = min(self.replicas[0].cap, -(-clients // len(self.replicas)))
        steps = math.ceil((w.generate - 1) / w.tokens_per_step)
        life = self._prefill_s(self.prefill_batch, self.prefill_batch * w.prompt) + \
            self.prefill_batch * self.typical_transfer_s + steps * self.replicas[0].price(per_replica)
        ramp = life if self.traffic.ramp is None else self.traffic.ramp
        for c in range(clients):
            self._push(c * ramp / clients, ARRIVE, c)
        return ramp

    def _arrived(self, t: float, i: int, _: int) -> None:
        self.arrive[i] = t
        self._count(t, 1)
        if self.arrival is not None and i + 1 < self.n:
            self._push(float(self.arrival[i + 1]), ARRIVE, i + 1)
        # the router: the instance with the least queued work
        k = min(range(len(self.queues)),
                key=lambda j: max(0.0, self.busy_until[j] - t) + self.queued_tokens[j] * self.s_per_token)
        self.queues[k].append(i)
        self.queued_tokens[k] += self.prompt[i]
        self.waiting += 1
        if not self.running[k] and not self.starting[k]:
            # after the other arrivals of this instant, which the prefill takes too
            self.starting[k] = True
            self._push(t, START, k)
        self._sample(t)

    # prefill pool
    def _prefill_s(self, b: int, tokens: int) -> float:
        """A static prefill of `b` prompts of `tokens` tokens in all: dagc's at `b` of the workload's prompt,
        scaled by the tokens when they differ from that."""
        key = (b, tokens)
        if key not in self.prefill_cache:
            t = self.prefill_prices.static(b)[0]
            self.prefill_cache[key] = t if tokens == b * self.w.prompt else t * tokens / (b * self.w.prompt)
        return self.prefill_cache[key]

    def _start_prefill(self, t: float, k: int, _: int) -> None:
        self.starting[k] = False
        if not self.running[k]:
            self._prefill(t, k)
            self._sample(t)

    def _prefill(self, t: float, k: int) -> None:
        q = self.queues[k]
        batch = [q.popleft() for _ in range(min(len(q), self.prefill_batch))]
        tokens = sum(self.prompt[i] for i in batch)
        self.queued_tokens[k] -= tokens
        self.waiting -= len(batch)
        self.running[k] = batch
        self.busy_until[k] = t + self._prefill_s(len(batch), tokens)
        self.prefill_busy_s += self.busy_until[k] - t
        self._push(self.busy_until[k], PREFILLED, k)

    def _prefilled(self, t: float, k: int, _: int) -> None:
        for i in self.running[k]:
            self.sender[i] = k
            if self.steps[i] <= 0:          # a single token: nothing to decode, nothing to move
                self.first[i] = t
                if self.watch is not None:
                    self.watch.first(self.arrive[i], t)
                self._ended(t, i)
            else:
                self.decode_wait.append(i)
                self.waiting += 1
        self.running[k] = []
        if self.queues[k]:
            self._prefill(t, k)
        self._admit(t)
        self._sample(t)

    # transfers and the decode pool
    def _admit(self, t: float) -> None:
        """Prefilled requests, first come first served, each to the decode replica with the fewest in
        flight while it has room; its transfer starts."""
        touched, inflight, reps = set(), self.inflight, self.replicas
        while self.decode_wait:
            r = 0 if len(reps) == 1 else min(range(len(inflight)), key=lambda j: (inflight[j] >= reps[j].cap,
                                                                                 inflight[j]))
            if inflight[r] >= reps[r].cap:
                break
            i = self.decode_wait.popleft()
            self.waiting -= 1
            self.inflight[r] += 1
            self.decoding += 1
            self.target[i] = r
            k = self.sender[i]
            self.links[k].start(t, self.transfer_s[i], i)
            touched.add(k)
        for k in sorted(touched):
            self._link_event(k)

    def _link_event(self, k: int) -> None:
        self.link_version[k] += 1
        end = self.links[k].next_end()
        if end < math.inf:
            self._push(end, TRANSFERRED, k, self.link_version[k])

    def _transferred(self, t: float, k: int, version: int) -> None:
        if version != self.link_version[k]:
            return
        for i in self.links[k].ended(t):
            self.first[i] = t
            if self.watch is not None:
                self.watch.first(self.arrive[i], t)
            r = self.target[i]
            step = self.replicas[r].join(t, i, self.steps[i])
            self._push(step[0], DECODE, r, step[1])
        self._link_event(k)

    def _decoded(self, t: float, r: int, version: int) -> None:
        rep = self.replicas[r]
        if version != rep.version:
            return
        ended, stretch = rep.advance(t)
        if stretch is not None:
            self.itl.append(stretch[0])
            self.weight.append(stretch[1])
        nxt = rep.next_event()
        if nxt is not None:
            self._push(nxt[0], DECODE, r, nxt[1])
        for i in ended:
            self.inflight[r] -= 1
            self.decoding -= 1
            self._ended(t, i)
        if ended:
            self._admit(t)
            self._sample(t)

    def _ended(self, t: float, i: int) -> None:
        self.finish[i] = t
        if self.watch is not None:
            self.watch.end(i, self.arrive[i], self.first[i], t)
        self._count(t, -1)
        self.done += 1
        if self.arrival is None and i + self.clients < self.n:
            self._push(t, ARRIVE, i + self.clients)      # the client's next request

    def _load(self, warm: float) -> Load:
        s = np.asarray(self.samples, dtype=float) if self.samples else np.zeros((0, 5))
        timeline = Timeline(t=s[:, 0], running=s[:, 1], waiting=s[:, 2], kv_share=s[:, 3] / self.slots,
                            waiting_prefill=s[:, 2] - s[:, 4], waiting_decode=s[:, 4])
        return Load(traffic=self.traffic, arrival=self.arrive, first_token=self.first, finish=self.finish,
                    generate=self.w.generate, itl=np.asarray(self.itl), itl_weight=np.asarray(self.weight, dtype=float),
                    area=self.area, warm_until=warm, timeline=timeline, prompt=self.reqs.prompt,
                    output=self.reqs.output, cap=self.slots, kv_capped=self.kv_capped,
                    prefill_busy_s=self.prefill_busy_s,
                    prefill_instances=len(self.queues), prefill_until=max(self.busy_until),
                    frontend_s=self.plan.cluster.engine.terms.frontend_alone_s)

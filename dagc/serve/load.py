"""Load: requests arriving at a deployment, simulated one step at a time through its serving mode.

Input: a `Plan` whose workload has `Traffic` (`rate` or `concurrency`), one of its strategies, and the
strategy's `Layout`. Output: `simulate`'s `Load` — every request's arrival, first token and end, the
percentiles of TTFT, TPOT, ITL and end-to-end latency, the requests per second served, the goodput and
whether the queue keeps growing — and `load_json`, report.json's `load`. The library never prints.

The scheduler is the one dagc's steady state assumes (`dagc.layout.mix`). In flight, each data-parallel
replica serves its share of the requests (every dp-th arrival, or every dp-th client); its attention-DP
ranks step together, each admitting requests first come first served while it holds fewer than its share
of the plan's `batch`. A step decodes a token of every request past its first token and, on a rank with
a prompt to prefill, a chunk of one prompt — the room the step's token budget (`chunk`) leaves, or the
rest of the prompt (the step that ends a prompt emits its first token). Its time is what dagc prices
(`dagc.schedule.recurrence.Recurrence`, as `dagc.serve.estimate` reads it): the decode step at the
replica's requests in flight split over its ranks as dagc splits a batch (at least the busiest rank's
on one), or the mixed step at those and the largest chunk any rank carries (the ranks meet in every
layer, so the step ends at the slowest). Statically, the waiting requests are
taken `batch` at a time, prefilled together, then decoded together. Step times are cached by (requests
in flight, prompt tokens), and stretches of decode steps with nothing to admit run as one event, so a
run costs a few events per request.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from ..layout.layout import Layout
from ..plan.plan import Plan
from ..plan.strategy import Strategy
from ..plan.workload import RequirementKind, Traffic, Workload
from .step_prices import StepPrices

__all__ = ["Load", "StepPrices", "Timeline", "load_json", "percentiles", "simulate"]

PERCENTILES = (50, 90, 95, 99)


@dataclass(frozen=True)
class Timeline:
    """A run over time, sampled at its events (pictures, the trace's counters): requests running (admitted,
    not ended) and waiting (arrived, not admitted), and the KV cache in use as a share of what the fullest
    rank holds (0–1)."""

    t: np.ndarray                  # s
    running: np.ndarray
    waiting: np.ndarray
    kv_share: np.ndarray


@dataclass(frozen=True)
class Load:
    """A simulated run: per request (in arrival order) its times, and the steps' gaps."""

    traffic: Traffic
    arrival: np.ndarray            # s
    first_token: np.ndarray        # s
    finish: np.ndarray             # s
    generate: int
    itl: np.ndarray                # each step's duration with decode tokens, s
    itl_weight: np.ndarray         # the decode tokens it emitted
    area: float                    # ∫ requests in the system dt, from the scheduler's own counts
    warm_until: float = 0.0        # before this, requests were still ramping up (closed loop)
    timeline: Timeline | None = None

    @property
    def ttft(self) -> np.ndarray:
        return self.first_token - self.arrival

    @property
    def e2e(self) -> np.ndarray:
        return self.finish - self.arrival

    @property
    def tpot(self) -> np.ndarray:
        return (self.finish - self.first_token) / max(1, self.generate - 1)

    @property
    def duration(self) -> float:
        return float(self.finish.max() - self.arrival.min())

    @property
    def served_requests_per_s(self) -> float:
        """Requests served per second while the deployment is loaded: those ending between the first end
        and the last arrival (open loop) or the last start (closed loop), over that time; over the whole
        run when that window is empty."""
        lo, hi = float(self.finish.min()), float(self.arrival.max())
        done = int(np.count_nonzero((self.finish > lo) & (self.finish <= hi)))
        return done / (hi - lo) if hi > lo and done else len(self.finish) / self.duration

    def little(self) -> tuple[float, float]:
        """Little's law both ways: the mean requests in the system (the scheduler's counts over time)
        and the arrival rate × the mean end-to-end latency."""
        return self.area / self.duration, len(self.arrival) / self.duration * float(self.e2e.mean())

    @property
    def overloaded(self) -> bool:
        """Whether the queue keeps growing: the requests of the run's last quarter waited for their first
        token more than twice as long as those of its second quarter, and by over a request's lifetime."""
        if self.traffic.rate is None or len(self.arrival) < 8:
            return False
        q = len(self.arrival) // 4
        early, late = float(self.ttft[q:2 * q].mean()), float(self.ttft[-q:].mean())
        return late > 2 * early and late - early > float(np.median(self.e2e[q:2 * q]))


def percentiles(x: np.ndarray, weights: np.ndarray | None = None) -> dict:
    """mean, p50, p90, p95, p99 of `x` (each value counted `weights` times); None when `x` is empty."""
    if x.size == 0:
        return {k: None for k in ("mean", *(f"p{p}" for p in PERCENTILES))}
    if weights is None:
        out = {"mean": float(x.mean())}
        out.update({f"p{p}": float(v) for p, v in zip(PERCENTILES, np.percentile(x, PERCENTILES), strict=True)})
        return out
    order = np.argsort(x, kind="stable")
    xs, cum = x[order], np.cumsum(weights[order])
    out = {"mean": float(np.dot(x, weights) / cum[-1])}
    for p in PERCENTILES:
        out[f"p{p}"] = float(xs[min(len(xs) - 1, int(np.searchsorted(cum, p / 100 * cum[-1])))])
    return out


def arrivals(traffic: Traffic) -> np.ndarray:
    """An open loop's arrival times: exponential gaps drawn from the seed (poisson) or even ones."""
    assert traffic.rate is not None
    n, gap = traffic.requests, 1.0 / traffic.rate
    if traffic.arrival == "uniform":
        return np.arange(n, dtype=float) * gap
    return np.cumsum(np.random.default_rng(traffic.seed).exponential(gap, n))


def simulate(plan: Plan, strategy: Strategy, lay: Layout, prices: StepPrices | None = None) -> Load:
    """Run the workload's traffic through the strategy (module docstring)."""
    traffic = plan.workload.traffic
    assert traffic is not None, "simulate needs traffic"
    prices = prices or StepPrices(plan, strategy, lay)
    if not plan.workload.inflight:
        return _static(plan, traffic, prices)
    return _inflight(plan, traffic, lay, prices)


def _caps(plan: Plan, lay: Layout) -> list[list[int]]:
    """The most requests in flight on each attention-DP rank of each replica: the plan's batch split as
    dagc splits it (`Layout.group_requests`), at least one."""
    return [[max(1, k) for k in lay.group_requests(r)] for r in range(lay.dp)]


@dataclass
class _Run:
    """What every replica of a run fills: per request its times, and each step's gap and tokens."""

    arrive: np.ndarray
    first: np.ndarray
    finish: np.ndarray
    itl: list[float]
    weight: list[int]
    area: float = 0.0


def _inflight(plan: Plan, traffic: Traffic, lay: Layout, prices: StepPrices) -> Load:
    w = plan.workload
    n = traffic.requests
    run = _Run(np.zeros(n), np.zeros(n), np.zeros(n), [], [])
    caps = _caps(plan, lay)
    warm = 0.0
    if traffic.rate is not None:
        times = arrivals(traffic)
        for r in range(lay.dp):
            _Replica(w, prices, caps[r], run, _OpenLoop([(float(times[i]), i) for i in range(r, n, lay.dp)])).run()
    else:
        clients = traffic.concurrency or 1
        per_replica = max(1, -(-min(clients, w.batch) // lay.dp))
        ttft, tpot = prices.steady(min(per_replica, max(sum(c) for c in caps)))
        life = ttft + (w.generate - 1) * tpot / w.tokens_per_step
        warm = life if traffic.ramp is None else traffic.ramp
        for r in range(lay.dp):
            mine = [c for c in range(r, clients, lay.dp) if c < n]
            if mine:
                _Replica(w, prices, caps[r], run, _ClosedLoop(mine, warm, clients, n)).run()
    return Load(traffic, run.arrive, run.first, run.finish, w.generate, np.asarray(run.itl),
                np.asarray(run.weight, dtype=float), run.area, warm)


class _OpenLoop:
    """Arrivals at given times: (time, request), earliest first."""

    def __init__(self, timed: list[tuple[float, int]]) -> None:
        self.pending = timed[::-1]             # pop() from the end: the earliest
        self.total = len(timed)

    def next_time(self) -> float:
        return self.pending[-1][0] if self.pending else math.inf

    def due(self, now: float) -> list[tuple[float, int]]:
        out = []
        while self.pending and self.pending[-1][0] <= now:
            out.append(self.pending.pop())
        return out

    def times_before(self, end: float) -> list[float]:
        out = []
        for a, _ in reversed(self.pending):
            if a >= end:
                break
            out.append(a)
        return out

    def ended(self, i: int, t: float) -> None:
        """An open loop's arrivals do not depend on ends."""


class _ClosedLoop(_OpenLoop):
    """Clients `mine` of `clients`, each sending requests c, c + clients, … one after the other: the
    first at c × ramp / clients, each next one when the last ends."""

    def __init__(self, mine: list[int], ramp: float, clients: int, n: int) -> None:
        self.clients, self.n = clients, n
        self.heap = [(c * ramp / clients, c) for c in mine]
        heapq.heapify(self.heap)
        self.total = sum(len(range(c, n, clients)) for c in mine)

    def next_time(self) -> float:
        return self.heap[0][0] if self.heap else math.inf

    def due(self, now: float) -> list[tuple[float, int]]:
        out = []
        while self.heap and self.heap[0][0] <= now:
            out.append(heapq.heappop(self.heap))       # (time, request): the client's request is its id
        return out

    def times_before(self, end: float) -> list[float]:
        return [a for a, _ in self.heap if a < end]

    def ended(self, i: int, t: float) -> None:
        if i + self.clients < self.n:
            heapq.heappush(self.heap, (t, i + self.clients))


class _Replica:
    """One data-parallel replica: its attention-DP ranks step together (module docstring)."""

    def __init__(self, w: Workload, prices: StepPrices, caps: list[int], run: _Run, source: _OpenLoop) -> None:
        self.prices, self.caps, self.run_, self.source = prices, caps, run, source
        self.g = len(caps)
        self.chunk, self.q, self.prompt = w.chunk_tokens, w.step_positions, w.prompt
        self.decode_steps = math.ceil((w.generate - 1) / w.tokens_per_step)
        self.inflight = [0] * self.g
        self.decoding = [0] * self.g
        self.prefill: list[deque] = [deque() for _ in range(self.g)]      # [request, prompt tokens left]
        self.ends: list[tuple[int, int, int]] = []                          # (step it ends after, request, rank)
        self.waiting: deque = deque()
        self.done, self.step, self.t = 0, 0, 0.0

    def run(self) -> None:
        while self.done < self.source.total:
            self._arrive()
            self._admit()
            if sum(self.inflight) == 0:
                self.t = max(self.t, self.source.next_time())
                continue
            self._advance()

    def _arrive(self) -> None:
        for a, i in self.source.due(self.t):
            self.run_.arrive[i] = a
            self.waiting.append(i)
            self.run_.area += self.t - a

    def _admit(self) -> None:
        """First come first served, each to the rank with the fewest in flight, while it has room."""
        while self.waiting:
            r = min(range(self.g), key=self.inflight.__getitem__)
            if self.inflight[r] >= self.caps[r]:
                return
            self.inflight[r] += 1
            self.prefill[r].append([self.waiting.popleft(), self.prompt])

    def _advance(self) -> None:
        """One mixed step, or decode steps up to the next end or admissible arrival."""
        chunks = [min(max(1, self.chunk - self.decoding[r] * self.q), self.prefill[r][0][1]) if self.prefill[r]
                  else 0 for r in range(self.g)]
        # priced at the requests in flight as an even split of them (the usual case: each is admitted to
        # the emptiest rank), or of enough to put the busiest rank's on one rank
        nmax, p = max(sum(self.inflight), self.g * (max(self.inflight) - 1) + 1), max(chunks)
        if p:
            dt, k = self.prices.mixed(nmax, p), 1
        else:
            dt = self.prices.decode(nmax)
            k = self.ends[0][0] - self.step if self.ends else 1
            if not self.waiting and any(self.inflight[r] < self.caps[r] for r in range(self.g)):
                a = self.source.next_time()
                if a < math.inf:
                    k = min(k, math.ceil((a - self.t) / dt))
            k = max(1, k)
        end = self.t + dt * k
        run = self.run_
        run.area += (sum(self.inflight) + len(self.waiting)) * dt * k
        run.area += sum(end - a for a in self.source.times_before(end))     # arrivals inside wait from then
        emitted = sum(self.decoding)
        if emitted:
            run.itl.append(dt)
            run.weight.append(emitted * k)
        self.t, self.step = end, self.step + k
        for r in range(self.g):
            if chunks[r]:
                self._prefilled(r, chunks[r])
        while self.ends and self.ends[0][0] <= self.step:
            _, i, r = heapq.heappop(self.ends)
            self.decoding[r] -= 1
            self._end(i, r)

    def _prefilled(self, r: int, tokens: int) -> None:
        head = self.prefill[r][0]
        head[1] -= tokens
        if head[1] > 0:
            return
        self.prefill[r].popleft()
        i = head[0]
        self.run_.first[i] = self.t
        if self.decode_steps == 0:
            self._end(i, r)
        else:
            self.decoding[r] += 1
            heapq.heappush(self.ends, (self.step + self.decode_steps, i, r))

    def _end(self, i: int, r: int) -> None:
        self.run_.finish[i] = self.t
        self.inflight[r] -= 1
        self.done += 1
        self.source.ended(i, self.t)


def _static(plan: Plan, traffic: Traffic, prices: StepPrices) -> Load:
    """Static serving: the waiting requests, up to `batch` at a time, prefilled together then decoded
    together; the next batch starts when the last one ends."""
    w = plan.workload
    n = traffic.requests
    if traffic.rate is not None:
        times = arrivals(traffic)
    else:       # a closed loop's clients each wait for their request: batches of the clients, back to back
        times = np.zeros(n)
    first, finish = np.zeros(n), np.zeros(n)
    itl: list[float] = []
    weight: list[int] = []
    t, i, area = 0.0, 0, 0.0
    closed = traffic.rate is None
    clients = traffic.concurrency or 1
    while i < n:
        t = max(t, float(times[i]))
        j = i
        limit = min(w.batch, clients) if closed else w.batch
        while j < n and j - i < limit and times[j] <= t:
            j += 1
        b = j - i
        prefill_s, step_s = prices.static(b)
        steps = math.ceil((w.generate - 1) / w.tokens_per_step)
        first[i:j] = t + prefill_s
        finish[i:j] = t + prefill_s + steps * step_s
        if steps:
            itl.append(step_s)
            weight.append(b * steps)
        t = float(finish[i])
        if closed:
            times[j:j + b] = t
        i = j
    area = float((finish - times).sum())     # every request is in the system from arrival to end
    return Load(traffic, times, first, finish, w.generate, np.asarray(itl), np.asarray(weight, dtype=float), area)


def load_json(plan: Plan, load: Load | None) -> dict | None:
    """report.json's `load` (docs/outputs.md), None without traffic."""
    if load is None:
        return None
    tr = load.traffic
    ttft, tpot = load.ttft, load.tpot
    ok = np.ones(len(ttft), dtype=bool)
    for req in plan.requirements:
        if req.kind is RequirementKind.TTFT:
            ok &= req.holds(ttft)
        elif req.kind is RequirementKind.TPOT:
            ok &= req.holds(tpot)
    served = load.served_requests_per_s
    little_l, little_r = load.little()
    return {
        "requests": tr.requests, "rate_requests_per_s": tr.rate, "arrival": tr.arrival if tr.rate else None,
        "concurrency": tr.concurrency, "seed": tr.seed,
        "ttft_s": percentiles(ttft), "tpot_s": percentiles(tpot), "itl_s": percentiles(load.itl, load.itl_weight),
        "e2e_s": percentiles(load.e2e),
        "duration_s": load.duration, "served_requests_per_s": served,
        "output_tokens_per_s": served * plan.workload.generate,
        "goodput_requests_per_s": float(ok.sum()) / load.duration,
        "mean_in_system": little_l, "arrival_rate_times_e2e": little_r,
        "overloaded": load.overloaded,
    }


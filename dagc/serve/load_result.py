"""What a load simulation gives (`dagc.serve.load`): every request's times and lengths, the steps' gaps,
the run over time, and the percentiles report.json states.

Input: the simulation's arrays. Output: `Load` (TTFT, TPOT, end-to-end latency per request — TTFT and
latency as the client measures them, the server's beside them —, the requests served per second,
Little's law both ways, whether the queue keeps growing: `QueueGrowth`), `Timeline`, `percentiles`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from ..plan.workload import PERCENTILES, Traffic

__all__ = ["CEILING_MARGIN", "PACE_SHARE", "PERCENTILES", "QUEUE_Z", "RAMP_LIFETIMES", "Load", "QueueGrowth",
           "Timeline", "percentiles", "sample_percentiles"]

# lifetimes after the first arrival before the queue's growth is counted: the requests in flight converge over
# a few, each request's lifetime growing with the requests beside it (docs/load.md, "Overloaded")
RAMP_LIFETIMES = 3
# the queue's growth over a run's second half, in units of the Poisson noise of its arrivals (√ arrivals), past
# which the run is overloaded (docs/load.md, "Overloaded": its false alarms and misses, measured)
QUEUE_Z = 2.5
# the capacity's estimate of the rate a deployment keeps up with (`dagc.verdict.under_load.capacity`): a trial run
# keeps pace while its queue grows by at most this share of its second half's arrivals (docs/load.md, "Overloaded")
PACE_SHARE = 0.03
# how far past its steady state's request rate (every request slot busy) a deployment's simulated runs may serve:
# the load prices each step at its own count in flight and prefix, the steady state every step alike, and runs
# were measured serving up to 8.6 % more (docs/load.md, "The steady state's ceiling"); past it, no run keeps pace
CEILING_MARGIN = 0.10


@dataclass(frozen=True)
class QueueGrowth:
    """How much the requests in the system grew over a run's second half (`Load.queue_growth`): the requests
    arriving in it less those ending in it, against the growth its noise allows. A run too short for its
    requests to end in such a stretch counts those given their first token instead (`first_token`): how much
    the queue waiting to be served grew."""

    arrived: int          # requests arriving in the stretch
    ended: int            # requests ending in it (`first_token`: given their first token in it)
    allowance: float      # `QUEUE_Z` × √ arrived, and a static batch's requests (they end together)
    static: int = 0       # a static batch's requests, in the allowance
    first_token: bool = False
    whole: bool = False   # counted from the run's first arrival, not its middle one (`Load._waiting_growth`)

    @property
    def grown(self) -> int:
        return self.arrived - self.ended

    @property
    def significant(self) -> bool:
        """The queue grows past its arrivals' noise: the run shows the deployment falls behind."""
        return self.grown > self.allowance

    @property
    def pace(self) -> float:
        """The most the queue may grow and keep the capacity's pace: `PACE_SHARE` of the arrivals, and a static
        batch's requests."""
        return PACE_SHARE * self.arrived + self.static

    @property
    def behind(self) -> bool:
        """The queue grows past its `pace`: an estimate, not a test — the capacity's bisection reads it to place the
        rate a deployment keeps up with, noise either way."""
        return self.grown > self.pace


@dataclass(frozen=True)
class Timeline:
    """A run over time, sampled after each of its events (pictures, the trace's counters): requests
    running (admitted, not ended) and waiting (arrived, not admitted), and the KV cache in use — blocks
    held by running requests — as a share of what the fullest rank holds (0–1). A disaggregated run
    splits its waiting by where each request waits: for a prefill instance, or prefilled for a decode
    slot (`waiting_prefill + waiting_decode == waiting`); None for any other run."""

    t: np.ndarray                  # s
    running: np.ndarray
    waiting: np.ndarray
    kv_share: np.ndarray
    waiting_prefill: np.ndarray | None = None
    waiting_decode: np.ndarray | None = None


@dataclass(frozen=True)
class Load:
    """A simulated run: per request (in arrival order) its times and lengths, and the steps' gaps."""

    traffic: Traffic
    arrival: npt.NDArray[np.float64]            # s
    first_token: npt.NDArray[np.float64]        # s
    finish: npt.NDArray[np.float64]             # s
    generate: int                  # the workload's output tokens (each request's: `output`)
    itl: np.ndarray                # each step's duration with decode tokens, s
    itl_weight: np.ndarray         # the decode tokens it emitted
    area: float                    # ∫ requests in the system dt, from the scheduler's own counts
    warm_until: float = 0.0        # before this, requests were still ramping up (closed loop)
    timeline: Timeline | None = None
    prompt: np.ndarray | None = None          # each request's prompt tokens (None: the workload's)
    output: np.ndarray | None = None          # each request's output tokens (None: `generate`)
    preemptions: np.ndarray | None = None     # times each request was preempted (its KV cache freed)
    cached_tokens: np.ndarray | None = None   # prompt tokens each found in the prefix cache when first admitted
    cap: int | None = None                    # requests in flight the batch allows over the deployment
    kv_capped: bool = False                   # pools: `cap` is what the decode KV cache admits (W520), not `batch`
    prefill_busy_s: float | None = None       # a disaggregated strategy's prefill instances' busy seconds, summed
    prefill_instances: int = 0                # its prefill instances (0: one pool)
    prefill_until: float = 0.0                # when its last prefill ended
    kv_tokens: int | None = None              # the tokens one rank's KV cache holds (one pool; W519 past it)
    frontend_s: float = 0.0                   # the engine's per-request front-end time (`EngineTerms.frontend_s`)
    # the most requests a second its front ends take in — one server a replica, `EngineTerms.ingest_s` each
    # (docs/load.md, "The front end") —; None where requests do not queue on it (no ingest time, static batches, pools)
    frontend_rate: float | None = None
    static: bool = False                      # served in static batches (`dagc.serve.static_load`)
    # the most requests a second the deployment serves — its steady state's rate, every request slot busy, and
    # `CEILING_MARGIN` (`dagc.verdict.under_load`) —: no run keeps pace with more (None: not known)
    ceiling: float | None = None

    @property
    def ttft(self) -> npt.NDArray[np.float64]:
        """Each request's TTFT as its client measures it: the server's (`ttft_server`) plus the engine's
        front-end time (HTTP, tokenisation, the first streamed chunk) — the one place a load adds it.

        Example:
            >>> from dagc.plan.workload import Traffic
            >>> t = np.array([0.0, 1.0])
            >>> run = Load(Traffic(rate=1.0, requests=2), t, t + 0.25, t + 1.0, 4, t, t, 2.0, frontend_s=0.01)
            >>> run.ttft.tolist(), run.ttft_server.tolist(), run.e2e.tolist(), run.tpot.tolist()
            ([0.26, 0.26], [0.25, 0.25], [1.01, 1.01], [0.25, 0.25])
        """
        return self.ttft_server + self.frontend_s

    @property
    def ttft_server(self) -> npt.NDArray[np.float64]:
        """Each request's TTFT at the server: from its client's sending to its first token out of the front end —
        the front end's queue (`EngineTerms.ingest_s`, docs/load.md "The front end") in it, `frontend_s` not."""
        return self.first_token - self.arrival

    @property
    def e2e(self) -> npt.NDArray[np.float64]:
        """Each request's latency as its client measures it: the server's (`e2e_server`) plus the front end's."""
        return self.e2e_server + self.frontend_s

    @property
    def e2e_server(self) -> npt.NDArray[np.float64]:
        """Each request's latency at the server, from its arrival to its last token."""
        return self.finish - self.arrival

    @property
    def tpot(self) -> npt.NDArray[np.float64]:
        """(end − first token) / (output − 1), each request's own output (0 for a single token)."""
        out = self.output if self.output is not None else self.generate
        tpot: npt.NDArray[np.float64] = (self.finish - self.first_token) / np.maximum(1, np.asarray(out) - 1)
        return tpot

    @property
    def output_tokens(self) -> np.ndarray:
        return self.output if self.output is not None else np.full(len(self.arrival), self.generate)

    @property
    def duration(self) -> float:
        return float(self.finish.max() - self.arrival.min())

    def served(self) -> tuple[np.ndarray, float]:
        """The requests an open loop that keeps pace (`keeps_pace`) serves — every one, at the rate they arrive
        (`arrival_rate`, at most the `ceiling`: `keeps_pace`) — over the time that rate takes to send them. A
        window of ends would count the run's ramp, its requests in flight still growing towards their level (a run
        of 3,000 requests at 40 requests/s, each lasting 37 s, never reaches it: its ends from the first to the
        last arrival read 26.8 requests/s served of the 40 it keeps up with).

        A run arriving faster than the `ceiling` that is not `overloaded` — too short for its queue to show
        (fewer requests than the cap on those in flight, each admitted at once) — serves every request over the
        whole run. Else the requests served while the deployment is loaded — those ending between the first end and the
        last arrival (open loop) or the last start (closed loop), or, when the run is `overloaded`, the last
        first token (its queue is still served after the last arrival, until the last request waiting gets its
        first token) — and that window's length. When the window is empty (a run shorter than its requests'
        lifetimes: its first end after its last arrival), every request over the whole run, as a benchmark client
        counts it: the span of their ends alone reads a wave finishing together as a rate many times what the
        run served — a closed loop's one wave (every client's request started before the first ended, as an
        offline burst sends them), or an open loop's requests admitted together (2,000 Mixtral 8x7B requests at
        500 requests/s onto 2,048 in flight, ending within 10 s of a run of 144 s, read 200.5 requests/s served
        where the deployment serves 14.3 at most; it reads 13.9). `_per_second` bounds each by the `ceiling`."""
        rate = self.arrival_rate
        if rate is not None and self.keeps_pace:
            return np.ones(len(self.finish), dtype=bool), len(self.finish) / rate
        if rate is not None and self.ceiling is not None and rate > self.ceiling and not self.overloaded:
            # arriving faster than the deployment serves, yet no queue shown: a run too short to fill it, whose
            # window of ends is its ramp (4.5 requests/s of the 2,000 at 29 requests/s above): the whole run
            return np.ones(len(self.finish), dtype=bool), self.duration
        lo, hi = float(self.finish.min()), float(self.arrival.max())
        if self.overloaded:
            hi = max(hi, float(self.first_token.max()))
        inside = (self.finish > lo) & (self.finish <= hi)
        if hi > lo and inside.any():
            return inside, hi - lo
        return np.ones(len(self.finish), dtype=bool), self.duration

    @property
    def arrival_rate(self) -> float | None:
        """The traffic's `rate` (a single request's too: sent at that rate, it is what arrives), else (a log at its
        own times) its arrivals' mean rate, None for fewer than two; None for a closed loop."""
        if self.traffic.concurrency is not None:
            return None
        if self.traffic.rate is not None:
            return float(self.traffic.rate)
        if len(self.arrival) < 2:
            return None
        span = float(self.arrival.max() - self.arrival.min())
        return (len(self.arrival) - 1) / span if span > 0 else None

    def _per_second(self, inside: np.ndarray, seconds: float) -> float:
        """What one request of `served`'s window counts per second: 1 / its length, but never more requests a
        second than arrive, nor than the deployment serves — its steady state's rate (`ceiling`) or, when more,
        the run's own requests over its duration (a simulated run may serve a few % past the steady state: 2,000
        Qwen3-30B-A3B requests at 500 requests/s onto 8 in flight served 2.377 a second over their 841 s, its
        steady state 2.253). A window shorter than the requests' lifetimes (a run of few requests, each admitted
        at once) holds the first arrivals' ends bunched together, which would read as a rate above both."""
        count = int(np.count_nonzero(inside))
        done = None if self.ceiling is None or self.duration <= 0 else \
            max(self.ceiling, len(self.finish) / self.duration)
        most = min((r for r in (self.arrival_rate, done) if r is not None), default=None)
        if most is None or count == 0 or count / seconds <= most:
            return 1.0 / seconds
        return most / count

    @cached_property
    def keeps_pace(self) -> bool:
        """Whether an open loop keeps pace with its arrivals: not `overloaded`, and the queue waiting for a first
        token (requests arrived, not yet served one) does not grow past `PACE_SHARE` of the arrivals over the run's
        second half (`_waiting_growth`). Its requests in flight may still be growing towards their level — a
        ramp, which the queue's growth in the system (`queue_growth.behind`) counts too (DeepSeek-V3 in two pools,
        600 requests of 1,500 tokens at 1.5 requests/s: 12 more in the system of 299 arriving, none waiting).
        Never at an arrival rate above the `ceiling`, the most the deployment serves: a run of fewer requests than
        its cap on those in flight admits each at once, and its queue waiting for a first token stays level
        however fast they arrive (2,000 Mixtral 8x7B requests at 29 requests/s onto 2,048 in flight, where the
        deployment serves 14.3 at most)."""
        rate = self.arrival_rate
        if self.traffic.concurrency is not None or self.overloaded or (
                rate is not None and self.ceiling is not None and rate > self.ceiling):
            return False
        waiting = self._waiting_growth(self._static_cap, self.static and self._short)
        return waiting is None or not waiting.behind

    @property
    def served_requests_per_s(self) -> float:
        """Requests served per second while the deployment is loaded (`served`), at most the arrival rate."""
        inside, seconds = self.served()
        return int(np.count_nonzero(inside)) * self._per_second(inside, seconds)

    @property
    def served_output_tokens_per_s(self) -> float:
        """Output tokens of the requests `served_requests_per_s` counts, per second of that window (as it counts)."""
        inside, seconds = self.served()
        return float(self.output_tokens[inside].sum()) * self._per_second(inside, seconds)

    def goodput(self, ok: np.ndarray) -> float:
        """Requests served per second (`served`, at most the arrival rate) of those `ok` marks (each within every
        latency target)."""
        inside, seconds = self.served()
        return int(np.count_nonzero(inside & ok)) * self._per_second(inside, seconds)

    def little(self) -> tuple[float, float]:
        """Little's law both ways: the mean requests in the system (the scheduler's counts over time)
        and the arrival rate × the mean end-to-end latency."""
        return self.area / self.duration, len(self.arrival) / self.duration * float(self.e2e_server.mean())

    @property
    def overloaded(self) -> bool:
        """Whether the deployment falls behind its arrivals, so that its queue keeps growing: the requests in
        the system grow over the run's second half by more than its noise allows (`queue_growth`). A closed
        loop's clients wait for their requests: never overloaded."""
        growth = self.queue_growth
        return growth is not None and growth.significant

    @cached_property
    def queue_growth(self) -> QueueGrowth | None:
        """Computed once per run: `overloaded`, and with it `served`, the served rates, goodput and what binds,
        read it again and again. The requests in the system (arrived, not ended, at the server) from the arrival
        of the run's middle request — or `RAMP_LIFETIMES` lifetimes after its first arrival, when later: the
        median decode time of the second half's requests and the first quarter's shortest TTFT, so that the
        requests in flight have converged — to its last arrival: those arriving less those ending. A deployment
        that keeps up ends about what arrives; its arrivals' Poisson noise lets the difference reach about
        √ arrived either way, and
        `QUEUE_Z` of it is allowed (a static batch's requests more: they end together). A run whose stretch
        would hold fewer than a quarter of its requests is judged on the queue waiting for a first token over
        its second half instead (`_waiting_growth`). None for a closed loop and a run of fewer than 8 requests."""
        n = len(self.arrival)
        if self.traffic.concurrency is not None or n < 8:
            return None
        static = self._static_cap
        stretch = self._stretch
        if stretch is None:              # no stretch, or one too short for its ends to be more than noise
            return self._waiting_growth(static, whole=self.static)
        lo, hi, arrived = stretch
        ended = int(np.count_nonzero((self.finish > lo) & (self.finish <= hi)))
        return QueueGrowth(arrived, ended, QUEUE_Z * math.sqrt(arrived) + static, static)

    @cached_property
    def _stretch(self) -> tuple[float, float, int] | None:
        """`queue_growth`'s stretch — from the arrival of the run's middle request, or `RAMP_LIFETIMES` lifetimes
        after its first arrival when later, to its last arrival — and the requests arriving in it; None when it
        would hold fewer than a quarter of the run's requests."""
        n = len(self.arrival)
        # a lifetime once the requests in flight have ramped up: the decode time of the run's second half (its
        # first requests' is shorter, decoding beside fewer) and the first quarter's shortest TTFT
        life = float(np.median((self.finish - self.first_token)[n // 2:])) + float(np.min(self.ttft_server[:n // 4]))
        lo = max(float(self.arrival[n // 2]), float(self.arrival[0]) + RAMP_LIFETIMES * life)
        hi = float(self.arrival[-1])
        arrived = int(np.count_nonzero((self.arrival > lo) & (self.arrival <= hi))) if hi > lo else 0
        return None if arrived < n // 4 else (lo, hi, arrived)

    @property
    def _static_cap(self) -> int:
        """A static batch's requests, which the queue's allowance adds (they end together); 0 in flight."""
        return self.cap if self.cap is not None and self.static else 0

    @property
    def _short(self) -> bool:
        """Whether the run is an open loop of 8 requests or more whose arrivals end within a few lifetimes of its
        first (`_stretch`: none)."""
        return self.traffic.concurrency is None and len(self.arrival) >= 8 and self._stretch is None

    def _waiting_growth(self, static: int, whole: bool = False) -> QueueGrowth | None:
        """`queue_growth` of a run whose arrivals end within a few lifetimes of its first, so that few
        of its requests end while it is loaded: over its second half (from the middle request's arrival to
        the last arrival), the requests arriving less those given their first token — the growth of the queue
        waiting to be served. A deployment that keeps up serves each request about a TTFT after it arrives;
        one that is full (its batch or its KV cache) serves none until a request ends, so all of them wait.
        `whole`: from the first arrival, the queue waiting at the last — for a static batch's run too short for a
        stretch (`_short`), whose second half its first wave, given its first tokens there, balanced:
        300 requests of a log at 250 requests/s onto static batches of 128 kept pace by the second half's
        count (149 arriving, the first wave's 128 served, within the batch its allowance adds) and read "250
        requests/s served" where the same deployment served 25.5 at 100 requests/s, behind (until 2026-12-03).
        None when the arrivals take no time."""
        n = len(self.arrival)
        lo, hi = float(self.arrival[0 if whole else n // 2]), float(self.arrival[-1])
        if not hi > lo:
            return None
        if whole:       # every request arrives by the last arrival, and none has a first token before the first
            arrived, started = n, int(np.count_nonzero(self.first_token <= hi))
        else:
            arrived = int(np.count_nonzero((self.arrival > lo) & (self.arrival <= hi)))
            started = int(np.count_nonzero((self.first_token > lo) & (self.first_token <= hi)))
        return QueueGrowth(arrived, started, QUEUE_Z * math.sqrt(arrived) + static, static, first_token=True,
                           whole=whole)


def percentiles(x: np.ndarray, weights: np.ndarray | None = None) -> dict[str, float | None]:
    """mean, p50, p90, p95, p99 of `x` (each value counted `weights` times); None when `x` is empty."""
    if x.size == 0:
        return {k: None for k in ("mean", *(f"p{p}" for p in PERCENTILES))}
    return {**sample_percentiles(x, weights)}


def sample_percentiles(x: np.ndarray, weights: np.ndarray | None = None) -> dict[str, float]:
    """`percentiles` of a sample that is not empty."""
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

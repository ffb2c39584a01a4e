"""Why a load falls behind or misses a percentile: the limit that binds, from the simulation's own figures.

Input: a simulated `Load` (`dagc.serve.load`, `dagc.serve.load_pools`), the latencies whose percentile
requirements it misses, and the steady state's step times and their critical paths
(`dagc.verdict.steady.Steady`).
Output: `Binding` — one `Limit` and the figures that show it; `dagc.export.result_json.binding_json` writes
it as report.json's `load.binding` (docs/outputs.md).

The figures are read off the run while the deployment is loaded (`Load.served`'s window, from the first
end to the last arrival, or an overloaded run's last first token): the requests in flight (admitted, not
ended) and waiting, time-averaged; the KV cache in use (its mean and peak, and its mean while requests
wait); the requests in flight while requests wait, against the cap the batch sets; the waiting queue's
growth while requests arrive (arrivals less ends, per second); Little's
law's concurrency — the arrival rate × a request's mean time in flight (the mean in flight over the
requests served per second) — that the traffic needs in flight; a disaggregated strategy's prefill pool
utilisation (its instances' busy seconds over their seconds).

The limit, in this order (docs/load.md):
- `NONE` when the run keeps up and misses no percentile;
- when requests queue — the run is overloaded (or, `behind`, its capacity is below the arrival rate),
  or a TTFT or end-to-end percentile is missed while the
  time a request waits to be admitted (Little's law on the queue) is at least `QUEUE_SHARE` of its mean
  TTFT — the pool or cap that holds them: the prefill pool when busy at least `BUSY` of its time; the
  KV blocks when the cache is `FULL` while requests wait, or requests were preempted; the cap on
  requests in flight when they sit at `FULL` of it while requests wait and Little's law's concurrency
  is at least `FULL` of it — the KV blocks again when that cap is a decode pool's KV cache's admission
  (`Load.kv_capped`: W520, fewer than its share of `batch`), which a larger batch does not lift;
- otherwise the step time — the missed latency's step (TTFT and ITL: the mixed step; TTFT of a
  disaggregated strategy: its prefill, or its decode step when its requests wait for the decode pool's slots
  (the queue test above) with the prefill pool not busy; else the decode step) — named by the larger part of
  its critical path: compute, or communication (TP, EP and PP together). The decode step's time is given
  both ways: the steady state's (`step_s`, every request slot busy) and the run's own (`run_step_s`, its
  steps' mean at the requests it had in flight), which the words quote beside the steady state's steps
  averaged as the run's are (`steady_mean_step_s`: in flight, those that carry a prompt chunk included).

A disaggregated strategy's requests in flight are those admitted to its decode pool (its decode slots in
use): what its cap counts, not the requests in prefill or in transfer. A goodput target missed above the arrival
rate is `goodput_unreachable`: goodput never exceeds the served rate, nor that the arrival rate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from ..enums import FastEnum
from ..ir.dag import Phase
from ..schedule.schedule import PathBreakdown
from .load_result import Load

__all__ = ["BUSY", "FULL", "QUEUE_SHARE", "Binding", "Limit", "SteadyStep", "diagnose"]

FULL = 0.9           # the cap or KV cache in use, while requests wait, that counts as binding
BUSY = 0.9           # the prefill pool's busy share that counts as binding
QUEUE_SHARE = 0.25   # the admission wait, over the mean TTFT, past which queueing explains a missed TTFT


class Limit(FastEnum):
    """What binds a load (report.json's `load.binding.limit`)."""

    NONE = "none"
    REQUESTS_IN_FLIGHT = "requests_in_flight"      # the cap on requests in flight: the plan's batch
    KV_BLOCKS = "kv_blocks"
    STEP_COMPUTE = "step_compute"
    STEP_COMMUNICATION = "step_communication"
    PREFILL_POOL = "prefill_pool"
    FRONT_END = "front_end"             # the engine's front end: its servers take requests in slower than they arrive

    @property
    def words(self) -> str:
        return _WORDS[self]


_WORDS = {Limit.NONE: "nothing binds", Limit.REQUESTS_IN_FLIGHT: "the cap on requests in flight (the batch)",
          Limit.KV_BLOCKS: "the KV cache's blocks", Limit.STEP_COMPUTE: "the step time, its compute",
          Limit.STEP_COMMUNICATION: "the step time, its communication",
          Limit.PREFILL_POOL: "the prefill pool", Limit.FRONT_END: "the engine's front end"}


@dataclass(frozen=True)
class Binding:
    """The limit that binds a load, and the figures that show it (module docstring)."""

    limit: Limit
    cap: int | None                       # requests in flight the batch allows, over the deployment
    running_mean: float                   # requests in flight, time-averaged over the loaded window
    running_mean_waiting: float | None    # the same while requests wait (None: they never wait)
    waiting_mean: float                   # requests waiting, time-averaged
    queue_growth_requests_per_s: float    # arrivals less ends per second over the window (> 0: it grows)
    admission_wait_s: float               # a request's mean wait to be admitted (Little's law on the queue)
    kv_share_mean: float                  # KV cache in use on the fullest rank (0–1), time-averaged
    kv_share_peak: float
    kv_share_waiting: float | None        # its mean while requests wait
    preemptions: int
    arrival_rate_requests_per_s: float | None
    little_concurrency: float | None      # requests in flight Little's law needs at the arrival rate
    step: str | None                      # the step the step-time figures are of: decode | mixed
    step_s: float | None                  # its time in the steady state
    step_compute_share: float | None      # of its critical path: compute, and communication (TP, EP, PP)
    step_communication_share: float | None
    prefill_utilisation: float | None     # a disaggregated strategy's prefill pool busy share
    prefill_instances: int | None
    goodput_unreachable: float | None = None   # a goodput target (requests/s) missed above the arrival rate
    run_step_s: float | None = None       # the decode step as the run ran it, at its own requests in flight
    steady_mean_step_s: float | None = None   # beside it, the steady state's steps averaged as the run's are
    missed: tuple[str, ...] = ()          # the latencies of the percentile requirements the run misses, sorted
    step_host_share: float | None = None  # of its critical path, the engine's host time (within its compute)
    frontend_s: float = 0.0               # the engine's front end each request's client TTFT adds (`Load.frontend_s`)
    frontend_ttft_share: float | None = None   # that over the run's mean client TTFT (None: no TTFT to share)
    # the arrival rate over the most its front ends take in a second (`Load.frontend_rate`): their busy share, past 1
    # when they cannot keep up; None where requests do not queue on them, or without an arrival rate
    frontend_utilisation: float | None = None

    @property
    def per_token_missed(self) -> bool:
        """Whether a TPOT or ITL percentile is missed: more requests in flight lengthen every step, so a larger
        batch — which lifts the cap on requests in flight — cannot meet it."""
        return "tpot" in self.missed or "itl" in self.missed


def _window(load: Load) -> tuple[float, float]:
    """`Load.served`'s window: from the first end to the last arrival — an overloaded run's to its last first
    token, its queue still served after the last arrival —, else the whole run."""
    lo, hi = float(load.finish.min()), float(load.arrival.max())
    if load.overloaded:
        hi = max(hi, float(load.first_token.max()))
    if not hi > lo:
        lo, hi = float(load.arrival.min()), float(load.finish.max())
    return lo, hi


def _weights(t: np.ndarray, lo: float, hi: float) -> npt.NDArray[np.float64]:
    """Each sample's seconds inside [lo, hi] (a sample holds from its time to the next one's)."""
    if not len(t):
        return np.zeros(0)
    start = np.clip(t, lo, hi)
    end = np.clip(np.append(t[1:], max(hi, float(t[-1]))), lo, hi)
    weights: npt.NDArray[np.float64] = np.maximum(0.0, end - start)
    return weights


def _mean(x: np.ndarray, w: np.ndarray) -> float | None:
    total = float(w.sum())
    return float(np.dot(x, w) / total) if total > 0 else None


@dataclass(frozen=True)
class SteadyStep:
    """A step of the steady state as `diagnose` reads it: its time (None: its critical path's makespan stands
    for it) and its critical path (None: it was not scheduled)."""

    step_s: float | None
    path: PathBreakdown | None
    mean_s: float | None = None     # the decode steps' mean as a run averages them: in flight with the steps that
                                    # carry a prompt chunk (the TPOT × the tokens a step emits)


def _path(steps: Mapping[Phase, SteadyStep], phase: Phase) -> PathBreakdown | None:
    step = steps.get(phase)
    return step.path if step is not None else None


def _step(missed: frozenset[str], steps: Mapping[Phase, SteadyStep] | None, queued: bool = False
          ) -> tuple[str | None, float | None, PathBreakdown | None]:
    """The step whose time a missed latency rests on — the mixed step for TTFT and ITL (a disaggregated
    strategy's prefill for TTFT, unless its requests `queued` for the decode pool: then its decode step, whose
    pace frees the slots they wait for), else the decode step — its time in the steady state (else its critical
    path's) and its path."""
    steps = steps or {}
    which = Phase.DECODE
    if missed & {"ttft", "itl"} and _path(steps, Phase.MIXED) is not None:
        which = Phase.MIXED         # a token's longest gaps are the steps that run a prompt's chunk too
    elif "ttft" in missed and _path(steps, Phase.PREFILL) is not None and not queued:
        which = Phase.PREFILL
    path = _path(steps, which)
    if path is None or not path.makespan_s:
        return None, None, None
    step_s = steps[which].step_s
    return which.value, float(step_s if step_s is not None else path.makespan_s), path


def diagnose(load: Load, missed: frozenset[str], steps: Mapping[Phase, SteadyStep] | None = None,
             goodput_missed: float | None = None, behind: bool = False) -> Binding:
    """The limit binding `load` (module docstring).

    Args:
        load: the run.
        missed: the latencies ("ttft", "tpot", "itl", "e2e") of the percentile requirements it misses.
        steps: the steady state's steps (`dagc.verdict.steady.binding_steps`): each step's time and critical
            path (its makespan, compute and TP, EP and PP communication).
        goodput_missed: the target (requests/s) of a goodput requirement the run misses, if any: above the
            arrival rate it is `goodput_unreachable` (goodput never exceeds the served rate, which never exceeds
            the arrival rate; at the arrival rate it is met when every request is served within its targets).
        behind: the deployment cannot carry the traffic though the run's queue does not grow past its noise
            (its capacity lies below the arrival rate): judged as a run whose requests queue.

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.verdict.check import check
        >>> plan = load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 8 gpu preset "h200" } '
        ...     'workload { batch = 8 prompt = 1000 generate = 200 serving = inflight '
        ...     'rate = 20 requests/s requests = 300 } strategy tp 8')
        >>> b = diagnose(check(plan)[0].load.load, frozenset())
        >>> b.limit.value, b.cap, round(b.running_mean)
        ('requests_in_flight', 8, 8)
    """
    tl = load.timeline
    lo, hi = _window(load)
    if tl is not None and len(tl.t):
        w = _weights(tl.t, lo, hi)
        running, waiting, kv = tl.running, tl.waiting, tl.kv_share
        if load.prefill_instances and load.cap:
            running = kv * load.cap         # pools: what the cap counts, requests admitted to decode
    else:
        w = running = waiting = kv = np.zeros(0)
    queued = w * (waiting > 0)
    running_mean = _mean(running, w) or 0.0
    waiting_mean = _mean(waiting, w) or 0.0
    kv_peak = float(kv[w > 0].max()) if np.any(w > 0) else 0.0
    rate = load.arrival_rate
    growth, in_rate = _growth_and_inflow(load, lo, hi)
    admission_wait = waiting_mean / in_rate if in_rate > 0 else 0.0
    preempted = int(load.preemptions.sum()) if load.preemptions is not None else 0
    prefill_util = (load.prefill_busy_s / (load.prefill_instances * (load.prefill_until - float(load.arrival.min())))
                    if load.prefill_busy_s is not None and load.prefill_instances
                    and load.prefill_until > float(load.arrival.min()) else None)
    which, step_s, path = _step(missed, steps, _waits_for_decode(load, prefill_util, admission_wait,
                                                                   _mean(running, queued) is not None))
    compute_share, comm_share, host_share = _shares(path)
    b = Binding(Limit.NONE, load.cap, running_mean, _mean(running, queued), waiting_mean, growth, admission_wait,
                _mean(kv, w) or 0.0, kv_peak, _mean(kv, queued), preempted, rate, _little(load, running_mean), which,
                step_s, compute_share, comm_share, min(1.0, prefill_util) if prefill_util is not None else None,
                load.prefill_instances or None,
                frontend_utilisation=rate / load.frontend_rate if rate is not None and load.frontend_rate else None)
    unreachable = goodput_missed if goodput_missed is not None and rate is not None and goodput_missed > rate else None
    mean_ttft = float(np.nanmean(load.ttft)) if len(load.ttft) else 0.0
    return replace(b, limit=_limit(b, load, missed, behind), goodput_unreachable=unreachable,
                   run_step_s=_run_step(load) if which == Phase.DECODE.value else None, missed=tuple(sorted(missed)),
                   step_host_share=host_share, frontend_s=load.frontend_s,
                   frontend_ttft_share=load.frontend_s / mean_ttft if mean_ttft > 0 else None,
                   steady_mean_step_s=(steps or {})[Phase.DECODE].mean_s if which == Phase.DECODE.value else None)


def _shares(path: PathBreakdown | None) -> tuple[float | None, float | None, float | None]:
    """Of a step's critical path: its compute, its communication (TP, EP, PP) and, within its compute, the
    engine's host time, as shares of its makespan (None without a path)."""
    if path is None:
        return None, None, None
    comm = sum(float(s) for s in (path.tp_comm_s, path.ep_comm_s, path.pp_comm_s))
    return float(path.compute_s) / path.makespan_s, comm / path.makespan_s, path.host_s / path.makespan_s


def _run_step(load: Load) -> float | None:
    """The decode step as the run ran it: its steps' durations weighted by the tokens each emitted — the gap a
    request in flight waits between its tokens, on average — at the requests the run had in flight, not the
    steady state's every slot busy (a `batch = max` of 4,136 steps in 61.72 ms; 95 in flight, in 13.3 ms)."""
    total = float(load.itl_weight.sum()) if len(load.itl_weight) else 0.0
    return float(np.dot(load.itl, load.itl_weight) / total) if total > 0 else None


def _waits_for_decode(load: Load, prefill_util: float | None, admission_wait: float, waited: bool) -> bool:
    """Whether a disaggregated strategy's requests wait for a decode slot (Little's law on the queue, as `_limit`'s
    `queues`: the admission wait at least `QUEUE_SHARE` of the mean TTFT, requests having `waited`) with the
    prefill pool not busy: its TTFT then rests on the decode step's pace, not on its prefill."""
    mean_ttft = float(np.nanmean(load.ttft)) if len(load.ttft) else 0.0
    return bool(load.prefill_instances) and (prefill_util is None or prefill_util < BUSY) \
        and admission_wait >= QUEUE_SHARE * mean_ttft and waited


def _growth_and_inflow(load: Load, lo: float, hi: float) -> tuple[float, float]:
    """The queue's growth (requests/s) while requests arrive — to the last arrival (an overloaded run's window
    [`lo`, `hi`] goes on past it), from its first arrival when the first end comes after the last arrival — and
    the rate requests come in over the window (the arrival rate; over a window past the arrivals, theirs over
    it; with no arrival rate, the served rate)."""
    rate = load.arrival_rate
    last = float(load.arrival.max())
    g_lo = lo if last > lo else float(load.arrival.min())
    ended = np.count_nonzero((load.finish >= g_lo) & (load.finish <= last))
    arrived = np.count_nonzero((load.arrival >= g_lo) & (load.arrival <= last))
    growth = (int(arrived) - int(ended)) / (last - g_lo) if last > g_lo and rate is not None else 0.0
    in_rate = rate if rate is not None else load.served_requests_per_s
    if rate is not None and hi > last and hi > lo:      # the window runs past the arrivals: their rate over it
        in_rate = int(np.count_nonzero((load.arrival >= lo) & (load.arrival <= hi))) / (hi - lo)
    return growth, in_rate


def _little(load: Load, running_mean: float) -> float | None:
    """The requests in flight Little's law expects: a closed loop's concurrency, else the arrival rate times the
    time in flight (`running_mean` over the served rate); None when neither is known."""
    if load.traffic.concurrency is not None:
        return float(load.traffic.concurrency)
    rate = load.arrival_rate
    served_rate = load.served_requests_per_s if rate is not None else 0.0
    return rate * running_mean / served_rate if rate is not None and served_rate > 0 else None


def _limit(b: Binding, load: Load, missed: frozenset[str], behind: bool = False) -> Limit:
    overloaded = load.overloaded or behind
    if not overloaded and not missed:
        return Limit.NONE
    ttft = float(np.nanmean(load.ttft)) if len(load.ttft) else 0.0
    queues = overloaded or (bool(missed & {"ttft", "e2e"}) and b.admission_wait_s >= QUEUE_SHARE * ttft
                            and b.running_mean_waiting is not None)
    if queues:
        # the front end takes requests in slower than they arrive: the engine behind it cannot serve more than it hands
        # on, whatever its cap, cache or steps (300 requests/s onto one vLLM front end of 4 ms a request, 250 at most)
        if b.frontend_utilisation is not None and b.frontend_utilisation >= BUSY:
            return Limit.FRONT_END
        # the cap holds the queue back only when the traffic needs about as many in flight as it allows: a
        # cap reached in a burst, while Little's law needs well under it, is not what a larger batch would lift
        cap = b.cap or 0
        needs_cap = cap > 0 and (b.little_concurrency is None or b.little_concurrency >= FULL * cap)
        full = needs_cap and b.running_mean_waiting is not None and b.running_mean_waiting >= FULL * cap
        # a busy prefill pool binds unless the decode slots it fills are full while requests wait: then more
        # prefill instances only lengthen the wait for a slot (until 2026-11-30 the prefill pool was named first)
        if b.prefill_utilisation is not None and b.prefill_utilisation >= BUSY and not full:
            return Limit.PREFILL_POOL
        if (b.kv_share_waiting is not None and b.kv_share_waiting >= FULL and b.prefill_instances is None) \
                or b.preemptions > 0:
            return Limit.KV_BLOCKS
        if full:        # a decode pool's cap is its KV cache's when that admits fewer than `batch` (W520)
            return Limit.KV_BLOCKS if load.kv_capped else Limit.REQUESTS_IN_FLIGHT
    if b.step_compute_share is None or b.step_communication_share is None:
        return Limit.STEP_COMPUTE
    return Limit.STEP_COMMUNICATION if b.step_communication_share > b.step_compute_share else Limit.STEP_COMPUTE


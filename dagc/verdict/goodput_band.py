"""The band of a goodput whose run keeps pace: where the measured goodput lies, from the errors of what sets it.

Input: a strategy's plan and its run under the traffic (`UnderLoad`), and the ledger's errors of TTFT, TPOT,
E2E and throughput (`dagc.verdict.ledger.Errors`). Output: `GoodputCurve` — the goodput the deployment would
measure at each level of those errors, every error taken against it at level 0 and for it at level 1 — or None
for a run that does not keep pace (`Load.keeps_pace`: its goodput counts its ends; it takes the throughput band).

A run that keeps pace serves what arrives (`dagc.serve.load_result.Load.served`): its goodput is the arrival
rate × the share of its requests within every latency target (`dagc.serve.load_figures.good_requests`). What the
deployment would measure differs by two things, each with its errors from the ledger:

- the requests' latencies: at a level ℓ, each request's TTFT, TPOT and end-to-end latency as measured, dagc's
  figure × e^(−q(ℓ)) with q the quantity's log-ratio quantile (`Errors.quantile`; ℓ = 0 the latencies longest),
  and the share of requests then within every target;
- whether it keeps up at all: the capacity as measured, dagc's × e^(−q(1 − ℓ)) of the throughput regime; below
  the arrival rate, the deployment serves at most that share of what arrives. A capacity judged and found to be
  none (not even a trickle of the traffic meets the percentile requirements in dagc's figures) says nothing of
  keeping up: the run itself shows the deployment keeping up with its arrival rate, and no more, so the rate
  stands for the capacity (the lowest it can be), and the goodput's odds are those of the latencies it counts.
  Until 2026-11-27 a capacity of none took the throughput band around its figure: a goodput of 0 (every TTFT just
  past a 200 ms p99 target) read `0 requests/s [0–0] → misses (p < 0.01)` while that p99's own band straddled the
  target (`uncertain (p ≈ 0.36)`).
  So does a capacity judged below the arrival rate of a run that keeps pace while it misses a percentile
  requirement: the capacity is the highest rate at which the percentile requirements hold and the queue keeps
  pace, and such a run is bound by its target, not by keeping up — which is all this term asks. A run meeting
  every percentile whose capacity lies below its rate keeps pace only over its own length (the capacity's longer
  trials fall behind): its capacity stands. Until
  2026-11-27 such a capacity was read as the rate it keeps up with: Qwen3-235B-A22B on 8 H100s at 4 requests/s
  with `ttft_p99 <= 100 ms` missed (capacity 0.408 requests/s) read a goodput of `3.252 requests/s
  [0.0002946–0.4507] → misses (p < 0.01)` — a band ten times below its own figure.
- Without a judged capacity (`dagc search --rate`'s rows, next steps, a capacity past the load's work budget),
  the run that keeps pace says the same, and no more: the arrival rate stands for the capacity, the lowest it can
  be. The curve is the same derivation; its capacity's term is the pessimistic end of what is known (the capacity
  lies between the rate and the steady state's request rate, `dagc.verdict.under_load`): it may understate the
  goodput's low end, never claim a headroom the run did not show. Until 2026-11-27 such a goodput took the
  throughput band around its figure, clamped at the rate: the latencies' errors, which decide which requests
  count, were left out, and a goodput whose requests sat just inside a latency target read a band as narrow as a
  throughput's.

goodput(ℓ) = rate × share(ℓ) × min(1, capacity(ℓ) / rate) grows with ℓ (every error at the same level of its
own distribution: the errors taken together, the widest band they make). The central band at confidence c is
[goodput((1 − c) / 2), goodput((1 + c) / 2)]; P(measured ≥ target) = 1 − ℓ* for the level ℓ* at which the curve
reaches the target. It never passes the arrival rate. Until 2026-11-26 a goodput took the throughput regime's
band around its figure, clamped at the rate: a deployment with four times the capacity its traffic needs and
every latency far inside its target read `uncertain (p ≈ 0.80)` against a goodput floor below the rate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..plan.plan import Plan
from ..plan.workload import RequirementKind
from ..serve.load_figures import good_requests, run_latencies
from .ledger import Errors
from .under_load import UnderLoad

__all__ = ["GoodputCurve", "goodput_curve"]

LEVELS = np.linspace(0.0, 1.0, 41)        # the error levels the curve is evaluated at
_LATENCIES = (RequirementKind.TTFT, RequirementKind.TPOT, RequirementKind.E2E)


@dataclass(frozen=True)
class GoodputCurve:
    """The measured goodput at each error level (`LEVELS`), non-decreasing; `regime`/`runs` for the legend."""

    levels: np.ndarray
    goodput: np.ndarray
    regime: str
    runs: int
    ceiling: float | None = None      # the arrival rate, which the curve never passes

    def band(self, confidence: float) -> tuple[float, float]:
        """The central `confidence` band (requests/s)."""
        tail = (1.0 - confidence) / 2
        return float(np.interp(tail, self.levels, self.goodput)), float(np.interp(1.0 - tail, self.levels,
                                                                                  self.goodput))

    def probability(self, op: str, target: float) -> float:
        """P(the measured goodput `op` target): the share of levels at which the curve meets it, a flat stretch of
        the curve at the target (its ceiling, the arrival rate) meeting `<=`, `>=` and `==` and neither `<` nor `>`,
        the equalities within the relative 1e-9 a requirement holds by (`Requirement.holds`).

        Until 2026-12-02 `<=` and `>` were judged as `<` and `>=`, and `==` got 0: at 2 requests/s, a run serving all
        of them had `goodput <= 2 requests/s` met yet "misses (p < 0.01)" and `goodput > 2 requests/s` missed yet
        "meets (p > 0.99)", and `goodput == 0 requests/s`, met by a run whose every request missed, "misses".

        Example:
            >>> c = GoodputCurve(np.array([0.0, 0.5, 1.0]), np.array([2.0, 4.0, 4.0]), "r", 9)
            >>> c.probability(">=", 3.0), c.probability(">=", 1.0), c.probability(">=", 5.0), c.probability("<=", 3.0)
            (0.75, 1.0, 0.0, 0.25)
            >>> [c.probability(op, 4.0) for op in ("<=", "<", ">=", ">", "==")]
            [1.0, 0.5, 0.5, 0.0, 0.5]
            >>> GoodputCurve(LEVELS, 0 * LEVELS, "r", 9).probability("==", 0.0)
            1.0
        """
        near = np.abs(self.goodput - target) <= 1e-9 * abs(target)
        if op in ("<=", ">=", "==") and near.any():
            target = float(self.goodput[near][0])       # a curve's value the target equals, as `holds` judges it
        match op:
            case "<=":
                return self._below(target, inclusive=True)
            case "<":
                return self._below(target, inclusive=False)
            case ">=":
                return 1.0 - self._below(target, inclusive=False)
            case ">":
                return 1.0 - self._below(target, inclusive=True)
        return self._below(target, inclusive=True) - self._below(target, inclusive=False)

    def _below(self, target: float, inclusive: bool) -> float:
        """The share of levels at which the (non-decreasing, piecewise linear) curve is below `target`, or at most
        it (`inclusive`)."""
        g, levels = self.goodput, self.levels
        i = int(np.searchsorted(g, target, side="right" if inclusive else "left"))
        if i == 0:
            return 0.0
        if i == len(g):
            return 1.0
        lo, hi = g[i - 1], g[i]         # lo < target ≤ hi, or lo ≤ target < hi (inclusive): hi > lo
        return float(levels[i - 1] + (levels[i] - levels[i - 1]) * (target - lo) / (hi - lo))


def _keeps_up_with(under: UnderLoad, rate: float) -> float:
    """The rate the capacity term reads (module docstring): the judged capacity; the arrival rate the run keeps
    pace with when none was judged, when it was judged none, or when it lies below the rate while the run itself
    misses a percentile requirement (the target binds it, not its pace). A run meeting every percentile whose
    capacity lies below its rate falls behind over the capacity's longer trials: that capacity stands."""
    cap = under.capacity_requests_per_s if under.capacity_judged else None
    if cap is None or (cap < rate and under.binding.missed):
        return rate
    return cap


def goodput_curve(plan: Plan, under: UnderLoad, errors_of: Callable[[RequirementKind], Errors],
                  throughput: Errors) -> GoodputCurve | None:
    """The goodput curve of a run that keeps pace (module docstring); None for one that does not, or without an
    arrival rate (a closed loop's clients wait: its goodput is counted over its run); the capacity it reads,
    `_keeps_up_with`."""
    load = under.load
    rate = load.arrival_rate
    if rate is None or not load.keeps_pace or not len(load.ttft):
        return None
    cap = _keeps_up_with(under, rate)
    kinds = [k for k in _LATENCIES if any(r.kind is k for r in plan.requirements)]
    errors = {k: errors_of(k) for k in kinds}
    latencies = run_latencies(load)         # made once for the levels
    out = []
    for level in LEVELS:
        scale = {k: math.exp(-e.quantile(level)) for k, e in errors.items()}
        share = float(np.mean(good_requests(plan, load, scale, latencies)))
        keep = min(1.0, cap * math.exp(-throughput.quantile(1.0 - level)) / rate)
        out.append(rate * share * keep)
    return GoodputCurve(LEVELS, np.maximum.accumulate(np.array(out)), "goodput: its latencies' and capacity's errors",
                        min(e.runs for e in (*errors.values(), throughput)), rate)

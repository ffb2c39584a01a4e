"""A calibration a plan names (`calibration from "cal.json"`, docs/calibrate.md): engine terms fitted on the
user's own benchmark runs, with their cross-validated errors.

Input: nothing (these are the types; `dagc.lang.calibration` reads the file, `dagc.calibrate` writes it).
Output: `Calibration` — which engine, release, GPU and model it was fitted on, the fitted `step_s`,
`frontend_s`, `compute_time_scale`, `memory_time_scale` and the KV cache's share, the runs' ids, the range of
traffic they covered (`CalibratedRange`) and, per ledger quantity (ttft, tpot, throughput, e2e), the log-ratios
ln(dagc / measured) of each run's figures predicted by a fit that left that run out (`residuals`) and how many
runs they are of (`quantity_runs`).
"""

from __future__ import annotations

from collections.abc import Mapping

from .base import Frozen

__all__ = ["CALIBRATION_FORMAT", "CALIBRATION_QUANTITIES", "SERVINGS", "CalibratedRange", "Calibration", "quantity_of"]

CALIBRATION_FORMAT = 1                  # the "format" of the file this dagc writes and reads
CALIBRATION_QUANTITIES = ("ttft", "tpot", "throughput", "e2e")    # as the error ledger's (`dagc.verdict.ledger`)
# the error ledger's quantity of each measured figure's stem (`ttft_ms_p99` → ttft, `itl_ms` → tpot)
# how a run's deployment served its requests (`runs[].serving`): `serving = static` or `inflight`, or a strategy of
# disaggregated prefill and decode pools (`prefill N < … > decode M < … >`, whatever its `serving`)
SERVINGS = ("static", "inflight", "disaggregated")
_QUANTITY = {"ttft": "ttft", "tpot": "tpot", "itl": "tpot", "e2e": "e2e", "output": "throughput",
             "total": "throughput", "input": "throughput", "requests": "throughput"}


def quantity_of(key: str) -> str:
    """The ledger quantity of a measured figure's key (`dagc.calibrate.runs`).

    Example:
        >>> quantity_of("itl_ms_p99"), quantity_of("requests_per_s"), quantity_of("ttft_ms")
        ('tpot', 'throughput', 'ttft')
    """
    return _QUANTITY[key.split("_")[0]]


class CalibratedRange(Frozen):
    """The smallest and largest of each traffic figure over the calibrated runs (closed ranges; None: no run of
    that kind — no closed loop, or no open loop)."""

    prompt: tuple[float, float]                 # mean input tokens of a run
    generate: tuple[float, float]               # mean output tokens of a run
    concurrency: tuple[float, float] | None     # a closed loop's clients
    rate: tuple[float, float] | None            # an open loop's requests/s
    # the most requests a run held in flight (`MeasuredRun.in_flight`); None: a file written before it, or no run's
    # file says (runs at a rate without vLLM's `max_concurrent_requests`)
    in_flight: tuple[float, float] | None = None


class Calibration(Frozen):
    """A calibration file as read: what it was fitted on, the terms, and the cross-validated residuals."""

    file: str                                   # the name the plan gives it, for messages and report.json
    engine: str
    release: str | None
    gpu: str
    gpus: int
    model: str
    step_s: float
    frontend_s: float
    runs: tuple[str, ...]
    range: CalibratedRange
    residuals: Mapping[str, tuple[float, ...]]  # quantity → ln(dagc / measured), one per figure, left-out fits
    kept: tuple[str, ...] = ()                  # terms the runs could not tell apart: the engine's own values
    # why each kept term is (`fit.kept_because`: `few`, `room`, `idle`, `alike`, `bound`, `cv`; `older`: a term the file
    # was written before), None where the file does not say
    kept_because: tuple[str | None, ...] = ()
    compute_time_scale: float = 1.0             # multipliers of a compute-bound and a memory-bound op's time
    memory_time_scale: float = 1.0              # (`EngineTerms`); 1 in a file written before them
    step_request_s: float | None = None         # host time per request of a step; None: the engine's own
    quantity_runs: Mapping[str, int] = {}       # quantity → the runs with a cross-validated figure of it
    # the fewest and most GPUs of the engine instance that served a run (a replica, a pool's instance); None: a
    # file written before them, whose `gpus` stands for them
    instance_gpus: tuple[int, int] | None = None
    # the share of what the weights, activations and reserve leave that the engine's KV cache held in flight
    # (`EngineTerms.kv_cache_share`); 1 in a file written before it, or when the runs' bursts did not say less
    kv_cache_share: float = 1.0
    # how the runs were served, each once (`SERVINGS`, in that order); None: a file written before 2026-12-02, whose
    # runs do not say (W540 judges no plan's serving against it)
    serving: tuple[str, ...] | None = None

    def __hash__(self) -> int:
        """By value (a frozen `Plan` holding it is hashed; a dict is not hashable)."""
        return hash((self.file, self.engine, self.release, self.gpu, self.model, self.step_s, self.frontend_s,
                     self.compute_time_scale, self.memory_time_scale,
                     self.step_request_s, self.runs, tuple(sorted(self.residuals.items())),
                     tuple(sorted(self.quantity_runs.items())), self.instance_gpus, self.kv_cache_share,
                     self.serving))

"""A strategy's steady-state figures as types: `SteadyMetrics` (a deployment's) and `InstanceMetrics` (a
disaggregated pool's instance alone).

Input: the rates `dagc.serve` derives (`dagc.serve.rates.Rates` of `rate_metrics`, `dagc.serve.disagg.pooled_rates`
and `dagc.serve.estimate.fast_metrics`; in flight `dagc.serve.inflight.InflightRates`; a pool's instance's
`dagc.serve.rates.InstanceRates`),
and what the stages after it add — the schedule's bubble and critical paths (`dagc.serve.metrics.Metrics`),
the requests the engine runs at once, the KV transfer of a disaggregated deployment. Output: frozen objects
whose figures are read as attributes; `dagc.export.result_json.metrics_json` writes report.json's `metrics`
(and a search candidate's), the only place they become a dict again. A figure that the route which made them does not
have is None, and left out of the JSON: the search's estimate has no schedule (no bubble, no critical path),
only the in-flight mode has the decode and mixed steps, only a disaggregated deployment a KV transfer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, TypeVar

from ..ir.dag import Phase
from ..plan.workload import RequirementKind
from ..schedule.schedule import PathBreakdown
from ..serve.binding import SteadyStep
from ..serve.inflight import InflightRates
from ..serve.metrics import Metrics
from ..serve.rates import InstanceRates, Rates

if TYPE_CHECKING:
    from ..plan.objective import Figure, Rated

__all__ = ["InstanceMetrics", "Steady", "SteadyMetrics", "binding_steps", "figure_of", "instance_metrics",
           "steady_metrics"]

Paths = Mapping[Phase, PathBreakdown]


@dataclass(frozen=True)
class SteadyMetrics:
    """A deployment's steady state (SPEC 7): TTFT (the client's, and the server's), TPOT, the throughputs
    total and per GPU; the fields after them only where the route that made them has them (module
    docstring). Field order is report.json's key order."""

    ttft_s: float
    ttft_server_s: float
    tpot_s: float
    prefill_tokens_per_s: float
    decode_tokens_per_s: float
    throughput_tokens_per_s: float
    prefill_tokens_per_s_per_gpu: float
    decode_tokens_per_s_per_gpu: float
    throughput_tokens_per_s_per_gpu: float
    decode_step_s: float | None = None        # in flight: the decode step (`dagc.serve.inflight`)
    mixed_step_s: float | None = None         # in flight: the mixed step
    bubble_fraction: float | None = None      # scheduled: the pipeline's idle share
    critical_path: Paths | None = None        # scheduled: each phase's critical path
    kv_transfer_s: float | None = None        # disaggregated: the visible KV transfer
    concurrency_effective: int | None = None  # the requests running at once (in flight: what the KV cache admits)

    def like(self, shape: SteadyMetrics) -> SteadyMetrics:
        """These figures with only the optional fields `shape` has (the others None): a search candidate's exact
        figures in place of its estimate, as the estimate's JSON holds them."""
        return replace(self, decode_step_s=_kept(self.decode_step_s, shape.decode_step_s),
                       mixed_step_s=_kept(self.mixed_step_s, shape.mixed_step_s),
                       bubble_fraction=_kept(self.bubble_fraction, shape.bubble_fraction),
                       critical_path=_kept(self.critical_path, shape.critical_path),
                       kv_transfer_s=_kept(self.kv_transfer_s, shape.kv_transfer_s),
                       concurrency_effective=_kept(self.concurrency_effective, shape.concurrency_effective))

    def has_all_of(self, shape: SteadyMetrics) -> bool:
        """Whether every figure `shape` has, these have too."""
        return all(getattr(self, f.name) is not None for f in fields(self) if getattr(shape, f.name) is not None)


_T = TypeVar("_T")


def _kept(mine: _T | None, theirs: object) -> _T | None:
    return mine if theirs is not None else None


@dataclass(frozen=True)
class InstanceMetrics:
    """A disaggregated pool's instance alone (`Workload.role`): its own figure — a prefill instance's TTFT
    (its prefill's makespan), a decode instance's TPOT (its step per token) — the other 0; the
    deployment's throughputs are `dagc.verdict.pools`'."""

    ttft_s: float
    tpot_s: float
    concurrency_effective: int
    bubble_fraction: float | None = None
    critical_path: Paths | None = None


def steady_metrics(rates: Rates[float], *, bubble_fraction: float | None = None,
                   critical_path: Paths | None = None, kv_transfer_s: float | None = None,
                   concurrency_effective: int | None = None) -> SteadyMetrics:
    """`SteadyMetrics` of a deployment's rates (`dagc.serve.rates.Rates`; in flight `InflightRates`, with
    `decode_step_s` and `mixed_step_s`) and what the later stages add."""
    steps = rates if isinstance(rates, InflightRates) else None
    return SteadyMetrics(
        ttft_s=rates.ttft_s, ttft_server_s=rates.ttft_server_s, tpot_s=rates.tpot_s,
        prefill_tokens_per_s=rates.prefill_tokens_per_s, decode_tokens_per_s=rates.decode_tokens_per_s,
        throughput_tokens_per_s=rates.throughput_tokens_per_s,
        prefill_tokens_per_s_per_gpu=rates.prefill_tokens_per_s_per_gpu,
        decode_tokens_per_s_per_gpu=rates.decode_tokens_per_s_per_gpu,
        throughput_tokens_per_s_per_gpu=rates.throughput_tokens_per_s_per_gpu,
        decode_step_s=steps.decode_step_s if steps is not None else None,
        mixed_step_s=steps.mixed_step_s if steps is not None else None, bubble_fraction=bubble_fraction,
        critical_path=critical_path, kv_transfer_s=kv_transfer_s, concurrency_effective=concurrency_effective)


def instance_metrics(rates: InstanceRates, concurrency_effective: int,
                     scheduled: Metrics | None = None) -> InstanceMetrics:
    """`InstanceMetrics` of a pool's instance: its `ttft_s` and `tpot_s` (`dagc.serve.metrics`,
    `dagc.serve.estimate.fast_metrics` of a `Workload.role`), with its schedule's bubble and paths."""
    return InstanceMetrics(ttft_s=rates.ttft_s, tpot_s=rates.tpot_s, concurrency_effective=concurrency_effective,
                           bubble_fraction=scheduled.bubble_fraction if scheduled is not None else None,
                           critical_path=dict(scheduled.paths) if scheduled is not None else None)


def of_schedule(scheduled: Metrics, concurrency_effective: int) -> SteadyMetrics | InstanceMetrics:
    """The figures of a scheduled DAG (`dagc.serve.metrics.Metrics`) running `concurrency_effective` requests
    at once: a pool's instance's or a deployment's."""
    if isinstance(scheduled.rates, InstanceRates):
        return instance_metrics(scheduled.rates, concurrency_effective, scheduled)
    return steady_metrics(scheduled.rates, bubble_fraction=scheduled.bubble_fraction,
                          critical_path=dict(scheduled.paths), concurrency_effective=concurrency_effective)


@dataclass(frozen=True)
class Steady:
    """The steady state a simulated load is judged beside (`dagc.verdict.under_load.under_load`): its figures,
    and its steps' times and critical paths as `dagc.serve.binding.diagnose` reads them (`binding_steps`)."""

    metrics: SteadyMetrics
    steps: Mapping[Phase, SteadyStep]


def binding_steps(metrics: SteadyMetrics, pools: Mapping[Phase, tuple[float, PathBreakdown | None]] | None = None,
                  tokens_per_step: float = 1.0) -> Steady:
    """The steady state with what `dagc.serve.binding.diagnose` reads of it: the decode and mixed steps' times
    (in flight) and the critical path of each step; of a disaggregated strategy (`pools`: by step, prefill and
    decode, the pool's step time and path), each pool's step and path beside the deployment's; and the decode
    steps' mean as a run averages them, the TPOT × the `tokens_per_step` a step emits (in flight, the steps that
    carry a prompt chunk among them)."""
    paths: dict[Phase, PathBreakdown] = dict(metrics.critical_path or {})
    times: dict[Phase, float | None] = {Phase.DECODE: metrics.decode_step_s, Phase.MIXED: metrics.mixed_step_s}
    for step, (seconds, path) in (pools or {}).items():
        if path is not None:
            paths[step] = path
        times[step] = seconds
    mean = {Phase.DECODE: metrics.tpot_s * tokens_per_step}
    return Steady(metrics, {phase: SteadyStep(times.get(phase), paths.get(phase), mean.get(phase)) for phase in Phase})


def figure_of(metrics: Rated, kind: RequirementKind, per_gpu: bool = False) -> Figure:
    """The figure a steady-state requirement of `kind` (TTFT, TPOT or a throughput: total, or with `per_gpu`
    the figure per GPU) reads of a deployment's figures — one deployment's, or numpy columns of many
    (`dagc.search.pairs`)."""
    match kind:
        case RequirementKind.TTFT:
            return metrics.ttft_s
        case RequirementKind.TPOT:
            return metrics.tpot_s
        case RequirementKind.PREFILL_THROUGHPUT:
            return metrics.prefill_tokens_per_s_per_gpu if per_gpu else metrics.prefill_tokens_per_s
        case RequirementKind.DECODE_THROUGHPUT:
            return metrics.decode_tokens_per_s_per_gpu if per_gpu else metrics.decode_tokens_per_s
        case RequirementKind.THROUGHPUT:
            return metrics.throughput_tokens_per_s_per_gpu if per_gpu else metrics.throughput_tokens_per_s
    raise ValueError(f"{kind.value} is not a figure of the steady state")

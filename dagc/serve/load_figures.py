"""A simulated run's figures as types (`load_figures`): what report.json's `load` holds of the run itself.

Input: a `Plan` and its simulated `Load` (`dagc.serve.load.simulate`, `dagc.serve.load_pools.simulate_pools`).
Output: `LoadFigures` — the traffic, the percentiles of TTFT, TPOT, ITL and end-to-end latency (`Percentiles`),
the requests per second served, the goodput, Little's law's two sides, whether the queue keeps growing
(`QueueGrowth`), the preemptions and the prompt share the prefix cache served — and, judged once here, what
of the plan's requirements on the load the run misses (`LoadMisses`: what `dagc.verdict.under_load` reads to
name the binding and to judge the capacity's trials). `dagc.export.result_json.load_figures_json` writes
report.json's `load` of the run's figures, in its key order (`load_json` adds the binding and the capacity).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from ..plan.plan import Plan
from ..plan.workload import Requirement, RequirementKind, Traffic
from .load_result import Load, QueueGrowth, percentiles

__all__ = ["LoadFigures", "LoadMisses", "Percentiles", "drawn_seed", "good_requests", "load_figures", "run_latencies"]


@dataclass(frozen=True)
class Percentiles:
    """The mean and percentiles of one latency over a run's requests (`dagc.serve.load_result.percentiles`;
    None of no request)."""

    mean: float | None
    p50: float | None
    p90: float | None
    p95: float | None
    p99: float | None

    def at(self, percentile: int) -> float | None:
        """The `percentile`-th percentile (one of `dagc.plan.workload.PERCENTILES`)."""
        match percentile:
            case 50:
                return self.p50
            case 90:
                return self.p90
            case 95:
                return self.p95
            case 99:
                return self.p99
        raise ValueError(f"no p{percentile} is reported")


@dataclass(frozen=True)
class LoadMisses:
    """What of the plan's requirements on the load a run misses: the latencies (\"ttft\", \"tpot\", \"itl\", \"e2e\")
    whose percentile requirements it misses, and the target (requests/s) of the goodput requirement (not per GPU,
    at least a rate) it misses, the highest when several do (None: none)."""

    latencies: frozenset[str] = frozenset()
    goodput: float | None = None


@dataclass(frozen=True)
class LoadFigures:
    """A run's figures (module docstring); the client's latencies, and the server's beside TTFT and
    end-to-end latency (without the engine's front end, `Load.ttft`); `misses`, what of the plan's requirements
    it misses (no figure of report.json's: `load_figures_json` leaves it out)."""

    requests: int
    rate_requests_per_s: float | None
    arrival: str | None
    concurrency: int | None
    seed: int | None                 # None: nothing drawn (`drawn_seed`)
    log: str | None
    ttft_s: Percentiles
    tpot_s: Percentiles
    itl_s: Percentiles
    e2e_s: Percentiles
    ttft_server_s: Percentiles
    e2e_server_s: Percentiles
    duration_s: float
    served_requests_per_s: float
    output_tokens_per_s: float
    goodput_requests_per_s: float
    mean_in_system: float
    arrival_rate_times_e2e: float
    overloaded: bool
    keeps_pace: bool            # `Load.keeps_pace`: not overloaded, nor its queue waiting for a first token growing
    queue_growth: QueueGrowth | None
    preemptions: int
    cached_prompt_share: float
    misses: LoadMisses = field(default=LoadMisses())

    def value_of(self, req: Requirement) -> float | None:
        """The figure a requirement on the load (`Requirement.on_load`) is judged on: the goodput, or its
        latency's percentile; None for one of neither."""
        if req.kind is RequirementKind.GOODPUT:
            return self.goodput_requests_per_s
        return None if req.percentile is None else self.latency(req.kind).at(req.percentile)

    def latency(self, kind: RequirementKind) -> Percentiles:
        """The percentiles of the latency a percentile requirement of `kind` bounds (TTFT, TPOT, ITL, E2E)."""
        match kind:
            case RequirementKind.TTFT:
                return self.ttft_s
            case RequirementKind.TPOT:
                return self.tpot_s
            case RequirementKind.ITL:
                return self.itl_s
            case RequirementKind.E2E:
                return self.e2e_s
        raise ValueError(f"{kind.value} is not a latency of the load")


def good_requests(plan: Plan, load: Load, scale: Mapping[RequirementKind, float] | None = None,
                  latencies: Mapping[RequirementKind, np.ndarray] | None = None) -> np.ndarray:
    """Which of the run's requests meet every latency target goodput counts them against — each request's TTFT
    against `ttft` and `ttft_pNN`, TPOT against `tpot` and `tpot_pNN`, end-to-end latency against `e2e_pNN` —,
    each latency times its `scale` (1 when not given: as simulated; `dagc.verdict.goodput_band` asks at the
    latencies' errors); `latencies`, the run's `run_latencies` when the caller made them once for many scales."""
    scale = scale or {}
    latencies = run_latencies(load) if latencies is None else latencies
    ok = np.ones(len(load.ttft), dtype=bool)
    for req in plan.requirements:
        if (x := latencies.get(req.kind)) is not None:
            ok &= req.holds(x * scale.get(req.kind, 1.0))
    return ok


def run_latencies(load: Load) -> dict[RequirementKind, np.ndarray]:
    """Each request's TTFT, TPOT and end-to-end latency in the run, by the kind of requirement that bounds it."""
    return {RequirementKind.TTFT: load.ttft, RequirementKind.TPOT: load.tpot, RequirementKind.E2E: load.e2e}


def load_figures(plan: Plan, load: Load) -> LoadFigures:
    """The figures of a run of the plan's traffic, and what of its requirements the run misses (module docstring)."""
    out = _figures(load, good_requests(plan, load))
    return replace(out, misses=_misses(plan, out))


def _misses(plan: Plan, out: LoadFigures) -> LoadMisses:
    """What of the plan's requirements on the load the run of figures `out` misses (`LoadMisses`)."""
    latencies, goodput = set(), []
    for req in plan.requirements:
        if req.percentile is None and req.kind is not RequirementKind.GOODPUT:
            continue
        value = out.value_of(req)
        # a TPOT or ITL percentile of requests that each emit one token has no figure: not judged, and not missed —
        # until 2026-11-30 such a prefill-only traffic had a capacity of "none — not even a trickle" and a binding
        # step for a TTFT of 36 ms against 1 s
        unjudged = value is None and req.kind in (RequirementKind.TPOT, RequirementKind.ITL)
        missed = not unjudged and (value is None or not req.holds(value))
        if req.percentile is not None and missed:
            latencies.add(req.kind.value)
        if req.kind is RequirementKind.GOODPUT and not req.per_gpu and req.op in (">=", ">", "==") \
                and value is not None and missed:
            goodput.append(req.target)
    return LoadMisses(frozenset(latencies), max(goodput, default=None))


def _figures(load: Load, ok: np.ndarray) -> LoadFigures:
    """The run's figures, its good requests `ok` (`good_requests`)."""
    tr = load.traffic
    ttft, tpot = load.ttft, load.tpot
    little_l, little_r = load.little()
    return LoadFigures(
        requests=len(load.arrival), rate_requests_per_s=tr.rate,
        arrival=tr.arrival if tr.rate and tr.log is None else None,
        concurrency=tr.concurrency, seed=drawn_seed(tr), log=tr.log.file if tr.log is not None else None,
        ttft_s=Percentiles(**percentiles(ttft)), tpot_s=Percentiles(**percentiles(tpot[load.output_tokens > 1])),
        itl_s=Percentiles(**percentiles(load.itl, load.itl_weight)), e2e_s=Percentiles(**percentiles(load.e2e)),
        ttft_server_s=Percentiles(**percentiles(load.ttft_server)),
        e2e_server_s=Percentiles(**percentiles(load.e2e_server)),
        duration_s=load.duration, served_requests_per_s=load.served_requests_per_s,
        output_tokens_per_s=load.served_output_tokens_per_s, goodput_requests_per_s=load.goodput(ok),
        mean_in_system=little_l, arrival_rate_times_e2e=little_r, overloaded=load.overloaded,
        keeps_pace=load.keeps_pace, queue_growth=load.queue_growth,
        preemptions=int(load.preemptions.sum()) if load.preemptions is not None else 0,
        cached_prompt_share=(float(load.cached_tokens.sum() / load.prompt.sum())
                             if load.cached_tokens is not None and load.prompt is not None and load.prompt.sum()
                             else 0.0))


def drawn_seed(tr: Traffic) -> int | None:
    """The seed the run drew from, None when it drew nothing: a request log replayed, at its own times or scaled to a
    `rate`, takes its times and lengths from the log (a plan cannot write `seed` beside it, E104); a closed loop over a
    log without a `ramp` draws its clients' first steps from the seed (`dagc.serve.load.first_steps`). Until
    2026-11-30 report.json's `load.seed` said 0 for a replayed log.

    Example:
        >>> from dagc.plan.workload import Traffic
        >>> drawn_seed(Traffic(requests=10, rate=2.0, seed=4))
        4
    """
    if tr.log is None:
        return tr.seed
    return tr.seed if tr.concurrency is not None and tr.ramp is None else None

"""Error bands: how far each figure dagc judges may be from what the deployment would measure.

Input: a `StrategyResult` and the shipped error ledger (`dagc.verdict.ledger`). Output: `Bands` — for each
predicted figure (report.json's key: `ttft_s`, `tpot_s`, `decode_tokens_per_s`, `load.ttft_s.p99`,
`load.capacity_requests_per_s`, …) the central band of the measured value at a stated confidence (80 % by
default), from the held-out residuals of its regime; and for each requirement the probability that the
measured figure meets it and a class: `meets` (the whole band meets it: p ≥ (1 + confidence) / 2),
`misses` (the whole band misses it: p ≤ (1 − confidence) / 2) or `uncertain` (the band straddles the
target). Throughputs are set against their physical bound at 100 % efficiency (`dagc.rules.bounds`): a
figure, or a band reaching, past it is flagged.

A figure takes the band of its quantity: TTFTs (steady state and the load's percentiles) the TTFT
regime's, TPOTs and ITLs the TPOT regime's, E2E the E2E regime's — where E2E has too few runs of its own,
TTFT's and TPOT's composed at the load's TTFT share of its E2E (`dagc.verdict.ledger.e2e_errors`), never every
quantity's pooled —, throughputs and the capacity the throughput regime's — the step times a load's
percentiles and its capacity come from carry their errors into them —, and the goodput of a run that keeps
pace the band its latencies' and its capacity's errors make (`dagc.verdict.goodput_band`, the arrival rate
standing for a capacity not judged; a run that falls behind takes the throughput's). Memory and GPU counts are not
banded (the ledger holds no measured memory).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..plan.plan import Plan
from ..plan.workload import Requirement, RequirementKind
from ..rules.bounds import bounds
from ..serve.load_figures import Percentiles
from .band_floor import NO_FLOOR, Floors, latency_floors
from .band_words import SENT_REASON, arrivals_reason, at_rate_reason
from .check import StrategyResult
from .goodput_band import GoodputCurve, goodput_curve
from .ledger import CONFIDENCE, Errors, Regime, calibrated_errors, e2e_errors, ledger, regime_of
from .under_load import UnderLoad
from .verdict import METRIC_OF, RequirementResult

__all__ = ["Band", "Bands", "Odds", "OddsBasis", "arrivals_reason", "at_rate_reason", "bands_of", "checked_odds",
           "figure_key", "odds_class", "requirement_odds", "searched_odds"]

# report.json's figures and the ledger quantity each takes its band from.
_METRICS = {"ttft_s": "ttft", "ttft_server_s": "ttft", "tpot_s": "tpot", "prefill_tokens_per_s": "throughput",
            "decode_tokens_per_s": "throughput", "throughput_tokens_per_s": "throughput"}
_LOAD_LATENCIES = {"ttft_s": "ttft", "tpot_s": "tpot", "itl_s": "tpot", "e2e_s": "e2e"}
_LOAD_STATS = ("mean", "p50", "p90", "p95", "p99")
_LOAD_RATES = ("output_tokens_per_s", "served_requests_per_s", "goodput_requests_per_s", "capacity_requests_per_s")
_BOUNDED = ("prefill_tokens_per_s", "decode_tokens_per_s", "throughput_tokens_per_s")
_ARRIVALS_BOUND = ("served_requests_per_s", "goodput_requests_per_s")    # never past the requests sent


BandJson = dict[str, str | int | float | bool | None]     # report.json's `bands` of one figure


@dataclass(frozen=True)
class Band:
    """A figure's band: where its measured value lies at `confidence`, from the ledger regime `regime`."""

    value: float
    low: float
    high: float
    confidence: float
    regime: str
    runs: int
    note: str | None = None             # why a wider regime than the finest
    bound: float | None = None          # a throughput's physical bound (100 % efficiency), None otherwise
    clamped: str | None = None          # why its high end was brought down (goodput: the arrival rate), else None
    floored: str | None = None          # why its low end was brought up (`dagc.verdict.band_floor`), else None

    @property
    def past_bound(self) -> bool:
        """Whether the figure or its band reaches past the physical bound."""
        return self.bound is not None and max(self.value, self.high) > self.bound

    def at_most(self, ceiling: float | None, reason: str) -> Band:
        """The band with its high end at most `ceiling` (never below the figure itself: a run's own arrivals
        may come a little faster than its rate), saying why; itself when it does not reach past it."""
        if ceiling is None or self.high <= max(ceiling, self.value):
            return self
        return replace(self, high=max(ceiling, self.value), clamped=reason)


    def at_least(self, floor: float, reason: str) -> Band:
        """The band with its low end at least `floor` (never above the figure itself), saying why; itself when it
        does not reach below it."""
        if floor <= 0 or self.low >= min(floor, self.value):
            return self
        return replace(self, low=min(floor, self.value), floored=reason)


@dataclass(frozen=True)
class Odds:
    """A requirement's chance: the probability the measured figure meets it, and its class."""

    probability: float | None
    klass: str | None                   # meets | uncertain | misses; None: no figure to judge
    band: Band | None = None


@dataclass(frozen=True)
class Bands:
    """Every banded figure of one strategy (report.json's `bands`) and its requirements' odds, in order."""

    figures: dict[str, Band]
    requirements: tuple[Odds, ...]
    confidence: float


def odds_class(p: float, confidence: float = CONFIDENCE) -> str:
    """`meets` when the band lies within the requirement, `misses` when outside it, else `uncertain`.

    Example:
        >>> odds_class(0.93), odds_class(0.5), odds_class(0.1), odds_class(0.94, confidence=0.9)
        ('meets', 'uncertain', 'misses', 'uncertain')
    """
    edge = (1.0 - confidence) / 2
    return "meets" if p >= 1.0 - edge - 1e-12 else "misses" if p <= edge + 1e-12 else "uncertain"


def figure_key(req: Requirement) -> str | None:
    """report.json's key of the figure a requirement is judged on (`load.tpot_s.p90`), None for memory and
    GPUs, which are not banded."""
    if req.on_load:
        if req.kind is RequirementKind.GOODPUT:
            return "load.goodput_requests_per_s"
        return None if req.percentile is None else f"load.{req.kind.value}_s.p{req.percentile}"
    return METRIC_OF.get(req.kind)


def _add(out: dict[str, Band], key: str, value: object, errors: Errors, confidence: float,
         bound: float | None = None, floors: Floors = NO_FLOOR) -> None:
    if not isinstance(value, (int, float)) or value <= 0:
        return
    low, high = errors.band(float(value), confidence)
    band = Band(float(value), low, high, confidence, errors.regime, errors.runs, errors.note, bound)
    out[key] = band.at_least(floors.of(key), floors.why)


def bands_of(result: StrategyResult, confidence: float = CONFIDENCE) -> Bands:
    """The bands of a strategy's figures and the odds of its requirements.

    Example:
        >>> from dagc.verdict.check import load_plan_text, check
        >>> plan = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                       'workload { batch = 8 prompt = 512 generate = 64 } require { tpot <= 1 s } '
        ...                       'strategy tp 8')
        >>> b = bands_of(check(plan)[0])
        >>> t = b.figures["tpot_s"]
        >>> t.low < t.value < t.high, t.regime, b.requirements[0].klass
        (True, 'quantity=tpot', 'meets')
    """
    basis = OddsBasis.of(result)
    errors = _errors(result.plan, basis.regime)
    out: dict[str, Band] = {}
    # the bands are keyed by report.json's names (`figure_key`), the steady state's fields' names
    metrics = result.metrics
    limit = None
    if result.layout is not None and result.pooled is None and result.metrics is not None:
        running = result.metrics.concurrency_effective
        w = result.plan.workload.model_copy(update={"batch": int(running or result.plan.workload.batch)})
        limit = bounds(result.plan.model, w, result.plan.cluster, result.layout.gpus_used, result.layout.dp)
    for key, q in _METRICS.items():
        _add(out, key, None if metrics is None else getattr(metrics, key), errors[q], confidence,
             getattr(limit, key) if limit is not None and key in _BOUNDED else None, basis.floors)
    load = result.load
    curve = _curve(basis, errors)
    if load is not None:
        for name in _LOAD_LATENCIES:
            for stat in _LOAD_STATS:
                _add(out, f"load.{name}.{stat}", _stat(_latency(load, name), stat),
                     _errors_of(f"load.{name}.{stat}", errors, load), confidence, floors=basis.floors)
        for name, value in _load_rates(load).items():
            _add(out, f"load.{name}", value, errors["throughput"], confidence)
        if curve is not None:         # a goodput of 0 too: its curve may reach past it (`goodput_band`)
            out["load.goodput_requests_per_s"] = _curve_band(curve, load.figures.goodput_requests_per_s or 0.0,
                                                             confidence)
        rate = _arrival_rate(load)
        for name in _ARRIVALS_BOUND:
            if (key := f"load.{name}") in out and rate is not None:
                out[key] = out[key].at_most(rate, arrivals_reason(rate))
        _served_as_sent(out, load, rate)
    return Bands(out, _basis_odds(basis, errors, curve, confidence), confidence)


@dataclass(frozen=True)
class OddsBasis:
    """What a checked strategy's requirements' odds rest on, as `bands_of` weighs them: the plan as checked, its
    regime of dagc's errors (`dagc.verdict.ledger.regime_of`), whether it has errors, its requirements as judged
    and the run under its traffic — kept without the strategy's DAG, so that a search's rows judged by a check can
    be given their odds later, for the rows it prints alone (`checked_odds`)."""

    plan: Plan
    regime: Regime
    valid: bool
    requirements: tuple[RequirementResult, ...]
    load: UnderLoad | None
    floors: Floors = NO_FLOOR           # what its latencies' bands cannot go below (`dagc.verdict.band_floor`)

    @staticmethod
    def of(result: StrategyResult) -> OddsBasis:
        regime = regime_of(result.plan, disaggregated=result.pooled is not None)
        whole = result.strategy is not None and not result.strategy.pools      # a disaggregated one has no floor
        floors = latency_floors(result.plan, result.layout if whole else None)
        return OddsBasis(result.plan, regime, result.valid, result.requirements, result.load, floors)


def checked_odds(basis: OddsBasis, confidence: float = CONFIDENCE) -> tuple[Odds, ...]:
    """The odds of a checked strategy's requirements from their `basis`: `bands_of(result).requirements` of the
    check it was taken from (`OddsBasis.of`), without its figures' bands."""
    errors = _errors(basis.plan, basis.regime)
    return _basis_odds(basis, errors, _curve(basis, errors), confidence)


def _errors(plan: Plan, regime: Regime) -> dict[str, Errors]:
    """Each ledger quantity's errors in the plan's regime; a plan with `calibration from "FILE"`, its calibration's
    cross-validated residuals (`ledger.calibrated_errors`)."""
    book = ledger()
    return {q: calibrated_errors(plan, q, book.errors(regime, q)) for q in ("ttft", "tpot", "throughput", "e2e")}


def _basis_odds(basis: OddsBasis, errors: dict[str, Errors], curve: GoodputCurve | None,
                confidence: float) -> tuple[Odds, ...]:
    """The requirements' odds: a goodput's on the run's goodput curve when it has one, the others' on their
    figures' errors (`_odds`)."""
    load = basis.load
    rate = _arrival_rate(load)
    goodput = (load.figures.goodput_requests_per_s or 0.0) if load is not None else 0.0
    return tuple(_odds(r, errors, confidence, basis.valid, rate, load, basis.floors) if curve is None
                 or r.requirement.kind is not RequirementKind.GOODPUT else _curve_odds(r, curve, confidence, goodput)
                 for r in basis.requirements)


def requirement_odds(plan: Plan, disaggregated: bool, judged: Sequence[RequirementResult],
                     confidence: float = CONFIDENCE) -> tuple[Odds, ...]:
    """The odds of requirements judged on a strategy's figures that were not checked here (the search's best, as
    the optimal verdict weighs it: `OptimalEvidence.best_requirements`), as `bands_of` gives a checked
    strategy's — each figure's band from the plan's regime of dagc's errors, without a run's goodput curve."""
    errors = _errors(plan, regime_of(plan, disaggregated=disaggregated))
    floors = latency_floors(plan, None)          # no layout: the front end's alone
    return tuple(_odds(r, errors, confidence, True, floors=floors) for r in judged)


def searched_odds(plan: Plan, disaggregated: bool, judged: Sequence[RequirementResult],
                  basis: OddsBasis | None = None) -> tuple[tuple[RequirementResult, Odds], ...]:
    """A search candidate's requirements with their odds within dagc's error, as `dagc check --strategy` of its text
    gives them — the one place they are derived, for a search's row (`dagc.search.row_odds`) and for the search's
    best as the optimal verdict weighs it (`dagc.export.optimal_words`): those of the check that judged it (`basis`,
    its goodput's curve with the capacity that check judged, `checked_odds`) when one did, else `judged` (its
    requirements on its own figures) with `requirement_odds`. Until 2026-12-02 the optimal verdict took
    `requirement_odds` of a best its search had judged with its capacity bisected: on 16 H200s at 9 requests/s the
    best's `goodput >= 8 requests/s` read `uncertain (p ≈ 0.78)` beside its own check's `meets (p ≈ 0.90)`."""
    if basis is not None:
        return tuple(zip(basis.requirements, checked_odds(basis), strict=True))
    return tuple(zip(judged, requirement_odds(plan, disaggregated, judged), strict=True))


def _curve(basis: OddsBasis, errors: dict[str, Errors]) -> GoodputCurve | None:
    """The goodput curve of a run that keeps pace (`dagc.verdict.goodput_band`), the latencies' errors as the
    requirements on them take theirs (E2E's composed at the load's TTFT share of its mean E2E)."""
    load = basis.load
    if load is None or not basis.valid:
        return None
    of = {RequirementKind.TTFT: errors["ttft"], RequirementKind.TPOT: errors["tpot"],
          RequirementKind.E2E: _errors_of("load.e2e_s.mean", errors, load)}
    return goodput_curve(basis.plan, load, of.__getitem__, errors["throughput"])


def _curve_band(curve: GoodputCurve, value: float, confidence: float, scale: float = 1.0) -> Band:
    """The goodput's band on its curve, said to stop at the arrival rate when its high end is there (`clamped`,
    `at_rate_reason`): the curve sits at its ceiling over every level of the band's top, at both ends over a band of
    zero width, and the odds, the share of all levels that meet a target, then count the levels below the band."""
    low, high = curve.band(confidence)
    ceiling = curve.ceiling
    at_rate = at_rate_reason(ceiling, low >= ceiling, confidence) if ceiling and high >= ceiling else None
    return Band(value, low * scale, high * scale, confidence, curve.regime, curve.runs, clamped=at_rate)


def _curve_odds(r: RequirementResult, curve: GoodputCurve, confidence: float, whole: float) -> Odds:
    """A goodput requirement's odds on the curve (a per-GPU target: the curve over the GPUs, as its figure, a
    share of the run's goodput `whole`)."""
    req = r.requirement
    if r.value is None or r.unmet is not None:
        return Odds(None, None if r.value is None else "misses")
    scale = r.value / whole if whole > 0 else 1.0
    p = curve.probability(req.op, req.target / scale if scale > 0 else req.target)
    return Odds(p, odds_class(p, confidence), _curve_band(curve, r.value, confidence, scale))


def _quantity(key: str) -> str:
    """The ledger quantity of a figure key (`load.itl_s.p99` → tpot, `load.goodput_requests_per_s` → throughput)."""
    if key.startswith("load."):
        return _LOAD_LATENCIES.get(key.split(".")[1], "throughput")
    return _METRICS[key]


def _errors_of(key: str, errors: dict[str, Errors], load: UnderLoad | None) -> Errors:
    """The errors figure `key` takes its band from: its quantity's; a load's E2E at a statistic (`load.e2e_s.p99`)
    E2E's own or, with too few E2E runs, TTFT's and TPOT's composed at the load's TTFT share of its E2E at that
    statistic (`e2e_errors`)."""
    q = _quantity(key)
    if q != "e2e":
        return errors[q]
    stat = key.rsplit(".", 1)[-1]
    ttft, e2e = (None, None) if load is None else (_stat(load.figures.ttft_s, stat), _stat(load.figures.e2e_s, stat))
    share = ttft / e2e if ttft and e2e else None
    return e2e_errors(errors["e2e"], errors["ttft"], errors["tpot"], share)


def _latency(load: UnderLoad, name: str) -> Percentiles:
    """The load's latency of report.json's name (`ttft_s`, `tpot_s`, `itl_s`, `e2e_s`)."""
    return load.figures.latency(RequirementKind(name.removesuffix("_s")))


def _stat(latency: Percentiles, stat: str) -> float | None:
    """A latency's statistic of report.json's name: `mean`, `p50`, `p90`, `p95`, `p99`."""
    return latency.mean if stat == "mean" else latency.at(int(stat.removeprefix("p")))


def _load_rates(load: UnderLoad) -> dict[str, float | None]:
    """The load's rates that take the throughput's band, by report.json's name (`_LOAD_RATES`, in its order)."""
    f = load.figures
    rates = {"output_tokens_per_s": f.output_tokens_per_s, "served_requests_per_s": f.served_requests_per_s,
             "goodput_requests_per_s": f.goodput_requests_per_s,
             "capacity_requests_per_s": load.capacity_requests_per_s}
    return {name: rates[name] for name in _LOAD_RATES}


def _served_as_sent(out: dict[str, Band], load: UnderLoad, rate: float | None) -> None:
    """The served rate's and output tokens/s' bands of an open-loop run: what is sent bounds them — the output
    tokens/s at most the arrivals' (its figure × the arrival rate over the served rate) — and a run that keeps
    pace serves what arrives, so they fall short of it only as far as the capacity's band reaches below the
    arrival rate (each its figure × the capacity's low end over the rate, the figure itself when none does): not
    the throughput's band of dagc's errors, which a run bound by its arrivals does not have."""
    served = load.figures.served_requests_per_s
    if rate is None or not served:
        return
    sent = SENT_REASON.format(rate=f"{rate:.4g}")
    if (tokens := out.get("load.output_tokens_per_s")) is not None:
        out["load.output_tokens_per_s"] = tokens.at_most(tokens.value * rate / served, sent)
    capacity = out.get("load.capacity_requests_per_s")
    if load.queue_grows is not None or capacity is None:
        return
    share = min(1.0, capacity.low / rate)
    for key in ("load.served_requests_per_s", "load.output_tokens_per_s"):
        if (b := out.get(key)) is not None:
            out[key] = replace(b, low=b.value * share, high=b.value, clamped=sent)


def _arrival_rate(load: UnderLoad | None) -> float | None:
    """The arrival rate of a run (report.json's `load.binding`: the traffic's rate, a log's mean), None for a
    closed loop, an unknown one and without a load."""
    rate = load.binding.arrival_rate_requests_per_s if load is not None else None
    return float(rate) if rate and math.isfinite(rate) else None


def _odds(r: RequirementResult, errors: dict[str, Errors], confidence: float, valid: bool,
          rate: float | None = None, load: UnderLoad | None = None, floors: Floors = NO_FLOOR) -> Odds:
    req = r.requirement
    if not valid:
        return Odds(None, "misses")               # what cannot be deployed meets nothing
    if r.value is None:
        return Odds(None, None)
    if r.unmet is not None:                       # the load cannot be carried: its figure grows with the run
        return Odds(None, "misses")
    key = figure_key(req)
    if key is None:                               # memory, GPUs: dagc's own figure, judged as it is
        return Odds(None, "meets" if r.met else "misses")
    e = _errors_of(key, errors, load)
    p = e.probability(r.value, req.op, req.target)
    low, high = e.band(r.value, confidence)       # in the requirement's own terms (per GPU when written so)
    floor = floors.of(key)                        # latencies: never per GPU
    band = Band(r.value, low, high, confidence, e.regime, e.runs, e.note).at_least(floor, floors.why)
    if floor > 0 and req.op in ("<=", "<") and (req.target < floor or req.op == "<" and req.target == floor):
        p = 0.0                                   # no measured figure is below the floor
    if req.kind is RequirementKind.GOODPUT and not req.per_gpu and rate is not None:
        band = band.at_most(rate, arrivals_reason(rate))
        ceiling = max(rate, r.value)          # the measured goodput lies at or below it
        if req.op in (">=", ">") and (req.target > ceiling or (req.op == ">" and req.target == ceiling)):
            p = 0.0
        elif req.op in ("<=", "<") and req.target >= ceiling:
            p = 1.0
    return Odds(p, odds_class(p, confidence), band)

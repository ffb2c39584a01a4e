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
quantity's pooled —, throughputs, goodput and the capacity the throughput regime's — the step times a load's
percentiles and its capacity come from carry their errors into them. Memory and GPU counts are not banded
(the ledger holds no measured memory).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from ..plan.workload import Requirement, RequirementKind
from ..rules.bounds import bounds
from .check import StrategyResult
from .ledger import CONFIDENCE, WIDENED, Errors, calibrated_errors, e2e_errors, ledger, regime_of
from .verdict import METRIC_OF, RequirementResult, requirement_value_text

__all__ = ["Band", "Bands", "Odds", "bands_of", "bound_warning", "figure_key", "odds_class", "odds_line", "odds_text",
           "bands_source", "p_text", "regimes_text", "value_band_text"]

# report.json's figures and the ledger quantity each takes its band from.
_METRICS = {"ttft_s": "ttft", "ttft_server_s": "ttft", "tpot_s": "tpot", "prefill_tokens_per_s": "throughput",
            "decode_tokens_per_s": "throughput", "throughput_tokens_per_s": "throughput"}
_LOAD_LATENCIES = {"ttft_s": "ttft", "tpot_s": "tpot", "itl_s": "tpot", "e2e_s": "e2e"}
_LOAD_STATS = ("mean", "p50", "p90", "p95", "p99")
_LOAD_RATES = ("output_tokens_per_s", "served_requests_per_s", "goodput_requests_per_s", "capacity_requests_per_s")
_BOUNDED = ("prefill_tokens_per_s", "decode_tokens_per_s", "throughput_tokens_per_s")
_ARRIVALS_BOUND = ("served_requests_per_s", "goodput_requests_per_s")    # never past the requests sent


def arrivals_reason(rate: float) -> str:
    """Why a served rate's or a goodput's band stops at the arrival rate."""
    return (f"at most the arrival rate, {rate:.4g} requests/s: no deployment serves, nor serves well, more requests "
            "than are sent")


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

    @property
    def past_bound(self) -> bool:
        """Whether the figure or its band reaches past the physical bound."""
        return self.bound is not None and max(self.value, self.high) > self.bound

    def to_json(self) -> dict[str, Any]:
        out = {"low": self.low, "high": self.high, "confidence": self.confidence, "regime": self.regime,
               "runs": self.runs, "note": self.note}
        if self.bound is not None:
            out |= {"bound": self.bound, "share_of_bound": self.value / self.bound, "past_bound": self.past_bound}
        if self.clamped is not None:
            out["clamped"] = self.clamped
        return out

    def at_most(self, ceiling: float | None, reason: str) -> Band:
        """The band with its high end at most `ceiling` (never below the figure itself: a run's own arrivals
        may come a little faster than its rate), saying why; itself when it does not reach past it."""
        if ceiling is None or self.high <= max(ceiling, self.value):
            return self
        return replace(self, high=max(ceiling, self.value), clamped=reason)


@dataclass(frozen=True)
class Odds:
    """A requirement's chance: the probability the measured figure meets it, and its class."""

    probability: float | None
    klass: str | None                   # meets | uncertain | misses; None: no figure to judge
    band: Band | None = None

    def to_json(self) -> dict[str, Any]:
        return {"probability": self.probability, "class": self.klass}


@dataclass(frozen=True)
class Bands:
    """Every banded figure of one strategy (report.json's `bands`) and its requirements' odds, in order."""

    figures: dict[str, Band]
    requirements: tuple[Odds, ...]
    confidence: float

    def to_json(self) -> dict[str, Any]:
        return {k: b.to_json() for k, b in self.figures.items()}


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
         bound: float | None = None) -> None:
    if not isinstance(value, (int, float)) or value <= 0:
        return
    low, high = errors.band(float(value), confidence)
    out[key] = Band(float(value), low, high, confidence, errors.regime, errors.runs, errors.note, bound)


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
    regime = regime_of(result.plan, disaggregated=result.pooled is not None)
    book = ledger()
    # a plan with `calibration from "FILE"`: its calibration's cross-validated residuals (`ledger.calibrated_errors`)
    errors = {q: calibrated_errors(result.plan, q, book.errors(regime, q))
              for q in ("ttft", "tpot", "throughput", "e2e")}
    out: dict[str, Band] = {}
    # the bands are keyed by report.json's names (`figure_key`): the figures are read by them
    metrics = result.metrics.to_json() if result.metrics is not None else {}
    limit = None
    if result.layout is not None and result.pooled is None and result.metrics is not None:
        running = result.metrics.concurrency_effective
        w = result.plan.workload.model_copy(update={"batch": int(running or result.plan.workload.batch)})
        limit = bounds(result.plan.model, w, result.plan.cluster, result.layout.gpus_used, result.layout.dp)
    for key, q in _METRICS.items():
        _add(out, key, metrics.get(key), errors[q], confidence,
             getattr(limit, key) if limit is not None and key in _BOUNDED else None)
    load = result.load.to_json() if result.load is not None else None
    if load is not None:
        for name in _LOAD_LATENCIES:
            for stat in _LOAD_STATS:
                _add(out, f"load.{name}.{stat}", (load.get(name) or {}).get(stat),
                     _errors_of(f"load.{name}.{stat}", errors, load), confidence)
        for name in _LOAD_RATES:
            _add(out, f"load.{name}", load.get(name), errors["throughput"], confidence)
        rate = _arrival_rate(load)
        for name in _ARRIVALS_BOUND:
            if (key := f"load.{name}") in out and rate is not None:
                out[key] = out[key].at_most(rate, arrivals_reason(rate))
    rate = _arrival_rate(load)
    odds = tuple(_odds(r, errors, confidence, result.valid, rate, load) for r in result.requirements)
    return Bands(out, odds, confidence)


def _quantity(key: str) -> str:
    """The ledger quantity of a figure key (`load.itl_s.p99` → tpot, `load.goodput_requests_per_s` → throughput)."""
    if key.startswith("load."):
        return _LOAD_LATENCIES.get(key.split(".")[1], "throughput")
    return _METRICS[key]


def _errors_of(key: str, errors: dict[str, Errors], load: dict[str, Any] | None) -> Errors:
    """The errors figure `key` takes its band from: its quantity's; a load's E2E at a statistic (`load.e2e_s.p99`)
    E2E's own or, with too few E2E runs, TTFT's and TPOT's composed at the load's TTFT share of its E2E at that
    statistic (`e2e_errors`)."""
    q = _quantity(key)
    if q != "e2e":
        return errors[q]
    stat = key.rsplit(".", 1)[-1]
    ttft, e2e = ((load or {}).get(n) or {} for n in ("ttft_s", "e2e_s"))
    share = ttft.get(stat) / e2e[stat] if ttft.get(stat) and e2e.get(stat) else None
    return e2e_errors(errors["e2e"], errors["ttft"], errors["tpot"], share)


def _arrival_rate(load: dict[str, Any] | None) -> float | None:
    """The arrival rate of a run (report.json's `load.binding`: the traffic's rate, a log's mean), None for a
    closed loop and without a load."""
    rate = ((load or {}).get("binding") or {}).get("arrival_rate_requests_per_s")
    return float(rate) if rate else None


def _odds(r: RequirementResult, errors: dict[str, Errors], confidence: float, valid: bool,
          rate: float | None = None, load: dict[str, Any] | None = None) -> Odds:
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
    band = Band(r.value, low, high, confidence, e.regime, e.runs, e.note)
    if req.kind is RequirementKind.GOODPUT and not req.per_gpu and rate is not None:
        band = band.at_most(rate, arrivals_reason(rate))
        ceiling = max(rate, r.value)          # the measured goodput lies at or below it
        if req.op in (">=", ">") and (req.target > ceiling or (req.op == ">" and req.target == ceiling)):
            p = 0.0
        elif req.op in ("<=", "<") and req.target >= ceiling:
            p = 1.0
    return Odds(p, odds_class(p, confidence), band)


def p_text(p: float) -> str:
    """A probability for people: `p ≈ 0.93`; past the ledger's observed errors `p > 0.99` / `p < 0.01`.

    Example:
        >>> p_text(0.934), p_text(1.0), p_text(0.001)
        ('p ≈ 0.93', 'p > 0.99', 'p < 0.01')
    """
    shown = p_shown(p)
    if shown == 1.0:
        return "p > 0.99"
    if shown == 0.0:
        return "p < 0.01"
    return f"p ≈ {shown:.2f}"


def p_shown(p: float) -> float:
    """A probability as `p_text` tells it: to two decimals, 1.0 past 0.99 and 0.0 below 0.01 (which the ledger's
    observed errors cannot tell apart)."""
    return 1.0 if p >= 0.995 else 0.0 if p <= 0.005 else round(p, 2)


def odds_text(odds: Odds) -> str:
    """A requirement's class and probability: `meets (p ≈ 0.93)`; a figure not banded (memory, GPUs) its
    class alone; no figure `—`."""
    if odds.klass is None:
        return "—"
    return odds.klass if odds.probability is None else f"{odds.klass} ({p_text(odds.probability)})"


def value_band_text(q: RequirementResult, odds: Odds) -> str:
    """A requirement's figure with its band, in the requirement's unit: `41.2 ms [36.1–47.3]`.

    Example:
        >>> from dagc.plan.workload import Requirement, RequirementKind
        >>> req = Requirement(kind=RequirementKind.TPOT, op="<=", target=0.05, text="tpot <= 50 ms")
        >>> o = Odds(0.93, "meets", Band(0.0412, 0.0361, 0.0473, 0.8, "quantity=tpot", 24))
        >>> value_band_text(RequirementResult(req, 0.0412), o)
        '41.2 ms [36.1–47.3]'
    """
    shown = q.value_text()
    if odds.band is None:
        return shown
    low, high = (requirement_value_text(q.requirement, x) for x in (odds.band.low, odds.band.high))
    unit = shown.rsplit(" ", 1)[1] if " " in shown else ""
    if unit and low.endswith(" " + unit) and high.endswith(" " + unit):
        low, high = low.removesuffix(" " + unit), high.removesuffix(" " + unit)
    return f"{shown} [{low}–{high}]"


def bands_source(bands: Iterable[Band]) -> str:
    """Where bands come from, for a legend: dagc's errors on published runs (the ledger), a calibration's
    cross-validated errors on the user's runs, or the ledger's widened to those (a quantity the calibration has
    fewer than the ledger's `min_runs` runs of: `dagc.verdict.ledger.calibrated_errors`) — or both.

    Example:
        >>> b = Band(1.0, 0.9, 1.1, 0.8, "quantity=tpot", 24, "calibration `c.json` has 3 runs …, " + WIDENED)
        >>> bands_source([b]).split(", widened")
        ["from dagc's errors on published runs it was not tuned on", " to the calibration's cross-validated errors on \
your runs where they reach further (a quantity it has fewer than 8 runs of; docs/bands.md)"]
    """
    bands = list(bands)
    own = [b for b in bands if b.regime.startswith("calibration=")]
    wide = any(b.note is not None and WIDENED in b.note for b in bands)
    published = "dagc's errors on published runs it was not tuned on"
    if own and len(own) == len(bands):
        return "from the calibration's cross-validated errors on your runs (docs/calibrate.md)"
    if not own and not wide:
        return f"from {published} (docs/bands.md)"
    widened = f"{published}, widened to the calibration's cross-validated errors on your runs where they reach further"
    least = ledger().min_runs
    if not own:
        return f"from {widened} (a quantity it has fewer than {least} runs of; docs/bands.md)"
    return (f"from the calibration's cross-validated errors on your runs and, for a quantity it has fewer than {least} "
            f"runs of, {widened if wide else published} (docs/bands.md)")


def regimes_text(odds: tuple[Odds, ...]) -> str | None:
    """The regimes a requirements table's bands come from, for its caption (None: no band)."""
    seen: dict[str, Band] = {}
    for o in odds:
        if o.band is not None:
            seen.setdefault(o.band.regime, o.band)
    if not seen:
        return None
    conf = next(iter(seen.values())).confidence
    fell = any(b.note for b in seen.values())
    clamped = dict.fromkeys(o.band.clamped for o in odds if o.band is not None and o.band.clamped)
    source = bands_source(seen.values())
    outside = any(o.band is not None and not o.band.low <= o.band.value <= o.band.high for o in odds)
    return (f"[low–high]: where the measured figure lies, at {conf * 100:.0f} %, {source}: "
            + ", ".join(f"{k} ({b.runs} runs)" for k, b in seen.items())
            + ("; finer regimes have too few runs" if fell else "")
            + "".join(f"; goodput's band: {c}" for c in clamped)
            + ("; a band that leaves out dagc's own figure says that the measured runs of its regime have mostly been "
               "on one side of dagc's figure" if outside else ""))


def bound_warning(bands: Bands) -> str | None:
    """The throughputs whose figure, or band, reaches past their physical bound at 100 % efficiency (None:
    none does)."""
    past = [f"{k} ({b.value / b.bound:.0%} of its bound, band to {b.high / b.bound:.0%})".replace("%", " %")
            for k, b in bands.figures.items() if b.past_bound and b.bound]
    if not past:
        return None
    return ("warning: past the physical bound at 100 % efficiency (the figure or its band claims more than the "
            "GPUs can do): " + ", ".join(past))


def odds_line(result: StrategyResult, banded: Bands | None = None) -> str | None:
    """The verdict's line on the odds, under `meets requirements`: the requirements the deployment likely
    misses, else those uncertain, else the closest of those it meets (the least likely to hold; of those as
    likely, the smallest margin) — each as `TPOT 41.2 ms [36.1–47.3] → meets (p ≈ 0.93)`; None for a strategy
    with errors or without a banded requirement, and instead of "yes" for one whose deployment cannot carry its
    traffic (`dagc.verdict.under_load.not_carried_because`). A requirement without a band (memory, GPUs) that
    is missed is missed whatever the error: the line says so before any odds."""
    if not result.valid or not result.requirements:
        return None
    banded = banded or bands_of(result)
    judged = [(q, o) for q, o in zip(result.requirements, banded.requirements, strict=True)
              if o.probability is not None and q.value is not None]
    if not judged:
        return None

    def one(q: RequirementResult, o: Odds) -> str:
        return f"`{q.requirement.text}` {value_band_text(q, o)} → {odds_text(o)}"

    if unbanded := [q for q, o in zip(result.requirements, banded.requirements, strict=True)
                    if o.probability is None and q.met is False]:
        return ("meets? no, whatever dagc's error: " + "; ".join(f"`{q.requirement.text}` misses" for q in unbanded)
                + " (a figure without a band)")
    if misses := [x for x in judged if x[1].klass == "misses"]:
        return "meets? within dagc's error, likely not: " + "; ".join(one(*x) for x in misses)
    if unsure := [x for x in judged if x[1].klass == "uncertain"]:
        return "meets? uncertain within dagc's error: " + "; ".join(one(*x) for x in unsure)
    if result.load is not None and not result.load.carries_traffic:
        return None                               # every band meets, but the traffic is not carried: no "yes"
    # the least likely to hold, and of those as likely as they are told (each `p > 0.99`, say) the smallest
    # margin, as report.md names it
    closest = min(judged, key=lambda x: (p_shown(x[1].probability or 0.0),
                                         x[0].margin if x[0].margin is not None else float("inf")))
    return (f"meets? yes within dagc's error: every {banded.confidence * 100:.0f} % band meets its target "
            f"(the closest: {one(*closest)})")

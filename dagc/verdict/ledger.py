"""The error ledger: how far off dagc has been, per regime, on published serving runs it was not tuned on.

Input: `dagc/data/ledger.json` (package data, written by `bench/make_ledger.py` from the held-out half of
the fidelity corpus, docs/bands.md) and a plan's regime. Output: `Errors`, the empirical distribution of
the log-ratio ln(dagc / measured) of the regime's runs, and from it a figure's band (`Errors.band`) and
the probability that a requirement holds (`Errors.probability`).

A regime is a figure's quantity (TTFT, TPOT/ITL, throughput, E2E) within the engine, GPU family, serving
mode and concurrency band of its deployment. A regime with fewer than the ledger's `min_runs` runs falls
back to the next wider one (engine, GPU family, mode, concurrency band → engine, GPU family, mode →
engine → the quantity alone → every quantity), and says so. A plan without traffic gets the widest of
its quantity: the corpus's figures are the load's, not a steady state's. A plan with `calibration from "FILE"`
takes its errors from the calibration's cross-validated residuals instead (`calibrated_errors`).
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from importlib import resources
from typing import TypedDict

import numpy as np

from ..diagnostics import code
from ..plan.objective import OBJECTIVES
from ..plan.plan import Plan
from ..plan.workload import Serving

__all__ = ["LEDGER_FILE", "LEDGER_MAX_BYTES", "CONFIDENCE", "OBJECTIVE_QUANTITY",
           "QUANTITIES", "Errors", "Ledger", "Regime", "band_ratio", "calibrated_errors", "composed_e2e",
           "concurrency_band", "e2e_errors", "gpu_family", "ledger", "regime_of", "regime_keys",
           "WIDENED", "widened", "within_error_of_best"]

LEDGER_FILE = "ledger.json"
WIDENED = "widened to the calibration's errors"     # a band's note: the ledger's, widened (`calibrated_errors`)
LEDGER_MAX_BYTES = 1_000_000          # the shipped ledger is a few KB; a larger file is not read
CONFIDENCE = 0.8                      # the share of the error distribution a band covers, by default
QUANTITIES = ("ttft", "tpot", "throughput", "e2e")
WIDEST = "all"                        # every quantity's runs pooled, each weighing alike: the last fallback

# GPU families: the architecture a GPU preset belongs to (a GPU dagc has no family for is its own).
_FAMILIES = {"a100-80g": "ampere", "a100-40g": "ampere", "h100-sxm": "hopper", "h100-pcie": "hopper",
             "h200": "hopper", "h800": "hopper", "h20": "hopper", "b200": "blackwell", "b300": "blackwell",
             "gb200": "blackwell", "gb300": "blackwell", "mi300x": "cdna3"}
# Concurrency bands (requests in flight: a closed loop's clients, else the engine's cap `batch`): lower edges.
_BANDS = ((1024, "1024+"), (128, "128-1023"), (16, "16-127"), (2, "2-15"), (1, "1"))


def gpu_family(name: str) -> str:
    """The GPU family of a GPU preset's name (`h200` → hopper); another name is its own family.

    Example:
        >>> gpu_family("h100-sxm"), gpu_family("gb200"), gpu_family("my-gpu")
        ('hopper', 'blackwell', 'my-gpu')
    """
    return _FAMILIES.get(name, name)


def concurrency_band(requests: int) -> str:
    """The band of a concurrency (requests in flight).

    Example:
        >>> concurrency_band(1), concurrency_band(64), concurrency_band(1500)
        ('1', '16-127', '1024+')
    """
    return next(label for low, label in _BANDS if requests >= low)


@dataclass(frozen=True)
class Regime:
    """Where a deployment's figures fall in the ledger: its engine, GPU family, serving mode, concurrency band,
    and whether it has traffic (without, its figures take the widest band of their quantity)."""

    engine: str
    gpu: str
    mode: str
    concurrency: str
    traffic: bool = True


def regime_of(plan: Plan, disaggregated: bool = False) -> Regime:
    """The regime of a plan's deployment (a disaggregated strategy's mode is `disaggregated`).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h200" engine = sglang } '
        ...                    'workload { batch = 64 prompt = 512 generate = 64 serving = inflight } strategy tp 8')
        >>> regime_of(p)
        Regime(engine='sglang', gpu='hopper', mode='inflight', concurrency='16-127', traffic=False)
    """
    w = plan.workload
    mode = "disaggregated" if disaggregated else ("inflight" if w.serving is Serving.INFLIGHT else "static")
    traffic = w.traffic
    requests = traffic.concurrency if traffic is not None and traffic.concurrency else w.batch
    return Regime(engine=plan.cluster.engine.name, gpu=gpu_family(plan.cluster.gpu.name), mode=mode,
                  concurrency=concurrency_band(max(1, int(requests))), traffic=traffic is not None)


def regime_keys(regime: Regime, quantity: str) -> tuple[str, ...]:
    """The ledger's keys for `quantity` in `regime`, finest first, ending with the widest (every quantity).

    Example:
        >>> regime_keys(Regime("vllm", "hopper", "inflight", "16-127"), "tpot")  # doctest: +NORMALIZE_WHITESPACE
        ('engine=vllm gpu=hopper mode=inflight concurrency=16-127 quantity=tpot',
         'engine=vllm gpu=hopper mode=inflight quantity=tpot', 'engine=vllm quantity=tpot', 'quantity=tpot', 'all')
    """
    e, g, m, c = f"engine={regime.engine}", f"gpu={regime.gpu}", f"mode={regime.mode}", \
        f"concurrency={regime.concurrency}"
    q = f"quantity={quantity}"
    return (f"{e} {g} {m} {c} {q}", f"{e} {g} {m} {q}", f"{e} {q}", q, WIDEST)


@dataclass(frozen=True)
class Errors:
    """One regime's errors: the quantiles of ln(dagc / measured) at the ledger's levels, over `runs` runs."""

    regime: str
    runs: int
    levels: tuple[float, ...]
    log_ratio: tuple[float, ...]
    note: str | None = None       # why this regime and not a finer one (None: the finest)

    def quantile(self, level: float) -> float:
        """The log-ratio at `level` (linear between the stored quantiles)."""
        return float(np.interp(level, self.levels, self.log_ratio))

    def band(self, value: float, confidence: float = CONFIDENCE) -> tuple[float, float]:
        """The central `confidence` band of the measured value behind a figure dagc predicts as `value`.
        A prediction `value` with log-ratio r = ln(value / measured) means measured = value · e^(−r), so the
        band's low end takes the upper quantile of r.

        Example:
            >>> e = Errors("quantity=tpot", 10, (0.0, 0.1, 0.5, 0.9, 1.0), (-0.5, -0.2, 0.0, 0.1, 0.3))
            >>> [round(x, 3) for x in e.band(40e-3)]
            [0.036, 0.049]
        """
        tail = (1.0 - confidence) / 2
        return value * math.exp(-self.quantile(1.0 - tail)), value * math.exp(-self.quantile(tail))

    def probability(self, value: float, op: str, target: float) -> float:
        """The share of the regime's error distribution under which the measured value behind the
        prediction `value` meets `op target`: for `<=`, P(value · e^(−r) ≤ target) = P(r ≥ ln(value/target)).

        `==` gets 0 (docs/bands.md): the measured value is never exactly the target — but for a figure of 0, which
        every error leaves 0, against a target of 0. Until 2026-12-02 `ttft == 0 s`, a target of 0, got 1 ("meets
        (p > 0.99)") beside its `met` of no.

        Example:
            >>> e = Errors("quantity=tpot", 10, (0.0, 0.1, 0.5, 0.9, 1.0), (-0.5, -0.2, 0.0, 0.1, 0.3))
            >>> e.probability(40e-3, "<=", 40e-3), round(e.probability(40e-3, ">=", 44e-3), 3)
            (0.5, 0.309)
            >>> e.probability(40e-3, "==", 0.0), e.probability(40e-3, ">=", 0.0), e.probability(0.0, "==", 0.0)
            (0.0, 1.0, 1.0)
            >>> [e.probability(0.0, op, 0.0) for op in ("<=", "<", ">=", ">")]      # until 2026-12-02 `<` read as `<=`
            [1.0, 0.0, 1.0, 0.0]
        """
        if op == "==":
            return float(value == 0 and target == 0)
        if value <= 0 or target <= 0:       # every error leaves the measured value on the figure's side of 0
            return float({"<=": value <= target, "<": value < target, ">=": value >= target}.get(op, value > target))
        below = float(np.interp(math.log(value / target), self.log_ratio, self.levels))
        match op:
            case "<=" | "<":
                return 1.0 - below
            case ">=" | ">":
                return below
        return 0.0


class RegimeEntry(TypedDict):
    """One regime of ledger.json's `regimes`: its runs and figures, and the quantiles of its log ratios at the
    ledger's `levels` (None: too few runs)."""

    runs: int
    figures: int
    log_ratio: list[float] | None


@dataclass(frozen=True)
class Ledger:
    """The ledger as shipped: its regimes' errors (regimes with too few runs have counts and no quantiles)."""

    min_runs: int
    levels: tuple[float, ...]
    regimes: dict[str, RegimeEntry]
    source: str

    def errors(self, regime: Regime, quantity: str) -> Errors:
        """The finest regime of `quantity` in `regime` with enough runs; without traffic the quantity's own
        (the widest of it). `note` says why a finer regime was passed over."""
        keys = regime_keys(regime, quantity)
        skipped: list[str] = []
        start = 0 if regime.traffic else 3
        for key in keys[start:]:
            entry = self.regimes.get(key)
            quantiles = entry.get("log_ratio") if entry is not None else None
            if entry is not None and quantiles is not None and entry["runs"] >= self.min_runs:
                note = None
                if not regime.traffic:
                    note = "the plan has no traffic: the widest band of its quantity"
                    if key == WIDEST:
                        note = "the plan has no traffic, and its quantity has too few runs: every quantity's"
                elif skipped:
                    note = f"finer regimes have fewer than {self.min_runs} runs: " + ", ".join(skipped)
                return Errors(key, int(entry["runs"]), self.levels, tuple(quantiles), note)
            runs = entry["runs"] if entry is not None else 0
            skipped.append(f"{key.removesuffix(' ' + keys[3])} ({runs})")
        raise ValueError(f"the ledger has no `{WIDEST}` regime with quantiles")


@functools.lru_cache(maxsize=1)
def ledger() -> Ledger:
    """The shipped ledger (read once; a file over `LEDGER_MAX_BYTES` is refused)."""
    data = resources.files("dagc").joinpath("data", LEDGER_FILE).read_bytes()
    if len(data) > LEDGER_MAX_BYTES:
        raise ValueError(f"{LEDGER_FILE} is {len(data):,} bytes, over {LEDGER_MAX_BYTES:,}")
    doc = json.loads(data)
    return Ledger(min_runs=int(doc["min_runs"]), levels=tuple(doc["levels"]), regimes=doc["regimes"],
                  source=doc["source"])


def calibrated_errors(plan: Plan, quantity: str, ledger_errors: Errors) -> Errors:
    """The errors a figure of `quantity` takes its band from in `plan`: with `calibration from "FILE"`
    (docs/calibrate.md), the calibration's cross-validated residuals of the quantity — ln(dagc / measured) of each
    run's figures predicted by a fit that left that run out — estimated as the ledger's are (Weibull plotting
    positions at its levels), regime `calibration=FILE quantity=Q`, when they are of at least the ledger's
    `min_runs` runs (a regime of the ledger needs as many: a run's figures are not independent of one another);
    else the ledger's band widened to the calibration's residuals where they reach further (`widened`), saying
    why; without a calibration, the ledger's."""
    cal = plan.calibration
    if cal is None:
        return ledger_errors
    xs = cal.residuals.get(quantity, ())
    # a file read without its runs' quantities (a `Calibration` made in code) counts every run
    runs = cal.quantity_runs.get(quantity, 0) if cal.quantity_runs else (len(cal.runs) if xs else 0)
    least = ledger().min_runs
    if runs < least or not xs:
        said = (f"calibration {code(cal.file)} has {runs} run{'' if runs == 1 else 's'} with a {quantity} figure, "
                f"fewer than {least}: the ledger's band" + (f", {WIDENED}" if xs else ""))
        return widened(ledger_errors, xs, f"{said}; {ledger_errors.note}" if ledger_errors.note else said)
    q = np.quantile(np.asarray(xs, dtype=float), ledger_errors.levels, method="weibull")
    return Errors(f"calibration={cal.file} quantity={quantity}", runs, ledger_errors.levels,
                  tuple(float(x) for x in q), None)


def widened(errors: Errors, residuals: tuple[float, ...] | list[float], note: str) -> Errors:
    """`errors` (a ledger regime's) with each quantile below the median at most, and each above it at least, the
    same quantile of `residuals` (Weibull plotting positions): a band at least as wide as either's, on both sides.

    Example:
        >>> e = Errors("quantity=tpot", 24, (0.1, 0.5, 0.9), (-0.2, 0.0, 0.2))
        >>> w = widened(e, [-0.5, 0.1, 0.4], "few runs")
        >>> [round(x, 3) for x in w.log_ratio], w.regime, w.note
        ([-0.5, 0.0, 0.4], 'quantity=tpot', 'few runs')
    """
    if not len(residuals):
        return Errors(errors.regime, errors.runs, errors.levels, errors.log_ratio, note)
    own = np.quantile(np.asarray(residuals, dtype=float), errors.levels, method="weibull")
    out = tuple(float(min(a, b)) if lv < 0.5 else float(max(a, b)) if lv > 0.5 else float(a)
                for lv, a, b in zip(errors.levels, errors.log_ratio, own, strict=True))
    return Errors(errors.regime, errors.runs, errors.levels, out, note)


def composed_e2e(ttft: Errors, tpot: Errors, ttft_share: float) -> Errors:
    """E2E's errors composed from TTFT's and TPOT's: an E2E is its TTFT (share `ttft_share` of dagc's E2E) and the
    decode after it (the rest, TPOT's error), each taken at the same level of its own distribution — the two
    errors together, none cancelling the other (comonotone): at level ℓ, r = −ln(s·e^(−r_ttft(ℓ)) + (1 − s)·
    e^(−r_tpot(ℓ))), non-decreasing in ℓ as both are.

    Example:
        >>> lv = (0.0, 0.5, 1.0)
        >>> t, p = Errors("t", 9, lv, (-1.0, 0.0, 1.0)), Errors("p", 12, lv, (-0.5, 0.0, 0.5))
        >>> [round(x, 3) + 0.0 for x in composed_e2e(t, p, 0.0).log_ratio], composed_e2e(t, p, 0.0).runs
        ([-0.5, 0.0, 0.5], 9)
        >>> [round(x, 3) + 0.0 for x in composed_e2e(t, p, 0.5).log_ratio]     # half its TTFT: between the two
        [-0.781, 0.0, 0.719]
    """
    s = min(1.0, max(0.0, ttft_share))
    levels = tuple(sorted(set(ttft.levels) | set(tpot.levels)))
    r = tuple(-math.log(s * math.exp(-ttft.quantile(x)) + (1 - s) * math.exp(-tpot.quantile(x))) for x in levels)
    note = (f"E2E has too few runs of its own: composed from TTFT's band ({ttft.regime}) and TPOT's ({tpot.regime}), "
            f"TTFT {s:.0%} of dagc's E2E, their errors taken together")
    return Errors(f"composed: {ttft.regime} + {tpot.regime}", min(ttft.runs, tpot.runs), levels, r, note)


def e2e_errors(e2e: Errors, ttft: Errors, tpot: Errors, ttft_share: float | None) -> Errors:
    """The errors an E2E figure takes its band from: E2E's own (`e2e`, the ledger's or a calibration's) unless they
    are every quantity's pooled (`WIDEST`: E2E has too few runs in its regimes), which would judge an E2E by
    throughputs' errors; then `composed_e2e` of TTFT's and TPOT's (dagc's TTFT a `ttft_share` of its E2E; None:
    unknown, E2E's own)."""
    if e2e.regime != WIDEST or ttft_share is None:
        return e2e
    return composed_e2e(ttft, tpot, ttft_share)


# The ledger quantity of each objective's figure (min-gpus counts GPUs, which have no error).
OBJECTIVE_QUANTITY = {o.name: o.quantity for o in OBJECTIVES.values() if o.quantity is not None}


def band_ratio(plan: Plan, objective: str, disaggregated: bool = False, confidence: float = CONFIDENCE) -> float | None:
    """How many times its low end the high end of an objective's figure's band is, in the plan's regime
    (None for `min-gpus`): two figures a factor f apart have overlapping bands when f ≤ this ratio — the
    search cannot tell them apart within dagc's error."""
    q = OBJECTIVE_QUANTITY.get(objective)
    if q is None:
        return None
    e = calibrated_errors(plan, q, ledger().errors(regime_of(plan, disaggregated), q))
    tail = (1.0 - confidence) / 2
    return math.exp(e.quantile(1.0 - tail) - e.quantile(tail))


def within_error_of_best(plan: Plan, objective: str, scores: list[float], disaggregated: bool = False
                         ) -> tuple[float | None, list[int]]:
    """The objective's band ratio in the plan's regime (`band_ratio`) and the indices of `scores` (a search's
    ranking, best first; higher is better) whose figure lies within it of the best's: indistinguishable from
    the best within dagc's error. Negative scores (TTFT, TPOT, cost) compare their magnitudes.

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h200" } '
        ...                    'workload { batch = 8 prompt = 512 generate = 64 } strategy tp 8')
        >>> ratio, close = within_error_of_best(p, "tokens-per-gpu", [100.0, 95.0, 10.0])
        >>> close
        [1]
    """
    ratio = band_ratio(plan, objective, disaggregated)
    if ratio is None or not scores or scores[0] == 0:
        return ratio, []
    best = scores[0]
    close = [i for i, s in enumerate(scores[1:], 1)
             if s != 0 and (best / s if best > 0 else s / best) <= ratio and (s > 0) == (best > 0)]
    return ratio, close

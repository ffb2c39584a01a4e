"""Error bands in words: a probability, a requirement's odds and band, the legend under a requirements table, the
verdict's line on the odds (`odds_line`) and the warning past a physical bound, for the terminal and report.md.

Input: `Bands` of a strategy (`dagc.verdict.bands.bands_of`). Output: text. The bands carry figures; the words are
made here, where the outputs are.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..plan.workload import Requirement, RequirementKind
from ..rules.throughput_tokens import COUNTED
from ..units import count_text
from ..verdict.bands import Band, Bands, Odds, bands_of, figure_key
from ..verdict.check import StrategyResult
from ..verdict.ledger import WIDENED, ledger
from ..verdict.verdict import RequirementResult, requirement_value_text

__all__ = ["UNSURE_CLASSES", "bands_source", "binding_caveat_json", "bound_warning", "met_caveat", "met_caveat_json",
           "odds_line", "odds_text", "p_shown", "p_text", "regimes_text", "requirement_odds_text", "value_band_text",
           "counted_text"]


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


NOT_JUDGED = "not judged (errors)"     # the odds shown for a strategy with errors: its figures are not its deployment's


def odds_text(odds: Odds, valid: bool = True) -> str:
    """A requirement's class and probability: `meets (p ≈ 0.93)`; a figure not banded (memory, GPUs) its
    class alone; no figure `—`; of a strategy with errors (`valid` false), `NOT_JUDGED` — report.json's `class`
    says `misses` (what cannot be deployed meets nothing), but a figure well inside its target read "misses"
    beside it, as if the figure missed.

    Example:
        >>> odds_text(Odds(None, "misses"), valid=False)
        'not judged (errors)'
    """
    if not valid:
        return NOT_JUDGED
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
        >>> e2e = Requirement(kind=RequirementKind.THROUGHPUT, op=">=", target=2e4, text="throughput >= 20000 tokens/s")
        >>> value_band_text(RequirementResult(e2e, 57024.0), Odds(None, None, None))
        '57,024 tokens/s (prompt + generated tokens)'
    """
    shown = q.value_text()
    counted = counted_text(q.requirement)
    if odds.band is None:
        return shown + counted
    low, high = (requirement_value_text(q.requirement, x) for x in (odds.band.low, odds.band.high))
    unit = shown.rsplit(" ", 1)[1] if " " in shown else ""
    if unit and low.endswith(" " + unit) and high.endswith(" " + unit):
        low, high = low.removesuffix(" " + unit), high.removesuffix(" " + unit)
    return f"{shown}{counted} [{low}–{high}]"


def counted_text(req: Requirement) -> str:
    """Beside a `throughput` figure, the tokens it counts — ` (prompt + generated tokens)`, end to end, where a
    target quoted in tokens per second is often of generated tokens alone (N606) —; empty beside any other."""
    counted = COUNTED.get(req.kind)
    return f" ({counted})" if counted else ""


def _calibrations(b: Band) -> bool:
    """Whether a band is a calibration's errors: its regime, or each of those an E2E's band is composed of.

    Example:
        >>> _calibrations(Band(1.0, 0.9, 1.1, 0.8, "composed: calibration=c.json quantity=ttft + "
        ...                    "calibration=c.json quantity=tpot", 8))
        True
    """
    return all(part.startswith("calibration=") for part in b.regime.removeprefix("composed: ").split(" + "))


def bands_source(bands: Iterable[Band]) -> str:
    """Where bands come from, for a legend: dagc's errors on published runs (the ledger), a calibration's
    cross-validated errors on the user's runs, or the ledger's widened to the calibration's errors (a quantity the
    calibration has fewer than the ledger's `min_runs` runs of: `dagc.verdict.ledger.calibrated_errors`; not said
    cross-validated: a calibration of 3 runs has none, docs/calibrate.md) — or both. A goodput's band, made of its
    latencies' and capacity's errors (`dagc.verdict.goodput_band`), comes from where theirs do: it is not counted.

    Example:
        >>> b = Band(1.0, 0.9, 1.1, 0.8, "quantity=tpot", 24, "calibration `c.json` has 3 runs …, " + WIDENED)
        >>> bands_source([b]).split(", widened")
        ["from dagc's errors on published runs it was not tuned on", " to the calibration's errors on your runs where \
they reach further (a quantity it has fewer than 8 runs of; docs/bands.md)"]
    """
    bands = [b for b in bands if not b.regime.startswith("goodput:")]   # goodput's: its latencies' and capacity's
    own = [b for b in bands if _calibrations(b)]
    wide = any(b.note is not None and WIDENED in b.note for b in bands)
    published = "dagc's errors on published runs it was not tuned on"
    if own and len(own) == len(bands):
        return "from the calibration's cross-validated errors on your runs (docs/calibrate.md)"
    if not own and not wide:
        return f"from {published} (docs/bands.md)"
    widened = f"{published}, widened to the calibration's errors on your runs where they reach further"
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
    floored = dict.fromkeys(o.band.floored for o in odds if o.band is not None and o.band.floored)
    source = bands_source(seen.values())
    outside = any(o.band is not None and not o.band.low <= o.band.value <= o.band.high for o in odds)
    return (f"[low–high]: where the measured figure lies, at {conf * 100:.0f} %, {source}: "
            + ", ".join(f"{k} ({count_text(b.runs, 'run')})" for k, b in seen.items())
            + ("; finer regimes have too few runs" if fell else "")
            + "".join(f"; goodput's band: {c}" for c in clamped)
            + "".join(f"; a TTFT's or E2E's band: {f}" for f in floored)
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
    misses, else those uncertain (`no in dagc's figures, uncertain within its error` when dagc's figure of one misses
    it, as the table's `NO` beside `uncertain` says), else the least sure of those it meets (the least likely to
    hold; of those as likely, the smallest margin) — each as `TPOT 41.2 ms [36.1–47.3] → meets (p ≈ 0.93)`; None for a
    strategy with errors or without a banded requirement, and instead of "yes" for one whose deployment cannot carry its
    traffic (`dagc.verdict.under_load.not_carried_because`) or whose traffic was not simulated (W518:
    `StrategyResult.traffic_unjudged`). A requirement without a band (memory, GPUs) that
    is missed is missed whatever the error: the line says so before any odds."""
    if not result.valid or not result.requirements:
        return None
    banded = banded or bands_of(result)
    judged = [(q, o) for q, o in zip(result.requirements, banded.requirements, strict=True)
              if o.probability is not None and q.value is not None]
    if not judged:
        return None
    one = requirement_odds_text

    if unbanded := [q for q in result.requirements if figure_key(q.requirement) is None and q.met is False]:
        # and every banded one missed or in doubt too: the line names each requirement the table marks missed
        # (until 2026-11-30 it named the unbanded alone, `gpus <= 64`, beside a throughput missed by 99.7 %)
        also = [x for x in judged if x[0].met is False or x[1].klass in UNSURE_CLASSES]
        return ("meets? no, whatever dagc's error: " + "; ".join(f"`{q.requirement.text}` misses" for q in unbanded)
                + " (a figure without a band)"
                + ("; and within dagc's error: " + "; ".join(one(*x) for x in also) if also else ""))
    if misses := [x for x in judged if x[1].klass == "misses"]:
        return "meets? within dagc's error, likely not: " + "; ".join(one(*x) for x in misses)
    if unsure := [x for x in judged if x[1].klass == "uncertain"]:
        # a line dagc's figure misses (the table's NO) is "no" in dagc's figures first: the band reaching the target
        # leaves it uncertain, not met (until 2026-12-02 `meets? uncertain` followed `meets? no: this run misses …`)
        head = "no in dagc's figures, uncertain within its error" if any(q.met is False for q, _ in unsure) \
            else "uncertain within dagc's error"
        return f"meets? {head}: " + "; ".join(one(*x) for x in unsure)
    if result.load is not None and not result.load.carries_traffic or result.traffic_unjudged is not None \
            or any(q.met is None for q in result.requirements):
        # every band meets, but the traffic is not carried, or not simulated (W518), or a requirement has no figure
        # (a TPOT line over a log of one-token outputs): no "yes" beside the verdict's "not judged" (until 2026-11-30)
        return None
    # the least likely to hold, and of those as likely as they are told (each `p > 0.99`, say) the smallest
    # margin, as report.md names it
    closest = min(judged, key=lambda x: (p_shown(x[1].probability or 0.0),
                                         x[0].margin if x[0].margin is not None else float("inf")))
    return (f"meets? yes within dagc's error: every {banded.confidence * 100:.0f} % band meets its target "
            f"(the least sure: {one(*closest)})")


def requirement_odds_text(q: RequirementResult, o: Odds, steady: bool = False) -> str:
    """A requirement with its figure, band and odds, as the verdict's odds line tells it:
    `` `e2e_p90 <= 8 s` 7.506 s [6.253–8.376] → uncertain (p ≈ 0.73)``; with `steady`, a time or throughput judged on
    the steady state says so after its figure, `in the steady state` (beside a run at a rate, whose figures differ)."""
    r = q.requirement
    said = " in the steady state" if steady and not r.on_load and r.kind not in _TIMELESS else ""
    return f"`{r.text}` {value_band_text(q, o)}{said} → {odds_text(o)}"


_TIMELESS = (RequirementKind.MEMORY, RequirementKind.GPUS)     # the same figure under any traffic


def met_caveat(requirements: Iterable[RequirementResult], odds: Iterable[Odds], steady: bool = False) -> str | None:
    """What dagc's error leaves of "meets every requirement": the requirements whose band straddles their target
    or misses it, each with its figure, band and odds as `dagc check`'s odds line gives them (`odds_line`), after
    the words `within dagc's error`; None when every band meets its target. For a sentence that says a strategy
    meets every requirement (`dagc search --rate`'s conclusion, report.md's Summary), so that it never drops
    the odds the check of the same figures gives. `steady`: the sentence is of a run at a rate (`dagc search --rate`),
    whose steady-state lines say so (`requirement_odds_text`): until 2026-12-02 its conclusion at 8 requests/s of
    2,304 tokens — 18,432 tokens/s arriving — quoted `throughput >= 20000 tokens/s` at 21,736 tokens/s unsaid."""
    said = [(q, o) for q, o in zip(requirements, odds, strict=True)
            if o.klass in UNSURE_CLASSES and o.probability is not None and q.value is not None]
    return _caveat([(o.klass or "", requirement_odds_text(q, o, steady)) for q, o in said])


def met_caveat_json(requirements: Iterable[dict[str, object]]) -> str | None:
    """`met_caveat` from the JSON of the requirements (`requirements[]` of report.json, each with its `text`, as
    `dagc search --rate`'s rows and `dagc fleet`'s picks carry them across processes): each requirement as
    written with its class and probability."""
    return _caveat([(klass, f"`{text}` → {odds}") for klass, text, odds in _unsure_json(requirements)])


def binding_caveat_json(binding: str, requirements: Iterable[dict[str, object]]) -> str:
    """A requirement that binds (`binding`, as written) and `met_caveat_json` of the others, the binding one named
    once with both facts when dagc's error leaves it in doubt too — `tpot_p90 <= 30 ms → uncertain (p ≈ 0.51)
    within dagc's error`, then `; also uncertain: …` for the others — else `binding; within dagc's error, …`.

    Example:
        >>> reqs = [{"text": "tpot_p90 <= 30 ms", "value": 0.029, "probability": 0.514, "class": "uncertain"},
        ...         {"text": "ttft_p99 <= 1 s", "value": 0.07, "probability": 1.0, "class": "meets"}]
        >>> binding_caveat_json("tpot_p90 <= 30 ms", reqs)
        "tpot_p90 <= 30 ms → uncertain (p ≈ 0.51) within dagc's error"
        >>> binding_caveat_json("ttft_p99 <= 1 s", reqs)
        "ttft_p99 <= 1 s; within dagc's error, uncertain: `tpot_p90 <= 30 ms` → uncertain (p ≈ 0.51)"
    """
    unsure = _unsure_json(requirements)
    own = next((u for u in unsure if u[1] == binding), None)
    if own is None:
        caveat = _caveat([(klass, f"`{text}` → {odds}") for klass, text, odds in unsure])
        return binding + (f"; {caveat}" if caveat else "")
    rest = [(klass, f"`{text}` → {odds}") for klass, text, odds in unsure if text != binding]
    also = ("likely not" if any(k == "misses" for k, _ in rest) else "uncertain") if rest else ""
    return (f"{binding} → {own[2]} within dagc's error"
            + (f"; also {also}: " + "; ".join(t for _, t in rest) if rest else ""))


def _unsure_json(requirements: Iterable[dict[str, object]]) -> list[tuple[str, str, str]]:
    """The requirements (JSON) whose odds leave "meets" in doubt: each one's class, text as written and odds
    (`uncertain (p ≈ 0.51)`)."""
    said = []
    for r in requirements:
        klass, p = r.get("class"), r.get("probability")
        if klass in UNSURE_CLASSES and isinstance(p, (int, float)) and r.get("value") is not None:
            said.append((str(klass), str(r.get("text") or r.get("name")), f"{klass} ({p_text(float(p))})"))
    return said


UNSURE_CLASSES = ("uncertain", "misses")     # the odds' classes that leave "meets" in doubt


def _caveat(said: list[tuple[str, str]]) -> str | None:
    """`within dagc's error, uncertain: …` (`likely not` when any band misses its target), None for none."""
    if not said:
        return None
    head = "likely not" if any(k == "misses" for k, _ in said) else "uncertain"
    return f"within dagc's error, {head}: " + "; ".join(t for _, t in said)

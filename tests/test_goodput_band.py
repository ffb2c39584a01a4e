"""The band of a goodput whose run keeps pace (`dagc.verdict.goodput_band`): the arrival rate × the share of its
requests within every latency target × the share of the rate its capacity keeps up with, each at the ledger's
errors taken together — computed here by hand from the run's own requests and the ledger's quantiles."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from dagc.lang.load import load_plan_text, parse_strategy
from dagc.plan.workload import RequirementKind
from dagc.verdict.bands import bands_of
from dagc.verdict.check import check_strategy
from dagc.verdict.goodput_band import LEVELS, GoodputCurve
from dagc.verdict.ledger import ledger, regime_of

ROOT = Path(__file__).resolve().parents[1]
TRAFFIC = (ROOT / "examples" / "qwen3-30b-a3b-traffic.moe").read_text()


@pytest.fixture(scope="module")
def checked():
    plan = load_plan_text(TRAFFIC, "traffic.moe", ROOT / "examples")
    return check_strategy(plan, parse_strategy("tp 4"))


def _by_hand(r, level: float) -> float:
    """goodput(ℓ) = rate × share(ℓ) × min(1, capacity(ℓ) / rate) for this plan: TTFT and TPOT targets."""
    book, regime = ledger(), regime_of(r.plan)
    ttft, tpot, thr = (book.errors(regime, q) for q in ("ttft", "tpot", "throughput"))
    load = r.load.load
    ok = np.ones(len(load.ttft), dtype=bool)
    for req in r.plan.requirements:
        if req.kind is RequirementKind.TTFT:
            ok &= load.ttft * math.exp(-ttft.quantile(level)) <= req.target
        elif req.kind is RequirementKind.TPOT:
            ok &= load.tpot * math.exp(-tpot.quantile(level)) <= req.target
    rate = load.arrival_rate
    keep = min(1.0, r.load.capacity_requests_per_s * math.exp(-thr.quantile(1.0 - level)) / rate)
    return rate * float(ok.mean()) * keep


def test_the_curve_is_the_rate_times_the_good_share_and_what_the_capacity_keeps_up_with(checked):
    r = checked
    assert r.load is not None and not r.load.load.overloaded and r.load.capacity_requests_per_s > 10
    band = bands_of(r).figures["load.goodput_requests_per_s"]
    assert band.regime == "goodput: its latencies' and capacity's errors"
    expected = np.maximum.accumulate([_by_hand(r, x) for x in LEVELS])
    curve = GoodputCurve(LEVELS, expected, band.regime, band.runs)
    assert (band.low, band.high) == pytest.approx(curve.band(0.8), rel=1e-12)
    assert band.high <= r.load.load.arrival_rate + 1e-12               # never past what arrives
    # `goodput >= 4 requests/s`: the share of levels at which the curve reaches 4
    odds = next(o for q, o in zip(r.requirements, bands_of(r).requirements, strict=True)
                if q.requirement.kind is RequirementKind.GOODPUT)
    assert odds.probability == pytest.approx(curve.probability(">=", 4.0), abs=1e-12)
    # capacity about three times the log's rate and latencies far inside their targets: the floor is met
    assert odds.klass == "meets" and odds.probability > 0.9


def test_a_capacity_close_to_the_rate_widens_the_band_below_it(checked):
    """The same run with a capacity 5 % above the rate: at the throughput regime's pessimistic errors the
    deployment keeps up with less than the rate, and the band's low end says so."""
    from dataclasses import replace

    r = checked
    rate = r.load.load.arrival_rate
    close = replace(r, load=replace(r.load, capacity_requests_per_s=rate * 1.05))
    band = bands_of(close).figures["load.goodput_requests_per_s"]
    thr = ledger().errors(regime_of(r.plan), "throughput")
    assert band.low == pytest.approx(_by_hand(close, 0.1), rel=1e-9)
    assert band.low < rate * 1.05 * math.exp(-thr.quantile(0.9)) + 1e-9 < rate


def test_a_run_without_a_judged_capacity_takes_the_same_curve_at_its_arrival_rate(checked):
    """`dagc search --rate`'s rows and next steps judge no capacity: the run keeping pace with its rate says the
    capacity is at least that rate, and the goodput takes the one derivation with the rate for the capacity —
    its latencies' errors included (until 2026-11-27 it took the throughput band around its figure, clamped at the
    rate: [3.337–4.624] here, the latencies' errors left out)."""
    from dataclasses import replace

    r = checked
    rate = r.load.load.arrival_rate
    unjudged = replace(r, load=replace(r.load, capacity_requests_per_s=None, capacity_judged=False))
    b = bands_of(unjudged)
    band = b.figures["load.goodput_requests_per_s"]
    assert band.regime == "goodput: its latencies' and capacity's errors"
    expected = np.maximum.accumulate([_by_hand(replace_capacity(r, rate), x) for x in LEVELS])
    curve = GoodputCurve(LEVELS, expected, band.regime, band.runs)
    assert (band.low, band.high) == pytest.approx(curve.band(0.8), rel=1e-12)
    odds = next(o for q, o in zip(r.requirements, b.requirements, strict=True)
                if q.requirement.kind is RequirementKind.GOODPUT)
    assert odds.probability == pytest.approx(curve.probability(">=", 4.0), abs=1e-12)
    # the capacity's term at its pessimistic end: at or below the band of the bisected capacity, never above
    judged = bands_of(r).figures["load.goodput_requests_per_s"]
    assert band.low <= judged.low and band.high <= judged.high


def test_probability_on_a_curve():
    c = GoodputCurve(np.array([0.0, 0.5, 1.0]), np.array([2.0, 4.0, 4.0]), "r", 9)
    assert c.probability(">=", 3.0) == pytest.approx(0.75)       # reached at level 0.25
    assert c.probability(">=", 4.0) == pytest.approx(0.5)
    assert (c.probability(">=", 2.0), c.probability(">=", 4.5)) == (1.0, 0.0)


@pytest.fixture(scope="module")
def slow_front_end():
    """The log on SGLang, whose front end puts most TTFTs just past a p99 target of 200 ms: no rate meets it in
    dagc's figures (no capacity), yet the TTFT band straddles the target."""
    text = TRAFFIC.replace("  gpu preset \"h200\"\n", "  gpu preset \"h200\"\n  engine = sglang\n") \
        .replace("ttft_p99 <= 1 s", "ttft_p99 <= 200 ms")
    plan = load_plan_text(text, "traffic.moe", ROOT / "examples")
    return check_strategy(plan, parse_strategy("tp 1 ; ep 4"))


def test_a_goodput_without_a_capacity_takes_the_odds_of_the_latencies_it_counts(slow_front_end):
    """Goodput counts the requests within every latency target: where the TTFTs may be within 200 ms (the p99's
    band straddles it), so may the goodput be above its floor — its band is the curve at the latencies' errors,
    the capacity the run is known to keep up with its own rate (issue 55)."""
    r = slow_front_end
    load = r.load.load
    assert r.load.capacity_requests_per_s is None and load.keeps_pace
    b = bands_of(r)
    by_kind = {q.requirement.kind: o for q, o in zip(r.requirements, b.requirements, strict=True)}
    ttft, goodput = by_kind[RequirementKind.TTFT], by_kind[RequirementKind.GOODPUT]
    assert ttft.klass == "uncertain" and 0.1 < ttft.probability < 0.5
    close = replace_capacity(r, load.arrival_rate)
    expected = np.maximum.accumulate([_by_hand(close, x) for x in LEVELS])
    curve = GoodputCurve(LEVELS, expected, "g", 1)
    assert goodput.probability == pytest.approx(curve.probability(">=", 4.0), abs=1e-12)
    # 4 requests/s of 4.62 needs 87 % of requests within 200 ms, fewer than the p99's 99 %: no less likely
    assert goodput.klass != "misses" and goodput.probability >= ttft.probability
    band = b.figures["load.goodput_requests_per_s"]       # report.json's `bands` carries what the text shows
    assert (band.low, band.high) == pytest.approx(curve.band(0.8), rel=1e-12)
    assert band.value == 0.0 and band.high > 4.0


def replace_capacity(r, capacity: float):
    from dataclasses import replace
    return replace(r, load=replace(r.load, capacity_requests_per_s=capacity))


def test_a_capacity_below_the_rate_of_a_run_that_keeps_pace_is_read_as_the_rate(checked):
    """A capacity bound by a percentile target (its p99 TTFT missed at the rate) while the run keeps pace: the
    capacity term asks only whether the deployment keeps up, which its own run shows at the arrival rate — the
    rate stands for it. A new user's Qwen3-235B-A22B on 8 H100s at 4 requests/s with `ttft_p99 <= 100 ms` (its
    capacity 0.408 requests/s) read `3.252 requests/s [0.0002946–0.4507] → misses (p < 0.01)`."""
    from dataclasses import replace

    r = checked
    rate = r.load.load.arrival_rate
    low = replace_capacity(r, rate / 10)
    missing = replace(low, load=replace(low.load, binding=replace(low.load.binding, missed=("ttft",))))
    assert missing.load.load.keeps_pace and missing.load.capacity_judged
    band = bands_of(missing).figures["load.goodput_requests_per_s"]
    expected = np.maximum.accumulate([_by_hand(replace_capacity(r, rate), x) for x in LEVELS])
    curve = GoodputCurve(LEVELS, expected, band.regime, band.runs)
    assert (band.low, band.high) == pytest.approx(curve.band(0.8), rel=1e-12)
    assert band.low <= band.value <= band.high          # the band holds the figure it bands
    # the capacity term no longer caps the band at a tenth of the rate
    assert band.high > rate / 10 * 1.5


def test_a_capacity_below_the_rate_of_a_run_meeting_every_percentile_stands(checked):
    """A run that meets every percentile but whose capacity lies below its rate keeps pace over its own length
    only — the capacity's longer trials fall behind: the judged capacity caps the band, as computed by hand."""
    r = checked
    rate = r.load.load.arrival_rate
    low = replace_capacity(r, rate / 10)
    assert low.load.binding.missed == ()
    band = bands_of(low).figures["load.goodput_requests_per_s"]
    expected = np.maximum.accumulate([_by_hand(low, x) for x in LEVELS])
    curve = GoodputCurve(LEVELS, expected, band.regime, band.runs)
    assert (band.low, band.high) == pytest.approx(curve.band(0.8), rel=1e-12)
    assert band.high < rate / 10 * 1.5

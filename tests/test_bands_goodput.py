"""A goodput's band never reaches above the arrival rate the plan sends (goodput never exceeds the requests
sent), and says so; a goodput target above that rate has no chance of being met."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc.export.bands_md import bands_md
from dagc.export.bands_words import regimes_text
from dagc.export.result_json import band_json, load_json
from dagc.lang.load import load_plan_text, parse_strategy
from dagc.verdict.bands import bands_of
from dagc.verdict.check import check_strategy

ROOT = Path(__file__).resolve().parents[1]
# Qwen3-30B-A3B on 4 H200s replaying 1,000 requests of a conversation log at its own times (4.62 requests/s
# on average): `tp 4` serves 4.59 requests/s, all within the latency targets
TRAFFIC = (ROOT / "examples" / "qwen3-30b-a3b-traffic.moe").read_text()


def _checked(goodput: str):
    text = TRAFFIC.replace("goodput >= 4 requests/s", f"goodput >= {goodput}")
    plan = load_plan_text(text, "traffic.moe", ROOT / "examples")
    return check_strategy(plan, parse_strategy("tp 4"), with_capacity=False)


@pytest.fixture(scope="module")
def met():
    return _checked("4 requests/s")


def test_the_goodput_band_stops_at_the_arrival_rate(met):
    rate = load_json(met.load)["binding"]["arrival_rate_requests_per_s"]
    goodput = load_json(met.load)["goodput_requests_per_s"]
    # it keeps pace, every request within its targets: served and goodput are the log's own mean rate
    assert 4.5 < rate < 4.7 and goodput == pytest.approx(rate)
    banded = bands_of(met)
    band = banded.figures["load.served_requests_per_s"]
    assert band.low < band.value <= band.high == pytest.approx(rate)       # the ledger's band reached 5.15
    assert band.clamped is not None and "at most the arrival rate, 4.624 requests/s" in band.clamped
    assert band_json(band)["clamped"] == band.clamped
    # the goodput, its capacity not judged (`with_capacity=False`): the curve of its latencies' and capacity's
    # errors, the arrival rate standing for the capacity (`dagc.verdict.goodput_band`), which never passes the rate
    band = banded.figures["load.goodput_requests_per_s"]
    assert band.regime == "goodput: its latencies' and capacity's errors"
    assert band.low < band.value <= band.high == pytest.approx(rate)
    q = next(o for q, o in zip(met.requirements, banded.requirements, strict=True)
             if q.requirement.kind.value == "goodput")
    assert q.band is not None and q.band.high == pytest.approx(rate)
    assert any("at most the arrival rate" in line for line in bands_md(met))        # the served rate's


def test_a_goodput_target_above_the_arrival_rate_has_no_chance(met):
    """4.7 requests/s is above the 4.62 sent: the ledger's band (up to 5.15) gave it a chance; none is left."""
    r = _checked("4.7 requests/s")
    odds = bands_of(r).requirements[2]
    assert r.requirements[2].requirement.target == 4.7
    assert odds.probability == 0.0 and odds.klass == "misses"
    below = bands_of(met).requirements[2]             # 4 requests/s, below the rate: its odds as the ledger says
    assert 0.5 < below.probability < 0.99 and below.klass == "uncertain"


def test_a_band_that_leaves_out_dagcs_figure_says_why(met):
    """A regime whose measured runs all lay on one side of dagc's figure gives a band beside, not around, that
    figure (a goodput clamped at the arrival rate below a figure at it, or a biased regime): the caption says
    what that means instead of leaving it to read as a slip. Around the figure, the caption says nothing of it."""
    from dataclasses import replace

    from dagc.verdict.bands import Odds

    banded = bands_of(met)
    around = regimes_text(banded.requirements) or ""
    assert "leaves out dagc's own figure" not in around
    odds = [o for o in banded.requirements if o.band is not None]
    band = odds[0].band
    assert band is not None and band.low <= band.value <= band.high
    beside = replace(odds[0], band=replace(band, low=band.value * 0.6, high=band.value * 0.9))
    text = regimes_text((beside, *odds[1:])) or ""
    assert text.startswith(around)
    assert text.endswith("; a band that leaves out dagc's own figure says that the measured runs of its regime have "
                         "mostly been on one side of dagc's figure")
    assert isinstance(beside, Odds)

"""The legend of a requirements table and of report.md's "Error bands" says where the bands come from
(`dagc.export.bands_words.bands_source`); a goodput's band, made of its latencies' and capacity's errors, and an
E2E's composed of TTFT's and TPOT's come from where those do."""

from __future__ import annotations

from dagc.export.bands_words import bands_source
from dagc.verdict.bands import Band

OWN = "from the calibration's cross-validated errors on your runs (docs/calibrate.md)"


def band(regime: str, note: str | None = None) -> Band:
    return Band(1.0, 0.9, 1.1, 0.8, regime, 8, note)


def test_a_goodput_band_beside_a_calibrations_bands_is_theirs():
    # a calibration of 8 runs with `goodput >= …` required: report.md read "from the calibration's cross-validated
    # errors on your runs and, for a quantity it has fewer than 8 runs of, dagc's errors on published runs it was not
    # tuned on", while every band of its table was the calibration's
    bands = [band("calibration=cal.json quantity=tpot"), band("calibration=cal.json quantity=throughput"),
             band("goodput: its latencies' and capacity's errors")]
    assert bands_source(bands) == OWN


def test_an_e2e_composed_of_a_calibrations_bands_is_the_calibrations():
    composed = band("composed: calibration=cal.json quantity=ttft + calibration=cal.json quantity=tpot")
    assert bands_source([band("calibration=cal.json quantity=ttft"), composed]) == OWN
    ledger = band("composed: quantity=ttft + quantity=tpot")
    assert bands_source([band("calibration=cal.json quantity=ttft"), ledger]) == (
        "from the calibration's cross-validated errors on your runs and, for a quantity it has fewer than 8 runs of, "
        "dagc's errors on published runs it was not tuned on (docs/bands.md)")


def test_a_goodput_band_alone_is_the_ledgers_words():
    assert bands_source([band("goodput: its latencies' and capacity's errors")]) == \
        "from dagc's errors on published runs it was not tuned on (docs/bands.md)"

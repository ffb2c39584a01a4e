"""W542's hint names the fitted terms that move the quantity it warns of: a front end's time comes before the
first token, so it is never said to buy TPOT (it is said of TTFT and E2E, which it enters); and what the fit bought
with what: the quantities it predicts closer, with this one and the others it predicts further off."""

from __future__ import annotations

from dagc.rules.calibration import calibration_worse


def test_the_front_end_is_not_said_to_buy_tpot():
    fitted = ("frontend_s", "memory_time_scale")
    tpot = calibration_worse("tpot", (32.6, 38.5, None), "`r1`'s `tpot`", None, fitted,  # type: ignore[arg-type]
                             ["throughput"])
    assert tpot.hint.startswith("the fit's `memory_time_scale` buys throughput with TPOT: ")
    assert "frontend_s" not in tpot.hint
    ttft = calibration_worse("ttft", (54.7, 55.3, None), "`r1`'s `ttft`", None, fitted,  # type: ignore[arg-type]
                             ["throughput"])
    assert ttft.hint.startswith("the fit's `frontend_s` and `memory_time_scale` buy throughput with TTFT: ")


def test_the_hint_names_every_quantity_further_off_not_the_other_quantities():
    # a new user's trial: TPOT, TTFT and E2E all further off, throughput alone closer, read "buys the other
    # quantities with TPOT"
    tpot = calibration_worse("tpot", (32.6, 38.5, None), "`r1`'s `tpot`", None,  # type: ignore[arg-type]
                             ("memory_time_scale",), ["throughput"], ["ttft", "e2e"])
    assert tpot.hint.startswith("the fit's `memory_time_scale` buys throughput with TPOT, TTFT and E2E: add runs")
    assert "other quantities" not in tpot.hint
    alone = calibration_worse("e2e", (30.8, 35.0, None), "`r1`'s `e2e`", None,  # type: ignore[arg-type]
                              ("step_s",), [], ["tpot"])
    assert alone.hint.startswith("the fit's `step_s` leaves E2E and TPOT further off and no quantity closer: ")

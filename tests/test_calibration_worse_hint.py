"""W542's hint names the fitted terms that move the quantity it warns of: a front end's time comes before the
first token, so it is never said to buy TPOT (it is said of TTFT and E2E, which it enters)."""

from __future__ import annotations

from dagc.rules.engine import calibration_worse


def test_the_front_end_is_not_said_to_buy_tpot():
    fitted = ("frontend_s", "memory_time_scale")
    tpot = calibration_worse("tpot", 32.6, 38.5, None, "`r1`'s `tpot`", None, fitted)  # type: ignore[arg-type]
    assert "the fit's `memory_time_scale` buys the other quantities with TPOT" in tpot.hint
    assert "frontend_s" not in tpot.hint
    ttft = calibration_worse("ttft", 54.7, 55.3, None, "`r1`'s `ttft`", None, fitted)  # type: ignore[arg-type]
    assert "the fit's `frontend_s` and `memory_time_scale` buy the other quantities with TTFT" in ttft.hint

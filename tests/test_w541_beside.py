"""W541's hint names the terms the runs had no room beside: where 3 runs were fitted in stages (a quantity at a time,
2 terms each), the terms of the stage the bound term was fitted in, on that stage's figures — it said "beside 3
terms (a calibration fits one term fewer than its runs)", 3 terms on 3 runs, which the rule it quoted forbids."""

from __future__ import annotations

from types import SimpleNamespace

from dagc.calibrate.bound import _beside
from dagc.calibrate.stages import Stage


def test_a_staged_fit_names_the_stages_terms_and_quantity():
    fit = SimpleNamespace(fitted=("memory_time_scale", "step_request_s", "frontend_s"),
                          stages=(Stage("tpot", ("memory_time_scale", "step_request_s"), 0.4, 0.1),
                                  Stage("throughput", (), 0.0, 0.0), Stage("ttft", ("frontend_s",), 0.3, 0.1)))
    assert _beside(fit, "step_request_s") == "`memory_time_scale` and `step_request_s` on the TPOT figures"
    assert _beside(fit, "frontend_s") == "`frontend_s` on the TTFT figures"


def test_a_fit_of_every_term_at_once_counts_them():
    fit = SimpleNamespace(fitted=("step_s", "frontend_s", "memory_time_scale"), stages=())
    assert _beside(fit, "memory_time_scale") == "3 terms"

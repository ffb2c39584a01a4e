"""An `==` requirement on a figure with a band is never said to meet within dagc's error (docs/bands.md: "an `==`
target gets 0"), a target of 0 included: until 2026-12-02 `require { ttft == 0 s }` got probability 1, class
`meets`, and the terminal's "meets? yes within dagc's error … → meets (p > 0.99)" beside its `met` of no."""

from __future__ import annotations

from dagc.export.report import report_json
from dagc.lang.load import load_plan_text
from dagc.verdict.check import check
from dagc.verdict.ledger import Errors
from conftest import plan_text

ERRORS = Errors("quantity=ttft", 10, (0.0, 0.1, 0.5, 0.9, 1.0), (-0.5, -0.2, 0.0, 0.1, 0.3))


def test_an_equal_target_gets_no_chance_whatever_the_figures():
    assert [ERRORS.probability(v, "==", t) for v, t in ((0.05, 0.0), (0.05, 0.05), (0.0, 0.0))] == [0.0, 0.0, 0.0]
    # the other comparisons with a target of 0 stay as they were: a positive figure is above it
    assert [ERRORS.probability(0.05, op, 0.0) for op in ("<=", "<", ">=", ">")] == [0.0, 0.0, 1.0, 1.0]


def test_a_ttft_equal_to_zero_misses_in_report_json():
    (r,) = check(load_plan_text(plan_text(require="require { ttft == 0 s }"), name="eq.moe"))
    (req,) = report_json(r)["requirements"]
    assert (req["op"], req["target"], req["met"]) == ("==", 0.0, False) and req["value"] > 0
    assert (req["probability"], req["class"]) == (0.0, "misses")

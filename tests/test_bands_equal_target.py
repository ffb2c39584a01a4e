"""An `==` requirement's odds agree with its `met` (docs/bands.md: "an `==` target gets 0", but where the figure
cannot move from the target): until 2026-12-02 `require { ttft == 0 s }` got probability 1, class `meets`, and the
terminal's "meets? yes within dagc's error … → meets (p > 0.99)" beside its `met` of no, and `goodput == 0
requests/s`, met by a run whose every request missed, "misses (p < 0.01)"."""

from __future__ import annotations

from dagc.export.report import report_json
from dagc.lang.load import load_plan_text
from dagc.verdict.check import check
from dagc.verdict.ledger import Errors
from conftest import plan_text

ERRORS = Errors("quantity=ttft", 10, (0.0, 0.1, 0.5, 0.9, 1.0), (-0.5, -0.2, 0.0, 0.1, 0.3))


def test_an_equal_target_gets_no_chance_but_a_figure_of_0_against_0():
    # a measured value is never exactly the target; a figure of 0 stays 0 under every error
    assert [ERRORS.probability(v, "==", t) for v, t in ((0.05, 0.0), (0.05, 0.05), (0.0, 0.0))] == [0.0, 0.0, 1.0]
    # the other comparisons with a target of 0 stay as they were: a positive figure is above it
    assert [ERRORS.probability(0.05, op, 0.0) for op in ("<=", "<", ">=", ">")] == [0.0, 0.0, 1.0, 1.0]
    # a figure of 0 is 0 under every error: strict comparisons with 0 fail, as `Requirement.holds` judges them
    # (until 2026-12-02 `<` was read as `<=` and `>` as `>=` there: 1 each)
    assert [ERRORS.probability(0.0, op, 0.0) for op in ("<=", "<", ">=", ">")] == [1.0, 0.0, 1.0, 0.0]


def test_a_ttft_equal_to_zero_misses_in_report_json():
    (r,) = check(load_plan_text(plan_text(require="require { ttft == 0 s }"), name="eq.moe"))
    (req,) = report_json(r)["requirements"]
    assert (req["op"], req["target"], req["met"]) == ("==", 0.0, False) and req["value"] > 0
    assert (req["probability"], req["class"]) == (0.0, "misses")


def test_a_goodput_equal_to_the_zero_it_is_meets_on_its_curve():
    """Every request misses `ttft_p99 <= 1 ms`: the goodput is 0 at every error level, and `goodput == 0 requests/s`
    is met — and said to meet, not "misses (p < 0.01)" as it was until 2026-12-02."""
    text = plan_text(model='model preset "qwen3-30b-a3b"', cluster='cluster { gpus = 2  gpu preset "h100-sxm" }',
                     workload="workload { batch = 8  prompt = 512  generate = 64  serving = inflight  "
                              "rate = 1 requests/s  requests = 100 }",
                     require="require { ttft_p99 <= 1 ms  goodput == 0 requests/s }", strategy="strategy tp 2")
    (r,) = check(load_plan_text(text, name="eq.moe"))
    latency, goodput = report_json(r)["requirements"]
    assert (latency["met"], latency["class"]) == (False, "misses")
    assert (goodput["name"], goodput["value"], goodput["met"]) == ("goodput", 0.0, True)
    assert (goodput["probability"], goodput["class"]) == (1.0, "meets")

"""A goodput requirement's odds agree with its `met` where the goodput's curve sits at the target: a run that
serves every request of 2 requests/s has a curve at its ceiling, 2, over every level. Until 2026-12-02 the curve's
odds judged `<=` as `<` and `>` as `>=`: `goodput <= 2 requests/s`, met, read "misses (p < 0.01)", and
`goodput > 2 requests/s`, missed, "meets (p > 0.99)"."""

from __future__ import annotations

import numpy as np

from dagc.export.report import report_json
from dagc.lang.load import load_plan_text
from dagc.verdict.check import check
from dagc.verdict.goodput_band import LEVELS, GoodputCurve
from conftest import plan_text


def test_a_flat_stretch_at_the_target_meets_the_inclusive_comparisons_only():
    c = GoodputCurve(np.array([0.0, 0.5, 1.0]), np.array([2.0, 4.0, 4.0]), "r", 9)
    assert [c.probability(op, 4.0) for op in ("<=", "<", ">=", ">", "==")] == [1.0, 0.5, 0.5, 0.0, 0.5]
    flat = GoodputCurve(LEVELS, 2.0 + 0 * LEVELS, "r", 9, ceiling=2.0)
    assert [flat.probability(op, 2.0) for op in ("<=", "<", ">=", ">", "==")] == [1.0, 0.0, 1.0, 0.0, 1.0]
    # within the relative 1e-9 `Requirement.holds` judges an equality by
    assert flat.probability(">=", 2.0 * (1 + 1e-12)) == 1.0 and flat.probability("<=", 2.0 * (1 - 1e-12)) == 1.0


def test_a_run_serving_its_whole_rate_reads_its_goodput_ceiling_consistently():
    def judged(req: str) -> dict:
        text = plan_text(model='model preset "qwen3-30b-a3b"', cluster='cluster { gpus = 2  gpu preset "h100-sxm" }',
                         workload="workload { batch = 8  prompt = 512  generate = 64  serving = inflight  "
                                  "rate = 2 requests/s  requests = 100 }",
                         require=f"require {{ {req} }}", strategy="strategy tp 2")
        (r,) = check(load_plan_text(text, name="g.moe"))
        (q,) = report_json(r)["requirements"]
        assert q["value"] == 2.0, q
        return {key: q[key] for key in ("met", "probability", "class")}

    assert judged("goodput <= 2 requests/s") == {"met": True, "probability": 1.0, "class": "meets"}
    assert judged("goodput > 2 requests/s") == {"met": False, "probability": 0.0, "class": "misses"}
    assert judged("goodput >= 2 requests/s") == {"met": True, "probability": 1.0, "class": "meets"}

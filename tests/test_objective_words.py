"""An objective written in other words is told the one it names (`dagc.lang.lower._OBJECTIVE_WORDS`), and an
unknown one the objectives without a dangling parenthesis. Until 2026-11-29 `objective = max-throughput` and
`objective = cheapest` got "(the objectives — …)" alone, the hint opening on a parenthesis."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text

PLAN = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 8  prompt = 512  generate = 64 }
objective = %s
strategy tp 8
"""


@pytest.mark.parametrize("written, meant", [
    ("max-throughput", "throughput"), ("cheapest", "cost"), ("min_ttft", "ttft"), ("tokens_per_gpu", "tokens-per-gpu"),
    ("fewest-gpus", "min-gpus"),
])
def test_an_objective_in_other_words_is_named(written, meant):
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN % written)
    (d,) = exc.value.diagnostics
    assert d.code == "E101" and d.message == f"unknown objective `{written}`"
    assert d.hint is not None and d.hint.startswith(f"did you mean `{meant}`? (the objectives — `tokens-per-gpu`")
    load_plan_text(PLAN % meant)


def test_an_unknown_objective_is_told_the_objectives():
    with pytest.raises(PlanError) as exc:
        load_plan_text(PLAN % "latency")
    (d,) = exc.value.diagnostics
    assert d.hint is not None
    assert d.hint.startswith("the objectives: `tokens-per-gpu`: the most decode tokens/s per GPU;")
    assert "(" not in d.hint[:20]

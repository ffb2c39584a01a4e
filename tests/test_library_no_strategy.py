"""The library reads a plan without a `strategy` statement where the caller says it needs none
(`load_plan(..., needs_strategy=False)`, `load_plan_text`), as `dagc search`, `dagc fleet` and `dagc check
--strategy` read one; by default such a plan is E103, as `dagc check PLAN` says it."""

from __future__ import annotations

import pytest

import dagc
from dagc.diagnostics import PlanError

PLAN = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 64  prompt = 2048  generate = 256 }
"""


def test_a_plan_without_a_strategy_is_e103_by_default(tmp_path):
    path = tmp_path / "plan.moe"
    path.write_text(PLAN)
    for read in (lambda: dagc.load_plan(path), lambda: dagc.load_plan_text(PLAN)):
        with pytest.raises(PlanError) as e:
            read()
        assert [d.code for d in e.value.diagnostics] == ["E103"]


def test_read_without_one_it_is_checked_with_the_strategy_given(tmp_path):
    path = tmp_path / "plan.moe"
    path.write_text(PLAN)
    from_file = dagc.load_plan(path, needs_strategy=False)
    from_text = dagc.load_plan_text(PLAN, needs_strategy=False)
    assert from_file.strategies == () and from_text.strategies == ()
    [r] = dagc.check(from_text, strategy="tp 8", search=False)
    assert r.valid and r.decl.text == "tp 8"
    # Mixtral-8x7B's 46.7 B parameters in bf16 on 8 GPUs: each holds an eighth of every weight but the norms'
    # and the router's, which every TP rank holds whole — within 1 % of 46.7e9 × 2 / 8 = 11.7 GB
    assert r.memory.stages[0].weights_bytes == pytest.approx(46.70e9 * 2 / 8, rel=0.01)

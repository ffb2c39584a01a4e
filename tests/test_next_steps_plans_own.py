"""A strategy that misses its requirements is first offered the plan's own strategy that meets them on at most its
GPUs (`dagc.verdict.next_steps._plans_own`): no change tried is nearer than one the plan already holds."""

from __future__ import annotations

from dagc.lang.load import load_plan_text
from dagc.verdict.check import check
from dagc.verdict.next_steps import with_next_steps

PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 4  gpu preset "h100-sxm" }}
workload {{ batch = 64  prompt = 1000  generate = 100 }}
require {{ tpot <= 14 ms }}
{strategies}
"""


def _checked(strategies: str) -> dict:
    results = with_next_steps(check(load_plan_text(PLAN.format(strategies=strategies))))
    return {r.decl.name: r for r in results}


def test_the_plans_strategy_that_meets_on_the_same_gpus_comes_first():
    r = _checked("strategy wide = tp 4 ; ep 4\nstrategy copies = dp 4 < tp 1 >")
    wide, copies = r["wide"], r["copies"]
    assert wide.verdict.meets_requirements is True and wide.next_steps == ()
    assert copies.verdict.meets_requirements is False          # 20.19 ms against wide's 13.42 ms
    first = copies.next_steps[0]
    assert (first.kind, first.meets, first.options) == ("strategy", True, ("--strategy wide",))
    assert first.change == "the plan's strategy `wide` (`tp 4 ; ep 4`), on 4 GPUs"
    assert first.figures["tpot_s"] == wide.metrics.tpot_s and first.figures["gpus"] == 4
    assert [s.kind for s in copies.next_steps[1:]] and all(s.kind != "strategy" for s in copies.next_steps[1:])


def test_one_on_more_gpus_is_not_offered():
    r = _checked("strategy one = tp 1\nstrategy wide = tp 4 ; ep 4")
    one = r["one"]
    assert one.verdict.meets_requirements is False and r["wide"].verdict.meets_requirements is True
    assert one.gpus_used == 1 and all(s.kind != "strategy" for s in one.next_steps)

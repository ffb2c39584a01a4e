"""A memory requirement that leaves a GPU nothing: 0 or less is E104 where the plan is read (`memory == 0 %` was
accepted, and only `dagc launch` said the engine would not start); one at or below the runtime's reserve is W527,
located at the requirement with the least limit that holds the reserve and the weights; a strict bound below one
step of the engine's share allows 0 bytes, never a negative size."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan_text
from dagc.verdict.check import check

PLAN = """model preset "mixtral-8x7b"
cluster {{ gpus = 8 gpu preset "h100-sxm" }}
workload {{ batch = 16 prompt = 512 generate = 64 serving = inflight }}
require {{ {req} }}
strategy {strategy}
"""


@pytest.mark.parametrize("req", ["memory == 0 %", "memory <= 0 GB", "memory < 0 %", "memory <= -5 %"])
def test_a_memory_requirement_of_nothing_is_an_input_error_at_its_value(req):
    with pytest.raises(PlanError) as e:
        load_plan_text(PLAN.format(req=req, strategy="tp 8"))
    (d,) = e.value.diagnostics
    line = f"require {{ {req} }}"
    value = req.split(" ", 2)[2]
    assert d.code == "E104" and d.message.endswith("is out of range: it must be above 0")
    assert d.span.line == 4 and d.span.column == line.index(value) + 1
    assert d.hint.startswith("write a value above 0")


def test_a_memory_requirement_below_the_reserve_is_said_at_it_with_the_least_that_holds_the_weights():
    # 3 GB = 2.79 GiB, under the 4 GiB reserve. Mixtral 8x7B's 46.7 B bf16 parameters, 86.99 GiB, over 8 GPUs:
    # 10.87 GiB a GPU, + 4.00 GiB = 14.87 GiB of the H100's 79.65 GiB: 18.67 %, rounded up to 18.7 %
    assert round(3e9 / 2**30, 2) == 2.79 and round(14.87 / 79.65 * 100, 2) == 18.67
    (r,) = check(load_plan_text(PLAN.format(req="memory <= 3 GB", strategy="tp 8")))
    (w,) = [d for d in r.diagnostics if d.code == "W527"]
    assert w.message.startswith("`memory <= 3 GB` leaves the engine no memory: it allows 2.79 GiB of the "
                                "`h100-sxm`'s 79.65 GiB, and every GPU keeps dagc's reserve of 4.00 GiB")
    assert (w.span.line, w.span.column) == (4, len("require { ") + 1)
    assert "`memory <= 18.7 %` (14.87 GiB)" in w.hint


def test_a_strict_bound_under_one_step_of_the_share_allows_nothing_not_a_negative_size():
    # `memory < 0.05 %`: 0.05 % of the GPU less the 0.1 % step a strict bound takes off is below 0: it allows 0 B
    plan = load_plan_text(PLAN.format(req="memory < 0.05 %", strategy="tp 8"))
    assert plan.memory_limit == (0.0, "memory < 0.05 %")
    (r,) = check(plan)
    assert [d for d in r.diagnostics if d.code == "W527"][0].message.split(": it allows ")[1].startswith("0 B of")
    assert not any("-" in d.message.split("memory share, ")[-1][:3] for d in r.diagnostics)


def test_a_disaggregated_strategy_says_it_once():
    (r,) = check(load_plan_text(PLAN.format(req="memory == 5 %", strategy="prefill 1 < tp 4 > decode 1 < tp 4 >")))
    assert [d.code for d in r.diagnostics].count("W527") == 1

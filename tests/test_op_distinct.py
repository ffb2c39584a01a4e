"""What an op's template reads beside the count its totals alone read (`Recipe.distinct`): stage shapes whose key
for an op (`OpShapes.reads`) differs only in that count make the same template but its `tokens_total` (the count)
and `flops_total` (the count times the FLOPs of each), so that the timer prices the op at another count from the
template at the first, without making it again (`dagc.schedule.timer_base.TimerCore.entry`)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from test_timer_sharing import PLANS, layouts, ops_of, plan_named, same_template

from dagc.ir.dag import Phase, StagePass
from dagc.ir.ops import RECIPES, OpShapes, rank_dims


@pytest.mark.parametrize("name", [*PLANS, "qwen3-30b-a3b-traffic.moe"])
def test_templates_whose_keys_differ_only_in_their_count_differ_only_in_their_totals(name):
    plan = plan_named(name)
    first: dict[tuple, object] = {}
    compared = 0
    for workload, lay in layouts(plan, 3, 150):
        d = rank_dims(plan.model, lay)
        ops = [op for op in ops_of(plan, lay) if RECIPES[op].distinct is not None]
        for phase in Phase:
            for req in lay.distinct_request_rows():
                for chunk in (None, 37, 38):          # a mixed step's chunks: on one graph or eager, a token apart
                    at = StagePass(phase, np.array(req), 0, chunk)
                    shapes = OpShapes(plan.model, workload, lay, d, at, plan.cluster.engine.terms)
                    for op in ops:
                        key, count = shapes.reads(op)
                        got, per = RECIPES[op].distinct(shapes)
                        tpl = shapes.make(op)
                        assert got == count and tpl.tokens_total == count, op
                        assert tpl.flops_total == float(per * count), op
                        seen = first.setdefault((op, key), tpl)
                        if seen is not tpl and seen.tokens_total != count:
                            totals = {"tokens_total": count, "flops_total": tpl.flops_total}
                            assert same_template(dataclasses.replace(seen, **totals), tpl), (op, lay.strategy.text)
                            compared += 1
    assert compared > 500, compared

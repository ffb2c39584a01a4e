"""What a load simulation's exact step prices no longer make again (docs/load.md, "The exact step prices' attention
and shapes, made once"): a new pass's attention keeps its kernels that read no context for the same pass at the next
prefix (`TimerCore._make`, `OpTables.attention_fixed`), and shapes of as many ranks share their numbers' vectors
(`Shapes.vec`). Every price is the same float."""

from __future__ import annotations

import numpy as np

from dagc.ir.dag import Phase, StagePass
from dagc.ir.ops import Op, OpShapes, rank_dims
from dagc.lang.flatten import flatten
from dagc.lang.load import load_plan_text
from dagc.layout.layout import resolve
from dagc.plan.model import DType
from dagc.schedule.timer import Timer
from dagc.schedule.timer_base import TimerCore
from dagc.serve.step_prices import StepPrices

PLAN = """
model preset "qwen3-30b-a3b" { layers = 2 }
cluster { gpus = 4  gpu preset "h200"  engine = vllm }
workload { batch = 24  prompt = 3000  generate = 300  serving = inflight }
strategy tp 1 ; ep 4
"""


def _prices(timer: Timer | None = None) -> StepPrices:
    plan = load_plan_text(PLAN)
    strategy = flatten(plan.strategies[0])[0]
    return StepPrices(plan, strategy, resolve(plan.model, plan.cluster, plan.workload, strategy), timer)


def test_a_mixed_step_at_its_next_prefix_makes_no_attention_template_and_prices_the_same(monkeypatch):
    plan = load_plan_text(PLAN)
    prices = _prices(Timer(plan))
    made: list[Op] = []
    make = OpShapes.make

    def counted(self, op):
        made.append(op)
        return make(self, op)

    monkeypatch.setattr(OpShapes, "make", counted)
    first = prices.mixed(12, 700, 3000)
    assert Op.ATTENTION in made                      # the new pass makes every op's template
    made.clear()
    second = prices.mixed(12, 700, 4243)             # the same pass at another prefix: its attention's context alone
    assert made == []
    monkeypatch.setattr(OpShapes, "make", make)
    # … the very floats of a fresh timer's, and of one that looks every op up at every prefix
    fresh = _prices(Timer(plan))
    assert [fresh.mixed(12, 700, 3000), fresh.mixed(12, 700, 4243)] == [first, second]
    monkeypatch.setattr(TimerCore, "reuse_context_free", False)
    every = _prices(Timer(plan))
    assert [every.mixed(12, 700, 3000), every.mixed(12, 700, 4243)] == [first, second]


def test_shapes_of_as_many_ranks_share_a_numbers_vector_read_only_and_zero_is_each_shapes_own():
    plan = load_plan_text(PLAN)
    lay = resolve(plan.model, plan.cluster, plan.workload, flatten(plan.strategies[0])[0])

    def shapes(req: list[float]) -> OpShapes:
        return OpShapes(plan.model, plan.workload, lay, rank_dims(plan.model, lay),
                        StagePass(Phase.DECODE, np.array(req), 0))

    a, b = shapes([6.0] * 4), shapes([7.0] * 4)
    assert a.vec(2048.0) is b.vec(2048.0) and a.vec(2048.0).tolist() == [2048.0] * 4
    assert not a.vec(2048.0).flags.writeable
    assert a.vec(0.0) is not b.vec(0.0) and a.vec(0.0).tolist() == [0.0] * 4
    assert a.vec(DType.BF16.bytes).tolist() == [2.0] * 4

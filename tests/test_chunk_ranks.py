"""A step in which several attention-DP ranks prefill at once (`Workload.chunk_ranks`, `StepPrices.every_rank`,
`StepSurface.spread`): the experts of an EP group spanning the ranks run every rank's prompt tokens, not the
busiest rank's alone (docs/cost-model.md, "Prompts on several attention-DP ranks in one step"). Until 2026-11-28
the load simulation priced such a step as if the busiest rank alone carried prompt tokens."""

from __future__ import annotations

import numpy as np
import pytest

from dagc.ir.dag import Phase, StagePass
from dagc.ir.ops import OpShapes, rank_dims
from dagc.lang.load import load_plan_text
from dagc.serve.step_prices import StepPrices
from dagc.serve.surrogate import StepSurface
from dagc.verdict.check import check, check_strategy


def _plan(extra: str = ""):
    return load_plan_text(f"""
model preset "mixtral-8x7b" {{ layers = 2 }}
cluster {{ gpus = 2  gpu preset "h100-sxm"  engine = trtllm }}
workload {{ batch = 8  prompt = 512  generate = 8  serving = inflight  chunk = 1024  routing = uniform {extra} }}
strategy tp 1 ; ep 2
""")


@pytest.mark.parametrize(("ranks", "tokens", "total"), [
    (1, [304.0, 4.0], 308.0),      # 4 decode tokens a rank, the chunk of 300 on the first: 8 + 300 through the experts
    (2, [304.0, 304.0], 608.0),    # the chunk on both: 8 + 2 × 300
    (5, [304.0, 304.0], 608.0),    # no more ranks than the stage's two attention-DP groups
])
def test_a_mixed_steps_chunk_sits_on_as_many_attention_dp_ranks_as_it_says(ranks, tokens, total):
    (r,) = check(_plan())
    lay = r.layout
    assert lay.adp == 2 and lay.ep == 2
    w = r.plan.workload.model_copy(update={"chunk_ranks": ranks})
    s = OpShapes(r.plan.model, w, lay, rank_dims(r.plan.model, lay),
                 StagePass(Phase.MIXED, np.array([4, 4]), 0, chunk=300))
    assert s.t.tolist() == tokens                      # each rank's linear ops: its decode tokens and its chunk
    assert s.T == total                                # the stage's distinct tokens
    assert s.expert_origin.tolist() == [total]         # the one EP group's experts see every rank's tokens


def test_every_ranks_mixed_step_costs_more_than_the_busiest_ranks_alone_and_its_decode_step_the_same():
    (r,) = check(_plan())
    prices = StepPrices(r.plan, r.strategy, r.layout)
    every = prices.every_rank()
    assert every is prices.every_rank()                # made once
    assert every.plan.workload.chunk_ranks == 2
    assert every.decode(8) == prices.decode(8)         # no chunk: the same step
    assert every.mixed(8, 512) > prices.mixed(8, 512)  # twice the experts' prompt tokens


class _Linear:
    """A stand-in for StepPrices: 10 ms a step and 1 µs a prompt token with the busiest rank's chunk alone, 4 µs with
    each of the 4 ranks' chunk of as many tokens (the experts' share of them all)."""

    plan = terms = None

    def __init__(self, per_token: float = 1e-6) -> None:
        self.per_token, self.surfaces = per_token, {}

    def step(self, n: int, p: int, ell: int) -> float:
        return 0.01 + self.per_token * p

    def every_rank(self) -> _Linear:
        return _Linear(4e-6)


@pytest.mark.parametrize(("total", "ms"), [
    (0, 10.0),                    # a decode step
    (2048, 12.048),               # one rank's chunk: 10 + 2,048 × 1 µs
    (2048 + 1024, 13.072),        # and half as many on another: 12.048 + (18.192 − 12.048) × 1,024 / (3 × 2,048)
    (4 * 2048, 18.192),           # every rank's: 10 + 2,048 × 4 µs
    (5 * 2048, 18.192),           # never beyond every rank's
])
def test_spread_adds_the_other_ranks_prompt_tokens_in_proportion(total, ms):
    s = StepSurface(_Linear(), most_requests=64, adp=4, chunk=8192, prompt=2048, steady_chunk=2048)
    p = min(total, 2048)
    assert s.spread(64, p, total, 2048) * 1e3 == pytest.approx(ms, rel=1e-12)


def test_a_burst_whose_ranks_prefill_together_waits_for_every_ranks_prompt():
    """Two requests sent at once, one a rank, each prefilling its whole prompt in the first step: their first token
    comes after the step of both ranks' prompts (`every_rank`), not of one rank's."""
    plan = _plan("chunked_prefill = off  concurrency = 2  requests = 2  ramp = 0 s")
    plan = plan.model_copy(update={"workload": plan.workload.model_copy(update={"batch": 2})})
    r = check_strategy(plan, plan.strategies[0], with_capacity=False)
    assert r.load is not None
    prices = StepPrices(r.plan, r.strategy, r.layout)
    both, one = prices.every_rank().mixed(2, 512), prices.mixed(2, 512)
    assert both > one
    ld = r.load.load
    assert (ld.first_token - ld.arrival).tolist() == pytest.approx([both, both], rel=1e-9)

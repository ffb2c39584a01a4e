"""A mixed step with its chunk on every attention-DP group (`Workload.chunk_ranks`, `StepPrices.every_rank`: an
offline burst, every rank prefilling) and the one with its chunk on the busiest group alone share a timer, and
until 2026-12-02 their attention split's entries too (`dagc.ir.ops.attention_split_key` left the chunk ranks out):
where the engine's compute and memory scales differ (SGLang on Blackwell: its op prices read the ranks' totals),
each step's price then depended on which of the two was priced first on the timer. Each is now the price a timer of
its own gives, in either order."""

from __future__ import annotations

import pytest

from dagc.lang.load import load_plan_text
from dagc.schedule.timer import Timer
from dagc.serve.step_prices import StepPrices
from dagc.verdict.check import check

PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 8  gpu preset "b200"  engine = {engine} }}
workload {{ batch = 64  prompt = 2000  generate = 200  serving = inflight  chunk = 4096 }}
strategy tp 1 ; ep 8
"""


@pytest.mark.parametrize("engine", ["sglang", "vllm"])
@pytest.mark.parametrize(("n", "p"), [(60, 1500), (9, 2000)])
def test_a_mixed_step_is_priced_alike_whichever_chunk_ranks_came_first(engine, n, p):
    plan = load_plan_text(PLAN.format(engine=engine))
    r = check(plan)[0]
    assert Timer(plan).ranks_alike is (engine != "sglang")   # SGLang on Blackwell: its two scales differ

    def prices() -> StepPrices:
        return StepPrices(plan, r.strategy, r.layout, Timer(plan))

    every_alone, busiest_alone = prices().every_rank().mixed(n, p), prices().mixed(n, p)
    assert every_alone > busiest_alone      # every rank's chunk through the experts: a longer step
    after = prices()
    after.mixed(n, p)
    assert after.every_rank().mixed(n, p) == every_alone
    before = prices()
    before.every_rank().mixed(n, p)
    assert before.mixed(n, p) == busiest_alone

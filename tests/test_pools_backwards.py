"""A disaggregated strategy's plan gets W522 and W523 — a latency requirement written as a floor, a throughput as a
ceiling — as an aggregated one's does: its pools are analysed without the plan's requirements (`dagc.verdict.pools`),
so until 2026-11-30 `require { tpot_p90 >= 1 ms }` beside `prefill 1 < tp 2 > decode 1 < tp 2 ; ep 2 >` was judged
("misses") without a word on the comparator, where `tp 2 ; ep 2` on the same plan was warned."""

from __future__ import annotations

import pytest

from dagc.lang.load import load_plan_text
from dagc.verdict.check import check_strategy, parse_strategy

PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 8  gpu preset "h200" }}
workload {{ batch = 32  prompt = 1000  generate = 200  serving = inflight }}
require {{ tpot >= 1 ms  decode_throughput <= 5 tokens/s }}
strategy {strategy}
"""


@pytest.mark.parametrize("strategy", ["prefill 1 < tp 2 > decode 1 < tp 2 ; ep 2 >", "tp 2 ; ep 2"])
def test_backwards_requirements_are_warned_for_pools_too(strategy):
    plan = load_plan_text(PLAN.format(strategy=strategy), "plan.moe")
    r = check_strategy(plan, parse_strategy(strategy), with_capacity=False)
    (w522,) = [d for d in r.diagnostics if d.code == "W522"]
    (w523,) = [d for d in r.diagnostics if d.code == "W523"]
    assert w522.message == "`tpot >= 1 ms` asks for its TPOT to be at least its target: a faster deployment misses it"
    assert w522.hint == "did you mean `tpot <= 1 ms`? Latency targets are upper bounds"
    assert (w522.span.line, w522.span.column) == (4, 11)
    assert w523.hint == "did you mean `decode_throughput >= 5 tokens/s`? Throughput and goodput targets are floors"
    assert (w523.span.line, w523.span.column) == (4, 25)

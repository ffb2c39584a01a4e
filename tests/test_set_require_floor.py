"""`--set require.KIND=VALUE` for a requirement the plan does not write adds it the way round it means: a floor
(`>=`) for the throughputs, per GPU (`tokens/s/gpu`) or not, and for goodput; a ceiling (`<=`) for the latencies
and memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc.lang.overrides import load_plan_with

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 1  gpu preset "h100-sxm" }
workload { batch = 16  prompt = 512  generate = 64  serving = inflight  rate = 2 requests/s  requests = 40 }
require { memory <= 90 % }
strategy tp 1
"""


@pytest.mark.parametrize(("option", "name", "op"), [
    ("require.goodput=10 requests/s", "goodput", ">="),
    ("require.decode_throughput=1000 tokens/s", "decode_throughput", ">="),
    ("require.decode_throughput=500 tokens/s/gpu", "decode_throughput_per_gpu", ">="),
    ("require.throughput=2000 tokens/s", "throughput", ">="),
    ("require.ttft_p99=2 s", "ttft_p99", "<="),
    ("require.tpot=50 ms", "tpot", "<="),
])
def test_a_requirement_added_by_set_is_a_floor_where_more_is_better(tmp_path: Path, option: str, name: str, op: str):
    path = tmp_path / "p.moe"
    path.write_text(PLAN)
    plan = load_plan_with(path, [option])
    added = next(r for r in plan.requirements if r.name == name)
    assert added.op == op


def test_a_requirement_the_plan_writes_keeps_its_own_operator(tmp_path: Path):
    path = tmp_path / "p.moe"
    path.write_text(PLAN.replace("memory <= 90 %", "memory <= 90 %  goodput >= 1 requests/s"))
    plan = load_plan_with(path, ["require.goodput=10 requests/s"])
    goodput = next(r for r in plan.requirements if r.name == "goodput")
    assert (goodput.op, goodput.target) == (">=", 10.0)

"""W503 for a disaggregated strategy: the deployment's batch shared by its decode instances, each running
⌈batch / instances⌉ (`dagc.rules.pipeline.decode_pool_split`), should divide by the instances × each one's parts."""

from __future__ import annotations

from dagc.lang.load import load_plan_text
from dagc.verdict.check import check

QWEN = 'model preset "qwen3-30b-a3b"'
CLUSTER = 'cluster { gpus = 16  gpus_per_node = 8  gpu preset "h100-sxm" }'


def w503(strategy: str, batch: int) -> list[tuple[str, str | None, int]]:
    text = (f"{QWEN}\n{CLUSTER}\nworkload {{ batch = {batch}  prompt = 2000  generate = 200  serving = inflight }}\n"
            f"strategy {strategy}\n")
    (r,) = check(load_plan_text(text))
    return [(d.message, d.hint, d.span.line if d.span else 0) for d in r.diagnostics if d.code == "W503"]


def test_the_multiple_is_the_instances_times_each_instances_parts_and_says_what_runs():
    # 3 decode instances of tp 1 ; ep 4: attention DP 4 each, so 3 × 4 = 12 parts; 64 requests are
    # ⌈64 / 3⌉ = 22 an instance (⌈22 / 4⌉ = 6 on its busiest rank), 3 × 22 = 66 in all; 60 and 72 divide by 12
    (found,) = w503("prefill 1 < tp 2 > decode 3 < tp 1 ; ep 4 >", 64)
    assert found == ("decode pool: batch 64 does not divide into 3 decode instances × dp 1 × attention DP 4 × "
                     "1 micro-batches = 12 equal parts: each instance runs ⌈64 / 3⌉ = 22 requests (6 on its "
                     "busiest part), 3 × 22 = 66 in all, which the figures count",
                     "use a batch that is a multiple of 12: 60 or 72", 3)


def test_an_instance_that_splits_evenly_still_warns_when_the_instances_do_not():
    # tp 4: one part an instance; 64 over 3 instances is 22 each, 66 in all; 63 and 66 are multiples of 3
    (found,) = w503("prefill 1 < tp 2 > decode 3 < tp 4 >", 64)
    assert "3 decode instances × dp 1 × attention DP 1 × 1 micro-batches = 3 equal parts" in found[0]
    assert "busiest" not in found[0] and "3 × 22 = 66 in all" in found[0]
    assert found[1] == "use a batch that is a multiple of 3: 63 or 66"


def test_a_multiple_of_the_instances_parts_is_quiet():
    assert w503("prefill 1 < tp 2 > decode 3 < tp 1 ; ep 4 >", 48) == []        # 48 = 4 × 12
    assert w503("prefill 1 < tp 2 > decode 3 < tp 4 >", 63) == []

"""`dagc search`'s note under a table judged under the plan's traffic says how `meets requirements` was judged: each
row's run, as `dagc check --strategy` runs it, but — in an open loop — without the capacity's bisection, which
`dagc check` adds and by which it may say "no" of a row the table says "yes" of. Until 2026-11-30 the note said "as
`dagc check --strategy` does" alone: Qwen3-235B-A22B in fp8 on 32 H100s under TensorRT-LLM at 5 requests/s, row #1
`prefill 1 < tp 4 ; ep 4 > decode 1 < tp 1 ; ep 16 >` "yes", its check "meets requirements: no" (capacity 4.411)."""

from __future__ import annotations

from dagc.cli.print_search import judged_note
from dagc.lang.load import load_plan_text

HEAD = ("meets requirements: every requirement judged, the load's by simulating the plan's traffic through each "
        "strategy, as `dagc check --strategy` does (`no:` names the load requirements missed)")
PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 2  gpu preset "h100-sxm" }}
workload {{ batch = 16  prompt = 512  generate = 64  serving = inflight  {traffic}  requests = 200 }}
require {{ ttft_p99 <= 1 s  tpot_p90 <= 50 ms }}
"""


def test_an_open_loop_s_note_says_its_capacity_is_not_bisected():
    plan = load_plan_text(PLAN.format(traffic="rate = 16 requests/s"), needs_strategy=False)
    assert judged_note(plan) == HEAD + (", but for its capacity, not bisected here: `dagc check` also says no when it "
                                        "is more than 1 % below the arrival rate, and `dagc search --rate R` judges "
                                        "its first rows so")


def test_a_closed_loop_s_note_is_check_s_alone():
    plan = load_plan_text(PLAN.format(traffic="concurrency = 16"), needs_strategy=False)
    assert judged_note(plan) == HEAD

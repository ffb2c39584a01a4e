"""A row judged under the plan's traffic at another batch, re-scored to the figures `check` gives its text
(`dagc.search.shown._rescored`), keeps the whole of that judgement: the load requirements' figures its run gave
(the table's `(traffic)` cells and JSON's `load_figures`), the other requirements it missed (its `no:` cell), and
whether it fell short of the traffic — where only its verdict and load misses were carried, and those cells read
`—` beside a verdict judged on them."""

from __future__ import annotations

from dataclasses import replace

from dagc.lang.load import load_plan_text
from dagc.search.floor import ALL
from dagc.search.search import SearchOptions, search
from dagc.search.shown import _rescored

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 4  gpu preset "h200" }
workload { batch = 64  prompt = 2000  generate = 300  serving = inflight  rate = 4 requests/s  requests = 300 }
require { ttft_p99 <= 2 s  tpot_p90 <= 40 ms  memory <= 10 % }
"""


def test_a_row_judged_under_traffic_keeps_its_run_and_misses_when_rescored():
    plan = load_plan_text(PLAN, "plan.moe", needs_strategy=False)
    found = search(plan, SearchOptions(objective=plan.objective, top=1))
    first = found.ranked[0]
    # as `Judgement.of` leaves a row whose check ran another batch: judged, its figures the search's estimate
    judged = replace(first, exact=False, judged=ALL, meets_requirements=False, load_missed=("tpot_p90",),
                     load_figures=(("ttft_p99", 0.25), ("tpot_p90", 0.045)), others_missed=("memory",),
                     short_of_traffic=True)
    again = _rescored(plan, judged, found.objective)
    assert again is not None and again.exact
    assert again.load_figures == (("ttft_p99", 0.25), ("tpot_p90", 0.045))
    assert again.others_missed == ("memory",) and again.load_missed == ("tpot_p90",)
    assert again.short_of_traffic and not again.meets_requirements and again.judged == ALL

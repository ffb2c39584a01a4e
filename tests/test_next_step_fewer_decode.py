"""A disaggregated strategy whose prefill pool binds on a full cluster: more prefill instances were offered on a
grown cluster (a large-scale trial, 2026-12-03: 4,320 GPUs for `prefill 92 … decode 14 …`) where fewer decode
instances gave them room on the cluster's own GPUs and met. That split is tried first now."""

from __future__ import annotations

import dagc
from dagc.lang.load import load_plan_text

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 96  prompt = 8000  generate = 50  serving = inflight  rate = 16 requests/s  requests = 600 }
require { ttft_p99 <= 5 s }
strategy s = prefill 2 < tp 1 > decode 6 < tp 1 >
"""


def test_fewer_decode_instances_make_room_on_the_cluster():
    [r] = dagc.check(load_plan_text(PLAN), search=False)
    assert not r.verdict.meets_requirements
    step = r.next_steps[0]
    assert step.change == ("3 prefill instances and 5 decode instances (from 2 and 6): the prefill pool binds, and the "
                           "decode pool has GPUs to give it")
    assert step.meets and step.options == ("--strategy 'prefill 3 < tp 1 > decode 5 < tp 1 >'",)
    split = PLAN.replace("prefill 2 < tp 1 > decode 6", "prefill 3 < tp 1 > decode 5")
    [fits] = dagc.check(load_plan_text(split), search=False)
    assert fits.verdict.meets_requirements                    # as the step says

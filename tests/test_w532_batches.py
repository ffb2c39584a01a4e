"""W532's hint names the batches nearest the plan's whose decode step TensorRT-LLM's default CUDA graphs hold
(1–32, 64 or 128 requests on the busiest rank, whatever the `step_positions` each verifies: TensorRT-LLM keys a graph
by its batch of generation requests), below and above it, with the requests that rank decodes: the batch split over
the attention-DP groups. Figures by hand below; a rank's requests are the batch over the groups, rounded up."""

from __future__ import annotations

import pytest

from dagc.lang.load import load_plan_text
from dagc.verdict.check import check_strategy, parse_strategy

PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 4  gpu preset "b200"  engine = trtllm }}
workload {{ batch = {batch}  prompt = 1024  generate = 1024  serving = inflight {extra} }}
strategy {strategy}
"""

CASES = [
    # tp 4: one attention group; 40 requests (eager); 32, 64
    (40, "tp 4", "", "`batch = 32` (its busiest rank decodes 32 requests a step) or `batch = 64` (64)"),
    # attention DP 4 (tp 1 ; ep 4): 200 → 50 a rank (eager); 128 → 32 a rank, 256 → 64 a rank
    (200, "tp 1 ; ep 4", "", "`batch = 128` (its busiest rank decodes 32 requests a step) or `batch = 256` (64)"),
    # MTP with 3 drafted tokens: 4 positions a request, 160 tokens, but the graph counts the 40 requests; 32, 64
    # (until 2026-11-30 dagc counted the tokens: 10 requests, 40 tokens, was "eager", and 8 named for 32)
    (40, "tp 4", "speculative { method = mtp  tokens = 3  accept_length = 2.5 }",
     "`batch = 32` (its busiest rank decodes 32 requests a step) or `batch = 64` (64)"),
]


@pytest.mark.parametrize("batch,strategy,extra,named", CASES)
def test_the_hint_names_the_nearest_graphed_batches(batch, strategy, extra, named):
    plan = load_plan_text(PLAN.format(batch=batch, strategy=strategy, extra=extra), "plan.moe")
    r = check_strategy(plan, parse_strategy(strategy), with_capacity=False)
    hints = [d.hint for d in r.diagnostics if d.code == "W532"]
    assert len(hints) == 1 and hints[0].startswith(f"{named} is priced in a default graph"), hints

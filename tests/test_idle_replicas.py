"""W503 says when the batch leaves replicas without a request, and hints the replicas that give each one: Mixtral as
`dp 131072 < tp 8 >` on 1,048,576 H100s for 64 requests was "meets requirements: yes" on every GPU with only "use a
batch that is a multiple of 131072" (a new user's trial, until 2026-12-03)."""

from __future__ import annotations

import pytest

from dagc.lang.load import load_plan_text
from dagc.verdict.check import check

PLAN = """model preset "mixtral-8x7b"
cluster {{ gpus = {gpus}  gpu preset "h100-sxm" }}
workload {{ batch = {batch}  prompt = 2048  generate = 256 }}
strategy dp {dp} < tp 8 >
"""


def w503(gpus: int, batch: int, dp: int):
    (r,) = check(load_plan_text(PLAN.format(gpus=gpus, batch=batch, dp=dp)))
    return [d for d in r.diagnostics if d.code == "W503"]


@pytest.mark.parametrize(("gpus", "batch", "dp", "idle", "fewer"), [
    (64, 4, 8, 4, 4),           # 4 requests over 8 replicas: dp 4 gives each a request
    (64, 6, 8, 2, 6),           # 6 over 8: dp 6 divides 6
    (1_048_576, 64, 131_072, 131_008, 64),
])
def test_replicas_without_a_request_are_said_and_fewer_hinted(gpus, batch, dp, idle, fewer):
    (d,) = w503(gpus, batch, dp)
    assert d.message == (f"batch {batch} does not divide into dp {dp} × attention DP 1 × 1 micro-batches = {dp} equal "
                         f"parts: {idle:,} of them get no request, their GPUs idle")
    assert d.hint == (f"use a batch that is a multiple of {dp}, or fewer replicas: `dp {fewer}` gives each of its "
                      f"{fewer:,} parts a request")


def test_a_batch_past_the_parts_is_told_the_multiple_alone():
    (d,) = w503(64, 12, 8)
    assert d.message.endswith("= 8 equal parts") and d.hint == "use a batch that is a multiple of 8"

"""A speculative step emits no more than a request has left after its first token (`Workload.tokens_per_step`): Qwen3-
30B-A3B on 4 H100s generating 4 tokens, EAGLE drafting 5 at 0.9, was credited 4.69 tokens a step — TPOT the step over
4.69, 1.56× too good, and at `generate = 2` drafting 16 at 1.0 a TPOT below the time to read the weights (a new user's
trial, until 2026-12-03)."""

from __future__ import annotations

import pytest

from dagc.lang.load import load_plan_text
from dagc.verdict.check import check

PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 4  gpu preset "h100-sxm" }}
workload {{ batch = 16  prompt = 512  generate = {generate}
           speculative {{ method = eagle  tokens = 5  acceptance = 0.9 }} }}
strategy tp 4
"""


def figures(generate: int):
    (r,) = check(load_plan_text(PLAN.format(generate=generate)))
    assert r.metrics is not None
    return r


def test_a_short_output_s_tpot_is_the_step_over_what_it_has_left():
    short = figures(4)
    emitted = sum(0.9 ** i for i in range(6))           # 4.6856: what the drafts would give a step
    assert short.plan.workload.tokens_per_step == 3.0 < emitted
    step = short.metrics.tpot_s * 3                       # TPOT × the tokens a step emits
    assert short.metrics.tpot_s == pytest.approx(step / 3)
    long = figures(500)
    assert long.plan.workload.tokens_per_step == pytest.approx(emitted)
    # the same step (one decode step of 16 requests, 6 positions each) at both lengths' steady state, within the
    # KV read of the longer context: the short one's TPOT is the step over 3, not over 4.69
    assert short.metrics.tpot_s > long.metrics.tpot_s * emitted / 3 * 0.9

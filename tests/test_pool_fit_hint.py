"""A disaggregated pool whose instance does not fit the cluster (E401) is told what fits on the GPUs the other pool
leaves its instances, not on the whole cluster: `prefill 1 < dp 16 < tp 8 >` beside a decode pool of 32 of 64 GPUs
was told `dp 8` (64 GPUs), which the pools' sum (E308) then refused."""

from __future__ import annotations

import pytest

from dagc.lang.load import load_plan_text
from dagc.verdict.check import check

PLAN = """model preset "deepseek-v3"
cluster {{ gpus = 64  gpus_per_node = 8  gpu preset "h200" }}
workload {{ batch = 256  prompt = 4000  generate = 500  serving = inflight }}
strategy pd = {strategy}
"""
G_RULE = "; G = max(tp·cp, ep·etp), never their product"


def _e401_hint(strategy: str) -> str:
    (r,) = check(load_plan_text(PLAN.format(strategy=strategy)))
    (d,) = [d for d in r.diagnostics if d.code == "E401"]
    assert d.hint is not None
    return d.hint


@pytest.mark.parametrize("strategy, hint", [
    # the decode pool: dp 4 × tp 2;ep 8 = 32 GPUs, so 64 − 32 = 32 for the prefill pool's one instance: dp 4 × tp 8
    # (a smaller stage group at dp 16, 2 or 4 GPUs a replica, is not named: DeepSeek-V3's 671 B fp8 weights overflow it)
    ("prefill 1 < dp 16 < tp 8 > > decode 1 < dp 4 < tp 2 ; ep 8 > >",
     "on 32 GPUs (what the decode pool's 32 leave of the cluster's 64): dp 4 (4 × 1 × 8 GPUs)"),
    # three prefill instances share those 32: 10 each, dp 1 × tp 8
    ("prefill 3 < dp 16 < tp 8 > > decode 1 < dp 4 < tp 2 ; ep 8 > >",
     "on 10 GPUs (what the decode pool's 32 leave of the cluster's 64, 3 instances sharing them): dp 1 (1 × 1 × 8 "
     "GPUs)"),
    # the prefill pool takes all 64 (2 × dp 4 × tp 8): no GPU left, the whole cluster's sizes and the other pool named
    ("prefill 2 < dp 4 < tp 8 > > decode 1 < dp 16 < tp 8 > >",
     "on 64 GPUs (the whole cluster: the prefill pool's 64 GPUs leave none, so it shrinks too): dp 8 (8 × 1 × 8 "
     "GPUs)"),
    # … and its 2 instances share the whole cluster: 32 each
    ("prefill 2 < dp 4 < tp 8 > > decode 2 < dp 16 < tp 8 > >",
     "on 32 GPUs (the whole cluster, 2 instances sharing them: the prefill pool's 64 GPUs leave none, so it shrinks "
     "too): dp 4 (4 × 1 × 8 GPUs)"),
])
def test_a_pools_gpu_hint_is_sized_on_what_the_other_pool_leaves(strategy, hint):
    assert _e401_hint(strategy) == hint + G_RULE


def test_an_aggregated_strategy_keeps_the_whole_cluster():
    assert _e401_hint("dp 16 < tp 8 >").startswith("on 64 GPUs: dp 8 (8 × 1 × 8 GPUs)")

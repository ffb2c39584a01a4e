"""W506 of a disaggregated strategy: a TTFT target beyond the bound of the prefill pool's instance (its GPUs, the
requests it prefills at once), a TPOT target beyond the decode pool's (its GPUs, its share of the batch), at 100 %
efficiency — the same bound an aggregated strategy of that instance's shape and batch gets (the KV transfer and the
front end left out, it stays a lower one). Before, a disaggregated strategy was never told its target was out of
physical reach, only that it missed."""

from __future__ import annotations

import re

from dagc.lang.load import load_plan_text
from dagc.verdict.check import check

CLUSTER = 'model preset "deepseek-v3"\ncluster { gpus = 64  gpus_per_node = 8  gpu preset "h200" }\n'
POOLED = CLUSTER + """workload { batch = 256  prompt = 4000  generate = 500  serving = inflight }
require { ttft <= 20 ms  tpot <= 10 ms }
strategy pd = prefill 3 < tp 8 > decode 1 < dp 4 < tp 2 ; ep 8 > >
"""
# what each pool's instance runs: the prefill instance 2 requests at once (a chunk of 8,192 tokens holds two prompts
# of 4,000), statically, one token each; the decode instance the whole batch of 256
PREFILL_ALONE = CLUSTER + """workload { batch = 2  prompt = 4000  generate = 1 }
require { ttft <= 20 ms }
strategy tp 8
"""
DECODE_ALONE = CLUSTER + """workload { batch = 256  prompt = 4000  generate = 500 }
require { tpot <= 10 ms }
strategy dp 4 < tp 2 ; ep 8 >
"""


def _w506(text: str) -> list[str]:
    (r,) = check(load_plan_text(text))
    return [d.message for d in r.diagnostics if d.code == "W506"]


def _bound(message: str) -> str:
    found = re.search(r"it is at least ([0-9.]+ ms)", message)
    assert found is not None, message
    return found.group(1)


def test_each_latency_is_bounded_on_the_pool_that_makes_it():
    ttft, tpot = _w506(POOLED)
    assert ttft.startswith("`ttft <= 20 ms` is beyond the physical bound of strategy `pd`'s prefill pool (an "
                           "instance of 8 GPUs, dp 1, 2 requests at once) on its TTFT: even at 100 % efficiency")
    assert tpot.startswith("`tpot <= 10 ms` is beyond the physical bound of strategy `pd`'s decode pool (an "
                           "instance of 32 GPUs, dp 4, 256 requests at once) on its TPOT: even at 100 % efficiency")
    (alone_ttft,) = _w506(PREFILL_ALONE)
    (alone_tpot,) = _w506(DECODE_ALONE)
    assert _bound(ttft) == _bound(alone_ttft)          # the instance's bound, as an aggregated strategy has it
    assert _bound(tpot) == _bound(alone_tpot)


def test_targets_within_reach_are_not_warned():
    assert _w506(POOLED.replace("ttft <= 20 ms  tpot <= 10 ms", "ttft <= 2 s  tpot <= 60 ms")) == []


def _w506_hints(text: str) -> list[str]:
    (r,) = check(load_plan_text(text))
    return [d.hint or "" for d in r.diagnostics if d.code == "W506"]


def test_the_whole_clusters_bound_is_one_sentence_for_a_pool_and_a_strategy():
    """A pool's W506 hint and an aggregated strategy's quote the whole cluster's bound in the same words, from one
    place (`cluster_bound_hint`; until 2026-11-30 each wrote the sentence of its own), each with its own remedy."""
    from dagc.rules.requirements import cluster_bound_hint
    (_, pooled), (alone,) = _w506_hints(POOLED), _w506_hints(DECODE_ALONE)
    cluster = re.fullmatch(r"relax the requirement or change the strategy: (the bound of the whole cluster \(64 GPUs, "
                           r"one replica\) is [0-9.]+ ms)", alone)
    assert cluster is not None, alone
    assert pooled == f"relax the requirement, or give the decode pool's instances more GPUs: {cluster[1]}"
    plan = load_plan_text(DECODE_ALONE)
    assert cluster_bound_hint(plan, plan.requirements[0], (1.0, True), "remedy") == f"remedy: {cluster[1]}"
    beyond = [POOLED.replace("tpot <= 10 ms", "tpot <= 1 ms"), DECODE_ALONE.replace("tpot <= 10 ms", "tpot <= 1 ms")]
    (_, pooled), (alone,) = (_w506_hints(text) for text in beyond)
    assert pooled == alone == (f"no strategy on these GPUs can meet it either at the plan's fp8 weights and bf16 KV "
                               f"cache: {cluster[1]} (N604); relax the requirement or change the cluster or the "
                               "precision")

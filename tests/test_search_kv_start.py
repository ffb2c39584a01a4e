"""The search leaves out what the plan's engine would not start for want of KV cache (E732), as `check` does: a
trial's search ranked second a strategy that `dagc check` then called not correct (vLLM's KV cache, under the
plan's `memory <= 80 %`, short of the longest request its lognormal traffic sends)."""

from __future__ import annotations

from dagc.lang.load import load_plan_text
from dagc.launch.engine_check import check
from dagc.search.search import search

PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 2 gpu preset "h100-sxm" {engine} }}
workload {{ batch = 4 prompt = 4000 generate = 500 serving = inflight
  rate = 1 requests/s requests = 300 lengths = lognormal length_cv = 1.0 }}
require {{ memory <= 80 % }}
strategy tp 1
"""
REPLICAS = "dp 2 < tp 1 > with microbatches 1 overlap none"


def test_the_search_leaves_out_what_the_engine_would_not_start_and_ranks_it_without_an_engine():
    # each replica holds Qwen3-30B-A3B's 56.9 GiB of weights whole; vLLM's share under `memory <= 80 %`,
    # (63.72 GiB - 4 GiB reserve) / 79.65 GiB = 0.7498 → 0.749, leaves 27,589 tokens of KV cache, short of the
    # longest request the traffic draws, 33,976 tokens
    assert int((0.8 * 79.65 - 4.0) / 79.65 * 1000) == 749
    plan = load_plan_text(PLAN.format(engine="engine = vllm"))
    (r,) = check(plan, REPLICAS)
    (e,) = [d for d in r.diagnostics if d.is_error]
    assert e.code == "E732" and "holds 27,589 tokens" in e.message and "--max-model-len 33,976" in e.message
    assert not r.verdict.correct
    found = search(plan, top=3)
    assert REPLICAS not in [c.text for c in found.ranked]
    for c in found.ranked[:3]:                # what it ranks first, `check` finds correct
        (r,) = check(plan, c.text)
        assert r.verdict.correct, (c.text, [d.code for d in r.diagnostics if d.is_error])
    # a plan that names no engine is refused nothing: the same strategy is ranked, as `check` finds it correct
    free = search(load_plan_text(PLAN.format(engine="")), top=3)
    assert REPLICAS in [c.text for c in free.ranked]
    # the pools' instances alike: a decode instance of one GPU holds the same weights whole under the same share, so
    # with the engine none is weighed (`dagc launch` refuses it in each pool), without it some are
    assert found.disaggregated.decode_instances == 0 < free.disaggregated.decode_instances

"""Words of the engines' refusals a feature-mixing trial found contradicting themselves (2026-12-03)."""

from __future__ import annotations

from dagc.lang.load import load_plan_text
from dagc.launch.engine_check import check
from conftest import plan_text


def test_e712_in_a_prefill_pool_says_why_it_is_still_refused():
    """E712's own words said SGLang shards the KV cache on disaggregated prefill workers while refusing one (a
    feature-mixing trial, 2026-12-03): the refusal now says dagc does not launch that sharding."""
    text = plan_text(model='model preset "deepseek-v3" { kv_cache = fp8 }',
                     cluster='cluster { gpus = 32  gpus_per_node = 8  gpu preset "h200"  engine = sglang }',
                     workload="workload { batch = 128  prompt = 64000  generate = 1000  serving = inflight }",
                     strategy="strategy prefill 2 < tp 4 cp 2 ; ep 8 > decode 1 < tp 1 ; ep 16 >")
    [r] = check(load_plan_text(text))
    (e,) = [d for d in r.diagnostics if d.code == "E712"]
    assert e.message.endswith("a prefill pool's server, where SGLang can shard it, but dagc does not launch that "
                              "sharding (its conditions are not mapped)")

"""A strategy that needs more GPUs than the cluster has (E401) is not also told where an engine would place them:
`pp 16 < ep 256 >` on 256 GPUs got an E704 saying vLLM runs stage 0 "on the 256 nodes 0, 2, …, 510" of a 32-node
cluster, with a hint about strategies on the same 4,096 GPUs. E401's hint names a strategy that fits, which is then
checked with the engine's refusals in turn (strategy `b` here: the same E704, with the nearest one vLLM runs)."""

from __future__ import annotations

from dagc.lang.load import load_plan_text
from dagc.launch.engine_check import check

PLAN = """model "m10b" { layers = 16  hidden = 2048  heads = 16  kv_heads = 4  head_dim = 128  vocab = 32000
  moe { experts = 16  top_k = 2  ffn = 1024 } }
cluster { gpus = 256  gpus_per_node = 8  gpu preset "h100-sxm"  engine = vllm }
workload { batch = 64  prompt = 2000  generate = 300  serving = inflight }
strategy a = pp 16 < ep 256 >
strategy b = pp 16 < tp 1 ; ep 16 >
"""


def test_no_engine_placement_for_a_strategy_past_the_clusters_gpus() -> None:
    a, b = check(load_plan_text(PLAN))
    assert [d.code for d in a.diagnostics if d.is_error] == ["E301", "E401"]
    assert not a.verdict.correct
    (e704,) = [d for d in b.diagnostics if d.code == "E704"]         # 16 × 16 = 256 GPUs: the engine's placement
    assert "nodes 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30 of the replica" in e704.message
    assert e704.hint is not None and "`pp 16 < tp 16 ; ep 16 >`" in e704.hint

"""vLLM's E704 says which nodes a stage's GPUs run on: a range, up to 16 listed, or more told by their count, the
first two and the last. Until 2026-11-29 seed 000's `pp 16 < ep 256 >` (a 10 B MoE, 256 GPUs of 8 a node) listed
every one of 256 nodes, "nodes 0, 2, 4, …" in a line of about 1,100 characters cut at 362."""

from __future__ import annotations

from dagc.lang.load import load_plan_text
from dagc.launch.engine_check import engine_refusals
from dagc.verdict.check import check_strategy, parse_strategy

PLAN = """model "moe-10b" {
  layers = 16  hidden = 4096  heads = 32  kv_heads = 8  vocab = 32000
  moe { experts = 16  top_k = 2  ffn = 4096 }
}
cluster { gpus = 256  gpu preset "generic-400t"  engine = vllm }
workload { batch = 128  prompt = 10240  generate = 256  serving = inflight }
"""


def _e704(strategy: str) -> str:
    plan = load_plan_text(PLAN + f"strategy {strategy}\n", "plan.moe")
    r = check_strategy(plan, parse_strategy(strategy), with_capacity=False)
    (d,) = [d for d in engine_refusals(r) if d.code == "E704"]
    return d.message


def test_many_nodes_are_told_by_their_count():
    # dp-engines of TP × PP = 1 × 16 GPUs, two nodes each: stage 0's rank of each of the 256 engines is on its first
    # node, 0, 2, …, 510; dagc's layout puts the stage's 256 GPUs on nodes 0–31
    message = _e704("pp 16 < ep 256 >")
    assert "stage 0's 256 GPUs run on the 256 nodes 0, 2, …, 510 of the replica, where dagc puts them on nodes 0–31" \
        in message
    assert len(message) < 300


def test_a_few_nodes_are_listed():
    # 16 engines of 16 GPUs: stage 0's 16 GPUs on the even nodes 0–30, dagc's on nodes 0–1
    message = _e704("pp 16 < ep 16 >")
    assert "stage 0's 16 GPUs run on nodes 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30 of the replica, " \
        "where dagc puts them on nodes 0–1" in message

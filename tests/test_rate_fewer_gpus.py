"""`dagc search --rate R` simulates, beside the steady state's best 32 and its Pareto front, the best candidate of each
GPU count up to the first's that those hold none of (`dagc.search.at_rate._fewer_gpus`): at a rate a strategy on
fewer GPUs has the higher ceiling of goodput per GPU, and its steady state at the plan's whole batch can rank it far
down. Seed 003's 10B MoE on 64 GPUs of 64 GB at 2 requests/s: `tp 2 ; ep 2` on 2 GPUs ranked 34th by tokens per GPU,
behind pairs of pools on 6 to 12 GPUs, and was never simulated — the conclusion was a pair of pools on 6 GPUs at
0.33 requests/s per GPU, where `dagc check --strategy 'tp 2 ; ep 2'` meets every requirement at 0.95."""

from __future__ import annotations

import pytest

from dagc.lang.load import load_plan_text
from dagc.search.at_rate import RATE_CANDIDATES, _pool, rank_at_rate
from dagc.search.search import search

# `chunk = 8192` stated: vLLM's own budget on a GPU under 70 GiB is 2,048 (docs/cost-model.md, "The engines' step
# budgets"), and the figures below are the 8,192-token steps'
PLAN = """model "seed-moe-10b" {
  layers = 16  hidden = 4096  heads = 32  vocab = 32000
  moe { experts = 16  top_k = 2  ffn = 4096  gated = false }
}
cluster { gpus = 64  gpu "gpu64" { memory = 64 GB  flops = 400 TFLOPS  hbm = 1.8 TB/s }  engine = vllm }
workload { batch = 128  prompt = 10240  generate = 256  serving = inflight  chunk = 8192  rate = 2 requests/s
           requests = 2000 }
require { ttft_p99 <= 10 s  tpot_p90 <= 50 ms  memory <= 64 GB  gpus <= 64 }
"""
FEW = "tp 2 ; ep 2 with microbatches 1 overlap none"


@pytest.fixture(scope="module")
def searched():
    plan = load_plan_text(PLAN, needs_strategy=False)
    return plan, search(plan, objective=plan.objective)


def test_the_best_of_each_fewer_gpu_count_is_simulated(searched):
    plan, found = searched
    rank = [c.text for c in found.ranked].index(FEW)
    assert rank >= RATE_CANDIDATES                  # beyond the steady state's best 32: the case of this test
    first = found.ranked[0].gpus
    pool = _pool(found)
    assert FEW in [c.text for c in pool]
    base = {c.gpus for c in (*found.ranked[:RATE_CANDIDATES], *found.pareto)}
    added = [c for c in pool if c.gpus not in base]
    # every GPU count up to the first's that a legal candidate has is in the pool, by its best-ranked candidate
    assert {c.gpus for c in found.ranked if c.gpus <= first} <= {c.gpus for c in pool}
    assert [c.gpus for c in added] == sorted({c.gpus for c in found.ranked if c.gpus <= first} - base)
    for c in added:
        assert c is next(d for d in found.ranked if d.gpus == c.gpus)

def test_the_rate_ranking_finds_two_gpus_that_carry_the_rate(searched):
    plan, found = searched
    at = rank_at_rate(plan, found, 2.0, shown=10)
    best = at.ranked[0]
    # 2 requests/s on 2 GPUs, every requirement met: 1 request/s per GPU (the pools on 6 GPUs: 2 / 6 = 0.333)
    assert best.candidate.gpus == 2 and best.load.carries_traffic
    assert best.goodput_per_gpu >= 0.9
    two = next(a for a in at.ranked if a.candidate.text == FEW)
    assert two.candidate.gpus == 2 and two.goodput_per_gpu == pytest.approx(1.904 / 2, rel=0.02)


SMALL = """model preset "qwen3-30b-a3b"
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = 64  prompt = 1024  generate = 128 }
"""


def test_fewer_gpus_adds_the_best_of_each_count_the_pool_lacks():
    """Ranked by TTFT (its first on the most GPUs) and the pool holding only that first, the added candidates are the
    best-ranked of each smaller GPU count, fewest first, and none of the first's count or above."""
    from dagc.search.at_rate import _fewer_gpus
    plan = load_plan_text(SMALL, needs_strategy=False)
    found = search(plan, objective="ttft")
    first = found.ranked[0]
    added = _fewer_gpus(found, [first])
    counts = sorted({c.gpus for c in found.ranked if c.gpus < first.gpus})
    assert counts and [c.gpus for c in added] == counts
    assert all(c is next(d for d in found.ranked if d.gpus == c.gpus) for c in added)
    assert _fewer_gpus(found, list(found.ranked)) == []           # a pool of every count: nothing to add

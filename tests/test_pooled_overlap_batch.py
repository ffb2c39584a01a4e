"""A disaggregated row of `dagc search` under `batch = max` with micro-batch overlap kept the search's estimate of its
batch, re-scored and marked exact at it: 224 where `dagc check --strategy` chooses 280 (a feature-mixing trial,
2026-12-03). Re-scored, it takes the batch check chooses, as an aggregated row's does."""

from __future__ import annotations

import dataclasses

from dagc.lang.flatten import flatten
from dagc.lang.load import load_plan_text
from dagc.plan.workload import Overlap
from dagc.search.pooled import exact_pooled
from dagc.search.result import Candidate
from dagc.verdict.pools import check_pools

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 8  gpu preset "h100-sxm" }
workload { batch = max  prompt = 2000  generate = 200  serving = inflight }
require { tpot <= 30 ms }
strategy s = prefill 1 < tp 2 > decode 3 < tp 1 ; ep 2 > with microbatches 2 overlap microbatch
"""


def test_an_overlapped_pools_row_takes_the_batch_check_chooses():
    plan = load_plan_text(PLAN)
    strategy = flatten(plan.strategies[0])[0]
    checked = check_pools(plan, strategy)
    chosen = checked.plan.workload.batch                 # what `dagc check` gives (N605)
    assert checked.metrics is not None and chosen > 12
    guess = Candidate(strategy=strategy, microbatches=2, overlap=Overlap.MICROBATCH, gpus=8, metrics=checked.metrics,
                      meets_requirements=True, score=0.0, memory_fraction=0.5, binding=None, exact=False,
                      batch=chosen - 12)
    exact = exact_pooled(plan, guess, "tokens-per-gpu")
    assert exact is not None and exact.exact and exact.batch == chosen
    assert exact.metrics.tpot_s == checked.metrics.tpot_s
    # without an overlap the row's batch is the search's own, as before
    plain = dataclasses.replace(guess, overlap=Overlap.NONE, microbatches=1)
    assert exact_pooled(plan, plain, "tokens-per-gpu").batch == chosen - 12

"""N604 — a requirement no strategy on the cluster can meet, even at 100 % efficiency on all its GPUs in one replica —
is said of a plan whose strategies are disaggregated as of any other: it bounds every deployment on the cluster, the
pools' too (a decode pool runs on fewer GPUs than the whole cluster, a prefill pool likewise). A plan with only a
disaggregated strategy was never told, and read only "misses"."""

from __future__ import annotations

from dagc.lang.load import load_plan_text
from dagc.verdict.check import check

PLAN = """model preset "deepseek-v3"
cluster {{ gpus = 64  gpus_per_node = 8  gpu preset "h200" }}
workload {{ batch = 256  prompt = 4000  generate = 500  serving = inflight }}
require {{ ttft <= 2 s  tpot <= {tpot} }}
strategy s = {strategy}
"""
POOLED = "prefill 3 < tp 8 > decode 1 < dp 4 < tp 2 ; ep 8 > >"
AGGREGATED = "dp 8 < tp 8 ; ep 8 >"


def _n604(tpot: str, strategy: str) -> list[tuple[str, int, int]]:
    (r,) = check(load_plan_text(PLAN.format(tpot=tpot, strategy=strategy)))
    return [(d.message, d.span.line, d.span.column) for d in r.diagnostics if d.code == "N604" and d.span is not None]


def test_a_disaggregated_plan_is_told_what_no_strategy_on_its_cluster_meets():
    (pooled,) = _n604("1 ms", POOLED)
    assert pooled[0].startswith("`tpot <= 1 ms` cannot be met by any strategy on this cluster at the plan's fp8 "
                                "weights and bf16 KV cache: even at 100 % efficiency on all 64 GPUs in one replica "
                                "the TPOT is at least ")
    assert pooled[1:] == (4, 24)                      # at the requirement: `require { ttft <= 2 s  ` is 23 characters
    assert _n604("1 ms", AGGREGATED) == [pooled]      # the same note, whatever the strategy


def test_a_reachable_target_gets_no_note():
    assert _n604("60 ms", POOLED) == []

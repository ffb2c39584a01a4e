"""The load simulation's figures on an expert-parallel strategy, pinned: a seeded run of `tp 1 ; ep 8` (one replica
of 8 attention-DP ranks that step together) gives these percentiles, step counts, KV shares and preemptions, as
recorded before the simulation's hot paths were made faster (`bench/bench_load.py`). A change to the scheduler that
moves any of them is a change of the model, not of its speed, and says so here.

The three runs: an open loop at 4 requests/s, a closed loop of 64 clients, and lognormal lengths sharing a prefix
on a KV cache of 12,000 tokens a rank (the prefix cache evicting, requests preempted).
"""

from __future__ import annotations

import pytest

from dagc.lang.load import load_plan_text
from dagc.serve.load import simulate
from dagc.serve.load_figures import load_figures
from dagc.verdict.check import check

PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 8  gpu preset "h200" }}
workload {{
  batch = 64  prompt = 4000  generate = 500  serving = inflight  chunk = 8192
  {traffic}
}}
strategy tp 1 ; ep 8
"""

# traffic, KV tokens a rank (None: the memory's), then the figures: TTFT p50 and p99, TPOT p50 and p99, end-to-end
# p99, ITL p99 (s); steps with decode tokens, their decode tokens, events, preemptions, prompt tokens found cached;
# the fullest rank's KV share, its peak and mean over the events; the last end (s); ∫ requests in the system dt
RUNS = [
    ("rate = 4 requests/s  requests = 1000", None,
     (0.08481236205867522, 0.13219372510306973, 0.009306200752529683, 0.010889848530851004, 5.543484116565702,
      0.056293952852150254), (2664, 499000, 2665, 0, 0),
     (0.015746939058652144, 0.00922466174045817, 259.1330590514633, 4656.878440171886)),
    ("concurrency = 64  requests = 1000", None,
     (0.08582149274177049, 0.1343260571825814, 0.014521598355975718, 0.014529873309669839, 7.33212633741675,
      0.05716994813040562), (2513, 499000, 2514, 0, 0),
     (0.025007804099753738, 0.023817452966450554, 118.95827954034289, 7172.245123717077)),
    ("rate = 6 requests/s  requests = 600  lengths = lognormal  prefix = 1500 tokens", 12_000,
     (1.8623709793668202, 8.461235162214997, 0.009214824958149547, 0.01208628316132167, 16.934201007510403,
      0.05475313794882777), (1235, 299400, 1236, 197, 888000),
     (1.0093333333333334, 0.9576548004314995, 121.15461739174098, 4270.722159870858)),
]


@pytest.mark.parametrize("traffic,kv_tokens,latencies,counts,rest", RUNS, ids=["open", "closed", "prefix-preempting"])
def test_an_expert_parallel_run_gives_its_recorded_figures(traffic, kv_tokens, latencies, counts, rest):
    plan = load_plan_text(PLAN.format(traffic=traffic))
    r = check(plan)[0]
    assert r.strategy is not None and r.layout is not None and r.layout.adp == 8
    load = simulate(plan, r.strategy, r.layout, kv_tokens=kv_tokens)
    f = load_figures(plan, load).to_json()
    tl = load.timeline
    assert tl is not None and load.preemptions is not None and load.cached_tokens is not None
    got = (f["ttft_s"]["p50"], f["ttft_s"]["p99"], f["tpot_s"]["p50"], f["tpot_s"]["p99"], f["e2e_s"]["p99"],
           f["itl_s"]["p99"])
    assert got == pytest.approx(latencies, rel=1e-12, abs=0)
    assert (len(load.itl), int(load.itl_weight.sum()), len(tl.t), int(load.preemptions.sum()),
            int(load.cached_tokens.sum())) == counts
    assert (float(tl.kv_share.max()), float(tl.kv_share.mean()), float(load.finish.max()), load.area) == \
        pytest.approx(rest, rel=1e-12, abs=0)

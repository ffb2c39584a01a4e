"""The load simulation's figures on an expert-parallel strategy, pinned: a seeded run of `tp 1 ; ep 8` (one replica
of 8 attention-DP ranks that step together) gives these percentiles, step counts, KV shares and preemptions, as
recorded before the simulation's hot paths were made faster (`bench/bench_load.py`). A change to the scheduler that
moves any of them is a change of the model, not of its speed, and says so here.

Recorded again on 2026-11-28, a change of the model: a step in which several of the 8 ranks prefill is priced with
every rank's prompt tokens through the experts they share (`StepSurface.spread`), no longer as the busiest rank's
alone. The open loop's p99 TTFT 132.2 → 133.5 ms (10 fewer steps: 2,664 → 2,654), the closed loop's 134.3 → 137.7 ms,
the preempting run's p50 TTFT 1.86 → 2.27 s and its preemptions 197 → 220 (its prefills, its recomputed ones among
them, take longer where ranks prefill together, so more requests hold blocks at once).

Recorded again on 2026-12-03, a change of the model: the engine's front end hands each request on behind those sent
while it was taken in, not at the end of its busy period (docs/load.md, "The front end"). The open loop's one request
that waited behind two sent while it was taken in reaches the engine 4 ms sooner: its ∫ requests in the system dt
4,654.677 → 4,654.673 s; nothing else moves.

The three runs: an open loop at 4 requests/s, a closed loop of 64 clients, and lognormal lengths sharing a prefix
on a KV cache of 12,000 tokens a rank (the prefix cache evicting, requests preempted).
"""

from __future__ import annotations

import pytest

from dagc.export.result_json import load_figures_json
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
     (0.08499325040669466, 0.1334869430746982, 0.009305084970478633, 0.010807286832477673, 5.49326905508659,
      0.056306686911331616), (2654, 499000, 2655, 0, 0),
     (0.01570069254159296, 0.009209532278098422, 259.13118239937336, 4654.673413853848)),
    ("concurrency = 64  requests = 1000", None,
     (0.08582522514925135, 0.1377427294925558, 0.014543777274409132, 0.014544670054097632, 7.343201797227931,
      0.057195099469439674), (2513, 499000, 2514, 0, 0),
     (0.025007804099753738, 0.023817452966450554, 119.1317831771844, 7182.92517870515)),
    ("rate = 6 requests/s  requests = 600  lengths = lognormal  prefix = 1500 tokens", 12_000,
     (2.2666353780872526, 9.70366553443885, 0.009328686665648397, 0.01153875840492827, 17.58349482382614,
      0.05530607792076156), (1268, 299400, 1269, 220, 888000),
     (1.0106666666666666, 0.9584071447333858, 122.52509879585018, 4622.645986636672)),
]


@pytest.mark.parametrize("traffic,kv_tokens,latencies,counts,rest", RUNS, ids=["open", "closed", "prefix-preempting"])
def test_an_expert_parallel_run_gives_its_recorded_figures(traffic, kv_tokens, latencies, counts, rest):
    plan = load_plan_text(PLAN.format(traffic=traffic))
    r = check(plan)[0]
    assert r.strategy is not None and r.layout is not None and r.layout.adp == 8
    load = simulate(plan, r.strategy, r.layout, kv_tokens=kv_tokens)
    f = load_figures_json(load_figures(plan, load))
    tl = load.timeline
    assert tl is not None and load.preemptions is not None and load.cached_tokens is not None
    got = (f["ttft_s"]["p50"], f["ttft_s"]["p99"], f["tpot_s"]["p50"], f["tpot_s"]["p99"], f["e2e_s"]["p99"],
           f["itl_s"]["p99"])
    assert got == pytest.approx(latencies, rel=1e-12, abs=0)
    assert (len(load.itl), int(load.itl_weight.sum()), len(tl.t), int(load.preemptions.sum()),
            int(load.cached_tokens.sum())) == counts
    assert (float(tl.kv_share.max()), float(tl.kv_share.mean()), float(load.finish.max()), load.area) == \
        pytest.approx(rest, rel=1e-12, abs=0)

"""A disaggregated candidate's pools are searched under the launch rules of the plan's engine — the one it chose,
or the default engine (vLLM) on a plan that names none — as `dagc.search.space.instance_strategies` and
`variants` say: the search never picks a pair whose pools that engine cannot launch (docs/search.md)."""

from __future__ import annotations

from dagc.lang.load import load_plan_text
from dagc.launch.engine_check import check
from dagc.launch.engines import launch_result
from dagc.plan.workload import PoolRole
from dagc.search.at_rate import rank_at_rate
from dagc.search.search import search
from dagc.search.space import instance_strategies

# the user's plan (mixtral-disagg.moe), its traffic left out where the test needs no load
MIXTRAL = """model preset "mixtral-8x7b"
cluster { gpus = 16  gpu preset "h100-sxm" ENGINE }
workload { batch = 128  prompt = 3000  generate = 300  serving = inflight
  TRAFFIC }
require { ttft_p90 <= 1 s  tpot_p99 <= 30 ms  goodput >= 8 requests/s }
strategy pd = prefill 2 < tp 4 > decode 1 < tp 8 >
strategy agg = dp 2 < tp 8 >
"""
RATE = "rate = 10 requests/s  requests = 2000"
STEADY = MIXTRAL.replace("ttft_p90 <= 1 s  tpot_p99 <= 30 ms  goodput >= 8 requests/s", "ttft <= 1 s  tpot <= 30 ms")


def _plan(engine: str = "", traffic: str = "", text: str = STEADY):
    return load_plan_text(text.replace("ENGINE", engine).replace("TRAFFIC", traffic))


def _launches_on(plan, text: str, engine: str) -> list[str]:
    """The codes `engine` refuses the strategy `text` of `plan` for (none: it launches)."""
    (r,) = check(plan, text)
    assert r.valid, text
    (x,) = launch_result(r, (engine,))
    return [d.code for d in x.refusals]


def test_without_an_engine_the_pools_leave_out_what_vllm_cannot_launch():
    plan = _plan()
    for role in (PoolRole.PREFILL, PoolRole.DECODE):
        texts = [s.text for s in instance_strategies(plan, 8, role)]
        assert texts and not [t for t in texts if " sp" in t], role        # E709 under vLLM
        assert "tp 4 ; ep 2" not in texts                               # EP beside expert DP 2: E702
    # pytorch has no launcher: its pools keep every instance
    assert any(" sp" in s.text for s in instance_strategies(_plan("engine = pytorch"), 8, PoolRole.PREFILL))


def test_every_pair_the_search_ranks_on_a_plan_without_an_engine_launches_on_vllm():
    plan = _plan()
    pairs = [c for c in search(plan, top=5).ranked if c.strategy.pools]
    assert pairs
    for c in pairs[:12]:
        assert _launches_on(plan, c.text, "vllm") == [], c.text


def test_the_search_pick_at_20_requests_per_s_launches_on_the_default_engine():
    """`dagc search mixtral-disagg.moe --rate 20 --top 5` picked `prefill 1 < tp 4 sp ; ep 2 > decode 1 < tp 1 ;
    ep 1 etp 4 >`, which vLLM refuses (E702, E709). Its runs are of 200 requests, not the user's 2,000: the pick is
    the same (`prefill 2 < tp 2 ; ep 2 > decode 1 < tp 1 ; ep 4 >`), and with the pools searched under no engine's
    rules it is `prefill 1 < tp 4 sp > …`, E709, either way (the test 12.1 -> 6.5 CPU s)."""
    plan = _plan(traffic=RATE.replace("requests = 2000", "requests = 200"), text=MIXTRAL)
    ranked = rank_at_rate(plan, search(plan, top=5), 20.0).ranked
    best = ranked[0].candidate
    assert _launches_on(plan, best.text, "vllm") == [], best.text

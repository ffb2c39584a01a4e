"""Load on a disaggregated strategy (`dagc.serve.load_pools`), held to dagc's own steady state.

At a low rate a request's TTFT is the steady state's of a prefill of one request and its transfer
(within 2 %); a closed loop of N clients matches the steady state at batch N (TPOT and throughput within
5 %); Little's law holds; a seed gives the same run; transfers sharing a link take longer, as computed by
hand; above the binding pool's capacity the run is overloaded, below it not.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dagc.export.result_json import load_figures_json
from dagc.lang.flatten import flatten
from dagc.lang.load import load_plan_text
from dagc.serve.load_figures import load_figures
from dagc.serve.load_pools import PoolPrices, simulate_pools
from dagc.serve.load_pools_link import SharedLink
from dagc.verdict.pools import check_pools

ROOT = Path(__file__).resolve().parents[1]
DISAGG = (ROOT / "examples" / "deepseek-v3-disaggregated.moe").read_text()


def _pooled(workload: str = "", **swap: str):
    """The example's disaggregated strategy checked with `workload` lines added and `swap` replaced."""
    text = DISAGG
    for old, new in swap.items():
        text = text.replace(old, new)
    plan = load_plan_text(text.replace("serving = inflight", "serving = inflight\n  " + workload))
    strategy, _ = flatten(next(d for d in plan.strategies if d.name == "pd"))
    assert strategy is not None
    pooled = check_pools(plan, strategy)
    assert pooled.figures is not None and pooled.metrics is not None
    return pooled


def _run(workload: str, **swap: str):
    pooled = _pooled(workload, **swap)
    return pooled, simulate_pools(pooled.plan, pooled)


@pytest.mark.parametrize("transfer", ["after", "layerwise"])
def test_at_a_low_rate_ttft_is_the_steady_state_of_one_request(transfer):
    """Requests far apart each find a prefill instance idle and prefill alone: the median TTFT is the
    steady state's with `prefill_batch = 1` (a prefill of one and its KV's transfer alone)."""
    kv = f"kv_transfer = {transfer}"
    pooled, load = _run(f"{kv}  rate = 0.01 requests/s  requests = 40  arrival = uniform")
    alone = _pooled(f"{kv}  prefill_batch = 1").figures
    assert float(np.median(load.ttft)) == pytest.approx(alone.ttft_s, rel=0.02)
    assert float(np.median(load.ttft)) == pytest.approx(alone.ttft_s, rel=1e-9)     # in fact exactly
    assert not load.overloaded


@pytest.mark.parametrize("clients", [64, 128])
def test_closed_loop_matches_the_steady_state(clients):
    """N clients against the deployment at batch N: the decode replicas hold about N/M requests each, so
    TPOT is the steady state's decode step and the output tokens/s its decode tokens/s (within 5 %)."""
    pooled, load = _run(f"concurrency = {clients}  requests = {clients * 16}",
                        **{"batch = 256": f"batch = {clients}"})
    steady = pooled.metrics
    report = load_figures_json(load_figures(pooled.plan, load))
    assert report["tpot_s"]["mean"] == pytest.approx(steady.tpot_s, rel=0.05)
    assert report["output_tokens_per_s"] == pytest.approx(steady.decode_tokens_per_s, rel=0.05)
    assert not report["overloaded"]


def test_littles_law():
    """The scheduler's own count of requests in the system over the run is the arrival rate × the mean
    end-to-end latency (within 2 %), open and closed loop."""
    for traffic in ("rate = 6 requests/s  requests = 1500", "concurrency = 96  requests = 1000"):
        _, load = _run(traffic)
        in_system, rate_times_e2e = load.little()
        assert in_system == pytest.approx(rate_times_e2e, rel=0.02), traffic


def test_a_seed_gives_the_same_run():
    pooled = _pooled("rate = 8 requests/s  requests = 800  seed = 7")
    first = load_figures_json(load_figures(pooled.plan, simulate_pools(pooled.plan, pooled)))
    again = load_figures_json(load_figures(pooled.plan, simulate_pools(pooled.plan, pooled)))
    assert first == again
    other = _pooled("rate = 8 requests/s  requests = 800  seed = 8")
    assert load_figures_json(load_figures(other.plan, simulate_pools(other.plan, other)))["ttft_s"] != first["ttft_s"]
    prices = PoolPrices(pooled)         # priced once, kept over runs: the same run
    assert load_figures_json(load_figures(pooled.plan, simulate_pools(pooled.plan, pooled, prices=prices))) == first
    assert load_figures_json(load_figures(pooled.plan, simulate_pools(pooled.plan, pooled, prices=prices))) == first


def test_transfers_sharing_a_link_take_longer():
    """By hand: two equal transfers started together each take twice one alone; one started halfway
    through another finishes after the other's half at half speed."""
    link = SharedLink()
    link.start(0.0, 1.0, "a")
    assert link.next_end() == 1.0
    link.start(0.0, 1.0, "b")
    assert link.next_end() == 2.0
    assert link.ended(2.0) == ["a", "b"] and len(link) == 0
    link.start(10.0, 1.0, "c")
    link.start(10.5, 1.0, "d")              # c has 0.5 s of work left, now at half speed: ends at 11.5
    assert link.next_end() == pytest.approx(11.5)
    assert link.ended(11.5) == ["c"]
    assert link.next_end() == pytest.approx(12.0)   # d did 0.5 s of work by 11.5, alone again since
    assert link.ended(12.0) == ["d"]


def test_a_prefill_batch_s_transfers_share_the_link():
    """Two clients starting together on one prefill instance: one prefill of both, then both KV caches
    over the instance's link at once, each taking twice its time alone — the steady state's TTFT (the
    whole batch's KV after the prefill)."""
    one = {"prefill 3 <": "prefill 1 <"}
    pooled, load = _run("concurrency = 2  requests = 2  ramp = 0 s", **one)
    assert pooled.pools[0].batch_per_instance == 2
    assert load.ttft == pytest.approx([pooled.figures.ttft_s] * 2, rel=1e-9)
    t_p = pooled.pools[0].analysis.metrics.ttft_s
    alone = _pooled("prefill_batch = 1", **one).figures.transfer_s
    assert load.ttft_server[0] - t_p == pytest.approx(2 * alone, rel=1e-9)     # the server's: no front end


@pytest.mark.parametrize(("prefill", "binding"), [(3, "prefill"), (4, "decode")])
def test_above_the_binding_pool_s_capacity_the_run_is_overloaded(prefill, binding):
    """The deployment serves the smaller pool's capacity: at 1.5 × that the queue keeps growing (the
    report says overloaded, and the middle half of the ends come at the capacity within 2 %), at half of
    it not. On the plain reference (engine = pytorch) 3 prefill instances bind, 4 leave the decode pool
    binding."""
    swap = {"prefill 3 <": f"prefill {prefill} <", 'gpu preset "h200"': 'gpu preset "h200"  engine = pytorch'}
    pooled = _pooled(**swap)
    assert pooled.figures.binding_pool == binding
    capacity = pooled.figures.served_requests_per_s
    _, hot = _run(f"rate = {1.5 * capacity:.3f} requests/s  requests = 10000", **swap)
    _, cool = _run(f"rate = {0.5 * capacity:.3f} requests/s  requests = 1500", **swap)
    assert hot.overloaded and not cool.overloaded
    assert float(np.percentile(hot.ttft, 99)) > 10 * float(np.percentile(cool.ttft, 99))
    late = np.sort(hot.finish)[len(hot.finish) // 4:len(hot.finish) * 3 // 4]
    assert (len(late) - 1) / (late[-1] - late[0]) == pytest.approx(capacity, rel=0.02)


def test_progress_counts_the_requests_ended():
    pooled = _pooled("rate = 4 requests/s  requests = 300")
    seen: list[tuple[int, int]] = []
    simulate_pools(pooled.plan, pooled, lambda done, total: seen.append((done, total)))
    assert seen and seen[-1] == (300, 300) and [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_the_timeline_counts_requests_and_decode_slots():
    pooled, load = _run("rate = 8 requests/s  requests = 600")
    tl = load.timeline
    assert tl is not None and len(tl.t) > 600 and np.all(np.diff(tl.t) >= 0)
    assert np.all(tl.running >= 0) and np.all(tl.waiting >= 0)
    assert 0 < tl.kv_share.max() <= 1
    assert tl.running[-1] + tl.waiting[-1] == 0


def test_drawn_lengths_run_each_request_s_own():
    """With lengths drawn around the workload's, each request prefills, moves and decodes its own: the
    run carries them, a longer output takes longer, and Little's law still holds."""
    pooled, load = _run("lengths = lognormal  rate = 6 requests/s  requests = 1500")
    assert load.prompt is not None and load.output is not None and len(np.unique(load.output)) > 100
    decode_s = load.finish - load.first_token
    long, short = load.output > 2 * pooled.plan.workload.generate, load.output < pooled.plan.workload.generate / 2
    assert decode_s[long].mean() > 4 * decode_s[short].mean()
    in_system, rate_times_e2e = load.little()
    assert in_system == pytest.approx(rate_times_e2e, rel=0.02)

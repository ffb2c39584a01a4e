"""What a deployment serves (`Load.served`): an open loop that keeps pace serves every request at the rate they
arrive — the ends of its requests from the first to the last arrival would count its ramp (fewer) or a few
requests admitted at once (more); one that falls behind, and a closed loop, are counted over their ends."""

from __future__ import annotations

import numpy as np
import pytest

from dagc.lang.load import load_plan_text
from dagc.verdict.check import check

PLAN = ('model preset "qwen3-235b-a22b" cluster {{ gpus = 8 gpu preset "b200" }} workload {{ batch = 256 '
        'prompt = 4000 generate = 500 serving = inflight {traffic} }} strategy tp 4 sp ; ep 4 etp 2')


def test_a_run_that_keeps_pace_serves_what_arrives():
    """200 requests at 10 a second, all admitted: the deployment keeps pace (its queue within its noise),
    so it serves every request at the rate they arrive — its ends from the first to the last arrival (12.2 a
    second: bunched, as each request is admitted at once) are not its rate. Its tokens and goodput in proportion:
    the mean output of a request, and the share of its requests within every target, at 10 a second."""
    r = check(load_plan_text(PLAN.format(traffic="rate = 10 requests/s  requests = 200")))[0]
    load, out = r.load.load, r.load.to_json()
    assert not load.overloaded and not load.queue_growth.behind and load.arrival_rate == 10.0
    window = (load.finish > load.finish.min()) & (load.finish <= load.arrival.max())
    assert np.count_nonzero(window) / float(load.arrival.max() - load.finish.min()) > 12    # the ends' window
    inside, seconds = load.served()
    assert inside.all() and seconds == pytest.approx(200 / 10.0)
    assert out["served_requests_per_s"] == pytest.approx(10.0)
    assert out["output_tokens_per_s"] == pytest.approx(float(load.output_tokens.mean()) * 10.0)
    assert out["goodput_requests_per_s"] == pytest.approx(10.0)          # no latency requirement: every one is good


def test_a_run_still_ramping_up_serves_its_rate():
    """Requests that each live longer than the arrivals last (generate = 4,000 at 1 request/s, 100 requests: 100 s
    of arrivals) never bring the requests in flight to their level within the run; the ends from the first to the
    last arrival are the ramp's, fewer than arrive. A deployment that keeps pace serves its rate all the same."""
    text = PLAN.format(traffic="rate = 1 requests/s  requests = 100").replace("generate = 500", "generate = 4000")
    r = check(load_plan_text(text))[0]
    load = r.load.load
    assert not load.overloaded and r.load.carries_traffic
    lo, hi = float(load.finish.min()), float(load.arrival.max())
    ramp = np.count_nonzero((load.finish > lo) & (load.finish <= hi)) / (hi - lo)
    assert ramp < 0.5                                        # what counting the window's ends would say
    assert load.served_requests_per_s == pytest.approx(1.0)


def test_a_closed_loop_and_a_run_that_falls_behind_are_counted_over_their_ends():
    closed = check(load_plan_text(PLAN.format(traffic="concurrency = 16  requests = 64")))[0].load
    inside, seconds = closed.load.served()
    assert closed.load.arrival_rate is None
    assert closed.to_json()["served_requests_per_s"] == pytest.approx(np.count_nonzero(inside) / seconds)
    text = PLAN.format(traffic="rate = 40 requests/s  requests = 2000")
    text = text.replace('"qwen3-235b-a22b" cluster { gpus = 8 gpu preset "b200"',
                        '"qwen3-30b-a3b" cluster { gpus = 4 gpu preset "h200"')
    slow = load_plan_text(text.replace("tp 4 sp ; ep 4 etp 2", "tp 4"))
    load = check(slow)[0].load.load
    assert load.overloaded
    inside, seconds = load.served()
    assert not inside.all() and np.count_nonzero(inside) / seconds < 40
    assert load.served_requests_per_s == pytest.approx(np.count_nonzero(inside) / seconds)


def test_an_offline_burst_serves_its_requests_over_the_run():
    """64 clients each sending one request at once (an offline burst): every request starts before the first
    ends, so the window from the first end to the last start is empty; the run served its 64 requests over its
    duration, as a benchmark client counts them — not over the span of their ends, a wave finishing together
    (here a fraction of the run), which would read as a rate several times what was served."""
    burst = check(load_plan_text(PLAN.format(traffic="concurrency = 64  requests = 64  ramp = 0 s")))[0].load
    load = burst.load
    inside, seconds = load.served()
    assert inside.all() and seconds == pytest.approx(load.duration)
    ends = float(load.finish.max() - load.finish.min())
    assert ends < load.duration / 2                         # the ends bunch: their span is not the run's
    assert burst.to_json()["served_requests_per_s"] == pytest.approx(64 / load.duration)
    assert burst.to_json()["served_requests_per_s"] < 64 / ends / 2


def test_requests_in_flight_still_growing_are_a_ramp_not_a_queue():
    """DeepSeek-V3 in two pools, 600 requests of 3,000 + 1,500 tokens at 1.5 requests/s: over the run's second
    half 12 more requests are in the system of 299 arriving (past 3 % of them: `queue_growth.behind`), yet every
    request gets its first token as it arrives — the decode pool is still filling, none waits. It keeps pace and
    serves 1.5 requests/s (it read 1.39 and missed `goodput >= 1.45` before)."""
    plan = load_plan_text(
        'model preset "deepseek-v3" cluster { gpus = 64  gpus_per_node = 8  gpu preset "h200"  engine = sglang } '
        "workload { batch = 256  prompt = 3000  generate = 1500  serving = inflight  rate = 1.5 requests/s "
        "requests = 600 } require { ttft_p99 <= 3 s  goodput >= 1.45 requests/s } "
        "strategy prefill 4 < tp 8 > decode 1 < tp 1 ; ep 32 >")
    r = check(plan)[0]
    load = r.load.load
    growth = load.queue_growth
    assert not growth.first_token and growth.behind and not load.overloaded
    n = len(load.arrival)
    half = (load.arrival > load.arrival[n // 2]) & (load.arrival <= load.arrival[-1])
    served_first = (load.first_token > load.arrival[n // 2]) & (load.first_token <= load.arrival[-1])
    assert np.count_nonzero(half) - np.count_nonzero(served_first) <= 0.03 * np.count_nonzero(half)   # none queues
    assert load.keeps_pace and load.served_requests_per_s == pytest.approx(1.5)
    assert r.verdict.meets_requirements

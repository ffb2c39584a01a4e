"""What a deployment serves (`Load.served`): an open loop that keeps pace serves every request at the rate they
arrive — the ends of its requests from the first to the last arrival would count its ramp (fewer) or a few
requests admitted at once (more); one that falls behind, and a closed loop, are counted over their ends."""

from __future__ import annotations

import numpy as np
import pytest

from dagc.export.result_json import load_json
from dagc.lang.load import load_plan_text
from dagc.verdict.check import check

PLAN = ('model preset "qwen3-235b-a22b" cluster {{ gpus = 8 gpu preset "b200" }} workload {{ batch = 256 '
        'prompt = 4000 generate = 500 serving = inflight {traffic} }} strategy tp 4 sp ; ep 4 etp 2')


def test_a_run_that_keeps_pace_serves_what_arrives():
    """200 requests at 8 a second, all admitted: the deployment keeps pace (its queue within its noise, the rate
    below the 8.77 requests/s its steady state serves with every one of its 256 places busy; 8.42 until 2026-11-29, its
    etp reduce priced per pick, not per token), so it serves every
    request at the rate they arrive — not its ends from the first to the last arrival (5.2 a second, its ramp).
    Its tokens and goodput in proportion: the mean output of a request, and the share of its requests within every
    target, at 8 a second."""
    r = check(load_plan_text(PLAN.format(traffic="rate = 8 requests/s  requests = 200")))[0]
    load, out = r.load.load, load_json(r.load)
    assert r.metrics.throughput_tokens_per_s / 4500 == pytest.approx(8.77, abs=0.01)
    assert not load.overloaded and not load.queue_growth.behind and load.arrival_rate == 8.0 and load.keeps_pace
    window = (load.finish > load.finish.min()) & (load.finish <= load.arrival.max())
    assert np.count_nonzero(window) / float(load.arrival.max() - load.finish.min()) < 6       # the ends' window
    inside, seconds = load.served()
    assert inside.all() and seconds == pytest.approx(200 / 8.0)
    assert out["served_requests_per_s"] == pytest.approx(8.0)
    assert out["output_tokens_per_s"] == pytest.approx(float(load.output_tokens.mean()) * 8.0)
    assert out["goodput_requests_per_s"] == pytest.approx(8.0)          # no latency requirement: every one is good


def test_a_run_faster_than_its_steady_state_serves_what_it_completes():
    """The same 200 requests at 10 a second: each is admitted at once (256 places) and the queue stays level, but
    10 is past what the deployment serves — 8.77 requests/s in its steady state, 9.65 with the 10 % the
    simulation may serve past it, 9.12 its capacity. It does not keep pace and does not carry its traffic; it
    served its 200 requests in 35.7 s, 5.61 a second (it said 10, its ends' window 11.1, bunched). 5.58 until
    2026-11-28, when a step in which both attention-DP ranks prefill came to be priced with both ranks' prompt
    tokens through the experts (`StepSurface.spread`); 5.565 until 2026-11-29, its etp reduce priced per pick."""
    r = check(load_plan_text(PLAN.format(traffic="rate = 10 requests/s  requests = 200")))[0]
    load, out = r.load.load, load_json(r.load)
    assert load.ceiling == pytest.approx(r.metrics.throughput_tokens_per_s / 4500 * 1.1)
    assert not load.overloaded and not load.queue_growth.behind and not load.keeps_pace
    assert out["served_requests_per_s"] == pytest.approx(200 / load.duration)
    assert out["served_requests_per_s"] == pytest.approx(5.608, abs=0.01)
    assert not r.load.carries_traffic


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
    assert load_json(closed)["served_requests_per_s"] == pytest.approx(np.count_nonzero(inside) / seconds)
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
    assert load_json(burst)["served_requests_per_s"] == pytest.approx(64 / load.duration)
    assert load_json(burst)["served_requests_per_s"] < 64 / ends / 2


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


def _hand_run(arrival: np.ndarray, first: np.ndarray, finish: np.ndarray, rate: float,
              ceiling: float | None = None):
    from dagc.plan.workload import Traffic
    from dagc.serve.load_result import Load
    return Load(Traffic(rate=rate, requests=len(arrival)), arrival, first, finish, 100, np.zeros(1), np.zeros(1),
                1.0, cap=2048, ceiling=ceiling)


def test_requests_admitted_together_are_served_over_the_run_not_the_span_of_their_ends():
    """10 requests at 500 a second (i × 2 ms), each admitted at once, first tokens 150 ms later, ending together
    from 9.5 s to 9.95 s (i × 50 ms): over the run's second half 4 arrive and none gets its first token — within
    the 2.5 × √4 = 5 its noise allows, not overloaded, yet behind the pace. The window from the first end to the
    last arrival is empty; the run served 10 requests in 9.95 s, 1.005 a second — it read 10 / 0.45 s = 22.2
    over the span of the ends (2,000 Mixtral 8x7B requests at 500 requests/s read 200.5 of the 14.3 at most)."""
    i = np.arange(10, dtype=float)
    run = _hand_run(i * 0.002, i * 0.002 + 0.15, 9.5 + i * 0.05, 500.0)
    assert not run.overloaded and not run.keeps_pace
    assert run.served_requests_per_s == pytest.approx(10 / 9.95)
    assert run.goodput(np.ones(10, dtype=bool)) == pytest.approx(10 / 9.95)
    # beside a steady state serving 0.8 a second at most, the run's own 1.005 stands: served is bounded by the
    # larger of the two (a simulated run may serve a few % past its steady state)
    assert _hand_run(i * 0.002, i * 0.002 + 0.15, 9.5 + i * 0.05, 500.0, 0.8).served_requests_per_s == \
        pytest.approx(10 / 9.95)


def test_a_run_arriving_faster_than_its_ceiling_does_not_keep_pace():
    """10 requests at 2 a second (i × 0.5 s), first token 0.1 s and end 1 s after each arrives: its queue stays
    level (over the second half 4 arrive and 4 get their first token), so it keeps pace and serves 2 a second.
    Beside a steady state serving 1.5 at most it does not keep pace — a run too short to fill its deployment —
    and serves its 10 requests over the run, 10 / 5.5 s = 1.818 a second, not the 2 arriving."""
    i = np.arange(10, dtype=float)
    arrival = i * 0.5
    kept = _hand_run(arrival, arrival + 0.1, arrival + 1.0, 2.0)
    assert kept.keeps_pace and kept.served_requests_per_s == pytest.approx(2.0)
    assert _hand_run(arrival, arrival + 0.1, arrival + 1.0, 2.0, 2.5).served_requests_per_s == pytest.approx(2.0)
    capped = _hand_run(arrival, arrival + 0.1, arrival + 1.0, 2.0, 1.5)
    assert not capped.overloaded and not capped.keeps_pace
    inside, seconds = capped.served()
    assert inside.all() and seconds == pytest.approx(5.5)
    assert capped.served_requests_per_s == pytest.approx(10 / 5.5)
    assert capped.goodput(i < 5) == pytest.approx(5 / 5.5)                 # 5 of the 10 within their targets


def test_no_capacity_trial_above_the_steady_states_rate_holds():
    """The steady state's rate is the most a deployment serves: a trial above it does not hold, and none is run;
    below it the plan's own run stands for its side (`known`), else the trial decides (None)."""
    from dagc.verdict.under_load import _decided
    assert _decided(14.3, None, 14.28) is False
    assert _decided(14.3, (20.0, True), 14.28) is False
    assert _decided(14.0, (20.0, True), 14.28) is True
    assert _decided(14.0, None, 14.28) is None and _decided(14.0, (13.0, True), 14.28) is None


def test_without_a_capacity_a_rate_past_the_steady_states_is_not_carried():
    from dagc.verdict.carrying import PAST_CAPACITY, not_carried_because
    why = not_carried_because(False, None, 29.0, None, 2000, None, 15.71)       # 14.28 × 1.1
    assert why == (f"{PAST_CAPACITY}2,000-request run, but the most it serves, 15.71 requests/s (its steady state's "
                   "rate, every request slot busy, and 10 % for the simulation), is below the arrival rate of 29 "
                   "requests/s: the run is too short to fill it, and a longer one falls behind")
    assert not_carried_because(False, None, 15.8, None, 2000, None, 15.71) is None        # within 1 %


MIXTRAL = ('model preset "mixtral-8x7b" cluster {{ gpus = 8  gpu preset "h100-sxm"  engine = vllm }} '
           'workload {{ batch = 2048  prompt = 512  generate = 1000  serving = inflight  rate = {rate} requests/s  '
           'requests = 2000 }} require {{ ttft_p99 <= 5 s  tpot_p99 <= 100 ms }} strategy tp 8')


@pytest.mark.slow
@pytest.mark.parametrize("rate", [500, 29])
def test_a_short_run_serves_no_more_than_its_steady_state(rate):
    """Mixtral 8x7B on 8 H100s, 2,048 requests in flight: its steady state serves 14,284 decode tokens/s, 21,597
    in all over 512 + 1,000 tokens a request: 14.28 requests/s, 15.71 with the 10 % a simulation may serve past
    it. 2,000 requests (fewer than the cap, each admitted at once) at 500 a second: 14.07 served over the run's
    duration (it said 200.5, capacity 29.68; 13.87 before vLLM's front end took 4 ms of its one server a request,
    8 s for the 2,000 that arrive in 4 s, docs/load.md "The front end"; 12.78 while that front end held every
    request until the last was taken in, until 2026-12-03: it now hands each on behind those sent while it was taken
    in); at 29 a second the run's queue stays
    level, yet it arrives twice as fast as the deployment serves (it said "meets requirements: yes", 29 served;
    now 13.37). The capacity is at most 15.71, and neither meets its requirements."""
    r = check(load_plan_text(MIXTRAL.format(rate=rate)))[0]
    load, out = r.load.load, load_json(r.load)
    steady = r.metrics.throughput_tokens_per_s / 1512
    assert steady == pytest.approx(14.28, abs=0.01)
    assert out["served_requests_per_s"] == pytest.approx(2000 / load.duration)
    assert out["served_requests_per_s"] <= steady
    assert 0 < out["capacity_requests_per_s"] <= steady * 1.1
    assert out["served_requests_per_s"] == pytest.approx(14.07 if rate == 500 else 13.37, abs=0.01)
    assert not r.verdict.meets_requirements and not r.load.carries_traffic


def test_one_request_at_a_tiny_rate_is_served_at_that_rate():
    """`rate = 0.000001 requests/s  requests = 1`: the one request lives 9.3 ms, and one request over that read
    107.6 requests/s served, goodput as much — a million times what arrives. Sent at that rate, it is served at
    it: 1 request over the 10⁶ s the rate takes to send it."""
    r = check(load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8  gpu preset "h100-sxm" } workload { '
                             "batch = 1  prompt = 1  generate = 1  serving = inflight  rate = 0.000001 requests/s  "
                             "requests = 1 } require { ttft_p99 <= 1 s } strategy tp 8"))[0]
    load, out = r.load.load, load_json(r.load)
    assert len(load.arrival) == 1 and load.duration < 0.1 and load.arrival_rate == 1e-6
    assert out["served_requests_per_s"] == pytest.approx(1e-6, rel=1e-12)
    assert out["goodput_requests_per_s"] == pytest.approx(1e-6, rel=1e-12)
    assert out["output_tokens_per_s"] == pytest.approx(1e-6, rel=1e-12)        # its one output token

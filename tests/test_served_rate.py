"""A deployment serves at most what it is sent: the served rate, its output tokens and goodput are counted over
`Load.served`'s window, and a window shorter than the requests' lifetimes (few requests, each admitted at
once) would read the first arrivals' bunched ends as a rate above the traffic's."""

from __future__ import annotations

import numpy as np
import pytest

from dagc.lang.load import load_plan_text
from dagc.verdict.check import check

PLAN = ('model preset "qwen3-235b-a22b" cluster {{ gpus = 8 gpu preset "b200" }} workload {{ batch = 256 '
        'prompt = 4000 generate = 500 serving = inflight {traffic} }} strategy tp 4 sp ; ep 4 etp 2')


def test_a_short_run_serves_no_more_than_arrives():
    """200 requests at 10 a second, all admitted: their ends bunch in the window (12.2 a second counted
    raw); served, its tokens and goodput are brought to the arrival rate in the same proportion."""
    r = check(load_plan_text(PLAN.format(traffic="rate = 10 requests/s  requests = 200")))[0]
    load, out = r.load.load, r.load.to_json()
    inside, seconds = load.served()
    raw = np.count_nonzero(inside) / seconds
    assert raw > 12                                         # what the window alone reads
    assert load.arrival_rate == 10.0
    assert out["served_requests_per_s"] == pytest.approx(10.0)
    assert out["goodput_requests_per_s"] <= 10.0 + 1e-9
    tokens = float(load.output_tokens[inside].sum()) / seconds
    assert out["output_tokens_per_s"] == pytest.approx(tokens * 10.0 / raw)


def test_a_closed_loop_and_a_run_below_the_rate_are_as_counted():
    closed = check(load_plan_text(PLAN.format(traffic="concurrency = 16  requests = 64")))[0].load
    inside, seconds = closed.load.served()
    assert closed.load.arrival_rate is None
    assert closed.to_json()["served_requests_per_s"] == pytest.approx(np.count_nonzero(inside) / seconds)
    text = PLAN.format(traffic="rate = 10 requests/s  requests = 200")
    text = text.replace('"qwen3-235b-a22b" cluster { gpus = 8 gpu preset "b200"',
                        '"qwen3-30b-a3b" cluster { gpus = 4 gpu preset "h200"')
    slow = load_plan_text(text.replace("tp 4 sp ; ep 4 etp 2", "tp 4"))
    load = check(slow)[0].load.load
    inside, seconds = load.served()
    assert np.count_nonzero(inside) / seconds < 10
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

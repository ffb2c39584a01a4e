"""The engine's front end hands each request on behind those sent while it was taken in (`dagc.serve.sources.FrontEnd`,
docs/load.md "The front end"): a burst reaches the engine together, as before; a stream faster than its server is
handed on request by request, so that a run past it serves what the front end takes in, and says the front end binds
it. Until 2026-12-03 a stream above the server's pace was one busy period that held every request until the arrivals
stopped: Mixtral 8x7B on 8 H100s at 300 requests/s (vLLM's front end takes 250 at most) read "300 requests/s
served" of a run that served 176 a second, bound by "the step time … no request waits to be admitted"."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc.lang.load import load_plan_text
from dagc.plan.engines import VLLM_INGEST_S
from dagc.serve.binding import Limit
from dagc.serve.sources import FrontEnd
from dagc.verdict.check import check

PLAN = """model preset "mixtral-8x7b"
cluster {{ gpus = 8  gpu preset "h100-sxm"  engine = vllm }}
workload {{ batch = 64  prompt = 100  generate = 10  serving = inflight  rate = {rate} requests/s  requests = 2000 }}
strategy tp 1 ; ep 8
"""


def test_a_burst_reaches_the_engine_together_when_its_last_is_taken_in() -> None:
    f = FrontEnd(0.004)
    f.take_all([0.0] * 100)
    assert f.enters_all() == [f.done[-1]] * 100 == [f.enters(i) for i in range(100)]
    assert f.done[-1] == pytest.approx(0.4)
    # a token made during it reaches its client when the last of the burst is taken in; after it, at once
    assert f.deliver(0.1) == f.done[-1] and f.deliver(0.5) == 0.5


def test_requests_that_do_not_overlap_each_reach_the_engine_when_taken_in() -> None:
    f = FrontEnd(0.004)
    times = [0.0, 0.01, 0.02, 0.03]
    f.take_all(times)
    assert f.enters_all() == pytest.approx([t + 0.004 for t in times])


def test_a_stream_past_the_server_is_handed_on_request_by_request() -> None:
    """300 requests/s, one every 3.33 ms, onto a server of 4 ms a request: each waits for the few sent while it was
    taken in, not for the end of the stream (the busy period's end, 0.4 s in, until 2026-12-03)."""
    f = FrontEnd(0.004)
    times = [i / 300 for i in range(100)]
    f.take_all(times)
    enters = f.enters_all()
    assert enters == sorted(enters)
    # the first request is taken in by 4 ms; the second, sent at 3.3 ms, is taken in by 8 ms: the first enters then
    assert enters[0] == pytest.approx(0.008)
    assert all(e < f.until for e in enters[:80])     # request i waits for those sent by 4 ms × (i + 1): 1.2 (i + 1)
    assert f.until == pytest.approx(0.4)
    # each request enters no earlier than it is taken in, and behind every request sent before that
    for i, e in enumerate(enters):
        assert e >= f.done[i]
        assert all(f.done[j] <= e for j, a in enumerate(times) if a < f.done[i])


def test_a_run_past_the_front_end_serves_what_it_takes_in_and_names_it(tmp_path: Path) -> None:
    most = 8 / 8 / VLLM_INGEST_S            # one front end a replica (dp 1): 250 requests/s
    r = check(load_plan_text(PLAN.format(rate=300), str(tmp_path / "plan.moe")))[0]
    assert r.load is not None
    run, b = r.load.load, r.load.binding
    assert run.frontend_rate == pytest.approx(most)
    served = run.served_requests_per_s
    # what it served over the run: no more than the front end takes in, nor than its requests over its duration by
    # more than the window's ramp
    assert served <= most
    assert served <= len(run.finish) / run.duration * 1.1
    assert b.limit is Limit.FRONT_END and b.frontend_utilisation == pytest.approx(300 / most)
    assert r.load.figures.overloaded
    assert r.load.capacity_requests_per_s is not None and r.load.capacity_requests_per_s < most


def test_below_the_front_end_it_does_not_bind(tmp_path: Path) -> None:
    r = check(load_plan_text(PLAN.format(rate=100), str(tmp_path / "plan.moe")))[0]
    assert r.load is not None
    assert r.load.binding.limit is not Limit.FRONT_END
    assert r.load.binding.frontend_utilisation == pytest.approx(100 * VLLM_INGEST_S)

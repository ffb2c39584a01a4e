"""The engine's front end as one server (`EngineTerms.ingest_s`, `dagc.serve.sources.FrontEnd`, docs/load.md "The
front end"): requests sent at once queue on it and reach the engine together when the last is taken in; a token
made while they are taken in reaches its client then. Figures computed by hand from dagc's own step prices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dagc.calibrate.figures import with_terms
from dagc.lang.load import load_plan_text
from dagc.plan.engines import ENGINE_TERMS
from dagc.serve import load as load_module, shared
from dagc.serve.load import simulate
from dagc.serve.requests import Requests
from dagc.serve.sources import ClosedLoop, FrontEnd, OpenLoop
from dagc.serve.step_prices import StepPrices
from dagc.verdict.check import check

ROOT = Path(__file__).resolve().parents[1]
INFLIGHT = (ROOT / "examples" / "qwen3-30b-a3b-inflight.moe").read_text()


def _plan(traffic: str, ingest_s: float):
    plan = load_plan_text(INFLIGHT.replace("chunk = 8192", "chunk = 8192\n  " + traffic))
    return with_terms(plan, {"ingest_s": ingest_s})


@pytest.fixture
def requests_sent(monkeypatch):
    """simulate's traffic sends these requests; the process's kept runs forgotten before and after."""
    shared.cache_clear()

    def send(prompt, output, arrival=None):
        made = Requests(None if arrival is None else np.asarray(arrival, dtype=float),
                        np.asarray(prompt, dtype=np.int64), np.asarray(output, dtype=np.int64))
        monkeypatch.setattr(load_module, "requests_of", lambda traffic, workload: made)
    yield send
    shared.cache_clear()


def _tp(plan):
    r = next(r for r in check(plan) if r.decl.name == "tp")
    return r, StepPrices(plan, r.strategy, r.layout)


def test_the_engines_own_values():
    """docs/cost-model.md's table: vLLM 4 ms, SGLang 1 ms, TensorRT-LLM and the plain reference none."""
    assert ENGINE_TERMS["vllm"].ingest_s == 4e-3 and ENGINE_TERMS["sglang"].ingest_s == 1e-3
    assert ENGINE_TERMS["trtllm"].ingest_s == 0.0 and ENGINE_TERMS["pytorch"].ingest_s == 0.0


def test_a_burst_reaches_the_engine_when_the_front_end_has_taken_it_all_in(requests_sent):
    """Eight clients sending 1,000-token prompts at once, 10 ms each of the front end's time: the eight reach
    the engine together at 80 ms and share one mixed step of 8,000 prompt tokens — each TTFT 80 ms plus that
    step (the surrogate's, within 3 % of the exact price); without the front end's time, the step alone."""
    requests_sent([1000] * 8, [10] * 8)
    for ingest in (0.010, 0.0):
        plan = _plan("concurrency = 8  requests = 8  ramp = 0 s", ingest)
        r, prices = _tp(plan)
        load = simulate(plan, r.strategy, r.layout, prices)
        step = prices.mixed(8, 8000, 1000)
        assert np.allclose(load.ttft_server, 8 * ingest + step, rtol=0.03), (ingest, load.ttft_server, step)
        assert np.ptp(load.ttft_server) < 1e-9          # together
        assert load.ttft == pytest.approx(load.ttft_server + plan.cluster.engine.terms.frontend_s)


def test_a_token_made_while_the_front_end_is_busy_waits_for_it(requests_sent):
    """A front end taking 1 s a request: the first request, sent at 0, reaches the engine at 1 s and has its
    first token one mixed step m later; the second, sent at 1 s + m / 2, keeps the front end busy until
    2 s + m / 2 — the first request's first token reaches its client then, not at 1 s + m."""
    plan = _plan("rate = 0.01 requests/s  requests = 2  arrival = uniform", 1.0)
    r, prices = _tp(plan)
    m = prices.mixed(1, 4000, 4000)
    requests_sent([4000, 4000], [50, 50], [0.0, 1.0 + m / 2])
    load = simulate(plan, r.strategy, r.layout, prices)
    assert load.first_token[0] == pytest.approx(2.0 + m / 2, rel=1e-12)
    assert load.ttft_server[1] == pytest.approx(1.0 + prices.mixed(1, 4000, 4000), rel=0.03)


def test_sources_hand_requests_on_behind_those_sent_while_taken_in():
    """An open loop's requests at 0, 0.005 and 1.0 s through a front end of 10 ms each: the second sent while the
    first is taken in, the first handed on behind it (taken in by 20 ms: both reach the engine then), the third
    alone (at 1.01 s); a closed loop's clients sending at once reach it together."""
    src = OpenLoop([0, 1, 2], [0.0, 0.005, 1.0], FrontEnd(0.01))
    assert src.enters == pytest.approx([0.02, 0.02, 1.01])
    assert src.due(0.015) == [] and src.due(0.02) == [(0.0, 0), (0.005, 1)] and src.upcoming == pytest.approx(1.01)
    assert src.deliver(0.012) == pytest.approx(0.02) and src.deliver(0.5) == 0.5
    loop = ClosedLoop([0, 1, 2], 0.0, 3, 3, front=FrontEnd(0.01))
    assert loop.due(0.0) == [] and loop.upcoming == pytest.approx(0.03)
    assert loop.due(0.03) == [(0.0, 0), (0.0, 1), (0.0, 2)]


def test_the_steady_state_has_no_queue():
    """`dagc check`'s steady state has no queue: a request alone spends its own `ingest_s` in the front end, the
    client's TTFT adds it to the server's (beside `frontend_s`), and nothing else moves."""
    a, b = (check(with_terms(load_plan_text(INFLIGHT), {"ingest_s": v}))[0] for v in (0.0, 0.05))
    assert a.metrics.ttft_server_s == b.metrics.ttft_server_s and a.metrics.tpot_s == b.metrics.tpot_s
    assert b.metrics.ttft_s == pytest.approx(a.metrics.ttft_s + 0.05, rel=1e-12)


def test_an_open_loops_arrivals_taken_at_once_are_those_taken_one_by_one():
    """`FrontEnd.take_all` (an open loop's arrivals, all known as it starts) takes each request in when `take` does,
    hands it on when `enters` does, and leaves the front end as `take` does: 10 ms a request, the second sent as the
    first is taken in (0.01 s: not while it was), the third and fourth while the second is taken in, the last two
    together (docs/load.md, "The front end")."""
    arrivals = [0.0, 0.01, 0.015, 0.02, 0.5, 0.5]
    one, every = FrontEnd(0.01), FrontEnd(0.01)
    numbers = [one.take(a) for a in arrivals]
    assert every.take_all(arrivals) == numbers == list(range(6))
    assert (every.done, every.arrived, every.until) == (one.done, one.arrived, one.until)
    assert every.done == pytest.approx([0.01, 0.02, 0.03, 0.04, 0.51, 0.52])
    # handed on behind those sent while it was taken in: the first alone; the second behind the third
    # (the third, sent at 15 ms, before it was taken in by 20 ms; the fourth, at 20 ms, not: behind the third alone)
    assert every.enters_all() == [one.enters(i) for i in numbers]
    assert every.enters_all() == pytest.approx([0.01, 0.03, 0.04, 0.04, 0.52, 0.52])


def test_sglangs_engine_line_says_what_its_front_end_stands_for():
    """SGLang's 201 ms is what DeepSeek-R1's runs under concurrency leave above dagc's server TTFT, not what a small
    model's runs leave (docs/cost-model.md, "SGLang's front end, examined"): its Engine line says so beside it;
    another engine's, and a calibrated one's (the user's own runs' front end), say nothing of it."""
    from dagc.cost.cost_model import engine_text
    from dagc.plan.engines import SGLANG_FRONTEND_DOUBT, engine_of

    plan = load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 1 gpu preset "h100-sxm" engine = sglang } '
                          "workload { batch = 8 prompt = 1000 generate = 100 } strategy tp 1")
    said = engine_text(plan.cluster)
    assert "a front end of 201 ms per request that the client's TTFT and latency add " \
        f"({SGLANG_FRONTEND_DOUBT})" in said and "2–25 ms" in SGLANG_FRONTEND_DOUBT
    assert SGLANG_FRONTEND_DOUBT not in engine_text(plan.cluster.model_copy(update={"engine": engine_of("vllm")}))
    assert SGLANG_FRONTEND_DOUBT not in engine_text(plan.cluster, ("runs.json", 3, ("frontend_s",)))

"""Load: traffic simulated through the serving mode (`dagc.serve.load`), held to dagc's own steady state.

A closed loop of N clients matches the in-flight steady state at batch N (TPOT and throughput within
5 %) on every strategy of the in-flight example; at a low rate a request's TTFT is the steady state's
of one request; Little's law holds; a seed gives the same run; above capacity the report says so; bad
traffic gets located diagnostics.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dagc.export.report import report_json
from dagc.lang.load import PlanError, load_plan_text
from dagc.serve.load import load_json, simulate
from dagc.verdict.check import check

ROOT = Path(__file__).resolve().parents[1]
INFLIGHT = (ROOT / "examples" / "qwen3-30b-a3b-inflight.moe").read_text()


def _plan(traffic: str, text: str = INFLIGHT, **swap: str):
    for old, new in swap.items():
        text = text.replace(old, new)
    return load_plan_text(text.replace("chunk = 8192", "chunk = 8192\n  " + traffic))


def _loads(traffic: str, **swap: str) -> list[tuple]:
    """(strategy name, steady-state metrics, report.json load) of each strategy of the example."""
    plan = _plan(traffic, **swap)
    return [(r.decl.name, r.metrics, report_json(r)["load"]) for r in check(plan)]


@pytest.fixture(scope="module")
def closed_loop():
    return _loads("concurrency = 64  requests = 2560")


def test_closed_loop_matches_the_steady_state(closed_loop):
    """Concurrency 64 with the default ramp is the steady state at batch 64: TPOT and decode tokens/s
    within 5 % on every strategy (attention DP, tensor parallel, data parallel)."""
    assert [name for name, _, _ in closed_loop] == ["dep", "tp", "dp"]
    for name, steady, load in closed_loop:
        tpot_error = load["tpot_s"]["mean"] / steady["tpot_s"] - 1
        throughput_error = load["output_tokens_per_s"] / steady["decode_tokens_per_s"] - 1
        assert abs(tpot_error) < 0.05, (name, tpot_error)
        assert abs(throughput_error) < 0.05, (name, throughput_error)
        assert load["concurrency"] == 64 and load["rate_requests_per_s"] is None and not load["overloaded"]


def test_littles_law(closed_loop):
    """The scheduler's own count of requests in the system, averaged over the run, is the arrival rate
    × the mean end-to-end latency (within 2 %), open and closed loop."""
    open_loop = _loads("rate = 3 requests/s  requests = 1500")
    for name, _, load in closed_loop + open_loop:
        assert load["mean_in_system"] == pytest.approx(load["arrival_rate_times_e2e"], rel=0.02), name


def test_a_seed_gives_the_same_run():
    plan = _plan("rate = 4 requests/s  requests = 600  seed = 7")
    r = check(plan, "tp 4")[0]
    first = load_json(plan, simulate(plan, r.strategy, r.layout))
    again = load_json(plan, simulate(plan, r.strategy, r.layout))
    assert first == again
    other = _plan("rate = 4 requests/s  requests = 600  seed = 8")
    assert load_json(other, simulate(other, r.strategy, r.layout))["ttft_s"] != first["ttft_s"]


def test_at_a_low_rate_ttft_is_the_steady_state_of_one_request():
    """Requests far apart each find the engine idle: the median TTFT is the steady state's at batch 1
    (one mixed step carrying the whole prompt), and its tokens come a decode step apart."""
    low = _loads("rate = 0.01 requests/s  requests = 40  arrival = uniform")
    one = {r.decl.name: r.metrics for r in check(_plan("", **{"batch = 64": "batch = 1"}))}
    for name, _, load in low:
        assert load["ttft_s"]["p50"] == pytest.approx(one[name]["ttft_s"], rel=0.005), name
        # alone, a request decodes in decode steps only: the steady state's TPOT at batch 1 also mixes in
        # a share f_g of mixed steps for its own prompt (f = d·prompt/generate/chunk counts all d)
        assert load["tpot_s"]["p50"] == pytest.approx(one[name]["decode_step_s"], rel=0.005), name


def test_above_capacity_the_report_says_overloaded():
    """The steady state serves about 64 / 12.5 s ≈ 5 requests/s: at 20 the queue grows, at 2 it does
    not; goodput never exceeds the requests served."""
    over = _loads("rate = 20 requests/s  requests = 2000")
    under = _loads("rate = 2 requests/s  requests = 1000")
    for (name, _, hot), (_, _, cool) in zip(over, under, strict=True):
        assert hot["overloaded"] and not cool["overloaded"], name
        assert hot["ttft_s"]["p99"] > 10 * cool["ttft_s"]["p99"]
        assert hot["served_requests_per_s"] < 0.5 * 20
        assert cool["goodput_requests_per_s"] <= cool["served_requests_per_s"] * 1.05


def test_without_traffic_load_is_null():
    r = check(load_plan_text(INFLIGHT), "tp 4")[0]
    assert report_json(r)["load"] is None


def test_static_batches():
    """Statically, a closed loop of `batch` clients runs batch after batch: every TTFT is the static
    prefill of the batch, every TPOT its decode step."""
    text = INFLIGHT.replace("serving = inflight", "serving = static")
    plan = load_plan_text(text.replace("chunk = 8192", "concurrency = 64  requests = 256"))
    r = check(plan, "tp 4")[0]
    load = report_json(r)["load"]
    assert load["ttft_s"]["p50"] == pytest.approx(r.metrics["ttft_s"], rel=0.01)
    assert load["tpot_s"]["p50"] == pytest.approx(r.metrics["tpot_s"], rel=0.01)


@pytest.mark.parametrize(("traffic", "code", "at"), [
    ("rate = 0 requests/s", "E104", "0 requests/s"),
    ("rate = -3 requests/s", "E104", "-3 requests/s"),
    ("rate = 12 tokens/s", "E102", "tokens/s"),
    ("rate = 12", "E102", "12"),
    ("requests = 500", "E104", "requests = 500"),
    ("rate = 2 requests/s  concurrency = 8", "E104", "concurrency = 8"),
    ("concurrency = 8  arrival = uniform", "E104", "arrival = uniform"),
    ("rate = 2 requests/s  ramp = 0 s", "E104", "ramp = 0 s"),
    ("rate = 2 requests/s  requests = 100000000", "E104", "100000000"),
    ("concurrency = 0", "E104", "0"),
    ("rate = 2 requests/s  arrival = bursty", "E101", "bursty"),
    ("rate = 2 req/s", "E101", "req/s"),
])
def test_bad_traffic_is_located(traffic, code, at):
    text = INFLIGHT.replace("chunk = 8192", "chunk = 8192\n  " + traffic)
    with pytest.raises(PlanError) as e:
        load_plan_text(text)
    d = next(d for d in e.value.diagnostics if d.code == code)
    assert d.span is not None and d.hint
    assert text[d.span.start:d.span.end].startswith(at), (text[d.span.start:d.span.end], at)

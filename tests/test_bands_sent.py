"""The bands of an open-loop run's served rate and output tokens/s: what is sent bounds them, and a run that keeps
pace serves what arrives — they fall short of it only as far as the capacity's band reaches below the rate
(`dagc.verdict.bands._served_as_sent`; docs/bands.md)."""

from __future__ import annotations

import pytest

import dagc

PLAN = """model preset "qwen3-30b-a3b"
cluster {{ gpus = 2  gpu preset "h100-sxm"  engine = vllm }}
workload {{ batch = 64  prompt = 512  generate = 128  serving = inflight  rate = {rate} requests/s  requests = 200 }}
require {{ ttft_p99 <= 1 s  tpot_p90 <= 40 ms }}
strategy tp = tp 2
"""


def _report(rate: float) -> dict:
    return dagc.report_json(dagc.check(dagc.load_plan_text(PLAN.format(rate=rate)), search=False)[0])


@pytest.fixture(scope="module")
def light() -> dict:
    return _report(4)


def test_a_run_well_inside_its_capacity_serves_what_is_sent(light: dict) -> None:
    load, bands = light["load"], light["bands"]
    assert not load["overloaded"] and bands["load.capacity_requests_per_s"]["low"] > 4
    served, tokens = bands["load.served_requests_per_s"], bands["load.output_tokens_per_s"]
    # 200 requests of 128 output tokens at 4 requests/s: 512 tokens/s sent, all served
    assert (served["low"], served["high"]) == (load["served_requests_per_s"],) * 2
    assert (tokens["low"], tokens["high"]) == (load["output_tokens_per_s"],) * 2
    assert load["output_tokens_per_s"] == pytest.approx(4 * 128, rel=0.02)
    # goodput never above the served rate: its band inside the served one
    assert bands["load.goodput_requests_per_s"]["high"] <= served["high"]


def test_a_rate_inside_the_capacity_band_falls_short_as_far_as_the_band_reaches_below_it() -> None:
    report = _report(18)
    load, bands = report["load"], report["bands"]
    cap = bands["load.capacity_requests_per_s"]
    assert not load["overloaded"] and cap["low"] < 18 < load["capacity_requests_per_s"]
    share = cap["low"] / 18
    for key in ("served_requests_per_s", "output_tokens_per_s"):
        band = bands[f"load.{key}"]
        assert band["low"] == pytest.approx(load[key] * share, rel=1e-12) and band["high"] == load[key]


def test_an_overloaded_run_keeps_the_throughput_band_below_what_is_sent() -> None:
    report = _report(60)
    load, bands = report["load"], report["bands"]
    assert load["overloaded"]
    tokens, served = bands["load.output_tokens_per_s"], bands["load.served_requests_per_s"]
    sent = load["output_tokens_per_s"] * 60 / load["served_requests_per_s"]
    assert tokens["low"] < load["output_tokens_per_s"] <= tokens["high"] <= sent
    assert served["low"] < load["served_requests_per_s"] <= served["high"] <= 60

"""The terminal's metrics table beside a simulated load says its figures are the steady state's (every slot busy),
not the traffic's: a disaggregated plan's TTFT there is a full prefill batch's, above the load's p99."""

from __future__ import annotations

from conftest import run_dagc

CAPTION = "the steady state, every request slot busy"


def test_the_metrics_of_a_plan_with_traffic_say_they_are_the_steady_states():
    with_traffic = run_dagc("check", "examples/qwen3-30b-a3b-traffic.moe", "--no-search")
    assert with_traffic.returncode == 0, with_traffic.stderr
    assert CAPTION in with_traffic.stdout and "Load:" in with_traffic.stdout


def test_the_metrics_of_a_plan_without_traffic_have_no_such_caption():
    plain = run_dagc("check", "examples/qwen3-30b-a3b-inflight.moe", "--no-search")
    assert plain.returncode == 0, plain.stderr
    assert "metrics" in plain.stdout and CAPTION not in plain.stdout and "Load:" not in plain.stdout

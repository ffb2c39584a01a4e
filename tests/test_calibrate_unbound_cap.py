"""A vLLM run at a rate with a `--max-concurrency` it never reached — its `max_concurrent_requests`, the peak of
requests in flight, below the cap — is an open loop: no request waited for the cap, and the server saw the rate's
arrivals alone. It was refused, the rate and the cap "not both" (a cap of 64 set as a safeguard at 4 requests/s,
20 at most in flight). A cap the run reached, or a run without the peak, is refused as before."""

from __future__ import annotations

import json

import pytest
from test_calibrate_percentile_metrics import SUMMARY

from dagc.calibrate.match import disagreements
from dagc.calibrate.runs import read_runs
from dagc.lang.load import load_plan_text

PLAN = load_plan_text("""model preset "qwen3-30b-a3b"
cluster { gpus = 2  gpu preset "h100-sxm"  engine = vllm }
workload { serving = inflight  batch = 256  prompt = 1024  generate = 256  rate = 4 requests/s  requests = 300 }
strategy tp 2
""", "qwen.moe")
LATENCIES = {"mean_ttft_ms": 46.35, "median_ttft_ms": 47.21, "p99_ttft_ms": 75.38, "mean_tpot_ms": 13.9,
             "median_tpot_ms": 14.68, "p99_tpot_ms": 17.56}


def run(tmp_path, **fields):
    path = tmp_path / "rate4.json"
    path.write_text(json.dumps(SUMMARY | LATENCIES | fields))
    (r,) = read_runs(path)
    return r


def test_a_cap_never_reached_is_an_open_loop(tmp_path):
    r = run(tmp_path, max_concurrency=64, max_concurrent_requests=20)
    assert (r.rate, r.concurrency) == (4.0, None)
    assert disagreements(r, PLAN, "qwen.moe") == []


@pytest.mark.parametrize("fields", [{"max_concurrency": 64, "max_concurrent_requests": 64},
                                    {"max_concurrency": 16}])
def test_a_cap_reached_or_not_told_is_refused(tmp_path, fields):
    r = run(tmp_path, **({"max_concurrent_requests": None} | fields))
    assert (r.rate, r.concurrency) == (4.0, fields["max_concurrency"])
    (d,) = disagreements(r, PLAN, "qwen.moe")
    assert d.message.endswith(f"the run sent at 4 requests/s with at most {fields['max_concurrency']} in flight, "
                              "which dagc's traffic does not express (an open loop, or a closed loop: not both)")

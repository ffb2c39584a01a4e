"""A request log whose requests are not the workload's steady-state lengths is not capped by the steady state's
request rate (`dagc.verdict.under_load._rate_and_ceiling`). Until 2026-11-29 seed 001's 1,000 Azure requests (1,261
tokens on average, against the workload's 10,240 + 256) had a "capacity" of 14.42 requests/s, the steady state's
13.1 and 10 %: a run at 30 requests/s that kept pace within every target was "PAST ITS CAPACITY", meets: no."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from dagc.lang.load import load_plan
from dagc.verdict.check import check
from dagc.verdict.under_load import _rate_and_ceiling

# 200 requests a second apart, alternately 100 + 10 and 300 + 30 tokens: 220 a request, the workload's 4,500
LOG = "TIMESTAMP,ContextTokens,GeneratedTokens\n" + "".join(
    f"2023-11-16 18:{i // 60:02d}:{i % 60:02d}.0000000,{100 if i % 2 == 0 else 300},{10 if i % 2 == 0 else 30}\n"
    for i in range(200))
PLAN = """model preset "mixtral-8x7b"
cluster { gpus = 8  gpu preset "h100-sxm"  engine = pytorch }
workload { batch = 64  prompt = 4000  generate = 500  serving = inflight
  requests from "log.csv"  rate = 20 requests/s }
require { ttft_p90 <= 2 s }
strategy tp 8
"""


def test_the_estimate_follows_the_runs_own_lengths_and_no_ceiling_is_assumed():
    plan = SimpleNamespace(workload=SimpleNamespace(prompt=4000, generate=500))
    log = SimpleNamespace(prompt=np.array([100, 300]), output_tokens=np.array([10, 30]))
    estimate, ceiling = _rate_and_ceiling(plan, 5.0, log)
    assert estimate == pytest.approx(5.0 * 4500 / 220) and ceiling is None        # 102.3 requests/s, no cap
    same = SimpleNamespace(prompt=np.array([3900, 4100]), output_tokens=np.array([500, 500]))
    assert _rate_and_ceiling(plan, 5.0, same) == (5.0, pytest.approx(5.5))        # the workload's: 10 % above
    assert _rate_and_ceiling(plan, 5.0, SimpleNamespace(prompt=None, output_tokens=np.array([500]))) == \
        (5.0, pytest.approx(5.5))


def test_a_log_of_short_requests_is_not_capped_at_the_steady_states_rate(tmp_path: Path):
    (tmp_path / "log.csv").write_text(LOG)
    (tmp_path / "p.moe").write_text(PLAN)
    (result,) = check(load_plan(tmp_path / "p.moe"))
    steady_rate = result.metrics.throughput_tokens_per_s / 4500          # the workload's requests a second
    assert steady_rate * 1.1 < 20                                          # the old cap, below the arrival rate
    load = result.load
    assert load.carries_traffic and load.figures.served_requests_per_s == 20.0
    assert load.capacity_requests_per_s is not None and load.capacity_requests_per_s > 20
    assert result.verdict.meets_requirements is True

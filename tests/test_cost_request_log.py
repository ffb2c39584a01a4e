"""A plan that replays a request log is charged for the log's own requests: the tokens its goodput serves are the
goodput × the mean prompt and output of the requests simulated, not the workload's steady-state `prompt` and
`generate` (`dagc.serve.price.request_tokens`). Until 2026-11-29 the seed-001 plan replaying 1,000 Azure requests
(1,014 + 247 tokens on average) with `prompt = 10240  generate = 256` read "4.624 requests/s, 48,538 tokens/s …
0.733 $ per million tokens", where its run served 5,833 tokens/s: 6.095 $, 8.3× more; `dagc fleet` ranked by the
same wrong figure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dagc.cli.main import main
from dagc.export.report import report_json
from dagc.lang.load import load_plan
from dagc.verdict.check import check

# 20 requests one second apart, alternately 100 + 10 and 300 + 30 tokens: 200 + 20 on average, arriving at 1 a second
LOG = "TIMESTAMP,ContextTokens,GeneratedTokens\n" + "".join(
    f"2023-11-16 18:00:{i:02d}.0000000,{100 if i % 2 == 0 else 300},{10 if i % 2 == 0 else 30}\n" for i in range(20))
MODEL = 'model preset "mixtral-8x7b"\n'
WORKLOAD = 'workload { batch = 64  prompt = 4000  generate = 500  serving = inflight  requests from "log.csv" }\n'


def _plan(tmp_path: Path, rest: str) -> Path:
    (tmp_path / "log.csv").write_text(LOG)
    plan = tmp_path / "p.moe"
    plan.write_text(MODEL + WORKLOAD + rest)
    return plan


def test_a_request_log_is_charged_for_its_own_tokens(tmp_path, capsys):
    plan = _plan(tmp_path, 'cluster { gpus = 8  gpu preset "h100-sxm"  engine = pytorch  price = 2 $/h }\n'
                           "strategy tp 8\n")
    (result,) = check(load_plan(plan))
    cost = report_json(result)["cost"]
    assert result.load is not None and result.load.figures.goodput_requests_per_s == 1.0
    assert cost["basis"] == "goodput" and cost["tokens_per_s"] == 220.0          # 1 request/s × (200 + 20), not × 4,500
    # 8 GPUs × 2 $/h = 16 $/h over 220 tokens/s (792,000 an hour): 20.20 $ a million; 20 output tokens/s: 222.22 $
    assert round(cost["per_million_tokens"], 2) == 20.20 and round(cost["per_million_output_tokens"], 2) == 222.22
    assert round(cost["per_million_input_tokens"], 2) == 22.22          # 200 input tokens/s
    assert cost["per_million_output_tokens"] == pytest.approx(16 / 3600 / 20 * 1e6)
    assert main(["check", str(plan), "--no-search"]) in (0, 1)
    said = " ".join(capsys.readouterr().out.split())
    assert ("on its goodput under the plan's traffic (1 requests/s, 220 tokens/s, served within every target), "
            "20.202 $ per million tokens (input and output)") in said


def test_a_fleet_ranks_a_request_log_by_its_own_tokens(tmp_path, capsys):
    plan = _plan(tmp_path, 'cluster { gpus = 8  gpu preset "h100-sxm"  engine = pytorch }\n'
                           'fleet { gpu preset "h100-sxm" { price = 2 $/h }  rate = 1 requests/s }\n')
    assert main(["fleet", str(plan), "-o", str(tmp_path / "out"), "--format", "json"]) == 0
    best = json.loads(capsys.readouterr().out)["fleet"]["best"]
    assert best["tokens_per_s"] == 220.0                                  # the log's 220 tokens a request at 1 a second
    assert round(best["rented_per_million_tokens"], 2) == 20.20           # 16 $/h over 792,000 tokens an hour


def test_an_overloaded_log_is_capped_at_the_steady_states_rate_of_its_own_requests(tmp_path):
    """A run that does not carry its traffic, its capacity not judged (20 requests, fewer than 100), is charged at
    most the steady state's request rate — its tokens/s over a request's tokens, the log's 220, not the workload's
    4,500: until 2026-11-29 0.4456 requests/s (2,005 tokens/s ÷ 4,500) of the 10.18 served, 45.33 $ a million."""
    plan = _plan(tmp_path, 'cluster { gpus = 8  gpu preset "h100-sxm"  engine = pytorch  price = 2 $/h }\n'
                           "strategy tp 8\n").read_text()
    plan = plan.replace("batch = 64", "batch = 2").replace('"log.csv" }', '"log.csv"  rate = 200 requests/s }')
    (tmp_path / "p.moe").write_text(plan)
    (result,) = check(load_plan(tmp_path / "p.moe"))
    assert result.load is not None and not result.load.carries_traffic and not result.load.capacity_judged
    steady_tokens = result.metrics.throughput_tokens_per_s
    cost = report_json(result)["cost"]
    assert cost["goodput_requests_per_s"] == pytest.approx(steady_tokens / 220)      # 9.115, not ÷ 4,500 = 0.4456
    assert cost["goodput_requests_per_s"] < result.load.figures.served_requests_per_s    # 10.18 served
    assert cost["tokens_per_s"] == pytest.approx(steady_tokens)
    assert cost["per_million_tokens"] == pytest.approx(16 / 3600 / steady_tokens * 1e6)    # 2.216 $, not 45.33
    assert round(cost["per_million_tokens"], 3) == 2.216

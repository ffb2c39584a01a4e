"""The load's work budget (W518, `--load-budget`) and `--requests-out` under the output budget.

A run of the traffic past `Plan.load_budget_events` is not simulated: W518, report.json's `load` null and
the load requirements not judged; `--load-budget none` simulates it. `--requests-out` past the output
budget writes nothing and exits 5.
"""

from __future__ import annotations

import json
import time

import pytest

from dagc.cli.main import main
from dagc.exit_codes import EXIT_OUTPUT, EXIT_REQUIREMENTS
from dagc.export.requests_out import requests_bytes_at_least, write_requests
from dagc.export.result_json import load_json, verdict_json
from dagc.export.write import OutputError
from dagc.lang.load import load_plan_text
from dagc.plan.plan import LOAD_BUDGET_EVENTS
from dagc.verdict.check import check
from dagc.verdict.under_load import load_events
from conftest import plan_text

REQUIRE = "require { ttft_p99 <= 10 s  tpot <= 100 ms }"


def traffic_plan(requests: str) -> str:
    return plan_text(workload="workload { batch = 64  prompt = 2048  generate = 256  serving = inflight  "
                              f"rate = 4 requests/s  requests = {requests} }}", require=REQUIRE)


def codes(result) -> list[str]:
    return [d.code for d in result.diagnostics]


@pytest.mark.parametrize("requests", ["1e7", "10000000"])
def test_ten_million_requests_answer_in_seconds_with_the_load_not_judged(requests):
    plan = load_plan_text(traffic_plan(requests))
    assert plan.workload.traffic.requests == 10_000_000
    start = time.perf_counter()
    (r,) = check(plan)
    assert time.perf_counter() - start < 30          # was minutes and gigabytes
    assert r.load is None and r.valid
    (w518,) = [d for d in r.diagnostics if d.code == "W518"]
    assert "10,000,000 requests" in w518.message and f"{load_events(plan, 10_000_000):,}" in w518.message
    assert "--load-budget" in w518.hint
    assert w518.span is not None and w518.span.text.startswith("requests")
    on_load = [q for q in r.requirements if q.requirement.on_load]
    assert on_load and all(q.value is None and q.met is None for q in on_load)
    assert [q.met for q in r.requirements if not q.requirement.on_load] == [True]
    assert r.verdict.meets_requirements is None
    assert json.loads(json.dumps(verdict_json(r.verdict)))["meets_requirements"] is None


def test_a_small_plan_is_skipped_past_a_tiny_budget_and_runs_with_the_opt_in():
    plan = load_plan_text(traffic_plan("100"))
    assert plan.load_budget_events == LOAD_BUDGET_EVENTS
    (default,) = check(plan)
    assert default.load is not None and "W518" not in codes(default)
    (tiny,) = check(plan.model_copy(update={"load_budget_events": 100}))
    assert tiny.load is None and "W518" in codes(tiny) and tiny.verdict.meets_requirements is None
    (lifted,) = check(plan.model_copy(update={"load_budget_events": None}))
    assert lifted.load is not None and "W518" not in codes(lifted)
    assert load_json(lifted.load)["capacity_judged"] is True
    assert [q.value for q in lifted.requirements] == [q.value for q in default.requirements]


def test_a_capacity_past_the_budget_is_w518_and_the_run_still_judged():
    plan = load_plan_text(traffic_plan("100"))
    budget = load_events(plan, 100) + 1                 # the run fits, the capacity's 24 runs of 2,000 do not
    (r,) = check(plan.model_copy(update={"load_budget_events": budget}))
    assert r.load is not None and load_json(r.load)["capacity_judged"] is False
    (w518,) = [d for d in r.diagnostics if d.code == "W518"]
    assert "capacity" in w518.message
    assert all(q.met is not None for q in r.requirements)


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small.moe"
    path.write_text(traffic_plan("100"))
    return path


def test_load_budget_option(small, capsys):
    assert main(["check", str(small), "--no-search", "--load-budget", "100"]) == EXIT_REQUIREMENTS
    out, err = capsys.readouterr()
    assert "warning[W518]" in out + err and "small.moe:3:" in out + err
    assert main(["check", str(small), "--no-search", "-q", "--load-budget", "none"]) == 0
    assert "W518" not in capsys.readouterr().err
    assert main(["check", str(small), "--no-search", "-q", "--load-budget", "1e6"]) == 0
    with pytest.raises(SystemExit) as exc:
        main(["check", str(small), "--load-budget", "0"])
    assert exc.value.code == 2


def test_requests_out_past_the_output_budget_writes_nothing(small, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(["check", str(small), "--no-search", "--requests-out", "r.jsonl", "--output-budget", "5000"])
    err = capsys.readouterr().err
    assert code == EXIT_OUTPUT
    assert "cannot write r.jsonl: --requests-out" in err and "output budget (5,000 bytes)" in err
    assert not (tmp_path / "out").exists()
    assert main(["check", str(small), "--no-search", "--requests-out", "r.jsonl", "-q"]) == 0
    assert len((tmp_path / "out" / "small" / "r.jsonl").read_text().splitlines()) == 100


def test_write_requests_stops_at_its_byte_cap_and_leaves_nothing(tmp_path):
    (r,) = check(load_plan_text(traffic_plan("100")))
    runs = [("tp 8", r.load.load, 2048)]
    full = write_requests(tmp_path / "all.jsonl", runs)
    size = (tmp_path / "all.jsonl").stat().st_size
    assert full == 100 and requests_bytes_at_least(runs) <= size
    with pytest.raises(OutputError, match="output budget"):       # past the least size: streamed, then stopped
        write_requests(tmp_path / "cut.jsonl", runs, max_bytes=size - 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all.jsonl"]
    assert write_requests(tmp_path / "fits.jsonl", runs, max_bytes=size) == 100

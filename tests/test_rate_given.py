"""A rate the command gives (`dagc search --rate`, a fleet's `rate`) makes a workload's `requests = N` without a
`rate` or `concurrency` an open loop at that rate, instead of E104: the plan says how many requests, the command
how fast they come."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dagc.cli.main import main
from dagc.diagnostics import PlanError
from dagc.lang.fleet import fleet_plans, fleet_rate, load_fleet
from dagc.lang.fleet_rate import arrival_unsaid
from dagc.lang.overrides import load_plan_with
from dagc.lang.parse import parse
from dagc.source import SourceFile

HEAD = """model preset "qwen3-30b-a3b"
cluster { gpus = 1  gpu preset "h100-sxm" }
workload { batch = 16  prompt = 512  generate = 64  serving = inflight  requests = 40 }
require { ttft_p99 <= 1 s  tpot_p90 <= 50 ms }
strategy tp 1
"""


def _tree(workload: str):
    return parse(SourceFile("p.moe", HEAD.replace(
        "workload { batch = 16  prompt = 512  generate = 64  serving = inflight  requests = 40 }", workload)))


def test_arrival_is_unsaid_only_where_traffic_is_described_without_a_rate_concurrency_or_log():
    assert arrival_unsaid(_tree("workload { batch = 16  requests = 40 }"))
    assert arrival_unsaid(_tree("workload { batch = 16  seed = 3 }"))
    # no traffic field at all: unsaid where a requirement is judged on a load (HEAD's `ttft_p99`: E104 without one)
    assert arrival_unsaid(_tree("workload { batch = 16 }"))
    assert not arrival_unsaid(parse(SourceFile("p.moe", HEAD.replace("ttft_p99 <= 1 s  tpot_p90", "ttft <= 1 s  tpot")
                                               .replace("  requests = 40", ""))))       # steady-state targets only
    for load in ("goodput >= 2 requests/s", "e2e_p90 <= 3 s", "itl <= 40 ms"):
        assert arrival_unsaid(parse(SourceFile("p.moe", HEAD.replace("ttft_p99 <= 1 s  tpot_p90 <= 50 ms", load)
                                               .replace("  requests = 40", "")))), load
    assert not arrival_unsaid(_tree("workload { batch = 16  requests = 40  rate = 2 requests/s }"))
    assert not arrival_unsaid(_tree("workload { batch = 16  requests = 40  concurrency = 8 }"))
    assert not arrival_unsaid(_tree('workload { batch = 16  requests from "log.csv" }'))
    assert not arrival_unsaid(_tree("workload { batch = 16  requests = 40 }"), ["workload.concurrency=8"])
    assert not arrival_unsaid(_tree("workload { batch = 16  requests = 40 }"), ["workload.rate = 3 requests/s"])


def test_the_rate_given_fills_the_workload_and_is_named_as_a_set(tmp_path: Path):
    path = tmp_path / "p.moe"
    path.write_text(HEAD)
    with pytest.raises(PlanError) as exc:                       # no rate anywhere: E104 at `requests`, as ever
        load_plan_with(path, ())
    assert [(d.code, d.span.line) for d in exc.value.diagnostics] == [("E104", 3)]
    plan = load_plan_with(path, (), rate=2.5)
    assert plan.workload.traffic is not None
    assert (plan.workload.traffic.rate, plan.workload.traffic.requests) == (2.5, 40)
    assert plan.overrides == ("workload.rate = 2.5 requests/s",)
    # a rate the plan writes is the plan's: the command's rate leaves it alone
    path.write_text(HEAD.replace("requests = 40", "requests = 40  rate = 6 requests/s"))
    assert load_plan_with(path, (), rate=2.5).workload.traffic.rate == 6.0


def test_a_fleet_rate_serves_a_workload_that_names_only_its_requests(tmp_path: Path):
    path = tmp_path / "fleet.moe"
    path.write_text(HEAD + 'fleet { gpu preset "h200"  gpus = [1, 2]  rate = 3 requests/s }')
    plan, fleet = load_fleet(path)
    assert fleet_rate(fleet, plan) == 3.0 and plan.workload.traffic.rate == 3.0
    items = fleet_plans(path, fleet)
    assert [(p.rate, q.workload.traffic.rate, q.workload.traffic.requests) for p, q in items] == [
        (3.0, 3.0, 40), (3.0, 3.0, 40)]
    # without the fleet's rate the plan still has none: E104 at `requests`, and the fleet's own E103 (docs/fleet.md:
    # no rate for the fleet is E103 at the fleet), which says where else the rate may go
    path.write_text(HEAD + 'fleet { gpu preset "h200"  gpus = [1, 2] }')
    with pytest.raises(PlanError) as exc:
        load_fleet(path)
    assert [(d.code, d.span.line, d.span.text) for d in exc.value.diagnostics] == [
        ("E104", 3, "requests = 40"), ("E103", 6, "fleet")]


def test_a_fleet_without_a_rate_says_its_other_errors_too(tmp_path: Path):
    path = tmp_path / "fleet.moe"
    path.write_text(HEAD.replace("  requests = 40", "") + 'fleet {\n  gpu preset "h200"  gpus = [1, 2]\n'
                    "  engine = [vllm, sglng]\n}\n")
    with pytest.raises(PlanError) as exc:
        load_fleet(path)
    said = [(d.code, d.span.line, d.span.text) for d in exc.value.diagnostics]
    # the percentile requirements need traffic (E104 each), the fleet has no rate (E103), and `sglng` is no engine
    # (E101): each said, none hidden behind another
    assert said == [("E104", 4, "ttft_p99 <= 1 s"), ("E104", 4, "tpot_p90 <= 50 ms"), ("E103", 6, "fleet"),
                    ("E101", 8, "sglng")]
    assert "did you mean `sglang`" in exc.value.diagnostics[3].hint


def test_search_rate_runs_a_plan_that_names_only_its_requests(tmp_path: Path, capsys):
    path = tmp_path / "p.moe"
    path.write_text(HEAD)
    assert main(["search", str(path), "--rate", "2", "--format", "json", "--top", "3",
                 "--svg", str(tmp_path / "p.svg")]) in (0, 1)
    doc = json.loads(capsys.readouterr().out)
    assert (doc["at_rate"]["rate_requests_per_s"], doc["at_rate"]["requests"]) == (2.0, 40)
    assert doc["at_rate"]["ranked"], "the candidates were simulated at the rate given"


def test_search_rate_runs_a_plan_whose_load_requirements_have_no_traffic_yet(tmp_path: Path, capsys):
    """The README pairs `require { ttft_p99 <= … }` with `dagc search PLAN --rate 8`: a plan of load requirements
    and no traffic field runs at the command's rate (its default 1,000 requests), where it was E104 at each
    requirement, hinted to add a rate the command had just given."""
    path = tmp_path / "p.moe"
    path.write_text(HEAD.replace("  requests = 40", ""))
    with pytest.raises(PlanError) as exc:                       # no rate anywhere: E104 at each load requirement
        load_plan_with(path, ())
    assert [d.code for d in exc.value.diagnostics] == ["E104", "E104"]
    plan = load_plan_with(path, (), rate=2.5)
    assert (plan.workload.traffic.rate, plan.workload.traffic.requests) == (2.5, 1000)
    assert plan.overrides == ("workload.rate = 2.5 requests/s",)
    assert main(["search", str(path), "--rate", "2", "--format", "json", "--top", "2",
                 "--svg", str(tmp_path / "p.svg")]) in (0, 1)
    doc = json.loads(capsys.readouterr().out)
    assert (doc["at_rate"]["rate_requests_per_s"], doc["at_rate"]["requests"]) == (2.0, 1000)

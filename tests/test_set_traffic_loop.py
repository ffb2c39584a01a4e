"""A `--set` of how requests arrive replaces the plan's other way (docs/cli.md, "What-ifs"): `workload.rate` on a
closed loop makes it an open loop at that rate — what `dagc search --rate R` simulates — so the `dagc check` line
that search prints for a closed-loop plan runs as printed; `workload.concurrency` on an open loop makes it a
closed one. Both set is E104, as in a plan."""

from __future__ import annotations

import json
import shlex

import pytest

from dagc.cli.main import main
from dagc.diagnostics import PlanError
from dagc.lang.load import load_plan
from dagc.lang.overrides import load_plan_with
from conftest import one_computation_per_output

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 2  gpu preset "h200" }
workload {
  batch = 32  prompt = 1000  generate = 100  serving = inflight  chunk = 4096
  TRAFFIC  requests = 40
}
require { ttft_p99 <= 5 s  tpot_p90 <= 100 ms }
strategy tp 1
"""
CLOSED = "concurrency = 8  ramp = 2 s"
OPEN = "rate = 3 requests/s  arrival = uniform  seed = 7"


def _plan(tmp_path, traffic: str):
    path = tmp_path / "plan.moe"
    path.write_text(PLAN.replace("TRAFFIC", traffic))
    return path


def test_a_set_rate_replaces_a_closed_loop_as_search_rate_does(tmp_path):
    path = _plan(tmp_path, CLOSED)
    plan = load_plan_with(path, ["workload.rate=2 requests/s"])
    t = plan.workload.traffic
    assert (t.rate, t.concurrency, t.ramp, t.requests, t.arrival) == (2.0, None, None, 40, "poisson")
    assert t == load_plan(path).workload.traffic.at_rate(2.0)       # the traffic `search --rate 2` runs
    assert plan.overrides == ("workload.rate = 2 requests/s",)


def test_a_set_concurrency_replaces_an_open_loop(tmp_path):
    path = _plan(tmp_path, OPEN)
    t = load_plan_with(path, ["workload.concurrency=4"]).workload.traffic
    assert (t.concurrency, t.rate, t.arrival, t.seed, t.requests) == (4, None, "poisson", 7, 40)
    # the same way set again keeps the rest of the loop: a new rate on an open loop keeps its arrival
    assert load_plan_with(path, ["workload.rate=5 requests/s"]).workload.traffic.arrival == "uniform"


@pytest.mark.parametrize("traffic", [CLOSED, OPEN])
def test_both_ways_set_is_e104(tmp_path, traffic):
    with pytest.raises(PlanError) as exc:
        load_plan_with(_plan(tmp_path, traffic), ["workload.rate=2 requests/s", "workload.concurrency=4"])
    (d,) = exc.value.diagnostics
    assert d.code == "E104" and "the traffic has both a `rate` and a `concurrency`" in d.message


def test_the_check_line_search_rate_prints_for_a_closed_loop_runs_as_printed(capsys, tmp_path, monkeypatch):
    """`dagc search PLAN --rate 2` on a closed-loop plan: its conclusion's `dagc check` line, run as printed, checks
    (exit 0: the strategy meets every requirement, as the search said) and judges the load the search ran."""
    monkeypatch.chdir(tmp_path)
    _plan(tmp_path, CLOSED)
    monkeypatch.setenv("COLUMNS", "200")
    with one_computation_per_output():     # the search and the check each computed once, printed as text and JSON
        assert main(["search", "plan.moe", "--rate", "2", "--top", "3", "--svg", "p.svg"]) == 0
        out = capsys.readouterr().out
        assert "as `dagc check --strategy TEXT --set 'workload.rate=R requests/s'` judges it" in out
        (line,) = [x for x in out.splitlines() if x.startswith("  check it: ")]
        words = shlex.split(line.removeprefix("  check it: "))
        assert words[:3] == ["dagc", "check", "plan.moe"] and words[-2:] == ["--set", "workload.rate=2 requests/s"]
        assert main(words[1:]) == 0                                   # as printed: no E104, every requirement met
        printed = capsys.readouterr()
        assert "E104" not in printed.out + printed.err and "meets requirements: yes" in printed.out
        # the load it judges is the one the search ran at 2 requests/s
        assert main(["search", "plan.moe", "--rate", "2", "--top", "3", "--svg", "p.svg", "--format", "json"]) == 0
        row = next(r for r in json.loads(capsys.readouterr().out)["at_rate"]["ranked"]
                   if r["strategy"] == words[words.index("--strategy") + 1])
        assert main([*words[1:], "--format", "json"]) == 0
        load = json.loads(capsys.readouterr().out)["load"]
    assert (load["rate_requests_per_s"], load["concurrency"], load["arrival"]) == (2.0, None, "poisson")
    assert load["ttft_s"] == row["load"]["ttft_s"] and load["tpot_s"] == row["load"]["tpot_s"]


def test_the_check_line_leaves_out_the_closed_loop_the_rate_replaces(tmp_path):
    """A plan searched with `--set workload.concurrency=8 --set workload.ramp=1 s` at `--rate 2`: the line keeps
    its other `--set`s and not those the rate replaces (set with it, they would be E104, as both in a plan)."""
    from dagc.cli.print_rate import check_command

    path = _plan(tmp_path, OPEN)
    searched = load_plan_with(path, ["workload.concurrency=8", "workload.ramp=1 s", "workload.batch=16"])
    assert searched.workload.traffic.concurrency == 8
    command = check_command(str(path), searched)
    assert command == f"dagc check {path} --set workload.batch=16"
    words = shlex.split(command)[2:] + ["--set", "workload.rate=2 requests/s"]
    t = load_plan_with(words[0], words[2::2]).workload.traffic
    assert (t.rate, t.concurrency, t.ramp, t.requests) == (2.0, None, None, 40)

"""The exit code follows the verdict under traffic: a deployment that does not carry its traffic exits 1 even
when the plan states no requirement (its verdict reads "meets requirements: no"), one that carries it 0."""

from __future__ import annotations

import json

from conftest import run_dagc

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 1  gpu preset "h100-sxm" }
workload { batch = 16  prompt = 2000  generate = 200  serving = inflight  rate = RATE requests/s  requests = 300 }
strategy tp 1
"""


def test_traffic_not_carried_without_requirements_exits_1(tmp_path):
    (tmp_path / "over.moe").write_text(PLAN.replace("RATE", "50"))
    r = run_dagc("check", "over.moe", "--no-search", "--format", "json", cwd=tmp_path)
    report = json.loads(r.stdout)
    assert report["requirements"] == [] and report["verdict"]["meets_requirements"] is False
    assert r.returncode == 1, r.stderr


def test_traffic_carried_without_requirements_exits_0(tmp_path):
    (tmp_path / "light.moe").write_text(PLAN.replace("RATE", "0.2"))
    r = run_dagc("check", "light.moe", "--no-search", "--format", "json", cwd=tmp_path)
    report = json.loads(r.stdout)
    assert report["requirements"] == [] and report["verdict"]["meets_requirements"] is True
    assert r.returncode == 0, r.stderr


def test_a_figure_that_holds_in_a_run_that_falls_behind_says_why_it_is_not_met():
    """`tpot_p90 <= 1 s` at 22 ms in a run whose queue keeps growing: not met, and its `met` cell says why (not a bare
    NO beside a positive margin), in the terminal's table and report.md's."""
    from dagc.lang.load import load_plan_text, parse_strategy
    from dagc.verdict.check import check_strategy
    from dagc.verdict.verdict import met_text
    plan = load_plan_text(PLAN.replace("RATE", "50").replace("strategy", "require { tpot_p90 <= 1 s }\nstrategy"))
    r = check_strategy(plan, parse_strategy("tp 1"), with_capacity=False)
    (q,) = r.requirements
    assert q.value is not None and q.value < 1.0 and q.margin is not None and q.margin > 0
    assert q.met is False and q.unmet is not None
    assert met_text(q, r.verdict.correct, "NO") == "NO: its queue grows"

"""The exit code follows the verdict under traffic: a deployment that does not carry its traffic exits 1 even
when the plan states no requirement (its verdict reads "meets requirements: no"), one that carries it 0."""

from __future__ import annotations

import json

import pytest

from conftest import run_dagc

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 1  gpu preset "h100-sxm" }
workload { batch = 16  prompt = 2000  generate = 200  serving = inflight  rate = RATE requests/s  requests = 300 }
strategy tp 1
"""


@pytest.mark.parametrize(("rate", "carried", "code"), [("50", False, 1), ("0.2", True, 0)])
def test_the_exit_code_follows_the_traffic_without_requirements(tmp_path, rate, carried, code):
    """At 50 requests/s one H100 falls behind (meets requirements: no, exit 1); at 0.2 it carries them (exit 0)."""
    (tmp_path / "plan.moe").write_text(PLAN.replace("RATE", rate))
    r = run_dagc("check", "plan.moe", "--no-search", "--format", "json", cwd=tmp_path)
    report = json.loads(r.stdout)
    assert report["requirements"] == [] and report["verdict"]["meets_requirements"] is carried
    assert r.returncode == code, r.stderr


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

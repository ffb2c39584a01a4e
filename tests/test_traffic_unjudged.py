"""A plan whose traffic was not simulated (W518: past the load's work budget; W507: no figures to run it with)
is "meets requirements: not judged" and exits 1, with or without a `require` block: exit 0 promises the
traffic carried (README.md, docs/limits.md "Exit codes"), which nothing judged. W518 is decided before any run,
from `load_events` against the budget (`dagc.verdict.under_load.not_simulated`), so these tests simulate nothing
of the ten million requests: the check answers in about a second.
"""

from __future__ import annotations

import json

from dagc.export.result_json import next_step_json
from dagc.lang.load import load_plan_text
from dagc.verdict.check import TRAFFIC_NOT_SIMULATED, check
from dagc.verdict.under_load import load_events, not_simulated
from conftest import one_computation_per_output, run_dagc

# the new user's plan: no `require`, ten million requests at 4 requests/s
PLAN = """model preset "qwen3-30b-a3b"
cluster {
  gpus = 4
  gpu preset "h200"
}
workload {
  batch = 64
  prompt = 1000
  generate = 200
  serving = inflight
  rate = 4 requests/s
  requests = REQUESTS
}
REQUIRE
strategy tp 4
"""

UNJUDGED = ("meets? not judged: the plan's traffic was not simulated: its run is past the load's work budget "
            "(W518), so whether the deployment carries it is not known")


def plan(requests: int = 10_000_000, require: str = "") -> str:
    return PLAN.replace("REQUESTS", str(requests)).replace("REQUIRE\n", f"{require}\n" if require else "")


def test_the_budget_decides_before_any_run():
    """1,000-token prompts in one 8,192-token chunk: 1 + 3 events a request, 40,000,000 for ten million —
    past the 3,000,000 of the default budget; 100 requests take 400."""
    big, small = load_plan_text(plan()), load_plan_text(plan(100))
    assert load_events(big, 10_000_000) == 40_000_000 and load_events(small, 100) == 400
    assert not_simulated(big) is not None and not_simulated(small) is None


def test_no_requirement_and_the_traffic_not_simulated_is_not_judged_and_exits_1(tmp_path):
    (tmp_path / "plan.moe").write_text(plan())
    with one_computation_per_output():             # one check, printed as JSON, as text and quietly
        r = run_dagc("check", "plan.moe", "--no-search", "--format", "json", cwd=tmp_path)
        text = run_dagc("check", "plan.moe", "--no-search", cwd=tmp_path)
        quiet = run_dagc("check", "plan.moe", "--no-search", "-q", cwd=tmp_path)
    report = json.loads(r.stdout)
    assert report["requirements"] == [] and report["load"] is None
    assert "W518" in {d["code"] for d in report["diagnostics"]}
    assert report["verdict"]["correct"] is True and report["verdict"]["meets_requirements"] is None
    assert r.returncode == 1, r.stderr
    assert "verdict: correct: yes · meets requirements: not judged · optimal: not judged" in text.stdout
    assert UNJUDGED in " ".join(text.stdout.split())        # the terminal's width may wrap it
    assert text.returncode == 1
    assert quiet.stdout == "strategy tp 4: correct yes · meets requirements not judged · optimal not judged\n"
    assert quiet.returncode == 1


def test_the_same_plan_simulated_carries_its_traffic_and_exits_0(tmp_path):
    """100 requests at 4 requests/s fit the budget: simulated, carried, met (nothing required), exit 0; past a
    budget of 399 events (one short of the run's 400) the same plan is not simulated and exits 1."""
    (tmp_path / "plan.moe").write_text(plan(100))
    r = run_dagc("check", "plan.moe", "--no-search", "--format", "json", cwd=tmp_path)
    report = json.loads(r.stdout)
    assert report["load"]["carries_traffic"] is True and report["verdict"]["meets_requirements"] is True
    assert r.returncode == 0, r.stderr
    r = run_dagc("check", "plan.moe", "--no-search", "--format", "json", "--load-budget", "399", cwd=tmp_path)
    report = json.loads(r.stdout)
    assert report["load"] is None and report["verdict"]["meets_requirements"] is None
    assert r.returncode == 1


def test_compile_says_not_judged_in_the_terminal_report_json_and_report_md(tmp_path):
    (tmp_path / "plan.moe").write_text(plan())
    r = run_dagc("compile", "plan.moe", "--no-search", "-o", "out", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    header, verdict = r.stdout.split("\n")[:2]       # the plan's line, as check opens with it, then the verdict
    assert header.startswith("plan plan.moe · model qwen3-30b-a3b")
    assert verdict == "strategy tp 4: correct yes · meets requirements not judged · optimal not judged"
    assert UNJUDGED in " ".join(r.stdout.split())
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["verdict"]["meets_requirements"] is None
    md = (tmp_path / "out" / "report.md").read_text()
    assert ("- **Meets the requirements: not judged.** The plan states no requirements (`require { … }`). But the "
            "plan's traffic was not simulated: its run is past the load's work budget (W518), so whether the "
            "deployment carries it is not known.") in md
    assert "| Does it meet the requirements? | not judged | the plan's traffic was not simulated:" in md
    assert "Meets the requirements: yes" not in md


def test_steady_lines_met_are_not_judged_and_one_missed_is_no():
    """TPOT 16.88 ms (the steady state's) meets `tpot <= 100 ms`: not judged all the same, and no odds line saying
    "yes"; it misses `tpot <= 15 ms`: "no", whatever the traffic, and its next steps each say the traffic was not
    judged rather than "meets every requirement"."""
    from dagc.export.bands_words import odds_line
    from dagc.verdict.next_steps import with_next_steps
    (met,) = check(load_plan_text(plan(require="require { tpot <= 100 ms }")))
    assert [q.met for q in met.requirements] == [True] and abs(met.requirements[0].value - 0.01688) < 5e-5
    assert met.load is None and met.verdict.meets_requirements is None
    assert met.traffic_unjudged is not None and "W518" in met.traffic_unjudged
    assert odds_line(met) is None
    (missed,) = with_next_steps(check(load_plan_text(plan(require="require { tpot <= 15 ms }"))))
    assert [q.met for q in missed.requirements] == [False] and missed.verdict.meets_requirements is False
    assert missed.next_steps and not any(s.meets for s in missed.next_steps)
    assert all(s.not_judged == (TRAFFIC_NOT_SIMULATED,) for s in missed.next_steps)
    assert all(next_step_json(s)["not_judged"] == [TRAFFIC_NOT_SIMULATED] for s in missed.next_steps)
    from dagc.export.techniques import step_verdict
    words = {step_verdict(s, lambda m: f"`{m}`") for s in missed.next_steps}
    assert words <= {"not judged: the traffic (not simulated)",
                     "still misses `tpot <= 15 ms`; not judged: the traffic (not simulated)"}, words


def test_a_strategy_without_figures_leaves_its_traffic_unjudged():
    """Over the DAG's node budget (W507) no step has a time, so the traffic cannot be simulated either."""
    text = """model preset "qwen3-30b-a3b"
cluster { gpus = 256  gpu preset "h100-sxm" }
workload { batch = 65536  prompt = 128  generate = 8  microbatches = 4096  rate = 1 requests/s  requests = 100 }
strategy pp 32 < tp 8 >
"""
    (r,) = check(load_plan_text(text))
    assert "W507" in {d.code for d in r.diagnostics} and "W518" not in {d.code for d in r.diagnostics}
    assert r.metrics is None and r.load is None and r.valid
    assert r.verdict.meets_requirements is None
    assert r.traffic_unjudged == ("the plan's traffic was not simulated: the strategy's steady-state figures, which "
                                  "price its steps, were not computed (W507), so whether the deployment carries it "
                                  "is not known")
    (still,) = check(load_plan_text(text.replace("  rate = 1 requests/s  requests = 100", "")))
    assert still.traffic_unjudged is None and still.verdict.meets_requirements is True      # no traffic to carry

"""A next step's options change the plan as `dagc check` checked it: added to the command that ran the check, one that
sets a field the command's own `--set` set, or a `--strategy` where the command gave one, was refused (E104: a field
set twice; "--strategy given twice"). The step then says which of the command's options it takes the place of, in
the terminal and in report.md (`dagc.export.techniques.step_replaces`): Qwen3-235B-A22B on 8 H100s, `dagc check PLAN
--strategy 'tp 8 ; ep 8' --set cluster.gpus=8`, whose replicas' step is `--set cluster.gpus=16 --set
workload.batch=128 --strategy 'dp 2 < tp 8 ; ep 8 >'`; until 2026-11-30 nothing said so."""

from __future__ import annotations

import shlex
from types import SimpleNamespace as N

from dagc.export.summary import _next_steps
from dagc.verdict.check import NextStep
from conftest import run_dagc

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 2  gpu preset "h100-sxm" }
workload { batch = 16  prompt = 512  generate = 64  serving = inflight  rate = 16 requests/s  requests = 200 }
require { ttft_p99 <= 1 s  tpot_p90 <= 50 ms }
strategy tp 1
"""
REPLICAS = ("--set cluster.gpus=2", "--set workload.batch=32", "--strategy 'dp 2 < tp 1 >'")


def _result(overrides: tuple[str, ...], source: str):
    step = NextStep("gpus", "2 GPUs: 2 replicas of the strategy", REPLICAS, True, (),
                    {"gpus": 2, "ttft_s": 0.05925, "tpot_s": 0.02369, "decode_tokens_per_s_per_gpu": 675.5})
    plan = N(workload=N(traffic=None), requirements=(), overrides=overrides)
    return N(plan=plan, decl=N(text="tp 1", span=N(source=N(path=source))), next_steps=(step,), no_step=())


def test_report_md_names_the_options_a_step_replaces():
    lines = _next_steps(_result(("cluster.gpus = 1", "cluster.gpu = h200"), "--strategy"))
    assert lines[1].endswith("— `--set cluster.gpus=2 --set workload.batch=32 --strategy 'dp 2 < tp 1 >'` in place "
                             "of the command's `--set cluster.gpus=1` and `--strategy 'tp 1'`")
    # a strategy of the plan's own lines, no `--set` of the step's fields: added to the command, the step runs
    assert _next_steps(_result(("cluster.gpu = h200",), "plan.moe"))[1].endswith("--strategy 'dp 2 < tp 1 >'`")


def test_a_next_step_pasted_in_place_of_what_it_names_runs(tmp_path):
    (tmp_path / "plan.moe").write_text(PLAN)
    ran = ("check", "plan.moe", "--no-search", "--strategy", "tp 1", "--set", "cluster.gpus=1")
    proc = run_dagc(*ran, cwd=tmp_path, env={"COLUMNS": "400"})
    assert proc.returncode == 1, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if "2 replicas of the strategy" in x)
    assert line.endswith(": --set cluster.gpus=2 --set workload.batch=32 --strategy 'dp 2 < tp 1 >' in place of the "
                         "command's --set cluster.gpus=1 and --strategy 'tp 1'")
    # added to the command as it ran, the step is refused; in place of what it names, it meets as it said
    step = shlex.split(line.rsplit("): ", 1)[1].split(" in place of")[0])
    assert run_dagc(*ran, *step, cwd=tmp_path).returncode == 2          # --strategy given twice
    pasted = run_dagc("check", "plan.moe", "--no-search", *step, cwd=tmp_path, env={"COLUMNS": "400"})
    assert pasted.returncode == 0, pasted.stdout
    assert "meets requirements: yes" in pasted.stdout


def test_what_to_change_points_at_the_next_steps_when_no_better_strategy_is_found(tmp_path):
    """report.md's "What to change" of a strategy that is optimal but misses its requirements: until 2026-11-30
    "nothing better was found (…)" beside next steps of which one meets them (`tp 1` alone on one H100 at 16
    requests/s: 2 replicas meet). It now says no better *strategy* was found and that what meets is a change of
    the plan, the next steps."""
    import dagc
    from dagc.export.summary import _change
    from dagc.lang.overrides import load_plan_with
    (tmp_path / "plan.moe").write_text(PLAN)
    r = dagc.check(load_plan_with(tmp_path / "plan.moe", ("cluster.gpus=1",)))[0]
    assert (r.verdict.meets_requirements, r.verdict.optimal) == (False, True)
    # a batch of 40 meets (since 2026-12-03 the larger batch grows past one whose run keeps pace but whose capacity
    # falls short: it stopped there, missing), 8-bit weights do not, 2 replicas do
    assert [(s.kind, s.meets) for s in r.next_steps] == [("batch", True), ("precision", False), ("gpus", True)]
    assert _change(r)[0].startswith(
        "- **What to change:** no better strategy was found (within 5 % of the best of 3 strategies by tokens-per-gpu "
        "(`tp 1 with microbatches 1 overlap none`: 675.5 tokens/s per GPU)). What meets the requirements is a change "
        "of the plan: the next steps above.")


def test_steps_said_is_empty_without_steps_and_says_when_none_meets():
    from dagc.export.techniques import steps_said
    step = N(meets=False)
    missing = N(verdict=N(meets_requirements=False), next_steps=(step,))
    assert steps_said(missing) == (" No change tried meets the requirements either: the next steps above say how "
                                   "close each comes.")
    assert steps_said(N(verdict=N(meets_requirements=False), next_steps=())) == ""
    assert steps_said(N(verdict=N(meets_requirements=True), next_steps=(step,))) == ""

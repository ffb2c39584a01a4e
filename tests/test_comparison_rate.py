"""The comparison page of a plan with several strategies and an arrival rate says, as `dagc check`'s first line
does, that its optimal verdicts are the steady state's and which command ranks the strategies under that rate."""

from __future__ import annotations

import dagc
from dagc.cli.print_check import objective_text
from dagc.export.comparison_md import comparison_md
from dagc.lang.load import load_plan_text

PLAN = ('model "tiny" { layers = 2  hidden = 256  heads = 8  kv_heads = 2  head_dim = 32  vocab = 1000\n'
        "  moe { experts = 4  top_k = 2  ffn = 512 } }\ncluster { gpus = 2  gpu preset \"h100-sxm\" }\n"
        "workload { batch = 8  prompt = 128  generate = 8  serving = inflight  rate = 6 requests/s  requests = 20 }\n"
        "strategy dep = tp 1 ; ep 2\nstrategy tp = tp 2\n")


def test_the_comparison_says_its_optimal_verdicts_are_the_steady_state_s_under_a_rate():
    plan = load_plan_text(PLAN, name="rate.moe")
    page = comparison_md(plan, dagc.check(plan), ["dep", "tp"])
    said = ("subject to the plan's requirements; within 5 % of the best counts as optimal; in the steady state — at "
            "the traffic's 6 requests/s the strategies are ranked by goodput per GPU by `dagc search PLAN --rate 6`.")
    assert said in page        # before, the sentence stopped at "counts as optimal."
    assert objective_text(plan).endswith(said.removesuffix("."))         # the words of `dagc check`'s first line


def test_each_strategy_s_summary_says_it_too():
    """A plan with one strategy has no comparison page: its report.md's "Optimal" line carries the same words after
    the verdict's evidence — before, the evidence alone ("`tp 1 …` gives 1.44× the decode throughput per GPU … on
    2 GPUs"), a better strategy on fewer GPUs never simulated under the plan's 6 requests/s."""
    from dagc.export.markdown import report_md
    plan = load_plan_text(PLAN.replace("strategy tp = tp 2\n", ""), name="one.moe")
    (r,) = dagc.check(plan)
    [line] = [x for x in report_md(r).splitlines() if x.startswith("- **Optimal: ")]
    assert line.endswith("; in the steady state — at the traffic's 6 requests/s the strategies are ranked by goodput "
                         "per GPU by `dagc search PLAN --rate 6`.")
    (static,) = dagc.check(load_plan_text(PLAN.replace("  rate = 6 requests/s  requests = 20", "")
                                          .replace("strategy tp = tp 2\n", ""), name="one.moe"))
    assert "in the steady state — at the traffic" not in report_md(static)

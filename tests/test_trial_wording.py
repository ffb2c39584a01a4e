"""Wording a new user's trial found wrong: one drafted token is singular; report.md's in-flight line counts
`dp 2 < tp 8 >`'s requests per replica (those are dp replicas, not attention-DP ranks); a fleet's misspelt GPU
preset gets the same "did you mean" as the plan's own (`h20O`: the letter O for the digit 0)."""

from __future__ import annotations

import pytest

from dagc.diagnostics import PlanError
from dagc.export.markdown import report_md
from dagc.export.techniques import technique_lines
from dagc.lang.fleet import load_fleet
from dagc.lang.load import load_plan, load_plan_text
from dagc.verdict.check import check_strategy

MIXTRAL = """model preset "mixtral-8x7b"
cluster { gpus = 16  gpus_per_node = 8  gpu preset "h100-sxm"  engine = pytorch }
workload { batch = 128  prompt = 2000  generate = 200  serving = inflight SPEC }
strategy STRATEGY
"""


def _result(strategy: str, spec: str = ""):
    plan = load_plan_text(MIXTRAL.replace("STRATEGY", strategy).replace("SPEC", spec))
    return check_strategy(plan, plan.strategies[0])


def test_one_drafted_token_is_singular():
    r = _result("tp 8", "speculative { method = ngram  tokens = 1  acceptance = 0.5 }")
    (line,) = [text for label, text in technique_lines(r) if label == "Speculative decoding"]
    assert line.startswith("ngram drafting 1 token (acceptance 0.5): a decode step verifies 2 positions")


def test_dp_replicas_are_counted_per_replica_not_per_attention_dp_rank():
    md = report_md(_result("dp 2 < tp 8 >"))
    assert "the figures are the steady state with 128 requests in flight, 64 per replica;" in md
    assert "per attention-DP rank" not in md.split("**Served in flight**")[1].split("\n")[0].split(";")[0]


@pytest.mark.parametrize("where", ['cluster { gpus = 8  gpu preset "h20O" }',
                                   'cluster { gpus = 8  gpu preset "h100-sxm" }\n'
                                   'fleet { gpu preset "h20O" { price = 1 $/h }  gpus = [8] }'])
def test_a_misspelt_gpu_preset_gets_did_you_mean_in_the_cluster_and_the_fleet(tmp_path, where):
    path = tmp_path / "p.moe"
    path.write_text('model preset "mixtral-8x7b"\n' + where + "\nworkload { batch = 8  prompt = 512  generate = 64  "
                    "rate = 1 requests/s }\nstrategy tp 8\n")
    with pytest.raises(PlanError) as exc:
        load_fleet(path) if "fleet" in where else load_plan(path)
    (d,) = [d for d in exc.value.diagnostics if "h20O" in d.message]
    fleet = "; a fleet's `gpu preset` names a built-in GPU" if "fleet" in where else ""
    assert d.hint == "did you mean `h200`? (the digit 0 written as the letter O" + fleet + ")"

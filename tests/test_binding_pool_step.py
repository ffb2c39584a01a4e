"""What binds a disaggregated deployment's load names its decode pool's step at its true time: the TPOT × the tokens
a step emits. With speculative decoding a step emits more than one token (n-gram drafting 2 at acceptance 0.5:
1 + 0.5 + 0.25 = 1.75), so the TPOT is not a step. Until 2026-11-30 dagc took the decode pool's TPOT for its step:
`dagc check` said "the decode step takes 9.092 ms on average in this run (16.15 ms in the steady state, every request
slot busy; 9.231 ms for a step without a prompt chunk)" — 9.231 ms the TPOT, and a decode pool runs no prompt
chunk."""

from __future__ import annotations

import pytest

from dagc.export.binding_text import binding_text
from dagc.export.report import report_json
from dagc.lang.load import load_plan_text
from dagc.verdict.check import check

PLAN = """model preset "qwen3-30b-a3b"
cluster { gpus = 8  gpu preset "h200" }
workload { batch = 32  prompt = 1000  generate = 200  serving = inflight
  rate = 2 requests/s  requests = 200
  speculative { method = ngram  tokens = 2  acceptance = 0.5 } }
require { tpot_p90 <= 1 ms }
strategy prefill 1 < tp 2 > decode 1 < tp 2 ; ep 2 >
"""


def test_the_decode_pools_step_is_its_tpot_times_the_tokens_a_step_emits():
    (r,) = check(load_plan_text(PLAN, "plan.moe"))
    j = report_json(r)
    binding, tpot = j["load"]["binding"], j["metrics"]["tpot_s"]
    assert j["speculative"]["tokens_per_step"] == pytest.approx(1.75)
    assert binding["step"] == "decode" and binding["step_s"] == pytest.approx(tpot * 1.75)
    assert binding["step_s"] == pytest.approx(binding["steady_mean_step_s"])    # a decode pool: no chunked step
    text = binding_text(binding)
    assert "without a prompt chunk" not in text
    assert f"({binding['step_s'] * 1e3:.4g} ms in the steady state, every request slot busy)" in text


def test_the_speculative_sentence_names_the_steps_of_the_mode():
    # a decode pool runs no prompt: its steps are no mix of decode and mixed steps (until 2026-11-30 it said so)
    from dagc.export.techniques import technique_lines
    (r,) = check(load_plan_text(PLAN, "plan.moe"))
    (said,) = [s for label, s in technique_lines(r) if label == "Speculative decoding"]
    assert "(TPOT × the tokens it emits: the decode instance's, which runs no prompt)" in said
    assert "mixed" not in said
    (r,) = check(load_plan_text(PLAN.replace("prefill 1 < tp 2 > decode 1 < tp 2 ; ep 2 >", "tp 2 ; ep 2"),
                                "plan.moe"))
    (said,) = [s for label, s in technique_lines(r) if label == "Speculative decoding"]
    assert "(TPOT × the tokens it emits: in flight, the decode and mixed steps together)" in said

"""W528: drawn request lengths past the model's context (`dagc.rules.drawn_context`). Until 2026-11-30 a plan whose
`lengths` drew requests longer than the model's context simulated them unsaid, where an engine refuses them."""

from __future__ import annotations

from dagc.lang.load import load_plan_text
from dagc.serve.requests import request_lengths
from dagc.verdict.check import check

CONTEXT = 40_960        # qwen3-30b-a3b's context (its preset's `context_length`)


def _plan(lengths: str) -> str:
    return ('model preset "qwen3-30b-a3b"\ncluster { gpus = 8  gpu preset "h100-sxm" }\n'
            "workload { batch = 64  prompt = 12000  generate = 500  serving = inflight\n"
            f"           rate = 2 requests/s  requests = 200  lengths = {lengths} }}\nstrategy tp 8\n")


def test_drawn_requests_past_the_context_are_warned_of_and_still_simulated():
    text = _plan("exponential")
    plan = load_plan_text(text)
    assert plan.model.context_length == CONTEXT
    prompt, output = request_lengths(plan.workload.traffic, plan.workload)     # the lengths the simulation draws
    tokens = prompt + output
    over, longest = int((tokens > CONTEXT).sum()), int(tokens.max())
    # an exponential of mean 11,500 (cv 1) past about 40,000 tokens: e^(-40,000 / 11,500) ≈ 3 % of 200 draws
    assert (over, longest) == (5, 76_212)
    (result,) = check(plan)
    (w,) = [d for d in result.diagnostics if d.code == "W528"]
    assert w.message.startswith(f"{over} requests of the 200 simulated are drawn longer than the context of model "
                                f"`qwen3-30b-a3b`: {CONTEXT:,} tokens (the longest {longest:,} prompt + output tokens)")
    assert text[w.span.start:w.span.end] == "lengths = exponential"
    assert "a lower `length_cv`" in w.hint and "a longer context" in w.hint
    assert len(result.load.load.arrival) == 200           # every drawn request is simulated, those too


def test_drawn_requests_within_the_context_are_not_warned_of():
    plan = load_plan_text(_plan("uniform"))
    prompt, output = request_lengths(plan.workload.traffic, plan.workload)
    assert int((prompt + output).max()) <= CONTEXT        # uniform draws stay within twice the means: 25,000
    (result,) = check(plan)
    assert "W528" not in {d.code for d in result.diagnostics}

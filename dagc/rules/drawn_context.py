"""Drawn request lengths past the model's context: W528.

A workload's `prompt + generate` and a request log's requests longer than the model's context are E111
(`dagc.lang.context`). Drawn lengths (`lengths` other than `fixed`) are drawn around those means, and a wide
spread sends some requests past the context though the means are within it: an engine refuses those. Until
2026-11-30 dagc simulated them unsaid (`lengths = exponential`, `prompt = 8000` on qwen3-30b-a3b, 40,960 tokens:
5 of 500 requests up to 56,730 tokens). `dagc.verdict.load_warnings.over_context` counts them in a strategy's
simulated load.
"""

from __future__ import annotations

from ..diagnostics import Diagnostic, Severity, code
from ..plan.plan import Plan
from ..units import count_text
from .base import diag, pass_rule

__all__ = ["RULES", "drawn_over_context"]


def drawn_over_context(plan: Plan, count: int, total: int, longest: int) -> Diagnostic:
    """Drawn request lengths reach past the model's context: an engine refuses those requests.

    With `lengths = uniform`, `exponential` or `lognormal` each request's prompt and output are drawn around
    `prompt` and `generate` (docs/language.md, "Lengths and a shared prefix"); a wide spread draws some far
    above the means, and a request whose prompt and output together are more than the model's context
    (`context_length`, the preset's) is one no engine serves: vLLM answers it with a 400 error ("This model's
    maximum context length is … tokens", its OpenAI server's input check), SGLang and TensorRT-LLM refuse it
    too. dagc still simulates those requests as drawn, so the figures are the same as without the warning
    (the same plan draws the same lengths): they then hold a few requests the deployment would not serve —
    read them as of a traffic slightly heavier than it would be. Narrow the spread (a lower `length_cv`, or
    `lengths = uniform`, whose draws stay within twice the means), shorten `prompt` and `generate`, or serve a
    model with a longer context.

    Bad:
        model preset "qwen3-30b-a3b"      # a context of 40,960 tokens
        workload { batch = 64  prompt = 8000  generate = 500  serving = inflight
                   rate = 2 requests/s  requests = 500  lengths = exponential }
    Fixed:
        model preset "qwen3-30b-a3b"
        workload { batch = 64  prompt = 8000  generate = 500  serving = inflight
                   rate = 2 requests/s  requests = 500  lengths = uniform }
    """
    w, context = plan.workload, plan.model.context_length
    return diag("W528", Severity.WARNING,
                f"{count_text(count, 'request')} of the {total:,} simulated {'is' if count == 1 else 'are'} drawn "
                f"longer than the context of model {code(plan.model.name)}: {context:,} tokens (the longest "
                f"{longest:,} prompt + output tokens); an engine refuses {'it' if count == 1 else 'them'}, dagc "
                "simulates them as drawn",
                plan.span_of("workload.lengths") or plan.span_of("workload.requests") or plan.span_of("workload"),
                f"narrow the spread (a lower `length_cv`, or `lengths = uniform`, whose draws stay within twice the "
                f"means), shorten `prompt = {w.prompt}` and `generate = {w.generate}`, or serve a model with a "
                "longer context")


RULES = (
    pass_rule("W528", Severity.WARNING, "drawn request lengths past the model's context: an engine refuses them",
              doc=drawn_over_context.__doc__, passes=(drawn_over_context,)),
)

"""What a simulated load warns of about the requests it ran: W519, a request larger than a rank's KV cache, and
W526, with chunked prefill off, prompts longer than a step's whole budget, and W528, drawn requests longer than the
model's context (`dagc.verdict.under_load` adds them to a strategy's load)."""

from __future__ import annotations

import numpy as np

from ..diagnostics import Diagnostic
from ..layout.modes import mode_of
from ..plan.plan import Plan
from ..rules.drawn_context import drawn_over_context
from ..rules.engine import prompts_over_chunk
from ..rules.serving import request_over_kv
from ..serve.load_result import Load

__all__ = ["over_chunk", "over_context", "over_kv"]


def over_kv(plan: Plan, load: Load) -> tuple[Diagnostic, ...]:
    """W519 for the largest request whose prompt and output are more than a rank's KV cache holds."""
    if load.kv_tokens is None or not len(load.arrival):
        return ()
    prompt = load.prompt if load.prompt is not None else np.full(len(load.arrival), plan.workload.prompt)
    context = np.asarray(prompt) + load.output_tokens
    i = int(np.argmax(context))
    if int(context[i]) <= load.kv_tokens:
        return ()
    return (request_over_kv(plan, i, int(prompt[i]), int(load.output_tokens[i]), load.kv_tokens),)


def over_chunk(plan: Plan, load: Load) -> tuple[Diagnostic, ...]:
    """W526 when, with chunked prefill off, the simulated requests hold prompts longer than a step's budget."""
    w = plan.workload
    if not mode_of(w).whole_prompts(w.chunked_prefill) or load.prefill_instances or load.prompt is None or \
            not len(load.prompt):
        return ()                  # a disaggregated strategy's pools mix no step: their prompts are prefilled apart
    prompt = np.asarray(load.prompt)
    count = int((prompt > w.chunk_tokens).sum())
    return (prompts_over_chunk(plan, count, len(prompt), int(prompt.max())),) if count else ()


def over_context(plan: Plan, load: Load) -> tuple[Diagnostic, ...]:
    """W528 when drawn lengths send requests (prompt + output) longer than the model's context; they stay simulated
    (`drawn_over_context`). A log's or the workload's own are E111 before any load is run."""
    context, traffic = plan.model.context_length, plan.workload.traffic
    if context is None or traffic is None or traffic.log is not None or load.prompt is None or not len(load.prompt):
        return ()
    tokens = np.asarray(load.prompt) + load.output_tokens
    count = int((tokens > context).sum())
    return (drawn_over_context(plan, count, len(tokens), int(tokens.max())),) if count else ()

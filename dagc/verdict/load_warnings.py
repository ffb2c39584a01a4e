"""What a simulated load warns of about the requests it ran: W519, a request larger than a rank's KV cache, and
W526, with chunked prefill off, prompts longer than a step's whole budget (`dagc.verdict.under_load` adds them to
a strategy's load)."""

from __future__ import annotations

import numpy as np

from ..diagnostics import Diagnostic
from ..layout.modes import mode_of
from ..plan.plan import Plan
from ..rules.engine import prompts_over_chunk
from ..rules.serving import request_over_kv
from ..serve.load_result import Load

__all__ = ["over_chunk", "over_kv"]


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

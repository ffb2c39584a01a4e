"""A request log whose requests are not the workload's lengths: W536.

The workload's `prompt` and `generate` are required, and with a request log (`requests from "FILE"`) they still
price everything but the replay: the steady state, the memory table, the search and the optimal verdict. A user who
adds a log to a workload written for other requests (10,240 + 256 tokens beside Azure's conversation log of 1,014 +
247) was told nothing, and read a memory table and an optimal verdict of requests the log never sends.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..diagnostics import Diagnostic, Severity
from ..plan.plan import Plan
from .base import RuleContext, diag, make_rule

__all__ = ["OWN_LENGTHS", "RULES", "log_lengths"]

OWN_LENGTHS = 0.05      # a mean this far (relative) from the workload's is the log's own (as `verdict.under_load`'s)


def check_log_lengths(ctx: RuleContext) -> Iterator[Diagnostic]:
    """The request log's requests have other lengths than the workload's `prompt` and `generate`.

    A log replays each request with its own prompt and output (docs/language.md, "Request logs"); the workload's
    `prompt` and `generate` stay the lengths of the steady state — TTFT, TPOT and tokens/s in the metrics table —,
    of the memory table (the KV cache at full length), and of the search that judges whether a strategy is optimal.
    When the log's mean prompt or mean output is more than 5 % from them, those figures are of requests the traffic
    does not send: write the log's means in the workload (its first `requests`, those replayed), as
    examples/qwen3-30b-a3b-traffic.moe does.

    Bad:
        workload { batch = 128  prompt = 10240  generate = 256  serving = inflight
                   requests from "azure-llm-conv-2023-first1000.csv" }     # 1,014 + 247 tokens on average
    Fixed:
        workload { batch = 128  prompt = 1014  generate = 247  serving = inflight
                   requests from "azure-llm-conv-2023-first1000.csv" }
    """
    yield from log_lengths(ctx.plan)


def log_lengths(plan: Plan) -> Iterator[Diagnostic]:
    """W536 of `plan` (`check_log_lengths`), the same for every strategy: also what `dagc fleet` says of the traffic
    it judges every cluster under."""
    w = plan.workload
    log = w.traffic.log if w.traffic is not None else None
    if log is None or log.requests == 0:
        return
    n = min(w.traffic.requests, log.requests) if w.traffic is not None else log.requests
    prompt, output = float(log.prompt[:n].mean()), float(log.output[:n].mean())
    if abs(prompt / w.prompt - 1) <= OWN_LENGTHS and abs(output / w.generate - 1) <= OWN_LENGTHS:
        return
    p, g = max(1, round(prompt)), max(1, round(output))
    yield diag("W536", Severity.WARNING,
               f"the request log's {n:,} requests average {p:,} prompt + {g:,} output tokens, the workload's `prompt` "
               f"and `generate` {w.prompt:,} + {w.generate:,}: the steady state (TTFT, TPOT, tokens/s), the memory "
               "table and the search behind the optimal verdict are priced at the workload's lengths, which the log "
               "does not send",
               plan.span_of("workload.prompt") or plan.span_of("workload"),
               f"write the log's means in the workload, `prompt = {p}  generate = {g}` (`--set workload.prompt={p} "
               f"--set workload.generate={g}` tries them)")


RULES = (
    make_rule("W536", Severity.WARNING, "a request log whose requests are not the workload's lengths",
              check_log_lengths, plan_level=True),
)

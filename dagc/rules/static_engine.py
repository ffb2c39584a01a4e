"""A plan that names a serving engine and sends it traffic, served statically: W534.

vLLM, SGLang and TensorRT-LLM serve in flight (continuous batching with chunked prefill); a workload left at
its default, `serving = static`, simulates its traffic as batches prefilled together, then decoded together — an
offline batch job none of them runs —, and a new user who named the engine and a rate reads TTFTs of seconds and
a capacity a thousandth of what the engine serves.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..diagnostics import Diagnostic, Severity
from ..lang.engine import engine_chosen
from ..layout.modes import mode_of
from ..plan.engines import ENGINE_SAID
from .base import RuleContext, diag, make_rule

__all__ = ["RULES"]

_SERVING_ENGINES = ("vllm", "sglang", "trtllm")      # `pytorch` is dagc's plain reference: no server


def check_static_traffic(ctx: RuleContext) -> Iterator[Diagnostic]:
    """The plan names a serving engine and sends it traffic, but serves it statically.

    vLLM, SGLang and TensorRT-LLM serve in flight: continuous batching, a prompt split into chunks that ride along
    with everyone's decode tokens (docs/language.md, `serving = inflight`). A workload that does not say
    `serving = inflight` is served statically — `batch` requests prefilled together, then decoded together, an
    offline batch job —, and its traffic (`rate`, `concurrency`, a request log) is simulated so: each request
    waits for a whole batch to end before its prefill starts, TTFT is the batch's makespan and the capacity a small
    share of what the named engine serves. The figures are those of a server the plan's engine is not.

    Bad:
        cluster { gpus = 16  gpu preset "h200"  engine = sglang }
        workload { batch = 256  prompt = 2000  generate = 400  rate = 4 requests/s }
    Fixed:
        workload { batch = 256  prompt = 2000  generate = 400  serving = inflight  rate = 4 requests/s }
    """
    plan = ctx.plan
    w, engine = plan.workload, plan.cluster.engine.name
    if w.traffic is None or engine not in _SERVING_ENGINES or not engine_chosen(plan) or mode_of(w).continuous \
            or mode_of(w).role is not None:
        return
    said = ENGINE_SAID[engine]
    yield diag("W534", Severity.WARNING,
               f"the plan serves with {said}, which batches continuously, but its workload is served statically: "
               "its traffic is simulated as batches of `batch` requests prefilled together, then decoded together, "
               f"each waiting for the batch before it — not as {said} serves it",
               plan.span_of("workload.serving") or plan.span_of("workload"),
               f"write `serving = inflight` in the workload, as {said} serves (`--set workload.serving=inflight` "
               "tries it); keep `serving = static` only for an offline batch job")


RULES = (
    make_rule("W534", Severity.WARNING, "a named serving engine's traffic served statically", check_static_traffic,
              plan_level=True),
)

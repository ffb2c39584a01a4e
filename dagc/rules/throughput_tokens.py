"""N606: a `throughput` requirement met only because it counts prompt tokens (`counted_tokens_notes`).

`throughput` is end to end — the prompt and generated tokens of the batch over a request's whole time (docs/language.md,
`require`) —, where a target quoted as "tokens/second" is often of generated tokens alone, what `decode_throughput`
judges: a seed's "20,000 tokens/second" written `throughput >= 20000 tokens/s` was met 3.9× over, where the examples
read it as decode throughput, which was missed (until 2026-12-01 nothing said so). Emitted by `dagc.verdict.analyse`
once the requirements are judged, from the figures they are judged on, and for a disaggregated strategy by
`dagc.verdict.pools.check_pools`, from the deployment's (until 2026-12-01 a disaggregated strategy got no N606).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from ..diagnostics import Diagnostic, Severity
from ..plan.plan import Plan
from ..plan.workload import Requirement, RequirementKind
from .base import diag, pass_rule
from .requirement_text import requirement_value_text

__all__ = ["COUNTED", "RULES", "counted_tokens_notes"]

# the tokens each throughput requirement counts, as the requirements table says it beside a `throughput` figure
COUNTED = {RequirementKind.THROUGHPUT: "prompt + generated tokens"}


class Judged(Protocol):
    """A requirement as judged (`dagc.verdict.verdict.RequirementResult`)."""

    @property
    def requirement(self) -> Requirement: ...
    @property
    def value(self) -> float | None: ...
    @property
    def met(self) -> bool | None: ...


def counted_tokens_notes(plan: Plan, judged: Sequence[Judged], gpus: int | None,
                         decode_tokens_per_s: float | None) -> Iterator[Diagnostic]:
    """N606 of each `throughput` requirement `judged` met whose target the decode throughput — generated tokens
    alone, of the same steady state (`decode_tokens_per_s`, on `gpus` GPUs) — misses."""
    named = {q.requirement.kind: q.requirement for q in judged}
    for q in judged:
        req = q.requirement
        if req.kind is not RequirementKind.THROUGHPUT or q.met is not True or q.value is None \
                or decode_tokens_per_s is None or not gpus:
            continue
        generated = decode_tokens_per_s / gpus if req.per_gpu else decode_tokens_per_s
        if req.holds(generated):
            continue
        written = f"decode_throughput {req.text.split(' ', 1)[1]}" if " " in req.text else "decode_throughput"
        own = named.get(RequirementKind.DECODE_THROUGHPUT)
        hint = (f"the plan's `{own.text}` judges generated tokens alone" if own is not None else
                f"if the target is of generated tokens alone, write `{written}`")
        yield diag("N606", Severity.NOTE,
                   f"`{req.text}` counts prompt and generated tokens ({requirement_value_text(req, q.value)}); "
                   f"counting generated tokens only — the decode throughput, {requirement_value_text(req, generated)} —"
                   " it would be missed",
                   req.span or plan.span_of("require"), hint)


RULES = (pass_rule("N606", Severity.NOTE, "a `throughput` requirement met only counting prompt tokens", """\
A `throughput` requirement is end to end: the batch's prompt and generated tokens over a request's whole time
(docs/language.md, `require`). A target quoted as tokens per second is often of generated tokens alone, which
`decode_throughput` judges; when the strategy meets `throughput` but its decode throughput misses the same
target, dagc says so: the verdict rests on which tokens are counted. The requirements table names the tokens
beside a `throughput` figure too ("prompt + generated tokens"). A disaggregated strategy (prefill and decode
pools) is judged alike, on the deployment's figures: per GPU, over both pools' GPUs. Its figures are written as
the requirements table and the metrics write them, in the requirement's unit to four significant digits
(`45,471 tokens/s`, `11.37 tokens/ms/gpu`; until 2026-12-02 `45,471.2 tokens/s` and `11.4 tokens/ms/gpu`).

Bad:
    workload { batch = 128  prompt = 2048  generate = 256 }
    require { throughput >= 20000 tokens/s }      # 57,024 tokens/s, of which generated 6,826 in decode
Fixed:
    require { decode_throughput >= 20000 tokens/s }   # generated tokens, if that is the target meant
""", (counted_tokens_notes,)),)

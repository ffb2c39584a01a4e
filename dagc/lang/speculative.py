"""The `speculative { … }` block of a workload (SPEC 12): speculative decoding's method, drafted tokens
and acceptance, checked and lowered to `dagc.plan.workload.Speculative`."""

from __future__ import annotations

from ..plan.workload import Speculative
from ..source import Span
from .block_fields import speculative_fields
from .blocks import BAD, Collector, Item, read_block
from .fields import SPECULATIVE_FIELDS

__all__ = ["lower_speculative"]


def lower_speculative(out: Collector, block: tuple[Item, ...], span: Span) -> Speculative | None:
    """`speculative { method = mtp|eagle|ngram  tokens = k  acceptance = a | accept_length = L }`."""
    read, _ = read_block(out, block, "workload.speculative", SPECULATIVE_FIELDS)
    if any(v is BAD for v in read.values()):
        return None
    values = speculative_fields(read)
    where = out.spans.get("workload.speculative", span)
    for key in ("method", "tokens"):
        if key not in values and f"workload.speculative.{key}" not in out.guessed:    # a typo's E101 says it
            out.error("E103", f"the speculative block has no `{key}`", where,
                           "write e.g. `speculative { method = mtp  tokens = 1  acceptance = 0.8 }`")
    given = [k for k in ("acceptance", "accept_length") if k in values]
    if len(given) != 1:
        out.error("E103" if not given else "E104",
                       "the speculative block needs one of `acceptance` and `accept_length`" if not given else
                       "give `acceptance` or `accept_length`, not both",
                       out.spans.get("workload.speculative.accept_length", where),
                       "`acceptance = 0.8` (each drafted token accepted with that probability) or "
                       "`accept_length = 2.4` (tokens a step emits, as engines report it)")
    if "tokens" in values and "accept_length" in values and values["accept_length"] > values["tokens"] + 1:
        out.error("E104", f"accept_length {values['accept_length']:g} exceeds the tokens a step can emit "
                       f"({values['tokens'] + 1}: the {values['tokens']} drafted and the next)",
                       out.spans.get("workload.speculative.accept_length", where),
                       f"write `accept_length` of at most {values['tokens'] + 1}, or draft more `tokens`")
    if out.has_errors:
        return None
    return Speculative(method=values["method"], tokens=values["tokens"], acceptance=values.get("acceptance"),
                       accept_length=values.get("accept_length"))


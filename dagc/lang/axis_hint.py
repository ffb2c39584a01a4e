"""E101 for an unknown axis of a strategy, and its hint (`dagc.lang.flatten`, the pass that finds it).

Input: the axis as written (`AxisNode`) and where it stands. Output: the diagnostic, appended to the pass's. A
strategy written as another tool writes it (`TP 8 X EP 2`) has several unknown axes whose hint is the same rewrite
of the whole strategy (`tp 8 ; ep 2`): they are one E101, naming each and reaching from the first to the last, the
rewrite said once (until 2026-11-29 it was said once an axis, the same hint three times).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from ..diagnostics import Diagnostic, Severity
from ..plan.strategy import POOL_ROLES, Axis, AxisNode
from .attention_dp_hint import attention_dp_hint
from .fields import AXES_SAID, AXIS_WORDS, nearest
from .hints import axis_word_hint
from .pool_hint import POOLS_HINT
from .strategy_slips import data_parallel_hint, rewrite_hint, split_leaves_it_wrong

__all__ = ["KEYWORD_HINT", "OPTION_KEYWORD_HINT", "unknown_axis", "unknown_axis_hint"]

KEYWORD_HINT = "drop the `strategy` keyword"                  # `strategy tp 8` pasted where an expression goes
OPTION_KEYWORD_HINT = KEYWORD_HINT + ": --strategy takes the expression"
_AXES = [a.value for a in Axis]


def unknown_axis_hint(a: AxisNode, position: int = 0, stage: Sequence[Sequence[AxisNode]] = ()) -> str:
    """The hint of E101 for an axis name: the `strategy` keyword pasted into --strategy (the way a
    report prints a strategy), a near axis name — first among those that fit where it stands (dp
    and pp open a `<` scope; the first in-stage domain is attention's, the one after `;` the
    experts') — or the list of axes; another tool's spelling (`tp 8 x ep 2`, `TP8EP2`) as dagc reads it, and so
    axes glued to their degrees where splitting them alone would not read (`tp2 ep2`: `tp 2 ; ep 2`); attention data
    parallelism written as an axis (`adp 4 ; ep 4`), the stage without it (`stage`: the domains it stands in)."""
    if a.name == "strategy":
        return OPTION_KEYWORD_HINT if a.span.source.path == "--strategy" else KEYWORD_HINT
    if (adp := attention_dp_hint(a, stage or ((a,),))) is not None:
        return adp
    said, whole = axis_word_hint(a.name, a.span, _AXES), rewrite_hint(a.span.source, a.span.start)
    if said is not None and whole is not None and split_leaves_it_wrong(a.span.source, a.span.start):
        return whole            # `tp2 ep2`: `tp 2 ep 2` would be E202; the rewrite `tp 2 ; ep 2` reads
    if (said := said or whole or data_parallel_hint(a.span.source, a.span.start)) is not None:
        return said
    pool = nearest(a.name, POOL_ROLES) if a.body is not None else None
    if pool is not None and nearest(a.name, _AXES, AXIS_WORDS) is None:    # `prefil 1 < tp 4 >`: "unknown axis" alone
        return f"did you mean `{pool}`? (a pool of a disaggregated strategy: {POOLS_HINT})"  # until 2026-11-30
    fitting = ["dp", "pp"] if a.body is not None else ["tp", "cp", "sp"] if position == 0 else ["ep", "etp"]
    best = nearest(a.name, fitting, AXIS_WORDS) or nearest(a.name, _AXES, AXIS_WORDS)
    return f"did you mean `{best}`?" if best else f"axes are {AXES_SAID}"


def unknown_axis(diags: list[Diagnostic], a: AxisNode, position: int = 0,
                 stage: Sequence[Sequence[AxisNode]] = ()) -> None:
    """E101 for the unknown axis `a` (`position`: its in-stage domain, `unknown_axis_hint`), appended to `diags`;
    where its hint rewrites the whole strategy and an E101 before it already gives that rewrite, that error names
    `a` too and reaches to it instead (module docstring)."""
    hint = unknown_axis_hint(a, position, stage)
    whole = rewrite_hint(a.span.source, a.span.start) or data_parallel_hint(a.span.source, a.span.start)
    # the E101 before it with that rewrite, looked for only when the hint is one (not once an axis: time N²)
    at = None if hint != whole else next((i for i, d in enumerate(diags) if d.code == "E101" and d.hint == hint
                                          and d.span is not None and d.span.source is a.span.source), None)
    if at is None:
        diags.append(Diagnostic("E101", Severity.ERROR, f"unknown axis `{a.name}`", a.span, hint))
        return
    first = diags[at]
    assert first.span is not None
    message = first.message.replace("unknown axis ", "unknown axes ", 1) + f", `{a.name}`"
    diags[at] = dataclasses.replace(first, message=message, span=first.span.to(a.span))

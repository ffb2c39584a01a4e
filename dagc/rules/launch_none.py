"""A strategy that no engine dagc launches starts, on a plan that names no engine: W533. Emitted by
`unstartable` below, from `dagc.launch.engine_check.unstartable_warnings`, which asks each engine's launch
mapping (`dagc.launch.launch.launch_refusals`, through `dagc.launch.any_engine.every_engine_refuses`) as
`dagc launch` does.
"""

from __future__ import annotations

from ..diagnostics import Diagnostic, Severity
from ..source import Span
from .base import pass_rule

__all__ = ["RULES", "unstartable"]


def unstartable(message: str, span: Span | None, hint: str | None = None) -> Diagnostic:
    """The located warning of a strategy every engine refuses, on a plan that names no engine (W533)."""
    return Diagnostic("W533", Severity.WARNING, message, span, hint)


W533 = """
A plan that names no engine is priced as the default engine (vLLM) serves it, and `check` does not
refuse its strategies for what that engine's launcher cannot express (docs/language.md, "The
engine"): the plan says nothing of how it is started. A strategy that every engine dagc launches
refuses — vLLM, SGLang and TensorRT-LLM each giving an E7xx, as `dagc launch` says — starts
however the engine is chosen, never: `sp` with tp above 1 (E709 on all three) is the common case.
`check` warns with the codes each engine gives and the nearest strategy the default engine runs
(the strategy stays correct: the plan chose no engine to refuse it), and `dagc search` marks such
a row with the default engine's codes and names the best row that engine starts, which the
optimal verdict compares with (docs/search.md, "On the plan's own engine"). Naming the engine
turns its refusals into errors (E7xx) and leaves the strategy out of the search.

Bad:
    model preset "deepseek-v3"
    cluster { gpus = 16  gpu preset "h200"  gpus_per_node = 8 }
    strategy tp 8 sp ; ep 16                 # E709 on vLLM, SGLang and TensorRT-LLM
Fixed:
    strategy tp 8 ; ep 16
"""

RULES = (
    pass_rule("W533", Severity.WARNING, "no engine dagc launches starts the strategy (a plan that names none)",
              doc=W533, passes=(unstartable,)),
)

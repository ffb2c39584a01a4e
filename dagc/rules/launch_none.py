"""A strategy that no engine dagc launches starts, on a plan that names no engine: W533; one the default engine
refuses and another starts: N607. Emitted by
`unstartable` below, from `dagc.launch.engine_check.unstartable_warnings`, which asks each engine's launch
mapping (`dagc.launch.launch.launch_refusals`, through `dagc.launch.any_engine.every_engine_refuses`) as
`dagc launch` does.
"""

from __future__ import annotations

from ..diagnostics import Diagnostic, Severity
from ..source import Span
from .base import pass_rule

__all__ = ["RULES", "default_refuses", "unstartable"]


def unstartable(message: str, span: Span | None, hint: str | None = None) -> Diagnostic:
    """The located warning of a strategy every engine refuses, on a plan that names no engine (W533)."""
    return Diagnostic("W533", Severity.WARNING, message, span, hint)


def default_refuses(message: str, span: Span | None, hint: str | None = None) -> Diagnostic:
    """The located note of a strategy the default engine refuses and another starts, on a plan that names no engine
    (N607)."""
    return Diagnostic("N607", Severity.NOTE, message, span, hint)


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

N607 = """
A plan that names no engine is priced as the default engine (vLLM) serves it, and `check` does not
refuse its strategies for what that engine's launcher cannot express (W533 above). A strategy the
default engine refuses (an E7xx `dagc launch` gives) and another engine dagc launches starts is
priced as an engine that cannot start it: the note names the engines that can, and the way to price
it as one of them serves it — naming it in the plan, which also turns that engine's refusals into
errors. The strategy stays correct: the plan chose no engine to refuse it.

Bad:
    model preset "qwen3-30b-a3b"
    cluster { gpus = 8  gpu preset "h100-sxm" }
    strategy tp 4 ; ep 2 etp 2               # E702 on vLLM; SGLang and TensorRT-LLM start it
Fixed:
    cluster { gpus = 8  gpu preset "h100-sxm"  engine = sglang }
    strategy tp 4 ; ep 2 etp 2
"""

RULES = (
    pass_rule("W533", Severity.WARNING, "no engine dagc launches starts the strategy (a plan that names none)",
              doc=W533, passes=(unstartable,)),
    pass_rule("N607", Severity.NOTE, "the default engine cannot start the strategy, another can (a plan that names "
              "none)", doc=N607, passes=(default_refuses,)),
)

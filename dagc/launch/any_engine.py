"""What a plan that does not choose its engine is refused whatever the engine: the facts no engine dagc launches
gets round, said by `check` and the search on a plan that names no engine as on one that names it.

Input: a `Plan` (and a strategy of it). Output: whether the plan chose an engine with a launcher
(`engine_judges`) or is priced as the default one serves it (`default_engine_judges`); E706 when the
checkpoint has no MTP layers to draft with (`checkpoint_refusals`: a fact of the checkpoint); and the codes
every engine refuses a strategy for (`every_engine_refuses`: W533 in `check`).
`dagc.launch.engine_check` says them beside the chosen engine's own refusals.
"""

from __future__ import annotations

from ..diagnostics import Diagnostic
from ..lang.engine import engine_chosen
from ..layout.layout import Layout
from ..plan.plan import Plan
from ..plan.printer import aggregated
from ..plan.strategy import Strategy
from ..rules.launch import engine_refusal
from .degrees import degrees
from .engines import TABLES
from .launch import field_span, launch_refusals
from .speculative import mtp_refusal, mtp_weights

__all__ = ["E706_HINT", "E708_HINT", "checkpoint_refusals", "default_engine_judges", "engine_judges",
           "every_engine_refuses"]

# E708's: a path no command carries is the directory's (until 2026-12-03 "the nearest strategy vLLM can run", itself)
E708_HINT = ("move or copy the model's directory (its config.json and weights) to a path of printable characters, "
             "and run dagc launch from a directory whose path has none either")
E706_HINT = ("no strategy changes the checkpoint: draft with `method = eagle` (a draft model trained for this one) or "
             "`method = ngram`, leave out `speculative { … }`, or serve a model whose checkpoint ships MTP layers "
             "(DeepSeek-V3, GLM-4.5)")


def engine_judges(plan: Plan) -> bool:
    """Whether the plan's engine refuses strategies in `check` and in the search: an engine the plan
    chose (`engine_chosen`) that has a launcher (not `pytorch`)."""
    return plan.cluster.engine.name in TABLES and engine_chosen(plan)


def default_engine_judges(plan: Plan) -> bool:
    """Whether the plan names no engine and is priced as one with a launcher serves it (the default, vLLM): the
    engine whose refusals `default_engine_refuses` gives."""
    return not engine_chosen(plan) and plan.cluster.engine.name in TABLES


def checkpoint_refusals(plan: Plan) -> tuple[Diagnostic, ...]:
    """E706 on a plan that chose no engine with a launcher (it names none, or `pytorch`): MTP drafting from a
    checkpoint without MTP weights is a fact of the checkpoint, which every engine refuses alike
    (`dagc.launch.speculative.lacks_mtp`, the predicate each engine's launch asks too), located at `method` with
    the hint `check` gives on a named engine. Empty otherwise: a chosen engine says it itself (`plan_refusals`).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 8 prompt = 512 generate = 64 speculative { method = mtp '
        ...                    'tokens = 1 acceptance = 0.7 } } strategy tp 8')
        >>> [(d.code, d.hint == E706_HINT) for d in checkpoint_refusals(p)]
        [('E706', True)]
    """
    spec = plan.workload.speculative
    if engine_judges(plan) or spec is None or spec.method != "mtp":
        return ()
    message = mtp_refusal(spec, mtp_weights(plan), None, plan.model.name)
    if message is None:
        return ()
    return (engine_refusal("E706", message, field_span(plan, aggregated(tp=1), "workload.speculative.method"),
                           E706_HINT),)


def every_engine_refuses(plan: Plan, strategy: Strategy, layout: Layout) -> tuple[str, ...]:
    """On a plan that names no engine (`default_engine_judges`), the codes every engine dagc launches refuses
    `strategy` for (each one's `launch_refusals`, as `dagc launch` gives them), when every one refuses it: what
    `check` warns of (W533, `dagc.launch.engine_check.unstartable_warnings`); empty when
    one of them starts it, and on a plan that chose its engine (`engine_refuses` says that one's).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.layout.layout import resolve
        >>> from dagc.plan.printer import aggregated
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 8 prompt = 512 generate = 64 } strategy tp 8')
        >>> [every_engine_refuses(p, s, resolve(p.model, p.cluster, p.workload, s))
        ...  for s in (aggregated(tp=8, sp=True), aggregated(tp=4, ep=2, etp=2))]
        [('E709',), ()]
    """
    if not default_engine_judges(plan):
        return ()
    d = degrees(plan, strategy, layout)
    codes: set[str] = set()
    for table in TABLES.values():
        found = launch_refusals(plan, table, d)
        if not found:
            return ()
        codes |= {r.code for r in found}
    return tuple(sorted(codes))

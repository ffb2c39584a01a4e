"""`dagc check` on the plan's own engine: what its launcher cannot express is an error of the strategy.

Input: a checked `StrategyResult` (`dagc.verdict.check`). Output: the same result with the E7xx
diagnostics `dagc launch` gives on the plan's engine — computed by the launch mapping itself
(`dagc.launch.engines.launch_result`), never restated — and its verdict judged again: a strategy the
engine cannot start is not correct.

Only an engine the plan chose says so: one it names (`cluster { engine = … }`, `--set cluster.engine=…`,
docs/language.md) or the one its imported kernel profile was measured in. A plan that names none is
priced as the default engine serves it, but not refused by that engine's launcher: the strategy search
does not apply launch rules either, and a plan written without an engine says nothing of how it is
started. `pytorch`, dagc's plain reference, has no launcher: a plan on it gets no E7xx here, and
`dagc launch` still writes every engine's command.
"""

from __future__ import annotations

from dataclasses import replace

from ..diagnostics import Diagnostic, cap
from ..lang.engine import engine_chosen
from ..verdict.check import StrategyResult
from ..verdict.verdict import verdict
from .engines import TABLES, launch_result

__all__ = ["engine_checked", "engine_refusals"]


def engine_refusals(result: StrategyResult) -> tuple[Diagnostic, ...]:
    """The E7xx diagnostics of launching a valid strategy on the engine its plan chose (`engine_chosen`);
    none on `pytorch`, on the default engine, for a strategy already invalid, and for a strategy the
    engine can start."""
    engine = result.plan.cluster.engine.name
    if engine not in TABLES or not result.valid or not engine_chosen(result.plan):
        return ()
    return tuple(d for launched in launch_result(result, (engine,)) for d in launched.refusals)


def engine_checked(result: StrategyResult) -> StrategyResult:
    """`result` with its engine's refusals (`engine_refusals`) among its diagnostics and its verdict
    judged with them; `result` itself when there are none.

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.verdict.check import check
        >>> plan = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" '
        ...                       'engine = vllm } workload { batch = 8 prompt = 512 generate = 64 } '
        ...                       'strategy tp 8 ; ep 4 etp 2')
        >>> r = engine_checked(check(plan)[0])
        >>> [d.code for d in r.diagnostics if d.code.startswith("E")], r.verdict.correct
        (['E702'], False)
    """
    found = engine_refusals(result)
    if not found:
        return result
    diags = tuple(cap([*result.diagnostics, *found]))
    return replace(result, diagnostics=diags, next_steps=(),
                   verdict=verdict(list(diags), result.requirements, result.verdict.optimal))

"""Which of the search's best the default engine can start, on a plan that names no engine.

Input: a `Plan` that names no engine (`dagc.lang.engine.engine_chosen` false) and the search's ranking. Output:
the ranking with each of its first candidates carrying the E7xx codes the default engine's launcher (vLLM,
`dagc.launch.engine_check.default_engine_refuses`) gives it (`Candidate.engine_refusals`). The ranking is not
changed: a plan without an engine says nothing of how it is started, so `check` and the search refuse nothing
(docs/search.md, "On the plan's own engine"); but its figures are vLLM's, so the optimal verdict and `dagc
search` say when their best is a layout vLLM cannot start and name the best it can. A plan that chose its
engine has none to mark: the search left out what that engine refuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..launch.engine_check import default_engine_refuses
from ..layout.layout import resolve
from ..plan.plan import Plan
from .result import Candidate

__all__ = ["marked_refusals"]


def _refused(plan: Plan, c: Candidate) -> tuple[str, ...]:
    if c.strategy.pools:          # a disaggregated pair: its pools' launch is not asked here
        return ()
    update: dict[str, object] = {"overlap": c.overlap, "microbatches": c.microbatches}
    if c.batch is not None:
        update["batch"] = c.batch
    workload = plan.workload.model_copy(update=update)
    trial = plan.model_copy(update={"workload": workload})      # E703 and E707 read the workload's overlap
    return default_engine_refuses(trial, c.strategy, resolve(plan.model, plan.cluster, workload, c.strategy))


def marked_refusals(plan: Plan, ranked: Sequence[Candidate], need: int) -> list[Candidate]:
    """`ranked` with its first `need` candidates, and on past them up to the first the default engine starts,
    marked with that engine's refusals (`Candidate.engine_refusals`); as it is on a plan that chose its engine
    (or `pytorch`, which has no launcher: `default_engine_refuses` is empty there).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.search.search import search
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 64 prompt = 2048 generate = 256 } strategy tp 8')
        >>> [(c.text, c.engine_refusals) for c in search(p, top=3).ranked[:10] if c.engine_refusals][-2:]
        ... # doctest: +NORMALIZE_WHITESPACE
        [('tp 2 sp with microbatches 1 overlap none', ('E709',)),
         ('tp 1 ; ep 2 etp 2 with microbatches 1 overlap none', ('E702',))]
    """
    out = list(ranked)
    for i, c in enumerate(out):
        codes = _refused(plan, c)
        if codes:
            out[i] = replace(c, engine_refusals=codes)
        if i + 1 >= need and not codes:
            break
    return out

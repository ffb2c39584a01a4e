"""The engines `dagc launch` knows, and the launch of a checked strategy on each of them.

Input: a `StrategyResult` of `dagc.verdict.check` (or a plan, strategy and layout). Output: one
`dagc.launch.launch.Launch` per engine, in the order vLLM, SGLang, TensorRT-LLM.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..verdict.check import StrategyResult
from . import sglang as launch_sglang, trtllm as launch_trtllm, vllm as launch_vllm
from .launch import EngineTable, Launch, launch
from .pools import PdTable, launch_pooled

__all__ = ["ENGINES", "PD_TABLES", "TABLES", "launch_result"]

TABLES: dict[str, EngineTable] = {t.key: t for t in (launch_vllm.TABLE, launch_sglang.TABLE, launch_trtllm.TABLE)}
PD_TABLES: dict[str, PdTable] = {"vllm": launch_vllm.PD, "sglang": launch_sglang.PD, "trtllm": launch_trtllm.PD}
ENGINES = tuple(TABLES)


def launch_result(result: StrategyResult, engines: Sequence[str] = ENGINES,
                  file_dir: str | None = None) -> list[Launch]:
    """The launch of a checked strategy on each engine (a disaggregated one's pools and router:
    `dagc.launch.pools`); empty when the strategy is not valid.

    Example:
        >>> from dagc.verdict.check import check
        >>> from dagc.lang.load import load_plan_text
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 8 prompt = 512 generate = 64 } strategy tp 8 ; ep 4 etp 2')
        >>> [(x.engine, x.ok) for x in launch_result(check(p)[0])]
        [('vllm', False), ('sglang', True), ('trtllm', True)]
    """
    if not result.valid or result.strategy is None or result.layout is None:
        return []
    if result.pooled is not None:
        return [launch_pooled(result.plan, result.strategy, result.pooled, TABLES[e], PD_TABLES[e], file_dir)
                for e in engines]
    return [launch(result.plan, result.strategy, result.layout, TABLES[e], file_dir, result.memory) for e in engines]

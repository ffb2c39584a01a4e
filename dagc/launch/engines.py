"""The engines `dagc launch` knows, and the launch of a checked strategy on each of them.

Input: a `StrategyResult` of `dagc.verdict.check` (or a plan, strategy and layout). Output: one
`dagc.launch.launch.Launch` per engine, in the order vLLM, SGLang, TensorRT-LLM.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..plan.engines import NEWEST, Engine, EngineName
from ..verdict.check import StrategyResult
from . import sglang as launch_sglang, trtllm as launch_trtllm, vllm as launch_vllm
from .launch import EngineTable, Launch, launch
from .pools import PdTable, launch_pooled

__all__ = ["ENGINES", "FLAG_RELEASE", "PD_TABLES", "TABLES", "launch_result", "unchecked_release"]

TABLES: dict[str, EngineTable] = {t.key: t for t in (launch_vllm.TABLE, launch_sglang.TABLE, launch_trtllm.TABLE)}
PD_TABLES: dict[str, PdTable] = {"vllm": launch_vllm.PD, "sglang": launch_sglang.PD, "trtllm": launch_trtllm.PD}
ENGINES = tuple(TABLES)
# How many leading numbers of a release name the flags it takes, for the note on a plan naming another release than
# the one the flags were checked against (`NEWEST`): vLLM's and TensorRT-LLM's third number is a patch release of the
# same flags (0.33.1, 1.2.1); each of SGLang's 0.5.N is a feature release of its own, whose flags change (0.5.23
# dropped `--cuda-graph-max-bs`, docs/launch.md), so 0.5.2 is not 0.5.23.
FLAG_RELEASE: Mapping[EngineName, int] = {"vllm": 2, "sglang": 3, "trtllm": 2, "pytorch": 2}


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


def unchecked_release(engine: Engine, launched: str) -> tuple[str, str] | None:
    """The release `engine` names and the one `dagc launch` writes `launched`'s flags of (`NEWEST`), when `engine` is
    `launched` at another release of its flags (`FLAG_RELEASE`); None otherwise.

    Example:
        >>> from dagc.plan.engines import engine_of
        >>> unchecked_release(engine_of("sglang", "0.5.2"), "sglang")
        ('0.5.2', '0.5.23')
        >>> unchecked_release(engine_of("vllm", "0.33.1"), "vllm"), unchecked_release(engine_of("vllm"), "sglang")
        (None, None)
    """
    newest = NEWEST.get(engine.name)
    if engine.name != launched or engine.release is None or newest is None:
        return None
    parts = FLAG_RELEASE[engine.name]
    return None if engine.release.split(".")[:parts] == newest.split(".")[:parts] else (engine.release, newest)

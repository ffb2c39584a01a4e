"""vLLM's context parallelism for a model without MLA: which `cp` it starts (E731).

dagc's `cp C` splits each prompt over C ranks and holds 1/C of the KV cache on each. vLLM 0.33 says that as
`--prefill-context-parallel-size C --decode-context-parallel-size C`: PCP splits the prompt but all-gathers its
K and V, so every PCP rank holds the whole KV cache, and only DCP shards it (`ParallelConfig` takes DCP 1, C or
TP × C with PCP C; DCP C spans the PCP axis, vllm/distributed/parallel_state.py). For a model without MLA (GQA,
MQA) `ModelConfig.verify_with_parallel_config` (vllm/config/model.py) refuses any DCP above 1 unless
`--tensor-parallel-size` is above the model's KV heads, the DCP size at most TP // KV heads, and the query heads
per KV head divide by it — vllm-project/vllm PR 49777 made these ValueErrors; vllm-project/vllm#51429 and PR
55030 (still open in the copy read: re-check when the release moves) would count the PCP axis too. So where those
fail, no DCP size that vLLM accepts holds the KV cache as dagc prices it: DCP 1 keeps it whole on each cp rank
(C times dagc's), TP × C is above TP // KV heads too. dagc refuses (E731) rather than write a command vLLM
rejects, or one it runs with another memory; MLA models (DeepSeek-V3, Kimi-K2) are not checked there and launch
as before.
"""

from __future__ import annotations

from .degrees import Degrees
from .launch import Refusal

__all__ = ["CODE", "dcp_refusal"]

CODE = "E731"


def dcp_refusal(d: Degrees) -> list[Refusal]:
    """E731 when vLLM refuses `--decode-context-parallel-size {cp}` for `d`'s model (no MLA) and attention TP.

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.launch.degrees import degrees
        >>> from dagc.verdict.check import check
        >>> p = load_plan_text('model preset "qwen3-235b-a22b" cluster { gpus = 8 gpu preset "h200" } '
        ...                    'workload { batch = 16 prompt = 32000 generate = 1000 } strategy tp 4 cp 2 ; ep 8')
        >>> [r.code for r in dcp_refusal(degrees(p, check(p)[0].strategy))]
        ['E731']
    """
    if d.cp == 1 or d.mla or d.kv_heads < 1:
        return []
    tp, kv, cp = d.tp, d.kv_heads, d.cp
    if tp <= kv:
        why = f"--tensor-parallel-size {tp} is not above the model's {kv} KV heads"
    elif cp > tp // kv:
        why = f"{cp} is above --tensor-parallel-size // KV heads = {tp} // {kv} = {tp // kv}"
    elif (d.heads // kv) % cp:
        why = f"the model's {d.heads // kv} query heads per KV head do not divide by {cp}"
    else:
        return []
    return [Refusal(CODE, f"vLLM: `cp {cp}` needs --decode-context-parallel-size {cp} to hold 1/{cp} of the KV cache "
                    "on each rank, as dagc prices it, and for a model without MLA vLLM 0.33 refuses it: "
                    f"{why} (vllm/config/model.py, ModelConfig.verify_with_parallel_config); with DCP 1 every cp "
                    "rank would hold the whole KV cache", "cp")]

"""What vLLM cannot start of dagc's context parallelism (`dagc launch`, and `check` and the search on a plan that
chose vLLM): E731, `cp` on a model without MLA where vLLM refuses the decode context parallelism that holds 1/C of
the KV cache. Emitted like the other E7xx codes by `dagc.rules.launch.engine_refusal`, from vLLM's table
(`dagc.launch.vllm_cp`).
"""

from __future__ import annotations

from ..diagnostics import Severity
from .base import pass_rule
from .launch import engine_refusal

__all__ = ["RULES"]

E731 = """
vLLM (0.33) runs `cp C` as `--prefill-context-parallel-size C --decode-context-parallel-size C`:
prefill context parallelism splits each prompt over C ranks but gathers its keys and values, so
every rank holds the whole KV cache; decode context parallelism (DCP) is what holds 1/C of it on
each rank, as dagc's `cp C` prices it. For a model without MLA (grouped-query attention: Qwen3,
Mixtral, Llama 4, gpt-oss, GLM-4.5) vLLM refuses DCP above 1 unless the attention TP is above the
model's KV heads, DCP is at most TP // KV heads, and the query heads per KV head divide by it
(vllm/config/model.py, `ModelConfig.verify_with_parallel_config`). With DCP 1 each rank would hold
C times the KV cache dagc priced. MLA models (DeepSeek-V3, Kimi-K2) are not held to it.

Bad:
    model preset "qwen3-235b-a22b"                 # 64 query heads, 4 KV heads
    cluster { gpus = 8  gpu preset "h200"  engine = vllm }
    strategy tp 4 cp 2 ; ep 8                      # TP 4 is not above 4 KV heads
Fixed:
    strategy tp 8 ; ep 8                           # no cp
    # on 16 GPUs: tp 8 cp 2 ; ep 16                # 2 ≤ 8 // 4
"""

_PASSES = (engine_refusal,)

RULES = (
    pass_rule("E731", Severity.ERROR, "vLLM: `cp` on a model without MLA needs attention TP above the KV heads, cp at "
              "most TP // KV heads", doc=E731, passes=_PASSES),
)

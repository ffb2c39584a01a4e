"""What an engine does not start for want of KV cache (`dagc launch`, and `check` on a plan that chose the engine):
E732, one rank's KV cache under the engine's memory share too small for the longest request (vLLM) or for any
(SGLang). Emitted like the other E7xx codes by `dagc.rules.launch.engine_refusal`, from `dagc.launch.kv_start`.
"""

from __future__ import annotations

from ..diagnostics import Severity
from .base import pass_rule
from .launch import engine_refusal

__all__ = ["RULES"]

E732 = """
`dagc launch` gives the engine a memory share (the GPU's, or what the plan's `memory <= …` allows) and
a length limit (the longest request the plan sends: vLLM `--max-model-len`). What the share leaves
after the weights, the activations and the runtime's reserve is one rank's KV cache. vLLM does not
start when that cache cannot hold one request of the limit ("To serve at least one request with the
model's max seq len … larger than the available KV cache memory", or "No available memory for the
cache blocks": vllm/v1/core/kv_cache_utils.py). SGLang starts with its longest request cut to its
KV pool (`max_req_len`, python/sglang/srt/managers/scheduler.py) and refuses longer ones (W519), and
does not start with a pool under 7 tokens ("Memory pool size is too small"). TensorRT-LLM is refused
when its KV cache gets nothing. Each share is judged as its flag is written (rounded down to 0.001 of
the GPU); a disaggregated strategy's pools each on its own instance. The hint gives the least memory
requirement whose flag holds one request of the limit.

Bad:
    model preset "qwen3-30b-a3b"                   # 56.9 GiB of weights
    cluster { gpus = 1  gpu preset "h200"  engine = vllm }
    workload { batch = 8  prompt = 40000  generate = 500  serving = inflight }
    require { memory <= 40 % }                     # 56.2 GiB: no room for a KV cache
    strategy tp 1
Fixed:
    require { memory <= 47 % }                     # 66 GiB: one request of 40,500 tokens fits (46.5 % at least)
"""

RULES = (
    pass_rule("E732", Severity.ERROR, "launch: the engine's KV cache holds no request of its length limit: it does "
              "not start", doc=E732, passes=(engine_refusal,)),
)

"""`dagc launch` with chunked prefill off (`workload { chunked_prefill = off }`): what vLLM and SGLang are told
beyond their tables' flags, and what they run otherwise than dagc's whole-prompt step (docs/launch.md, "Chunked
prefill off"). dagc's step then runs a rank's decode tokens and whole prompts only, first come first served
while each fits in the rest of `chunk` (`dagc.layout.mix`); TensorRT-LLM's `enable_chunked_prefill: false`
needs nothing more (`dagc.launch.trtllm`).

vLLM 0.33.0: `--disable-chunked-prefill`, the other spelling of `--enable-chunked-prefill` in its parser (dest
`enable_chunked_prefill`; there is no `--no-enable-chunked-prefill`: dagc/data/engine_flags/vllm-0.33.0.json).
Its scheduler then schedules the running requests' tokens first and the waiting prompts whole, first come first
served, stopping at the first that does not fit the step's budget (vllm/v1/core/sched/scheduler.py
`Scheduler.schedule`: "If chunked_prefill is disabled, we can stop the scheduling here"), as dagc's step does;
but its config refuses a budget below the length limit (vllm/config/scheduler.py
`SchedulerConfig.verify_max_model_len`: "max_num_batched_tokens (…) is smaller than max_model_len (…)"), as a
preempted request is recomputed, prompt and output, in one step: E730 (`vllm_refusal`).

SGLang 0.5.23: `--chunked-prefill-size -1` ("Setting this to -1 means disabling chunked prefill",
arg_groups/fields/schedule.py; the scheduler reads any size ≤ 0 as none, managers/scheduler.py, and -1 stays -1
when divided by the attention-DP ranks, arg_groups/parallel_hook.py). A prefill batch then takes whole prompts,
first come first served until one does not fit (managers/schedule_policy.py `PrefillAdder`), within
`--max-prefill-tokens` (per rank; a lone longer prompt still runs: "the real bound will be the maximum of this
value and the model's maximum context length"). But `--enable-mixed-chunk` mixes only a chunked prefill into the
decode batch (the scheduler's `is_mixed_chunk` needs a chunked-prefill size), so SGLang runs the prefill batches
apart from the decode batches, which wait: not dagc's step. Said in a note (`SGLANG_NOTE`), not silently.
"""

from __future__ import annotations

from .degrees import Degrees
from .launch import Refusal

__all__ = ["SGLANG_NO_CHUNKING", "SGLANG_NOTE", "VLLM_CODE", "vllm_refusal"]

VLLM_CODE = "E730"
SGLANG_NO_CHUNKING = -1
SGLANG_NOTE = (
    "chunked prefill off: SGLang 0.5.23 mixes prompts into the decode step only when it chunks them (the scheduler's "
    "is_mixed_chunk needs a --chunked-prefill-size; managers/scheduler.py), so with --chunked-prefill-size -1 it runs "
    "each prefill batch of whole prompts (at most --max-prefill-tokens, the chunk) as a step of its own while the "
    "running requests' decoding waits, where dagc's in-flight figures run the decode tokens and whole prompts in one "
    "step: expect longer gaps between a request's tokens while prompts arrive (TPOT, its p99 most) than dagc's "
    "figures; `chunked_prefill = on` (--enable-mixed-chunk) runs the step dagc prices")


def vllm_refusal(d: Degrees) -> list[Refusal]:
    """E730: with chunked prefill off vLLM wants a step's budget (`--max-num-batched-tokens`, dagc's `chunk`) of at
    least the length limit (`--max-model-len`, the longest request), which no strategy changes; a larger budget
    would let a step carry more prompts than dagc's figures (and vLLM's profiling step more activations)."""
    if d.whole_prompts is None:
        return []
    chunk, limit = d.whole_prompts
    if chunk >= limit:
        return []
    return [Refusal(VLLM_CODE, f"vLLM: with chunked prefill off (--disable-chunked-prefill) a step's budget, "
                    f"--max-num-batched-tokens, must be at least --max-model-len (vllm/config/scheduler.py, "
                    f"SchedulerConfig.verify_max_model_len: a preempted request is recomputed whole in one step); "
                    f"here `chunk = {chunk}` is less than the longest request, {limit:,} tokens, and a larger budget "
                    "would let a step carry more prompts than dagc's figures do", "workload.chunked_prefill")]

"""What SGLang needs of an AMD GPU: MXFP4 weights on the MI350 series (gfx95) only (E734); and its context
parallelism, which keeps the whole KV cache on every CP rank (E712).

SGLang on ROCm loads an MXFP4 checkpoint (gpt-oss's experts) only where `mxfp_supported()` holds, which matches the
GPU's architecture name against `gfx95` (MI350X, MI355X); elsewhere `Mxfp4Config.from_config` raises "Current
platform gfx942 not support mxfp4 computation" (python/sglang/srt/layers/quantization/mxfp4.py, srt/utils/common.py;
public MI300X deployments quote it at SGLang 0.5.16 and 0.5.17, and the one-line change that would widen it,
sgl-project/sglang#13929, was closed unmerged). vLLM runs such weights on MI300X.

Input: a strategy's `Degrees`. Output: the `Refusal` `dagc.launch.sglang.refusals` adds.
"""

from __future__ import annotations

from ..plan.cluster import Vendor
from ..plan.workload import PoolRole
from .degrees import Degrees
from .launch import Refusal

__all__ = ["AMD_GFX", "cp_refusal", "mxfp4_refusal"]

# the architecture (gfx target) of each AMD GPU preset
AMD_GFX = {"mi300x": "gfx942"}


def mxfp4_refusal(d: Degrees) -> list[Refusal]:
    """E734 for MXFP4 weights on an AMD GPU preset before gfx95 (a custom GPU, whose architecture dagc cannot tell,
    is not refused)."""
    gfx = AMD_GFX.get(d.gpu)
    if not d.mxfp4 or d.vendor is not Vendor.AMD or gfx is None or gfx.startswith("gfx95"):
        return []
    return [Refusal("E734", f"SGLang: MXFP4 weights load on AMD's gfx95 GPUs only (MI350X, MI355X: its "
                    f"`mxfp_supported()`); {d.gpu} is {gfx}, where it stops at load (\"Current platform {gfx} not "
                    "support mxfp4 computation\")", "model.weights")]


# what E712 adds of a pool's server, by its role: a prefill pool's may shard the KV cache, which dagc does not launch
# (until 2026-12-03 left to read as a contradiction)
_CP_POOL_WORDS: dict[PoolRole | None, str] = {
    PoolRole.PREFILL: " — a prefill pool's server, where SGLang can shard it, but dagc does not launch that sharding "
                      "(its conditions are not mapped)"}


def cp_refusal(d: Degrees) -> list[Refusal]:
    """E712 for `cp` above 1: SGLang's `--attn-cp-size` keeps the whole KV cache on every CP rank."""
    if d.cp == 1:
        return []
    return [Refusal("E712", f"SGLang: --attn-cp-size {d.cp} (with --enable-prefill-cp) splits each prompt but keeps "
                    "the whole KV cache on every CP rank (it shards it only on disaggregated prefill workers, "
                    f"--enable-kv-cache-sharding), where dagc's `cp {d.cp}` holds 1/{d.cp} of it on each"
                    f"{_CP_POOL_WORDS.get(d.role, '')}", "cp")]

"""The engines' multipliers of kernel times on a GPU they were fitted for, priced without a profile of its own: a
Blackwell GPU's memory-bound kernels (`blackwell_scale`), the routed experts' grouped GEMMs on Hopper and Blackwell
(`expert_time_scale`); fitted on NVIDIA runs (bench/fit_engine_terms.py), never an AMD GPU's (docs/cost-model.md,
"The engine")."""

from __future__ import annotations

from ..kernels.kernels import builtin_profile, nearest_profile, profile_names
from ..plan.cluster import Cluster, Vendor

__all__ = ["blackwell_scale", "expert_time_scale"]


def blackwell_scale(c: Cluster) -> float:
    """The engine's multiplier of a memory-bound op's time on the cluster's GPU: its `blackwell_memory_time_scale`
    on a GPU with fp4 units (Blackwell: b200, b300, gb200, gb300) priced by a built-in profile (another GPU's at
    its peaks: no Blackwell GPU has one of its own), else 1 — a profile imported with `kernels` was measured in
    its engine, and an AMD GPU's kernels are not NVIDIA's (a custom GPU, whose maker dagc does not know, with fp4
    units is taken for a Blackwell).

    Example:
        >>> from dagc.plan.engines import engine_of
        >>> from dagc.plan.presets import GPU_PRESETS
        >>> b200 = Cluster(gpus=8, gpu=GPU_PRESETS["b200"], intra_node_bytes_per_s=900e9, engine=engine_of("sglang"))
        >>> blackwell_scale(b200) == b200.engine.terms.blackwell_memory_time_scale
        True
        >>> blackwell_scale(b200.model_copy(update={"gpu": GPU_PRESETS["h200"]}))
        1.0
    """
    own = c.kernels is None and c.gpu.flops_4bit is not None and c.gpu.name not in profile_names()
    return c.engine.terms.blackwell_memory_time_scale if own and c.gpu.vendor is not Vendor.AMD else 1.0


def expert_time_scale(c: Cluster) -> float:
    """The engine's multiplier of the routed experts' grouped GEMMs' time on the cluster's GPU: its
    `hopper_expert_time_scale` on a Hopper GPU (8-bit units and no 4-bit ones, priced by the built-in H100 or H200
    profile) and its `blackwell_expert_time_scale` on a Blackwell GPU (4-bit units, priced by a built-in profile at its
    peaks) without an imported profile, else 1 — a profile imported with `kernels` was measured in its engine; an
    AMD GPU's grouped GEMMs are not NVIDIA's (1).

    Example:
        >>> from dagc.plan.engines import engine_of
        >>> from dagc.plan.presets import GPU_PRESETS
        >>> h200 = Cluster(gpus=8, gpu=GPU_PRESETS["h200"], intra_node_bytes_per_s=900e9, engine=engine_of("trtllm"))
        >>> expert_time_scale(h200) == h200.engine.terms.hopper_expert_time_scale
        True
        >>> expert_time_scale(h200.model_copy(update={"gpu": GPU_PRESETS["b200"]}))
        1.68
        >>> expert_time_scale(h200.model_copy(update={"gpu": GPU_PRESETS["a100-80g"]}))
        1.0
    """
    gpu, k = c.gpu, c.kernels
    if gpu.vendor is Vendor.AMD:        # fitted on NVIDIA's kernels (until 2026-12-03 an MI300X took Hopper's)
        return 1.0
    # equal by digest: a worker process's copy (the plan pickled) is the built-in profile too
    builtin = k is None or (k.name in profile_names() and k == builtin_profile(k.name))
    hopper = gpu.flops_8bit is not None and gpu.flops_4bit is None and nearest_profile(gpu).name in _HOPPER_PROFILES
    if builtin and gpu.flops_4bit is not None:      # Blackwell: `blackwell_expert_time_scale`, the same kernels' term
        return c.engine.terms.blackwell_expert_time_scale
    return c.engine.terms.hopper_expert_time_scale if builtin and hopper else 1.0


_HOPPER_PROFILES = ("h100-sxm", "h200")

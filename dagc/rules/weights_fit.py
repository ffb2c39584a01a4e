"""What E402's hint can promise: whether any strategy on the cluster can hold the model's weights at all.

Input: the plan's model and cluster, and the fullest stage's memory (its GPU capacity and reserve). Output: the
hint's text. Spreading the weights (more pp or ep) helps only while the cluster's GPUs together hold them;
sharding the KV cache or serving fewer requests a replica only while a rank's weights alone fit its GPU; past
that, the hint says how many GPUs of the kind would (the weights alone, so "at least"), and what 8-bit weights
would need; served statically, the same of the weights and the whole batch's KV cache (`_batch_kv_hint`).
"""

from __future__ import annotations

import math

from ..memory.memory import StageMemory
from ..memory.resident import admits_by_kv, kv_cache_bytes_per_request
from ..plan.params import bytes_per_param, params_by_category, weight_bytes
from ..plan.plan import Plan
from ..units import count_text, format_bytes

__all__ = ["SPREAD_HINT", "e402_hint", "weights_beyond_cluster"]

SPREAD_HINT = ("spread the weights (more pp or ep), shard the KV cache (tp, cp), serve fewer requests per replica "
               "(more dp) or use a larger GPU")


def e402_hint(plan: Plan, stage: StageMemory) -> str:
    """E402's hint: `SPREAD_HINT` while the cluster's GPUs, less each one's reserve, could hold the model's
    weights; otherwise the GPUs of this kind the weights alone need, and with 8-bit weights.

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.verdict.check import check
        >>> p = load_plan_text('model preset "deepseek-v3" { weights = bf16 } cluster { gpus = 8 gpu preset '
        ...                    '"h100-sxm" } workload { batch = 8 prompt = 512 generate = 64 } strategy tp 8')
        >>> hint = e402_hint(p, check(p)[0].memory.stages[0])
        >>> hint.split(" (")[0]
        "the weights alone, 1,249.88 GiB, exceed what the cluster's 8 GPUs hold"
        >>> "at least about 17 GPUs of this kind" in hint, "`weights = fp8`: 624.94 GiB, at least about 9 GPUs" in hint
        (True, True)
    """
    usable = stage.capacity_bytes - stage.reserve_bytes
    gpus, weights = plan.cluster.gpus, weight_bytes(plan.model)
    if usable > 0 and weights <= gpus * usable and (batch := _batch_kv_hint(plan, stage, weights)) is not None:
        return batch
    beyond = weights_beyond_cluster(plan, stage.capacity_bytes, stage.reserve_bytes)
    if beyond is None:
        return SPREAD_HINT if stage.weights_bytes <= usable else _rank_weights_hint(stage)
    return beyond


def weights_beyond_cluster(plan: Plan, capacity: float, reserve: float) -> str | None:
    """None while the cluster's GPUs of `capacity` bytes, less each one's `reserve`, could hold the model's weights;
    otherwise E402's hint whatever the strategy: the GPUs of this kind the weights alone need, and with 8-bit weights.
    `dagc fleet` says it of a cluster of the sweep too small for the model (`dagc.fleet.cluster`).

    Example (GLM-4.5-Air in bf16, 106.9 B parameters, on 2 H100s):
        "the weights alone, 199.03 GiB, exceed what the cluster's 2 GPUs hold (151.29 GiB: 79.65 GiB each, less the
        reserve), whatever the strategy: they need at least about 3 GPUs of this kind, more with the KV cache; or
        8-bit weights (`weights = fp8`: 99.51 GiB, at least about 2 GPUs, which these 2 hold); or a GPU with more
        memory"
    """
    usable = capacity - reserve
    gpus, weights = plan.cluster.gpus, weight_bytes(plan.model)
    if usable <= 0 or weights <= gpus * usable:
        return None
    hold = "holds" if gpus == 1 else "hold"
    hint = (f"the weights alone, {format_bytes(weights)}, exceed what the cluster's {count_text(gpus, 'GPU')} {hold} "
            f"({format_bytes(gpus * usable)}: {format_bytes(capacity)} each, less the reserve), whatever "
            f"the strategy: they need at least about {math.ceil(weights / usable):,} GPUs of this kind, more with the "
            "KV cache")
    m = plan.model
    eight = sum(n * min(bytes_per_param(m, k), 1.0) for k, n in params_by_category(m).items())
    if eight < weights:
        need = math.ceil(eight / usable)
        fits = ("" if need > gpus else ", which this one holds" if gpus == 1 else f", which these {gpus:,} hold")
        hint += (f"; or 8-bit weights (`weights = fp8`: {format_bytes(eight)}, at least about "
                 f"{count_text(need, 'GPU')}{fits})")
    return hint + "; or a GPU with more memory"


def _rank_weights_hint(stage: StageMemory) -> str:
    """A rank whose weights alone exceed its GPU less the reserve: sharding the KV cache or serving fewer requests
    frees nothing that matters; only more GPUs a replica, or a larger GPU, hold them.

    Example (Qwen3-235B-A22B, bf16, `dp 2 < tp 4 >` on 8 H100s):
        "a rank's weights alone, 109.54 GiB, exceed the GPU's 79.65 GiB less its reserve of 4.00 GiB: spread
        them over more GPUs a replica (more tp, pp or ep; fewer dp replicas on these GPUs) or use a larger GPU"
    """
    return (f"a rank's weights alone, {format_bytes(stage.weights_bytes)}, exceed the GPU's "
            f"{format_bytes(stage.capacity_bytes)} less its reserve of {format_bytes(stage.reserve_bytes)}: spread "
            "them over more GPUs a replica (more tp, pp or ep; fewer dp replicas on these GPUs) or use a larger GPU")


def _batch_kv_hint(plan: Plan, stage: StageMemory, weights: float) -> str | None:
    """Served statically, the whole batch's KV cache at full length is held at once (`kv_requests_judged`): when it and
    the weights exceed what every GPU of the cluster holds beside its reserve, no strategy fits, and the hint says how
    many GPUs of the kind they need (the weights once and the KV cache unreplicated, so "at least"); None when the
    cluster could hold them, in flight, or with `batch = max` (its own search of the batch).

    Example (seed 002's 10 B-parameter MoE, 128 requests of 10,496 tokens, on 2 GPUs of 64 GB):
        "the weights and the batch's KV cache, 346.49 GiB (18.49 GiB + 328.00 GiB), exceed what the cluster's 2 GPUs
        hold (111.21 GiB: 59.60 GiB each, less the reserve), whatever the strategy: they need at least about 7 GPUs
        of this kind; or fewer requests in the batch, or serve in flight (…)"
    """
    w, m = plan.workload, plan.model
    if admits_by_kv(w) or w.batch_max:
        return None
    usable, gpus = stage.capacity_bytes - stage.reserve_bytes, plan.cluster.gpus
    kv = w.batch * kv_cache_bytes_per_request(m, w.prompt + w.generate)
    if weights + kv <= gpus * usable:
        return None
    held, need = format_bytes(gpus * usable), math.ceil((weights + kv) / usable)
    return (f"the weights and the batch's KV cache, {format_bytes(weights + kv)} ({format_bytes(weights)} + "
            f"{format_bytes(kv)}), exceed what the cluster's {count_text(gpus, 'GPU')} hold ({held}: "
            f"{format_bytes(stage.capacity_bytes)} each, less the reserve), whatever the strategy: they need at least "
            f"about {need:,} GPUs of this kind; or fewer requests in the batch, or serve in flight (`serving = "
            "inflight`: the engine admits what the KV cache holds)")

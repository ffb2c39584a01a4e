"""Per-rank memory: weights, KV cache and activations (SPEC 6.2, 6.3).

Input: a `Model`, `Workload`, `Cluster`, `Layout` (and, once built, the DAG's activation
working sets). Output: `MemoryBreakdown`, one
`StageMemory` per pipeline stage (every rank of a stage holds the same amounts, by the
symmetry of the layout) and per-rank vectors for exporters.

Weights follow SPEC 6.2 exactly. A rank holds ceil(kv/tp) KV heads, at least one (KV
heads are replicated when kv < tp; a fractional head cannot exist on a GPU). KV cache
follows SPEC 6.3. Activations: the largest working set (inputs + outputs, 2 bytes per
value) of any op the DAG places on the rank. One function computes it for `check` and
`search` alike, `activation_bytes_by_stage`, from the op templates of `dagc.ir.build` (the
shapes the DAG is built from, without building the DAG); `activation_bytes` is only a
first estimate for strategies too broken to have op shapes (the rules that reject them
do not depend on it).

The weight and KV cache figures are `dagc.memory.resident`, the activations
`dagc.memory.activations`; this module puts them together per stage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..layout.layout import Layout
from ..plan.cluster import Cluster
from ..plan.model import Model
from ..plan.workload import Workload
from .activations import activation_bytes
from .resident import Resident, StageFigures, StageKind, resident_of

__all__ = ["StageMemory", "MemoryBreakdown", "kv_room", "memory", "resident_over", "room_for_kv"]


def kv_room(free_bytes: float, share: float) -> float:
    """The KV cache the engine gives itself in flight of the `free_bytes` a rank's weights, activations and reserve
    leave: its `EngineTerms.kv_cache_share` of them (1 but a calibration's, docs/calibrate.md, "The KV cache the
    engine held"). The one place the share applies: the KV cache `memory` sizes, and the tokens the steady state
    admits by and the load simulation's blocks (`dagc.memory.admission.kv_tokens_per_rank`), all read it.

    Example:
        >>> kv_room(60e9, 1.0), kv_room(60e9, 0.25), kv_room(-1e9, 0.5)
        (60000000000.0, 15000000000.0, 0.0)
    """
    return share * max(0.0, free_bytes)


def room_for_kv(kv_bytes: float, share: float) -> float:
    """The free bytes whose `kv_room` is `kv_bytes`: what the weights, activations and reserve must leave for the
    engine's KV cache, its `share` of them, to hold `kv_bytes`.

    Example:
        >>> room_for_kv(15e9, 0.25), kv_room(room_for_kv(15e9, 0.25), 0.25)
        (60000000000.0, 15000000000.0)
    """
    return kv_bytes / share


@dataclass(frozen=True)
class StageMemory:
    """What one rank of a stage holds, in bytes."""

    stage: int
    layers: tuple[int, int]
    attention_bytes: float
    routed_expert_bytes: float
    shared_expert_bytes: float
    dense_ffn_bytes: float
    replicated_bytes: float          # norms and routers
    embedding_bytes: float
    lm_head_bytes: float
    kv_cache_bytes: float
    activation_bytes: float
    capacity_bytes: float
    reserve_bytes: float = 0.0       # what the runtime keeps (CUDA context, comm buffers, allocator): SPEC 3.2
    activations_counted: bool = True  # False: the weights, KV cache and reserve alone exceed the GPU (`resident_over`)
    # The KV cache of the batch at full length (prompt + generate). Statically it is `kv_cache_bytes`; in flight
    # the engine gives the KV cache what the rest leaves, at least one full-length request's, at most this
    # (`dagc.memory.admission`).
    kv_needed_bytes: float = 0.0
    # The most the engine may hold of the GPU in flight: the plan's memory requirement's limit when lower than
    # `capacity_bytes` (`Plan.memory_limit`, the memory share `dagc launch` sets); None: the GPU's capacity
    limit_bytes: float | None = None
    # the share of what the rest leaves that the engine's KV cache holds in flight (`kv_room`)
    kv_share: float = 1.0

    @property
    def top_bytes(self) -> float:
        """What the engine's KV cache is sized under: the GPU's capacity, or the memory requirement's limit."""
        return self.capacity_bytes if self.limit_bytes is None else min(self.capacity_bytes, self.limit_bytes)

    @property
    def kv_room_bytes(self) -> float:
        """The KV cache the engine gives itself in flight (`kv_room`): its share of what the weights, the activations
        and the reserve leave under `top_bytes` — more than `kv_cache_bytes` when the cache has room beyond the
        batch at full length."""
        return kv_room(self.top_bytes - self.weights_bytes - self.activation_bytes - self.reserve_bytes, self.kv_share)

    @property
    def weights_bytes(self) -> float:
        return (self.attention_bytes + self.routed_expert_bytes + self.shared_expert_bytes + self.dense_ffn_bytes
                + self.replicated_bytes + self.embedding_bytes + self.lm_head_bytes)

    @property
    def total_bytes(self) -> float:
        return self.weights_bytes + self.kv_cache_bytes + self.activation_bytes + self.reserve_bytes

    @property
    def fraction(self) -> float:
        return self.total_bytes / self.capacity_bytes

    @property
    def fits(self) -> bool:
        return self.total_bytes <= self.capacity_bytes


@dataclass(frozen=True)
class MemoryBreakdown:
    stages: tuple[StageMemory, ...]
    layout: Layout
    # the serving mode's (`dagc.layout.modes.ServingMode.admits_by_kv`), as `memory` sized the KV cache for it: the
    # engine admits requests while KV blocks allow (`dagc.memory.admission` reads it here, not of the workload again)
    admits_by_kv: bool = False

    @property
    def worst(self) -> StageMemory:
        return max(self.stages, key=lambda s: s.total_bytes)

    @property
    def held_bytes(self) -> float:
        """What the engine holds of its fullest GPU: in flight its whole memory share (`StageMemory.top_bytes`, the
        GPU's or the memory requirement's limit), which it allocates when it starts and its KV cache pool fills
        (vLLM's `--gpu-memory-utilization`, SGLang's `--mem-fraction-static`), or what the rank needs when that is
        more; statically what the rank holds (`total_bytes`). What a `memory == X` requirement is judged on."""
        worst = self.worst
        return max(worst.total_bytes, worst.top_bytes) if self.admits_by_kv else worst.total_bytes

    def worst_rank(self) -> int:
        """The lowest rank of the stage that holds the most."""
        return self.layout.stage_ranks(0, self.worst.stage).start

    def per_rank(self, key: str = "total_bytes") -> npt.NDArray[np.float64]:
        """A per-rank vector of one figure (e.g. 'weights_bytes'), over all used ranks."""
        by_stage = np.array([getattr(s, key) for s in self.stages], dtype=np.float64)
        per_rank: npt.NDArray[np.float64] = by_stage[self.layout.coords["stage"]]
        return per_rank


def memory(model: Model, workload: Workload, cluster: Cluster, layout: Layout,
           activations: dict[int, float] | None = None, resident: Resident | None = None,
           limit_bytes: float | None = None) -> MemoryBreakdown:
    """Per-stage memory of one rank, by SPEC 6.2/6.3.

    In flight (`dagc.memory.resident.admits_by_kv`) the KV cache is what the engine allocates: the memory the
    weights, activations and reserve leave of the GPU — of `limit_bytes` when that is lower, the plan's memory
    requirement (`Plan.memory_limit`), which caps the engine's memory share as `dagc launch` sets it —, or a
    calibration's share of it (`kv_room`), at least one full-length request's (less is E402: the engine cannot
    start), at most the batch's at full length (`StageMemory.kv_needed_bytes`); statically, the batch's.

    `activations` (stage → bytes, from `activation_bytes_by_stage`) replaces the first
    estimate with the DAG's largest working set; `resident`, the layout's `Resident`
    (`dagc.memory.resident.resident_of`) when the caller has made it already.

    Example:
        >>> from dagc.lang.lower import model_from_preset
        >>> from dagc.layout.layout import resolve
        >>> from dagc.plan.cluster import Cluster
        >>> from dagc.plan.strategy import Strategy
        >>> from dagc.plan.workload import Workload
        >>> from dagc.plan.presets import GPU_PRESETS
        >>> m = model_from_preset("mixtral-8x7b")
        >>> c = Cluster(gpus=8, gpu=GPU_PRESETS["h100-sxm"], intra_node_bytes_per_s=450e9)
        >>> w = Workload(batch=8, prompt=1024, generate=128)
        >>> lay = resolve(m, c, w, Strategy(text="tp 8", tp=8))
        >>> round(memory(m, w, c, lay).worst.weights_bytes / 1e9, 2)
        11.68
    """
    held = resident if resident is not None else resident_of(model, workload, layout)
    figures, kinds = held.figures
    capacity = cluster.gpu.memory_bytes
    top = capacity if limit_bytes is None else min(capacity, limit_bytes)
    estimates: dict[StageKind, float] = {}
    stages = []
    one = held.one_request()      # in flight, one full-length request's KV cache: what the engine needs to start
    share = cluster.engine.terms.kv_cache_share
    over = resident_over((figures, kinds), cluster, one)
    for s, ((a, b), key) in enumerate(zip(layout.stage_layers, kinds, strict=True)):
        if over:
            act = 0.0          # E402 stands without them; their working set may need costly placement (EPLB)
        elif activations is not None and s in activations:
            act = activations[s]
        else:
            if key not in estimates:
                estimates[key] = activation_bytes(model, workload, layout, s)
            act = estimates[key]
        fig = figures[key]
        needed = kv = fig["kv_cache_bytes"]
        if one is not None:
            rest = fig["attention_bytes"] + fig["routed_expert_bytes"] + fig["shared_expert_bytes"] + \
                fig["dense_ffn_bytes"] + fig["replicated_bytes"] + fig["embedding_bytes"] + fig["lm_head_bytes"]
            kv = min(needed, max(one[key], kv_room(top - rest - act - cluster.reserve_bytes, share)))
            while kv > one[key] and rest + kv + act + cluster.reserve_bytes > top:
                kv = math.nextafter(kv, 0.0)         # the sum's rounding: the rank fits, as the engine's does
        stages.append(StageMemory(stage=s, layers=(a, b), **{**fig, "kv_cache_bytes": kv}, activation_bytes=act,
                                  capacity_bytes=capacity, reserve_bytes=cluster.reserve_bytes,
                                  activations_counted=not over, kv_needed_bytes=needed, limit_bytes=limit_bytes,
                                  kv_share=share))
    return MemoryBreakdown(tuple(stages), layout, admits_by_kv=one is not None)


def resident_over(resident: StageFigures, cluster: Cluster, one: dict[StageKind, float] | None = None) -> bool:
    """Whether some stage's weights, KV cache and reserve alone exceed the GPU's memory: the rank cannot fit
    whatever its activations, so they are not counted (`memory`), nor their working set derived — with
    measured expert loads and many redundant slots that takes EPLB's placement of every layer. `one`: in
    flight, each kind's KV cache of one full-length request, what the engine needs to start."""
    figures, kinds = resident

    def held(k: StageKind) -> float:
        fig = figures[k]
        if one is None:
            return sum(fig.values())
        return sum(v for name, v in fig.items() if name != "kv_cache_bytes") + min(fig["kv_cache_bytes"], one[k])
    return any(held(k) + cluster.reserve_bytes > cluster.gpu.memory_bytes for k in set(kinds))


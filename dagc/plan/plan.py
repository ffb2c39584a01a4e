"""The typed plan: what a `.moe` file means, as frozen pydantic models.

Input: nothing (these are the types). Output: `Plan` and its parts, produced by
`dagc.lang.lower`. All quantities are SI (bytes, bytes/s, FLOP/s, seconds, tokens/s);
conversion happens only at the edges (parse, render).
"""

from __future__ import annotations

import abc
import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..enums import FastEnum
from ..source import Span

__all__ = [
    "DType", "AttentionKind", "Overlap", "Axis", "Mla", "Moe", "Model", "Gpu", "Cluster",
    "Workload", "Requirement", "RequirementKind", "AxisNode", "Strategy", "Plan", "KernelTimes",
    "DEFAULT_RESERVE_BYTES", "overlap_span",
]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


class DType(FastEnum):
    FP32 = "fp32"
    BF16 = "bf16"
    FP16 = "fp16"
    FP8 = "fp8"
    INT8 = "int8"
    INT4 = "int4"

    @property
    def bytes(self) -> float:
        return {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5}[self.value]

    @property
    def is_8bit_or_less(self) -> bool:
        return self.bytes <= 1.0


class AttentionKind(FastEnum):
    GQA = "gqa"
    MLA = "mla"


class Overlap(FastEnum):
    NONE = "none"
    MICROBATCH = "microbatch"


class Axis(FastEnum):
    DP = "dp"
    PP = "pp"
    TP = "tp"
    CP = "cp"
    SP = "sp"
    EP = "ep"
    ETP = "etp"

    @property
    def is_attention(self) -> bool:
        return self in (Axis.TP, Axis.CP, Axis.SP)

    @property
    def is_expert(self) -> bool:
        return self in (Axis.EP, Axis.ETP)

    @property
    def is_outer(self) -> bool:
        return self in (Axis.DP, Axis.PP)


class Mla(Frozen):
    """Multi-head latent attention dimensions (DeepSeek-V2/V3). q_lora = 0: no query LoRA."""

    q_lora: int = 0
    kv_lora: int
    qk_nope: int
    qk_rope: int
    v_head: int


class Moe(Frozen):
    """The feed-forward part of the model. experts = 0: a dense model (every layer dense)."""

    experts: int = 0
    top_k: int = 0
    ffn: int = 0
    shared: int = 0
    shared_ffn: int = 0
    dense_layers: int = 0
    dense_ffn: int = 0
    gated: bool = True

    @property
    def shared_ffn_size(self) -> int:
        return self.shared_ffn or self.ffn


class Model(Frozen):
    name: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    tied: bool = False
    weights: DType = DType.BF16
    kv_cache: DType = DType.BF16
    attention: AttentionKind = AttentionKind.GQA
    mla: Mla | None = None
    moe: Moe = Moe()

    @property
    def has_experts(self) -> bool:
        return self.moe.experts > 0

    def is_moe_layer(self, layer: int) -> bool:
        return self.has_experts and layer >= self.moe.dense_layers

    @property
    def dense_layer_count(self) -> int:
        return self.layers if not self.has_experts else min(self.moe.dense_layers, self.layers)

    @property
    def moe_layer_count(self) -> int:
        return self.layers - self.dense_layer_count

    @property
    def layer_kinds(self) -> tuple[bool, ...]:
        """The kinds of layer the model has, dense (True) and MoE (False): what is worth timing."""
        return tuple(dense for dense, n in ((True, self.dense_layer_count), (False, self.moe_layer_count)) if n)


class Gpu(Frozen):
    name: str
    memory_bytes: float
    flops_16bit: float                 # dense bf16/fp16 peak, FLOP/s
    flops_8bit: float | None = None    # dense fp8 peak; None: no fp8 units (runs at the 16-bit peak)
    hbm_bytes_per_s: float
    intra_node_bytes_per_s: float = 450e9
    compute_efficiency: float | None = None
    hbm_efficiency: float | None = None

    def peak_flops(self, dtype: DType) -> float:
        """Peak dense FLOP/s for matmuls whose weights are in `dtype`."""
        return peak_flops(self.flops_16bit, self.flops_8bit, dtype)


def peak_flops(flops_16bit: float, flops_8bit: float | None, dtype: DType) -> float:
    """Peak dense FLOP/s of a GPU for `dtype`: the 8-bit peak for ≤ 8-bit types when the GPU has
    8-bit units, half the 16-bit peak for fp32, the 16-bit peak otherwise.

    Example:
        >>> peak_flops(989e12, 1979e12, DType.FP8), peak_flops(989e12, None, DType.FP8), peak_flops(2, None, DType.FP32)
        (1979000000000000.0, 989000000000000.0, 1.0)
    """
    if dtype.is_8bit_or_less and flops_8bit:
        return flops_8bit
    if dtype is DType.FP32:
        return flops_16bit / 2
    return flops_16bit


DEFAULT_COMPUTE_EFFICIENCY = 0.6
DEFAULT_HBM_EFFICIENCY = 0.8
DEFAULT_NETWORK_EFFICIENCY = 0.8
DEFAULT_INTRA_LATENCY_S = 10e-6
DEFAULT_INTER_LATENCY_S = 20e-6
DEFAULT_INTER_NODE_BYTES_PER_S = 50e9
DEFAULT_GPUS_PER_NODE = 8
# Per-GPU memory the runtime keeps beyond weights, KV cache and activations: CUDA context and
# kernel images (~0.5–1 GiB), NCCL buffers and CUDA-graph pools of the TP/EP/PP communicators
# (~1–2 GiB), cuBLAS workspaces and allocator fragmentation (~1 GiB). docs/decisions.md.
DEFAULT_RESERVE_BYTES = 4 * 2**30


class KernelTimes(abc.ABC):
    """The measured kernel times of a cluster's GPU: seconds of an op at its shape (SPEC 6.4).

    The interface of `dagc.kernels.kernels.KernelProfile`, which implements it; declared here because a
    `Cluster` holds one and the plan comes before the kernels in the pipeline. Shapes are floats
    or numpy arrays, broadcast together; results are float64 seconds of the broadcast shape, never
    below `floor_s` (the least a launched kernel takes), non-decreasing in the token counts.
    With `lower=True` each returns instead a lower bound of those seconds that is cheaper to
    compute and non-decreasing in every shape coordinate (the search's branch and bound prices
    ops with it, `dagc.cost.cost.template_lower_s`).
    """

    __slots__ = ()
    name: str
    floor_s: float
    eager_floor_s: float          # the least a kernel launched outside a CUDA graph takes (host-bound)

    @abc.abstractmethod
    def gemm_s(self, m: Any, n: Any, k: Any, dtype: DType | str = DType.BF16, *, lower: bool = False) -> Any:
        """`x[m, k] @ w[n, k]^T`, inputs in `dtype`."""

    @abc.abstractmethod
    def grouped_gemm_s(self, experts: Any, tokens_per_expert: Any, k: Any, n: Any,
                       dtype: DType | str = DType.BF16, *, lower: bool = False) -> Any:
        """One grouped expert GEMM: `experts` experts with tokens, each `[tokens_per_expert, k] @ [k, n]`."""

    @abc.abstractmethod
    def attn_prefill_s(self, batch: Any, seq: Any, heads: Any, kv_heads: Any, head_dim: Any,
                       *, lower: bool = False) -> Any:
        """Causal flash attention over `batch` sequences of `seq` tokens."""

    @abc.abstractmethod
    def attn_decode_s(self, batch: Any, ctx: Any, heads: Any, kv_heads: Any, head_dim: Any,
                      *, lower: bool = False) -> Any:
        """One decode step's attention: one query per request against `ctx` cached tokens."""

    @abc.abstractmethod
    def mla_decode_s(self, batch: Any, ctx: Any, heads: Any, kv_lora: Any = 512, rope: Any = 64,
                     *, lower: bool = False) -> Any:
        """Absorbed MLA decode attention over a latent cache of `kv_lora + rope` per token."""

    @abc.abstractmethod
    def memory_s(self, nbytes: Any, op: str = "copy", *, lower: bool = False) -> Any:
        """A memory-bound op (`rms_norm`, `silu_mul`, `router_topk`, `permute`, `unpermute`, `copy`)
        moving `nbytes`."""


class Efficiency(Frozen):
    """`efficiency { … }` as written (None: not written). With a kernel profile, `compute` and `hbm`
    scale the measured speed (1.0: as measured); for a GPU defined by constant efficiencies and
    without a profile they are the fractions of the peaks (default the preset's)."""

    compute: float | None = None
    hbm: float | None = None
    network: float = DEFAULT_NETWORK_EFFICIENCY


class Latency(Frozen):
    intra_s: float = DEFAULT_INTRA_LATENCY_S
    inter_s: float = DEFAULT_INTER_LATENCY_S


class Cluster(Frozen):
    gpus: int
    gpus_per_node: int = DEFAULT_GPUS_PER_NODE
    gpu: Gpu
    intra_node_bytes_per_s: float
    inter_node_bytes_per_s: float = DEFAULT_INTER_NODE_BYTES_PER_S
    efficiency: Efficiency = Efficiency()
    latency: Latency = Latency()
    # The measured kernel times for this cluster's GPU (already applied to its peaks, see
    # dagc.kernels.kernels.for_gpu); None: no profile (a GPU without one: dagc.kernels.kernels.nearest_profile).
    kernels: KernelTimes | None = None
    reserve_bytes: float = DEFAULT_RESERVE_BYTES


class Workload(Frozen):
    batch: int                           # with `batch_max`: the chosen batch, or BATCH_LIMIT before the choice
    prompt: int
    generate: int
    microbatches: int | None = None      # None: one per pipeline stage
    routing_imbalance: float | None = None   # busiest EP rank's tokens / mean; None: `routing = random`
    overlap: Overlap = Overlap.NONE
    dispatch: DType | None = None        # EP dispatch payload; None: fp8 for 8-bit weights, else bf16
    batch_max: bool = False              # `batch = max`: the largest batch each strategy serves (verdict.batch_max)
    batch_note: str | None = None        # once chosen: how (what one more request would break), for N605
    batch_breaks: str | None = None      # once chosen: what one more request would break (a requirement, memory)

    def microbatches_for(self, pp: int) -> int:
        return self.microbatches if self.microbatches is not None else pp

    @property
    def batch_text(self) -> str:
        """The batch as a report states it: '128', '171 (batch = max)' once chosen for a strategy,
        'max (chosen per strategy)' before."""
        if not self.batch_max:
            return f"{self.batch:,}"
        return "max (chosen per strategy)" if self.batch_note is None else f"{self.batch:,} (batch = max)"


class RequirementKind(FastEnum):
    TTFT = "ttft"
    TPOT = "tpot"
    DECODE_THROUGHPUT = "decode_throughput"
    PREFILL_THROUGHPUT = "prefill_throughput"
    THROUGHPUT = "throughput"
    MEMORY = "memory"
    GPUS = "gpus"


class Requirement(Frozen):
    kind: RequirementKind
    op: str                  # one of <= >= < > ==
    target: float            # SI: seconds, tokens/s, fraction of memory or bytes, GPUs
    per_gpu: bool = False    # throughput targets written with /gpu
    memory_is_fraction: bool = True
    text: str                # the line as written, for reports
    span: Span | None = Field(default=None, exclude=True)

    def holds(self, value: float) -> bool:
        match self.op:
            case "<=":
                return value <= self.target
            case ">=":
                return value >= self.target
            case "<":
                return value < self.target
            case ">":
                return value > self.target
            case _:
                return math.isclose(value, self.target, rel_tol=1e-9)


class AxisNode(Frozen):
    """One axis as written in a strategy: `pp 4 [5, 4, 4, 3] < … >`."""

    name: str
    degree: float | None = None
    split: tuple[float, ...] | None = None
    body: tuple[tuple[AxisNode, ...], ...] | None = None   # domains of the `< … >` scope
    span: Span = Field(exclude=True)
    degree_span: Span | None = Field(default=None, exclude=True)
    split_span: Span | None = Field(default=None, exclude=True)


class Strategy(Frozen):
    """A strategy after the structural rules: the degrees of every axis.

    `ep`/`etp` are None when no expert domain was written (experts then follow tp).
    """

    name: str | None = None
    text: str
    dp: int = 1
    pp: int = 1
    pp_split: tuple[int, ...] | None = None
    tp: int = 1
    cp: int = 1
    sp: bool = False
    ep: int | None = None
    etp: int | None = None
    microbatches: int | None = None      # `with microbatches N`: overrides the workload's
    overlap: Overlap | None = None       # `with overlap …`: overrides the workload's
    spans: dict[str, Any] = Field(default_factory=dict, exclude=True)

    def workload_for(self, w: Workload) -> Workload:
        """The workload this strategy runs: `w` with the strategy's own execution options."""
        update: dict[str, Any] = {}
        if self.microbatches is not None:
            update["microbatches"] = self.microbatches
        if self.overlap is not None:
            update["overlap"] = self.overlap
        return w.model_copy(update=update) if update else w

    @property
    def label(self) -> str:
        return self.name or self.text

    def span_of(self, key: str) -> Span | None:
        return self.spans.get(key) or self.spans.get("strategy")


class StrategyDecl(Frozen):
    """A `strategy` statement before the structural rules run."""

    name: str | None = None
    text: str
    scope: tuple[tuple[AxisNode, ...], ...]
    options: tuple[tuple[str, str, Span], ...] = Field(default=(), exclude=True)   # `with name value`, as written
    span: Span = Field(exclude=True)


OBJECTIVES = ("tokens-per-gpu", "min-gpus", "ttft", "tpot", "throughput")   # SPEC 3.4; scored in dagc.verdict.verdict
DEFAULT_OBJECTIVE = "tokens-per-gpu"
# what each objective's best is, in words (SPEC 3.4)
OBJECTIVE_MEANS = {"tokens-per-gpu": "the most decode tokens/s per GPU",
                   "min-gpus": "the fewest GPUs, then the most decode tokens/s per GPU",
                   "ttft": "the shortest TTFT", "tpot": "the shortest TPOT",
                   "throughput": "the most end-to-end tokens/s (all GPUs together)"}


class Plan(Frozen):
    name: str
    model: Model
    cluster: Cluster
    workload: Workload
    requirements: tuple[Requirement, ...] = ()
    strategies: tuple[StrategyDecl, ...]
    objective: str = DEFAULT_OBJECTIVE          # what "optimal" means for this plan (`objective = …`)
    objective_from: str = "the default"         # where `objective` comes from, in words (`objective_source`)
    spans: dict[str, Any] = Field(default_factory=dict, exclude=True)

    def span_of(self, key: str) -> Span | None:
        """Where a field was written, e.g. 'model.layers', 'cluster.gpus', 'workload'."""
        while key:
            if key in self.spans:
                return self.spans[key]
            key = key.rpartition(".")[0]
        return None


def overlap_span(plan: Plan, strategy: Strategy) -> Span | None:
    """Where the overlap a strategy runs was written: its own `with … overlap …` option, else the
    workload's `overlap` field, else the strategy."""
    if strategy.overlap is None:
        return plan.span_of("workload.overlap") or strategy.span_of("strategy")
    whole = strategy.span_of("strategy")     # `… with overlap microbatch`: point at the option
    at = whole.text.rfind("overlap") if whole is not None else -1
    if whole is None or at < 0:
        return whole
    value = strategy.overlap.value
    end = whole.text.find(value, at)
    return Span(whole.source, whole.start + at, whole.start + (end + len(value) if end > 0 else at + len("overlap")))


AxisNode.model_rebuild()

"""The cluster a plan runs on: its GPU, nodes and network, and the defaults of what a plan omits.

Input: nothing (these are the types). Output: `Gpu`, `Cluster` with its `Efficiency` and
`Latency`, the `DEFAULT_*` figures a cluster takes when the plan does not set them, and
`KernelTimes`, the interface of a GPU's measured kernel times. All quantities are SI.
"""

from __future__ import annotations

import abc
import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.typing import ArrayLike

from .base import Frozen
from .engines import Engine
from .model import DType

# A kernel's seconds: a number's, or the array's of its shapes broadcast together (`KernelTimes`)
Seconds = np.float64 | npt.NDArray[np.float64]

__all__ = ["Gpu", "Vendor", "peak_flops", "hardware", "Efficiency", "Latency", "Cluster", "KernelTimes", "FusedMoe",
           "Seconds", "DEFAULT_COMPUTE_EFFICIENCY",
           "DEFAULT_HBM_EFFICIENCY", "DEFAULT_NETWORK_EFFICIENCY", "DEFAULT_INTRA_LATENCY_S", "DEFAULT_INTER_LATENCY_S",
           "DEFAULT_INTER_NODE_BYTES_PER_S", "DEFAULT_GPUS_PER_NODE", "DEFAULT_RESERVE_BYTES"]


@dataclass(frozen=True, slots=True)
class FusedMoe:
    """The shape an engine's fused MoE layer is measured at (`KernelTimes.fused_moe_covers`): the experts'
    dtype, the hidden size, the expert ffn (`inter`), top-k, the routed experts, the split of each expert
    (`tp`, the deployment's etp) and the EP group (`ep`)."""

    dtype: DType
    hidden: int
    inter: int
    topk: int
    experts: int
    tp: int
    ep: int


class Vendor(enum.Enum):
    """Who makes a GPU: which engines' builds run on it (TensorRT-LLM on NVIDIA's only; vLLM and SGLang
    on NVIDIA's with CUDA and on AMD's with ROCm)."""

    NVIDIA = "nvidia"
    AMD = "amd"


class Gpu(Frozen):
    name: str
    vendor: Vendor | None = None       # None: a custom GPU, whose maker dagc does not know
    memory_bytes: float
    flops_16bit: float                 # dense bf16/fp16 peak, FLOP/s
    flops_8bit: float | None = None    # dense fp8 peak; None: no fp8 units (runs at the 16-bit peak)
    flops_4bit: float | None = None    # dense fp4 peak; None: no fp4 units (fp4 weights run weight-only, 16-bit)
    hbm_bytes_per_s: float
    intra_node_bytes_per_s: float = 450e9
    compute_efficiency: float | None = None
    hbm_efficiency: float | None = None
    # GPUs in one NVLink domain, the cluster's `gpus_per_node` when the plan does not set it
    # (72 for an NVL72 rack); None: DEFAULT_GPUS_PER_NODE.
    nvlink_domain: int | None = None
    # GPUs one host (a machine: its OS, its engine processes) holds where a node's NVLink domain spans several:
    # 4 for a GB200 / GB300 NVL72 rack's compute tray (18 trays of 2 Grace CPUs and 4 GPUs); None: a node is one
    # host. What `dagc launch` starts its commands on (`Cluster.gpus_per_host`); the cost model reads the domain.
    host_gpus: int | None = None
    # The host CPU's time per kernel it launches outside a CUDA graph against the x86 hosts of the HGX H100 and H200
    # the built-in profiles' eager launch time was measured on (`dagc.kernels.profile.for_gpu` scales that time by it):
    # `GRACE_HOST_TIME_SCALE` for a GB200 / GB300 tray's Grace CPUs (dagc.plan.presets); 1: such an x86 host.
    host_time_scale: float = 1.0
    # A node whose GPUs are a full mesh of point-to-point links (MI300X's Infinity Fabric: 7 links of 64 GB/s a
    # direction), not a switch: a group of n of its GPUs exchanges over its n − 1 links to the others, at most
    # `intra_node_bytes_per_s` (`dagc.cost.cost_model.CostModel.link`); None: a switch (NVLink), every group at it.
    mesh_link_bytes_per_s: float | None = None

    def peak_flops(self, dtype: DType) -> float:
        """Peak dense FLOP/s for matmuls whose weights are in `dtype`."""
        return peak_flops(self.flops_16bit, self.flops_8bit, dtype, self.flops_4bit)


def peak_flops(flops_16bit: float, flops_8bit: float | None, dtype: DType, flops_4bit: float | None = None) -> float:
    """Peak dense FLOP/s of a GPU for `dtype`: the 4-bit peak for fp4 types (nvfp4, mxfp4) when the
    GPU has fp4 units, else the 16-bit peak (weight-only: dequantised to 16 bits, SPEC 12); the 16-bit peak for
    int4 on every GPU (no tensor cores compute int4 with the activations the engines' int4 kernels take, 16-bit: until
    2026-12-03 priced at the 8-bit peak, as fast as fp8); the 8-bit peak for other ≤ 8-bit types when the GPU has
    8-bit units; half the 16-bit peak for fp32; the 16-bit peak otherwise.

    Example:
        >>> peak_flops(989e12, 1979e12, DType.FP8), peak_flops(989e12, None, DType.FP8), peak_flops(2, None, DType.FP32)
        (1979000000000000.0, 989000000000000.0, 1.0)
        >>> peak_flops(2250e12, 4500e12, DType.NVFP4, 9000e12), peak_flops(989e12, 1979e12, DType.MXFP4)
        (9000000000000000.0, 989000000000000.0)
        >>> peak_flops(989e12, 1979e12, DType.INT4)
        989000000000000.0
    """
    if dtype.is_fp4:
        return flops_4bit or flops_16bit
    if dtype is DType.INT4:         # weight-only on every GPU (W4A16: the engines' int4 kernels, Marlin, Machete)
        return flops_16bit
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
    # Glue steps the profile's engine runs its own way (`dagc.kernels.format.GLUE_STEPS` → launches, 0: fused
    # into a measured kernel); empty for a profile of the unfused reference (the built-in ones).
    glue: Mapping[str, int]

    @abc.abstractmethod
    def gemm_s(self, m: ArrayLike, n: ArrayLike, k: ArrayLike, dtype: DType | str = DType.BF16, *,
               lower: bool = False) -> Seconds:
        """`x[m, k] @ w[n, k]^T`, inputs in `dtype`."""

    @abc.abstractmethod
    def grouped_gemm_s(self, experts: ArrayLike, tokens_per_expert: ArrayLike, k: ArrayLike, n: ArrayLike,
                       dtype: DType | str = DType.BF16, *, lower: bool = False) -> Seconds:
        """One grouped expert GEMM: `experts` experts with tokens, each `[tokens_per_expert, k] @ [k, n]`."""

    @abc.abstractmethod
    def attn_prefill_s(self, batch: ArrayLike, seq: ArrayLike, heads: ArrayLike, kv_heads: ArrayLike,
                       head_dim: ArrayLike, *, lower: bool = False) -> Seconds:
        """Causal flash attention over `batch` sequences of `seq` tokens."""

    @abc.abstractmethod
    def attn_decode_s(self, batch: ArrayLike, ctx: ArrayLike, heads: ArrayLike, kv_heads: ArrayLike,
                      head_dim: ArrayLike, kv_bytes: ArrayLike = 2.0, *, lower: bool = False) -> Seconds:
        """One decode step's attention: one query per request against `ctx` cached tokens of `kv_bytes` an
        element (2: bf16; an 8-bit cache reads 1 and computes as many flops)."""

    @abc.abstractmethod
    def mla_decode_s(self, batch: ArrayLike, ctx: ArrayLike, heads: ArrayLike, kv_lora: ArrayLike = 512,
                     rope: ArrayLike = 64, kv_bytes: ArrayLike = 2.0, *, lower: bool = False) -> Seconds:
        """Absorbed MLA decode attention over a latent cache of `kv_lora + rope` per token, `kv_bytes` an
        element."""

    @abc.abstractmethod
    def memory_s(self, nbytes: ArrayLike, op: str = "copy", *, lower: bool = False) -> Seconds:
        """A memory-bound op (`rms_norm`, `silu_mul`, `router_topk`, `permute`, `unpermute`, `copy`)
        moving `nbytes`."""

    def all_reduce_covers(self, gpus: int) -> bool:
        """Whether an engine's all-reduce over `gpus` GPUs of a node was measured (engine profiles only)."""
        return False

    def all_reduce_s(self, gpus: int, nbytes: ArrayLike) -> Seconds:
        """An all-reduce of an `nbytes` buffer over `gpus` GPUs of one node (`all_reduce_covers`)."""
        raise NotImplementedError("this profile measured no all-reduce")

    def fused_moe_measured(self) -> tuple[tuple[str, int, int, int, int, int, int], ...]:
        """The shapes an engine's fused MoE layer was measured at, (dtype name, hidden, inter, top-k, experts,
        tp, ep) each; none for a profile of dagc's own kernels."""
        return ()

    def fused_moe_covers(self, shape: FusedMoe, a2a: int = 1) -> bool:
        """Whether an engine's MoE layer was measured at this shape (engine profiles only), in the kernel the
        deployment runs (`a2a`: 2 when its experts take DeepEP's all-to-all, else 1; `dagc.kernels.series`)."""
        return False

    def fused_moe_s(self, tokens: ArrayLike, shape: FusedMoe, a2a: int = 1, *, lower: bool = False) -> Seconds:
        """One rank's fused MoE layer when `tokens` tokens enter its EP group, routed evenly (a shape
        `fused_moe_covers`)."""
        raise NotImplementedError("this profile measured no fused MoE layer")


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
    price_per_gpu_hour: float | None = None    # `price = 2.5 $/h`: one GPU's rent per hour (cost per token)
    engine: Engine = Engine()                  # `engine = vllm`: the serving engine and its terms (dagc.plan.engines)

    @property
    def gpus_per_host(self) -> int:
        """GPUs of one host (machine) of a node: the node's, unless its GPU's hosts are smaller than its NVLink domain
        (`Gpu.host_gpus`: a GB200 NVL72 rack's node of 72 GPUs is 18 hosts of 4), where hosts tile the node.

        Example:
            >>> from dagc.plan.presets import GPU_PRESETS
            >>> c = Cluster(gpus=72, gpus_per_node=72, gpu=GPU_PRESETS["gb200"], intra_node_bytes_per_s=900e9)
            >>> c.gpus_per_host, c.model_copy(update={"gpu": GPU_PRESETS["h200"], "gpus_per_node": 8}).gpus_per_host
            (4, 8)
        """
        host = self.gpu.host_gpus
        return self.gpus_per_node if host is None else math.gcd(self.gpus_per_node, host)


def per_node_text(cluster: Cluster) -> str:
    """`8 per node`, how words about a cluster give its nodes — or "" when it has fewer GPUs than a node holds,
    where a node's size is no fact of it (one L40S is no node of 8, whatever `gpus_per_node` defaults to).

    Example:
        >>> from dagc.plan.presets import GPU_PRESETS
        >>> c = Cluster(gpus=16, gpu=GPU_PRESETS["h200"], intra_node_bytes_per_s=900e9)
        >>> per_node_text(c), per_node_text(c.model_copy(update={"gpus": 1}))
        ('8 per node', '')
    """
    return f"{cluster.gpus_per_node} per node" if cluster.gpus >= cluster.gpus_per_node else ""


def hardware(cluster: Cluster) -> Cluster:
    """The cluster as what an op's time, a step's price and a DAG's schedule depend on: its GPU, nodes, links,
    efficiencies, kernel profile, reserve and engine — not how many GPUs it has in all (a strategy's layout
    uses its own, `Layout.gpus_available` is read by nothing that times it) nor its rent. Clusters that differ
    only in those — a fleet's counts of one GPU type — share their timings in one process (`dagc.schedule.timer
    .shared_timer`, `dagc.serve.shared`, `dagc.verdict.analyse`).

    Example:
        >>> from dagc.plan.presets import GPU_PRESETS
        >>> a = Cluster(gpus=8, gpu=GPU_PRESETS["h200"], intra_node_bytes_per_s=900e9, price_per_gpu_hour=3.5)
        >>> hardware(a) == hardware(a.model_copy(update={"gpus": 64, "price_per_gpu_hour": None}))
        True
    """
    return cluster.model_copy(update={"gpus": 0, "price_per_gpu_hour": None})

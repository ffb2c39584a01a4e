"""`dagc launch`'s view of a resolved strategy: its degrees as the engines see them, and the nodes
and GPUs each whole-model replica occupies.

Input: a `Plan`, a `Strategy` and its `Layout` (resolved here when not given). Output: `Degrees` —
the layout's degrees (the `Layout` derives each of them; `Degrees` reads them from it) with the
model's layers and the workload's overlap — and from them the nodes of each stage in dagc's rank
order (`dagc_stage_nodes`, which each engine table compares with its engine's own) and one
`Placement` per replica (`placements`: one server per replica, as every engine runs whole-model
replicas as separate servers behind a load balancer).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ir.ops import experts_inside_tp
from ..layout.layout import Layout, resolve
from ..layout.modes import mode_of
from ..plan.cluster import Vendor
from ..plan.model import DType
from ..plan.plan import Plan
from ..plan.strategy import Strategy
from ..plan.workload import Overlap, PoolRole, Speculative
from ..serve.requests import length_limit
from .eplb import architecture
from .serving import memory_shares
from .speculative import mtp_weights

__all__ = ["BASE_PORT", "MAX_LISTED_NODES", "Degrees", "Placement", "dagc_stage_nodes", "degrees", "placements"]

BASE_PORT = 8000            # the HTTP port of the first server on a node; the next server on it takes 8001, …
MAX_LISTED_NODES = 32       # nodes of one replica whose commands a `Launch` holds; the rest follow the pattern


@dataclass(frozen=True)
class Degrees:
    """A strategy's degrees as the engines see them: per stage, attention `tp × cp × adp` and experts
    `etp × ep × edp` over the same `group` GPUs; `dp` whole replicas of `pp` stages. Every degree is
    the layout's; the model and the workload add what the layout does not hold."""

    layout: Layout
    has_experts: bool
    dense_layers: int
    layers: int
    overlap: Overlap
    speculative: Speculative | None = None   # the workload's speculative decoding (None: none, or a pool's)
    mtp: bool | None = None                  # with `method = mtp`: whether the checkpoint ships MTP weights
    architecture: str | None = None          # with EPLB: the checkpoint's architecture (None: dagc does not know)
    expert_load: str | None = None           # the workload's measured expert loads: its file, as the plan names it
    model_arch: str | None = None            # the checkpoint's architecture, whatever the options (None: not known)
    mla: bool = False                        # the model's attention is multi-head latent attention (MLA)
    heads: int = 0                           # the model's attention (query) heads
    kv_heads: int = 0                        # the model's KV heads (GQA's groups; MLA's latent counts as 1 in engines)
    gpu: str = ""                            # the cluster's GPU, by its preset's name
    vendor: Vendor | None = None             # who makes the cluster's GPU (None: a custom GPU, not known)
    nvfp4: bool = False                      # some of the model's weights (all, or the experts') are nvfp4
    mxfp4: bool = False                      # … mxfp4 (gpt-oss's experts)
    fp8: bool = False                        # … fp8
    role: PoolRole | None = None             # the pool a disaggregated strategy's server serves (None: no pool)
    host_gpus: int | None = None             # GPUs of one host where a node's NVLink domain spans several (GB200)
    # in flight with chunked prefill off (`chunked_prefill = off`): a step's token budget (`chunk`) and the length
    # limit the engine is told (the longest request, `dagc.serve.requests.length_limit`); None: chunked prefill on
    whole_prompts: tuple[int, int] | None = None
    whole_gpu: bool = False                  # vLLM's memory share as dagc writes it is 1.000, the GPU's whole memory

    @property
    def dp(self) -> int:
        return self.layout.dp

    @property
    def pp(self) -> int:
        return self.layout.pp

    @property
    def group(self) -> int:
        return self.layout.group_size

    @property
    def tp(self) -> int:
        return self.layout.tp

    @property
    def cp(self) -> int:
        return self.layout.cp

    @property
    def sp(self) -> bool:
        return self.layout.sp

    @property
    def adp(self) -> int:
        return self.layout.adp

    @property
    def ep(self) -> int:
        return self.layout.ep

    @property
    def etp(self) -> int:
        return self.layout.etp

    @property
    def edp(self) -> int:
        return self.layout.edp

    @property
    def experts_inside_tp(self) -> bool:
        """Whether the EP group is the attention TP group (`tp N ; ep N`, no attention DP, cp 1): dagc prices
        its experts on the tokens every TP rank holds, combined by the TP all-reduce, with no all-to-all."""
        return self.has_experts and experts_inside_tp(self.layout)

    @property
    def eplb(self) -> bool:
        """Whether the strategy balances its experts (`with redundant R`, R ≥ 0)."""
        return self.layout.eplb and self.has_experts

    @property
    def redundant(self) -> int:
        return self.layout.redundant

    @property
    def experts(self) -> int:
        return self.layout.experts

    @property
    def split(self) -> tuple[int, ...]:
        return self.layout.layers_per_stage

    @property
    def split_explicit(self) -> bool:
        return self.layout.split_is_explicit

    @property
    def gpus_per_node(self) -> int:
        """The GPUs of one machine the engine's processes start on: a node's, or its host's where a node's NVLink
        domain spans several hosts (`dagc.plan.cluster.Cluster.gpus_per_host`: a GB200 NVL72 rack's trays of 4)."""
        return self.host_gpus or self.layout.gpus_per_node

    @property
    def microbatches(self) -> int:
        """Scheduled by dagc (what its figures are for)."""
        return self.layout.microbatches

    @property
    def replica_gpus(self) -> int:
        return self.pp * self.group

    @property
    def gpus(self) -> int:
        return self.layout.gpus_used


def degrees(plan: Plan, strategy: Strategy, layout: Layout | None = None) -> Degrees:
    """The engine-neutral degrees of a strategy, resolved into its layout when `layout` is not given.

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.verdict.check import check
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 32 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 8 prompt = 512 generate = 64 } strategy pp 4 < tp 2 ; ep 8 >')
        >>> d = degrees(p, check(p)[0].strategy)
        >>> d.dp, d.pp, d.group, d.tp, d.adp, d.ep, d.etp, d.edp, d.split
        (1, 4, 8, 2, 4, 8, 1, 1, (8, 8, 8, 8))
    """
    model, workload = plan.model, strategy.workload_for(plan.workload)
    spec = workload.speculative
    if layout is None:
        layout = resolve(model, plan.cluster, workload, strategy)
    load = workload.expert_load
    return Degrees(layout=layout, has_experts=model.has_experts,
                   dense_layers=model.dense_layer_count if model.has_experts else 0, layers=model.layers,
                   overlap=workload.overlap, speculative=spec,
                   mtp=mtp_weights(plan) if spec is not None and spec.method == "mtp" else None,
                   architecture=architecture(plan) if layout.eplb else None,
                   expert_load=load.file if load is not None else None, model_arch=architecture(plan),
                   mla=model.mla is not None, heads=model.heads, kv_heads=model.kv_heads,
                   gpu=plan.cluster.gpu.name, role=workload.role,
                   vendor=plan.cluster.gpu.vendor, nvfp4=DType.NVFP4 in (model.weights, model.expert_weights),
                   mxfp4=DType.MXFP4 in (model.weights, model.expert_weights),
                   fp8=DType.FP8 in (model.weights, model.expert_weights),
                   host_gpus=plan.cluster.gpus_per_host if plan.cluster.gpus_per_host != layout.gpus_per_node else None,
                   whole_prompts=(workload.chunk_tokens, length_limit(workload, model.context_length))
                   if mode_of(workload).whole_prompts(workload.chunked_prefill) else None,
                   whole_gpu=memory_shares(plan).usable_fraction >= 1.0)


def dagc_stage_nodes(d: Degrees) -> tuple[frozenset[int], ...]:
    """The nodes of each stage's GPUs in dagc's rank order, relative to the replica's first node:
    stage s holds the replica's ranks s·G … s·G + G − 1 (a replica inside one node: node 0).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.verdict.check import check
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 32 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 8 prompt = 512 generate = 64 } strategy pp 4 < tp 2 ; ep 8 >')
        >>> d = degrees(p, check(p)[0].strategy)
        >>> [sorted(n) for n in dagc_stage_nodes(d)]
        [[0], [1], [2], [3]]
    """
    g, gpn = d.group, d.gpus_per_node
    if d.replica_gpus <= gpn:
        return (frozenset({0}),) * d.pp
    return tuple(frozenset(range(s * g // gpn, (s * g + g - 1) // gpn + 1)) for s in range(d.pp))


@dataclass(frozen=True)
class Placement:
    """Where one whole-model replica runs: its nodes, the local GPUs it uses on each, its HTTP port."""

    replica: int
    nodes: range
    gpus: range
    port: int
    shares_node: bool = False      # other replicas run on its node: it is given its GPUs by CUDA_VISIBLE_DEVICES

    @property
    def head(self) -> int:
        return self.nodes[0]

    @property
    def listed_nodes(self) -> range:
        """The nodes whose commands are written out (at most MAX_LISTED_NODES)."""
        return self.nodes[:MAX_LISTED_NODES]

    @property
    def whole_nodes(self) -> bool:
        """Whether the replica has its nodes to itself (no CUDA_VISIBLE_DEVICES needed)."""
        return not self.shares_node


def _straddles(n: int, per_node: int, dp: int) -> bool:
    """Whether a replica of n GPUs (of dp, placed one after another) spans part of a node: larger
    than a node and not whole nodes, or smaller and crossing a node boundary. The offsets of the
    replicas in a node repeat with a period of at most `per_node` replicas."""
    if n > per_node:
        return n % per_node != 0
    return any((r * n) % per_node + n > per_node for r in range(min(dp, per_node)))


def placements(d: Degrees, limit: int | None = None) -> list[Placement] | None:
    """One placement per replica (the first `limit`) in dagc's rank order (replica r holds ranks
    r·pp·G …), or None when a replica would straddle nodes unevenly (E701).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.verdict.check import check
        >>> p = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                    'workload { batch = 8 prompt = 512 generate = 64 } strategy dp 2 < tp 4 >')
        >>> d = degrees(p, check(p)[0].strategy)
        >>> d.dp, d.pp, d.group, d.tp, d.ep, d.etp
        (2, 1, 4, 4, 1, 4)
        >>> [(tuple(p.nodes), tuple(p.gpus), p.port) for p in placements(d)]
        [((0,), (0, 1, 2, 3), 8000), ((0,), (4, 5, 6, 7), 8001)]
    """
    n, per_node = d.replica_gpus, d.gpus_per_node
    if _straddles(n, per_node, d.dp):
        return None
    out = []
    for r in range(d.dp if limit is None else min(d.dp, limit)):
        start = r * n
        node, first = divmod(start, per_node)
        if n <= per_node:
            out.append(Placement(r, range(node, node + 1), range(first, first + n), BASE_PORT + first // n,
                                 shares_node=n < per_node and d.dp > 1))
        else:
            out.append(Placement(r, range(node, node + n // per_node), range(per_node), BASE_PORT))
    return out

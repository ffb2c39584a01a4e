"""The typed SPMD operator-and-communication DAG (SPEC 5).

Input: built by `dagc.ir.build` from a plan and its layout. Output: `Dag`, one node per SPMD
op instance — (stage, layer, micro-batch, phase, step, op) — executed in lock-step by the
ranks of one stage of one representative DP replica (the others are identical; `dp` is
recorded as the multiplicity). Per-rank figures live in numpy vectors over the stage group
on shared `OpTemplate`s, so the DAG's size grows with layers × micro-batches, not with
the GPU count. `to_networkx()` is the public graph view; `expand_ranks()` is the per-rank
expansion for small plans and exporters.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ..enums import FastEnum
from ..layout.modes import mode_of
from ..plan.model import DType
from ..plan.strategy import Axis
from ..plan.workload import Phase, Workload

if TYPE_CHECKING:   # networkx is for exporters and tests: checking a plan does not load it
    import networkx as nx

    from ..layout.layout import Layout

__all__ = ["OpKind", "Phase", "Category", "Kernel", "KernelClass", "OpTemplate", "Node", "At", "StagePass", "Dag",
           "DAG_VERSION", "NODE_BUDGET", "STAGE_BUDGET", "GROUP_BUDGET", "estimate_nodes", "over_work_budget",
           "step_passes", "DagTooLarge", "Vec"]

DAG_VERSION = 1
# A per-rank figure: a vector over the local ranks of a stage group (`OpTemplate`, `Kernel.shape`)
Vec = npt.NDArray[np.float64]
# The most nodes dagc builds (about 3 s and 0.3 GB); above it `check` reports W507 and no metrics.
NODE_BUDGET = 500_000
# The most pipeline stages `check` examines one by one (memory, activations, per-stage rules); above
# it `check` reports W511 and computes no per-stage figure. Real pipelines have at most a few hundred.
STAGE_BUDGET = 4096
# The most GPUs in a stage group for which dagc computes per-rank vectors (op templates, activations);
# above it `check` reports W511, and `build()` refuses. Each vector costs 8 bytes per rank.
GROUP_BUDGET = 65_536
OPS_PER_LAYER_MAX = 16


class DagTooLarge(ValueError):
    """Raised by `dagc.ir.build.build` for a layout whose DAG would exceed `NODE_BUDGET` nodes, or whose
    stage group exceeds `GROUP_BUDGET` GPUs (`dagc.verdict.check` never builds one: it reports W507 or W511)."""


def step_passes(workload: Workload) -> tuple[tuple[Phase, int], ...]:
    """The passes the DAG of a workload holds, in order, as (phase, step): its serving mode's steps
    (`dagc.layout.modes`) — statically the prefill and two decode steps; in flight two decode steps and two
    mixed steps (dagc.serve.inflight); a pool's instance of a disaggregated strategy (`Workload.role`) the
    prefill alone or the decode steps alone."""
    return mode_of(workload).steps


def estimate_nodes(layout: Layout, workload: Workload | None = None) -> int:
    """An upper bound on the DAG's node count: its passes (`step_passes`; 4 when the workload is not
    given) × micro-batches × (ops of every layer + embed, final norm, LM head and a send/recv pair
    per stage boundary), and speculative decoding's draft passes after each decode step (a layer, a
    final norm and an LM head each).

    O(1): the stages are contiguous from layer 0, so their layers sum to the last one's end."""
    layers = layout.stage_layers[-1][1] if layout.stage_layers else 0
    passes = 4 if workload is None else len(step_passes(workload))
    spec = workload.speculative if workload is not None else None
    drafts = spec.tokens * (OPS_PER_LAYER_MAX + 2) if spec is not None else 0
    return passes * layout.microbatches * (OPS_PER_LAYER_MAX * layers + 3 + 2 * (layout.pp - 1) + drafts)


def over_work_budget(layout: Layout) -> str | None:
    """Why a layout is too large to examine stage by stage or rank by rank, or None.

    O(1), so it can be asked before any per-stage or per-rank work: more than `STAGE_BUDGET`
    pipeline stages, or a stage group of more than `GROUP_BUDGET` GPUs."""
    if layout.pp > STAGE_BUDGET:
        return f"{layout.pp:,} pipeline stages (at most {STAGE_BUDGET:,} are examined one by one)"
    if layout.group_size > GROUP_BUDGET:
        return (f"a stage group of {layout.group_size:,} GPUs (per-rank figures are computed for at most "
                f"{GROUP_BUDGET:,})")
    return None


class Category(FastEnum):
    """What time on the critical path is spent on."""

    COMPUTE = "compute"
    TP_COMM = "tp_comm"
    EP_COMM = "ep_comm"
    PP_COMM = "pp_comm"
    WAITING = "waiting"


class OpKind(FastEnum):
    EMBED = "embed"
    NORM = "norm"
    QKV_PROJ = "qkv_proj"
    ATTENTION = "attention"
    O_PROJ = "o_proj"
    ROUTER = "router"
    EXPERT_FFN = "expert_ffn"
    SHARED_EXPERT = "shared_expert"
    DENSE_FFN = "dense_ffn"
    LM_HEAD = "lm_head"
    ALL_REDUCE = "all_reduce"
    REDUCE_SCATTER = "reduce_scatter"
    ALL_GATHER = "all_gather"
    ALL_TO_ALL_DISPATCH = "all_to_all_dispatch"
    ALL_TO_ALL_COMBINE = "all_to_all_combine"
    SEND = "send"
    RECV = "recv"

    @property
    def is_comm(self) -> bool:
        return self in _COMM

    @property
    def category(self) -> Category:
        return _CATEGORY[self]


_COMM = frozenset({OpKind.ALL_REDUCE, OpKind.REDUCE_SCATTER, OpKind.ALL_GATHER, OpKind.ALL_TO_ALL_DISPATCH,
                   OpKind.ALL_TO_ALL_COMBINE, OpKind.SEND, OpKind.RECV})


def _category(kind: OpKind) -> Category:
    if kind in (OpKind.ALL_TO_ALL_DISPATCH, OpKind.ALL_TO_ALL_COMBINE):
        return Category.EP_COMM
    if kind in (OpKind.SEND, OpKind.RECV):
        return Category.PP_COMM
    if kind in _COMM:
        return Category.TP_COMM
    return Category.COMPUTE


_CATEGORY = {kind: _category(kind) for kind in OpKind}     # a kind's, looked up (schedules ask it of every node)


class KernelClass(FastEnum):
    """The op classes of a kernel profile (SPEC 6.4): how a kernel's time is looked up."""

    GEMM = "gemm"                       # x[m, k] @ w[n, k]^T
    GROUPED_GEMM = "grouped_gemm"       # experts × [tokens_per_expert, k] @ [k, n]
    ATTN_PREFILL = "attn_prefill"       # causal flash attention
    ATTN_DECODE = "attn_decode"         # one query per request against its KV cache
    MLA_DECODE = "mla_decode"           # absorbed MLA decode over the latent cache
    MEMORY = "memory"                   # a memory-bound pass over `nbytes` (norm, activation, permutation, …)
    FUSED_MOE = "fused_moe"             # a serving engine's whole fused MoE layer on one rank (engine profiles)


@dataclass(frozen=True, eq=False)
class Kernel:
    """One kernel an op launches, with its shape per local rank (numpy vectors over the stage group).

    `shape` holds the class's arguments in the order of the profile's time function:
    GEMM (m, n, k); GROUPED_GEMM (experts, tokens_per_expert, k, n); ATTN_PREFILL (batch, seq,
    heads, kv_heads, head_dim); ATTN_DECODE (batch, ctx, heads, kv_heads, head_dim, kv cache bytes an
    element); MLA_DECODE (batch, ctx, heads, kv_lora, rope, kv cache bytes); MEMORY (nbytes,); FUSED_MOE
    (tokens entering the EP group, hidden, inter, top_k, experts, tp, ep, a2a: 2 behind DeepEP, else 1).
    A rank whose first coordinate is 0 (no tokens, no bytes) launches nothing.
    """

    name: str                            # e.g. "gate_up", "permute": visible in dag.json and the trace
    cls: KernelClass
    shape: tuple[Vec, ...]
    dtype: DType = DType.BF16            # GEMM inputs
    memory_op: str = "copy"              # MEMORY: which measured glue op it is (dagc.kernels.kernels.MemoryOp)
    launches: int = 1                    # kernels this stands for (small unfused steps): each costs the floor
    eager: bool = False                  # launched outside a CUDA graph (prefill): the host's launch rate bounds it
    # MEMORY glue: the share of its bytes one fused kernel moves (each input read once, each output written
    # once), for a profile whose engine runs the step as one kernel (`KernelTimes.glue`)
    one_pass: float = 1.0


@dataclass(frozen=True, eq=False)
class OpTemplate:
    """Per-rank figures of one op shape, shared by every node with that shape (`dagc.ir.ops` makes them).

    Vectors run over the local ranks of a stage group (length G). `*_total` figures are
    the node's totals over its ranks with replicated work counted once (the useful work):
    e.g. a router that every TP rank runs counts once. A template holds no time: `dagc.cost.cost`
    derives durations from it.
    """

    kind: OpKind
    group: Axis | None              # the axis whose group runs a collective together; None: compute
    group_size: int
    tokens: Vec                     # per rank: tokens (expert_ffn: token-expert assignments)
    flops: Vec                      # per rank FLOPs
    hbm_bytes: Vec                  # per rank HBM traffic
    comm_bytes: Vec                 # per rank bytes sent (the M of SPEC 6.5)
    act_bytes: Vec                  # per rank inputs + outputs held while the op runs
    tokens_total: float
    flops_total: float
    hbm_bytes_total: float
    comm_bytes_total: float
    out_bytes_total: float = 0.0    # bytes the op hands to its successors (a data edge's bytes)
    peak_dtype: DType = DType.BF16  # the dtype whose peak FLOPs apply
    crosses_nodes: bool = False
    nodes: int = 1                  # nodes a collective's group spans (SPEC 6.5 prices it per level)
    network_bytes: Vec | None = None   # per rank bytes over the network when they differ from comm_bytes
    kernels: tuple[Kernel, ...] = ()   # what a compute op launches, each costed from the kernel profile
    # The same op as one engine kernel (the routed experts: a fused MoE layer), priced instead of `kernels`
    # when the profile measured that kernel at this shape (`dagc.cost.compute.priced_kernels`).
    fused: Kernel | None = None
    # The embedding's (a step's first op, which carries the engine's host time, `dagc.cost.cost.host_step_s`): the
    # most requests one engine process schedules in the step — one attention group's; 0 for every other op.
    requests: float = 0.0

    @property
    def category(self) -> Category:
        """What its time is on a critical path: its kind's, but for the all-reduce of the expert-TP shards' outputs
        (`etp` outside the attention TP group), which is the routed experts' communication beside their all-to-alls
        (EP): a `tp 1 ; ep 1 etp 2` strategy has no TP communication."""
        return Category.EP_COMM if self.group is Axis.ETP and self.kind.is_comm else _CATEGORY[self.kind]


@dataclass(frozen=True, slots=True)
class At:
    """Where a node runs: its phase, its step in that phase, its pipeline stage and its micro-batch."""

    phase: Phase
    step: int
    stage: int
    mb: int


@dataclass(frozen=True, slots=True, eq=False)
class StagePass:
    """A pass of one micro-batch shape through one pipeline stage: its phase, the requests of each attention-DP
    group (`req`), the stage, and with `chunk` a mixed step's chunk of that many prompt tokens instead of the
    layout's (`dagc.ir.op_shapes.phase_chunk`)."""

    phase: Phase
    req: np.ndarray
    stage: int
    chunk: int | None = None


@dataclass(frozen=True)
class Node:
    """A read-only view of one DAG node (for exporters and tests); `dagc.verdict.compiled` adds its times."""

    id: int
    kind: OpKind
    phase: Phase
    step: int
    stage: int
    layer: int            # -1: not in a layer (embed, lm_head, final norm)
    microbatch: int
    ranks: range          # global ranks of representative replica 0
    template: OpTemplate

    @property
    def category(self) -> Category:
        return self.template.category


class Dag:
    """Nodes as parallel lists (struct of arrays), edges as (src, dst, bytes) lists.

    Nodes are appended in a topological order. `pair[i]` ties a send to its recv: the two
    run at the same time on both stages' communication streams.
    """

    def __init__(self, group_size: int, pp: int, dp: int, microbatches: int) -> None:
        self.group_size = group_size
        self.pp = pp
        self.dp = dp
        self.microbatches = microbatches
        self.kind: list[OpKind] = []
        self.phase: list[Phase] = []
        self.step: list[int] = []
        self.stage: list[int] = []
        self.layer: list[int] = []
        self.mb: list[int] = []
        self.template: list[OpTemplate] = []      # per node (shared objects)
        self.templates: list[OpTemplate] = []     # each distinct template once, in order of first use
        self.template_index: list[int] = []       # per node: its template's index in `templates`
        self._index_of: dict[int, int] = {}
        self.pair: list[int] = []
        self.pos: list[float] = []     # position in a micro-batch's pass: embed < layers < send < head
        self.preds: list[list[int]] = []

    def __len__(self) -> int:
        return len(self.kind)

    def add(self, tpl: OpTemplate, at: At, layer: int, preds: list[int], pos: float = 0.0) -> int:
        """Append a node of `tpl` run `at` (in `layer`, -1: outside the layers) after `preds`; its index."""
        self.pos.append(pos)
        self.kind.append(tpl.kind)
        self.phase.append(at.phase)
        self.step.append(at.step)
        self.stage.append(at.stage)
        self.layer.append(layer)
        self.mb.append(at.mb)
        self.template.append(tpl)
        k = self._index_of.get(id(tpl))
        if k is None:
            k = self._index_of[id(tpl)] = len(self.templates)
            self.templates.append(tpl)
        self.template_index.append(k)
        self.pair.append(-1)
        self.preds.append(preds)
        return len(self.kind) - 1

    def edge_bytes(self, src: int, dst: int) -> float:
        """Bytes along a data edge: what the producer hands on (a recv: what the send moved)."""
        if self.kind[dst] is OpKind.RECV:
            return self.template[dst].comm_bytes_total
        return self.template[src].out_bytes_total

    def tie(self, a: int, b: int) -> None:
        self.pair[a] = b
        self.pair[b] = a

    @property
    def edges(self) -> list[tuple[int, int]]:
        return [(p, i) for i, ps in enumerate(self.preds) for p in ps]

    def ranks_of(self, i: int) -> range:
        start = self.stage[i] * self.group_size
        return range(start, start + self.group_size)

    def node(self, i: int) -> Node:
        return Node(id=i, kind=self.kind[i], phase=self.phase[i], step=self.step[i], stage=self.stage[i],
                    layer=self.layer[i], microbatch=self.mb[i], ranks=self.ranks_of(i), template=self.template[i])

    def nodes(self) -> Iterator[Node]:
        return (self.node(i) for i in range(len(self)))

    def indices(self, phase: Phase) -> list[int]:
        return [i for i, p in enumerate(self.phase) if p is phase]

    def activation_bytes_by_stage(self) -> dict[int, float]:
        """The largest per-rank working set of any op of each stage (prefill and decode)."""
        out: dict[int, float] = {}
        seen: set[tuple[int, int]] = set()
        for stage, tpl in zip(self.stage, self.template, strict=True):
            key = (stage, id(tpl))
            if key in seen:
                continue
            seen.add(key)
            peak = float(tpl.act_bytes.max()) if tpl.act_bytes.size else 0.0
            if peak > out.get(stage, 0.0):
                out[stage] = peak
        return out

    def to_networkx(self) -> nx.DiGraph:
        """The DAG as a networkx DiGraph: node attributes are the SPEC 5 fields without times
        (`dagc.verdict.compiled.Compiled.to_networkx` adds duration, start, finish and the critical path)."""
        import networkx as nx
        g = nx.DiGraph(version=DAG_VERSION, dp=self.dp, pp=self.pp, group_size=self.group_size)
        for n in self.nodes():
            t = n.template
            g.add_node(n.id, kind=n.kind.value, phase=n.phase.value, step=n.step, stage=n.stage, layer=n.layer,
                       microbatch=n.microbatch, ranks=[n.ranks.start, n.ranks.stop - 1],
                       group=t.group.value if t.group is not None else None, tokens=t.tokens_total,
                       flops=t.flops_total, hbm_bytes=t.hbm_bytes_total, comm_bytes=t.comm_bytes_total)
        for dst, preds in enumerate(self.preds):
            for src in preds:
                g.add_edge(src, dst, kind="data", bytes=self.edge_bytes(src, dst))
        return g

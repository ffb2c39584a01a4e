"""Layout: a strategy resolved into a device mesh (SPEC 3.5).

Input: a `Model`, `Cluster`, `Workload` and a structurally valid `Strategy`. Output: a
frozen `Layout`: the stage group size G = max(tp·cp, ep·etp), implicit attention and
expert data parallelism (adp, edp), GPUs used = dp·pp·G, each stage's layers, the
experts each expert-parallel index holds, and per-rank coordinates as numpy vectors.

Rank numbering: rank = ((d·pp) + p)·G + local. Inside a stage, attention coordinates
(adp, cp, tp) with tp fastest; expert coordinates (edp, ep, etp) with etp fastest. The
node of a rank is rank // gpus_per_node.

The work split a `Layout` reads (requests per replica, attention-DP group and micro-batch) is
`dagc.layout.split`, its stages' layers `dagc.layout.stages.StageBounds`; the search's light view
of a layout is `dagc.layout.sketch.LayoutSketch`.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable
from dataclasses import dataclass, field, fields

import numpy as np
import numpy.typing as npt

from ..plan.cluster import Cluster
from ..plan.expert_padding import HeldExperts, held_experts
from ..plan.model import Model
from ..plan.strategy import Strategy
from ..plan.workload import Workload
from .shards import RankDims, RankShards, StageCounts, dims_of, rank_shards
from .speculative import DraftLayer, draft_layer
from .split import (
    busiest_group_requests,
    effective_microbatches,
    even_split,
    microbatch_requests,
    replica_rows,
    request_matrix,
    request_rows,
)
from .stages import StageBounds

__all__ = ["Layout", "attention_ranks", "fullest_rank_slots", "instance_gpus", "rank_figures", "resolve",
           "stage_group"]


def fullest_rank_slots(experts: int, redundant: int, ep: int) -> int:
    """Expert slots per EP rank and MoE layer — the routed experts and the redundant slots over ep —, the fullest
    rank's where ep divides no slot count (E301: 43 of 128 over ep 3); 0 without ep."""
    return -(-(experts + redundant) // ep) if ep else 0


@dataclass(frozen=True)
class Layout:
    strategy: Strategy
    dp: int
    pp: int
    tp: int
    cp: int
    sp: bool
    ep: int
    etp: int
    expert_domain_written: bool
    group_size: int                 # G: GPUs of one stage
    adp: int                        # attention data parallelism inside a stage: G/(tp·cp)
    edp: int                        # expert data parallelism (replicas of each expert): G/(ep·etp)
    stage_layers: StageBounds       # [first, last+1) per stage, read like a tuple of pairs
    split_is_explicit: bool
    experts: int                    # routed experts per MoE layer
    microbatches: int               # scheduled: at most the requests of one attention-DP group
    gpus_per_node: int
    gpus_available: int
    # What the layout's ranks hold, worked out once here from the model and read by every later stage (functions of
    # the model, the workload and the fields above, so no part of a layout's identity): the per-rank shares of a
    # layer (`RankShards`), each stage's layers by kind (`StageCounts`, each worked out when read) and speculative
    # decoding's draft layer (`dagc.layout.speculative.draft_layer`).
    shards: RankShards = field(compare=False, repr=False)
    dims: RankDims = field(compare=False, repr=False)      # the op shapes' per-rank dimensions (`dims_of`)
    stage_counts: StageCounts = field(compare=False, repr=False)
    draft: DraftLayer | None = field(compare=False, repr=False)
    # one routed expert on a rank as the cluster's engine holds it on its GPU (vLLM pads mxfp4 experts:
    # `dagc.plan.expert_padding`), read by memory and the experts' op shapes
    held: HeldExperts = field(compare=False, repr=False)
    microbatches_requested: int = 0     # as written (or pp by default); 0: same as `microbatches`
    batch: int = 0                      # requests of the workload, split by `requests`
    redundant: int = 0                  # `with redundant R`: extra expert slots per MoE layer
    eplb: bool = False                  # experts placed by EPLB (`with redundant R`, R ≥ 0); else contiguously

    # The work split. A request belongs to one attention-DP group for its whole life: the batch is
    # split over replicas, each replica's requests over its attention-DP groups, and then each
    # group's requests over the micro-batches (as even as possible, the first parts one more).

    @functools.cached_property
    def timing_key(self) -> tuple[Hashable, ...]:
        """What a layout's DAG and activations read of it, worked out once (`dagc.memory.activations` and
        `dagc.verdict.analyse.compile_dag` key what they keep by it): its strategy by its degrees (its JSON but its
        name, text and execution options, `_UNREAD`) and every field but its GPUs available (strategies checked on
        clusters of one GPU type at several counts share them) and those worked out of the model and workload that
        the key holds beside it (`_DERIVED`). No DAG, cost, schedule or activation reads a layout's `strategy`: its
        fields do, and the workload beside the key holds the options (`Strategy.workload_for`), so that `tp 8` and
        `tp 8 with microbatches 1 overlap none` of one workload — the search's exact figures of a candidate and its
        check by its printed text (`dagc search --rate`) — build, cost and schedule one DAG."""
        return (self.strategy.model_dump_json(exclude=_UNREAD),
                *(getattr(self, f.name) for f in fields(self) if f.name not in _UNKEYED))

    @property
    def replica_requests(self) -> tuple[int, ...]:
        """Requests of each replica."""
        return even_split(self.batch, self.dp)

    def group_requests(self, replica: int = 0) -> tuple[int, ...]:
        """Requests of each attention-DP group of a replica, for their whole life."""
        return even_split(self.replica_requests[replica], self.adp)

    def requests(self, replica: int = 0) -> npt.NDArray[np.float64]:
        """Requests of a replica per (micro-batch, attention-DP group), as float64 (the DAG's
        shapes); replica 0, the busiest, is the one the DAG builds."""
        return request_matrix(self.group_requests(replica), self.microbatches)

    @property
    def request_rows(self) -> tuple[tuple[float, ...], ...]:
        """`requests()` of replica 0 as tuples, one per micro-batch (what the search's timer and recurrence key a
        pass by), made once per split (`dagc.layout.split.request_rows`)."""
        return request_rows(self.batch, self.dp, self.adp, self.microbatches)

    def microbatch_requests(self, replica: int = 0) -> tuple[int, ...]:
        """Requests of each micro-batch of a replica, all its attention-DP groups together: the row
        sums of `requests()` (`microbatch_requests`)."""
        return microbatch_requests(self.replica_requests[replica], self.adp, self.microbatches)

    def distinct_request_rows(self) -> list[tuple[float, ...]]:
        """The distinct rows of `requests()`, in order of first appearance (remembered by what they
        read: replica 0's requests, the attention-DP groups and the micro-batches)."""
        return list(replica_rows(self.replica_requests[0], self.adp, self.microbatches))

    @property
    def requests_per_rank(self) -> int:
        """Requests whose attention (and KV cache) one rank serves: the busiest group's."""
        return busiest_group_requests(self.batch, self.dp, self.adp)

    @property
    def busiest_microbatch_requests(self) -> int:
        """Requests of the largest micro-batch of the busiest replica (all its groups)."""
        return sum(-(-n // self.microbatches) for n in self.group_requests())

    @property
    def work_parts(self) -> int:
        """Cells of the work split: dp × attention DP × micro-batches."""
        return self.dp * self.adp * self.microbatches

    @property
    def work_is_even(self) -> bool:
        """Whether every (replica, micro-batch, group) cell has the same requests."""
        return self.batch % self.work_parts == 0

    @property
    def attention_divides(self) -> bool:
        """Whether the attention domain (tp·cp) divides the stage group: else (E203) there is no
        attention DP, and `adp` is only the rounded quotient."""
        return self.group_size % (self.tp * self.cp) == 0

    @property
    def experts_divide(self) -> bool:
        """Whether the expert domain (ep·etp) divides the stage group: else (E203) `edp` is only the
        rounded quotient."""
        return self.group_size % (self.ep * self.etp) == 0

    @property
    def gpus_used(self) -> int:
        return self.dp * self.pp * self.group_size

    @property
    def microbatches_dropped(self) -> int:
        """Requested micro-batches that would carry no request (not scheduled)."""
        return max(0, self.microbatches_requested - self.microbatches)

    @property
    def layers_per_stage(self) -> tuple[int, ...]:
        return self.stage_layers.counts()

    @property
    def attention_size(self) -> int:
        return self.tp * self.cp

    @property
    def expert_size(self) -> int:
        return self.ep * self.etp

    @property
    def experts_per_ep_rank(self) -> int:
        """Expert slots per EP rank and MoE layer: the routed experts and the redundant slots, over ep — the
        fullest rank's where ep divides no slot count (E301: 43 of 128 over ep 3)."""
        return fullest_rank_slots(self.experts, self.redundant, self.ep)

    def slots_of(self, ep_index: int) -> range:
        """Expert slots held by expert-parallel index `ep_index`: contiguous, `experts_per_ep_rank` of them (the
        last ranks' fewer where ep divides no slot count)."""
        n, slots = self.experts_per_ep_rank, self.experts + self.redundant
        return range(min(ep_index * n, slots), min((ep_index + 1) * n, slots))

    def experts_of(self, ep_index: int) -> tuple[int, ...]:
        """Routed experts held by expert-parallel index `ep_index`, one per slot of `slots_of`: slot s
        holds expert s mod E — the experts in order, then the redundant slots copying experts 0, 1, …
        (vLLM's and SGLang's first placement, before EPLB moves anything: dagc's placement when no
        measured loads say which experts are hot). Without redundant slots, experts [i·E/ep, (i+1)·E/ep)."""
        return tuple(s % self.experts for s in self.slots_of(ep_index)) if self.experts else ()

    def stage_ranks(self, replica: int, stage: int) -> range:
        start = (replica * self.pp + stage) * self.group_size
        return range(start, start + self.group_size)

    @functools.cached_property
    def coords(self) -> dict[str, npt.NDArray[np.int64]]:
        """Per-rank coordinates over all used ranks, as int64 vectors."""
        r = np.arange(self.gpus_used, dtype=np.int64)
        g = self.group_size
        local = r % g
        stage_global = r // g
        return {
            "rank": r,
            "replica": stage_global // self.pp,
            "stage": stage_global % self.pp,
            "local": local,
            "tp": local % self.tp,
            "cp": (local // self.tp) % self.cp,
            "adp": local // (self.tp * self.cp),
            "etp": local % self.etp,
            "ep": (local // self.etp) % self.ep,
            "edp": local // (self.etp * self.ep),
            "node": r // self.gpus_per_node,
        }

    def group_crosses_nodes(self, size: int) -> bool:
        """Whether any aligned group of `size` consecutive local ranks spans two nodes."""
        return self.blocks_cross_nodes(0, self.gpus_used, size)

    def blocks_cross_nodes(self, first: int, count: int, span: int) -> bool:
        """Whether any aligned block of `span` ranks in [first, first + count) spans two nodes."""
        return _blocks_cross_nodes(first, count, span, self.gpus_per_node)

    def send_crosses_nodes(self, stage: int) -> bool:
        """Whether a stage's ranks send to the next stage's (rank + group size) across a node boundary."""
        return _send_crosses_nodes(stage, self.group_size, self.gpus_per_node)

    def node_offset(self, stage: int) -> int:
        """Where a stage's group starts in its node, as far as it can change a node crossing inside the
        stage: 0 when every stage's groups sit alike (the group divides the node, or the node the group)."""
        return _node_offset(stage, self.group_size, self.gpus_per_node)

    @property
    def placements(self) -> tuple[tuple[int, bool, bool], ...]:
        """Per stage, what its costs read of where it sits: its group's offset in its node (`node_offset`), whether
        its send crosses nodes (`send_crosses_nodes`), whether it is the last; made once per stage group, node and
        count of stages (the search's timer reads them of every candidate)."""
        return _placements(self.group_size, self.gpus_per_node, self.pp)

    def stage_of_layer(self, layer: int) -> int:
        for s, (a, b) in enumerate(self.stage_layers):
            if a <= layer < b:
                return s
        raise ValueError(f"layer {layer} is on no stage")


def _send_crosses_nodes(stage: int, g: int, gpn: int) -> bool:
    """`Layout.send_crosses_nodes` of a stage group of `g` GPUs on nodes of `gpn`."""
    # rank r sends to r + g: some pair straddles a node boundary iff a multiple of gpn lies in
    # (first, first + 2g − 1], first being the stage's first rank
    first = stage * g
    return (first + 2 * g - 1) // gpn > first // gpn


def _node_offset(stage: int, g: int, gpn: int) -> int:
    """`Layout.node_offset` of a stage group of `g` GPUs on nodes of `gpn`."""
    if gpn % g == 0 or g % gpn == 0:
        return 0
    return (stage * g) % gpn


@functools.lru_cache(maxsize=4096)
def _placements(g: int, gpn: int, pp: int) -> tuple[tuple[int, bool, bool], ...]:
    """`Layout.placements` of `pp` stage groups of `g` GPUs on nodes of `gpn`."""
    return tuple((_node_offset(stage, g, gpn), _send_crosses_nodes(stage, g, gpn), stage == pp - 1)
                 for stage in range(pp))


@functools.lru_cache(maxsize=4096)
def _blocks_cross_nodes(first: int, count: int, span: int, gpus_per_node: int) -> bool:
    """`Layout.blocks_cross_nodes` for nodes of `gpus_per_node` (the search asks the same again and again)."""
    if span <= 1:
        return False
    if count // span > 1_000_000 and first % gpus_per_node == 0:
        # Residues k·span mod gpn run through the multiples of gcd(span, gpn): some block
        # crosses a node boundary exactly when span does not divide gpus_per_node.
        return span > gpus_per_node or gpus_per_node % span != 0
    starts = first + np.arange(0, count - span + 1, span, dtype=np.int64)    # whole blocks only
    return bool(np.any(starts // gpus_per_node != (starts + span - 1) // gpus_per_node))


def stage_group(tp: int, cp: int, ep: int | None, etp: int | None) -> tuple[int, int, int, int]:
    """(ep, etp, G, adp) of a stage group from the strategy's degrees: an expert domain not written
    follows the attention domain (ep 1, each expert split by tp); G = max(tp·cp, ep·etp) and the
    attention data parallelism adp = G/(tp·cp).

    Example:
        >>> stage_group(2, 1, 8, None), stage_group(4, 1, None, None)
        ((8, 1, 8, 4), (1, 4, 4, 1))
    """
    if ep is not None or etp is not None:
        ep, etp = ep or 1, etp or 1
    else:
        ep, etp = 1, tp
    attention = tp * cp
    g = max(attention, ep * etp)
    return ep, etp, g, max(1, g // attention)


def instance_gpus(s: Strategy) -> tuple[int, ...]:
    """The GPUs of each engine instance of `s`: one data-parallel replica of an aggregated strategy (pp × G), each
    pool's instance of a disaggregated one (its strategy's dp × pp × G), as a calibration's `instance_gpus` are.

    Example:
        >>> instance_gpus(Strategy(text="dp 2 < pp 2 < tp 2 ; ep 4 > >", dp=2, pp=2, tp=2, ep=4))
        (8,)
    """
    if s.pools:
        return tuple(p.strategy.dp * p.strategy.pp * stage_group(p.strategy.tp, p.strategy.cp, p.strategy.ep,
                                                                  p.strategy.etp)[2] for p in s.pools)
    return (s.pp * stage_group(s.tp, s.cp, s.ep, s.etp)[2],)


def resolve(model: Model, cluster: Cluster, workload: Workload, strategy: Strategy) -> Layout:
    """Resolve a strategy into a `Layout`. Never fails: divisibility is checked by the rules.

    Example:
        >>> from dagc.plan.strategy import Strategy
        >>> from dagc.lang.lower import model_from_preset
        >>> from dagc.plan.cluster import Cluster
        >>> from dagc.plan.workload import Workload
        >>> from dagc.plan.presets import GPU_PRESETS
        >>> m = model_from_preset("mixtral-8x7b")
        >>> c = Cluster(gpus=16, gpu=GPU_PRESETS["h100-sxm"], intra_node_bytes_per_s=450e9)
        >>> w = Workload(batch=64, prompt=2048, generate=256)
        >>> lay = resolve(m, c, w, Strategy(text="pp 2 < tp 2 ; ep 8 >", pp=2, tp=2, ep=8, etp=1))
        >>> lay.group_size, lay.adp, lay.edp, lay.gpus_used, lay.stage_layers
        (8, 4, 1, 16, ((0, 16), (16, 32)))
    """
    s = strategy
    draft, (shards, dims) = draft_layer(model, workload), rank_figures(model, s.tp, s.cp, s.sp)   # what its ranks hold
    ep, etp, g, adp = stage_group(s.tp, s.cp, s.ep, s.etp)
    split = s.pp_split
    explicit = split is not None and len(split) == s.pp and sum(split) == model.layers and min(split) > 0
    bounds = StageBounds.explicit(split) if split is not None and explicit else StageBounds.even(model.layers, s.pp)
    requested = workload.microbatches_for(s.pp)
    return Layout(
        strategy=s, dp=s.dp, pp=s.pp, tp=s.tp, cp=s.cp, sp=s.sp, ep=ep, etp=etp,
        expert_domain_written=s.ep is not None or s.etp is not None, group_size=g, adp=adp, edp=max(1, g // (ep * etp)),
        stage_layers=bounds, split_is_explicit=explicit, experts=model.moe.experts,
        microbatches=effective_microbatches(requested, workload.batch, s.dp, adp),
        gpus_per_node=cluster.gpus_per_node, gpus_available=cluster.gpus, shards=shards,
        stage_counts=StageCounts(model, bounds), draft=draft,
        held=held_experts(model, cluster.gpu, cluster.engine, etp), dims=dims, microbatches_requested=requested,
        batch=workload.batch, redundant=s.redundant or 0, eplb=s.redundant is not None,
    )


def rank_figures(model: Model, tp: int, cp: int, sp: bool) -> tuple[RankShards, RankDims]:
    """`Layout.shards` and `Layout.dims`, made once per model and attention split: the search resolves thousands
    of layouts of one model, and these are the same for each of its degrees (its candidates' sketches read them
    too, `dagc.layout.sketch.LayoutSketch`). Remembered by the model's identity
    (each entry holds its model, so that no other model takes its id while it is kept): hashing a model would
    cost more than a resolve."""
    key = (id(model), tp, cp, sp)
    hit = _RANKS.get(key)
    if hit is None or hit[0] is not model:
        if len(_RANKS) >= _RANKS_KEPT:
            _RANKS.clear()
        shards = rank_shards(model, tp)
        hit = _RANKS[key] = (model, shards, dims_of(model, shards, cp, sp))
    return hit[1], hit[2]


_RANKS_KEPT = 1024
_RANKS: dict[tuple[int, int, int, bool], tuple[Model, RankShards, RankDims]] = {}


def attention_ranks(strategy: Strategy) -> int:
    """The attention data-parallel ranks of the strategy's layout, read off its degrees: `Layout.dp` × `Layout.adp`
    (`stage_group`), what a prefill instance fills a chunk on each of (`dagc.verdict.pools.prefill_batch_of`)."""
    return strategy.dp * stage_group(strategy.tp, strategy.cp, strategy.ep, strategy.etp)[3]


# `Layout`'s fields worked out of the model and workload (and `held` of the cluster's GPU and engine, which a key
# holding the cluster's `hardware` holds)
_DERIVED = ("shards", "dims", "stage_counts", "draft", "held")
_UNKEYED = frozenset({"strategy", "gpus_available", *_DERIVED})
# a strategy's fields that no DAG reads (`Layout.timing_key`): its label, and its execution options, which reach
# it through the workload (`Strategy.workload_for`, `Layout.microbatches_requested`)
_UNREAD = {"name", "text", "microbatches", "overlap"}

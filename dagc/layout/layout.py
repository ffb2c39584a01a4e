"""Layout: a strategy resolved into a device mesh (SPEC 3.5).

Input: a `Model`, `Cluster`, `Workload` and a structurally valid `Strategy`. Output: a
frozen `Layout`: the stage group size G = max(tp·cp, ep·etp), implicit attention and
expert data parallelism (adp, edp), GPUs used = dp·pp·G, each stage's layers, the
experts each expert-parallel index holds, and per-rank coordinates as numpy vectors.

Rank numbering: rank = ((d·pp) + p)·G + local. Inside a stage, attention coordinates
(adp, cp, tp) with tp fastest; expert coordinates (edp, ep, etp) with etp fastest. The
node of a rank is rank // gpus_per_node.
"""

from __future__ import annotations

import collections
import functools
import itertools
import operator
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np

from ..plan.plan import Cluster, Model, Strategy, Workload

__all__ = ["Layout", "StageBounds", "resolve", "default_split", "effective_microbatches", "even_split",
           "busiest_group_requests", "request_matrix", "distinct_rows", "stage_group", "microbatch_requests"]


def even_split(n: int, parts: int) -> tuple[int, ...]:
    """`n` as `parts` counts, as even as possible, the first (n mod parts) one more.

    Example:
        >>> even_split(5, 4), even_split(2, 4)
        ((2, 1, 1, 1), (1, 1, 0, 0))
    """
    base, extra = divmod(n, parts)
    return (base + 1,) * extra + (base,) * (parts - extra)


def request_matrix(groups: Sequence[int], microbatches: int) -> np.ndarray:
    """Requests per (micro-batch, group): each group's requests split over the micro-batches.

    Example:
        >>> request_matrix((5, 5), 4).tolist()
        [[2.0, 2.0], [1.0, 1.0], [1.0, 1.0], [1.0, 1.0]]
    """
    cols = [even_split(n, microbatches) for n in groups]
    return np.array(cols, dtype=np.float64).reshape(len(groups), microbatches).T


def distinct_rows(groups: Sequence[int], microbatches: int) -> list[tuple[float, ...]]:
    """The distinct rows of `request_matrix(groups, microbatches)`, in order of first appearance,
    without one row per micro-batch: a row changes only where a group's extra requests run out."""
    m = microbatches
    starts = sorted({0} | {n % m for n in groups})
    rows = [tuple(float(n // m + (j < n % m)) for n in groups) for j in starts if j < m]
    return list(dict.fromkeys(rows))


@functools.lru_cache(maxsize=4096)
def _replica_rows(requests: int, adp: int, microbatches: int) -> tuple[tuple[float, ...], ...]:
    """`distinct_rows` of a replica of `requests` requests over `adp` groups (the search asks again
    and again)."""
    return tuple(distinct_rows(even_split(requests, adp), microbatches))


def busiest_group_requests(batch: int, dp: int, adp: int) -> int:
    """Requests of the busiest attention-DP group (of the first replica): ceil(batch / (dp·adp)).

    The batch is split over replicas, then each replica's requests over its attention-DP groups,
    the first ones taking one more; ceil(ceil(b/dp)/adp) = ceil(b/(dp·adp)).
    """
    return -(-batch // (dp * adp))


def microbatch_requests(requests: int, adp: int, microbatches: int) -> tuple[int, ...]:
    """Requests of each micro-batch of a replica of `requests` requests, all its `adp` attention-DP
    groups together: the row sums of `request_matrix`, from the at most two distinct group sizes of
    the even split (no row per group).

    Example:
        >>> microbatch_requests(10, 4, 2)      # groups of 3, 3, 2, 2
        (6, 4)
    """
    out = [0] * microbatches
    for n, groups in collections.Counter(even_split(requests, adp)).items():
        for j, share in enumerate(even_split(n, microbatches)):
            out[j] += groups * share
    return tuple(out)


def default_split(layers: int, pp: int) -> tuple[int, ...]:
    """Layers per stage, as even as possible, the first (L mod pp) stages one more.

    Example:
        >>> default_split(61, 4)
        (16, 15, 15, 15)
    """
    base, extra = divmod(layers, pp)
    return (base + 1,) * extra + (base,) * (pp - extra)


class StageBounds(Sequence[tuple[int, int]]):
    """The [first, last+1) layers of each stage, read like a tuple of pairs and compared equal
    to one, but held in O(1) memory for the default split (and as the prefix sums of an
    explicit one, which the plan writes out anyway): a layout with 100,000 stages costs no
    100,000 Python tuples, and indexing is O(1).

    Example:
        >>> b = StageBounds.even(61, 4)
        >>> b == ((0, 16), (16, 31), (31, 46), (46, 61)), b[-1], len(b), b.counts()
        (True, (46, 61), 4, (16, 15, 15, 15))
        >>> StageBounds.explicit((10, 8, 8, 6))[3]
        (26, 32)
    """

    __slots__ = ("_n", "_base", "_extra", "_ends", "_hash")

    def __init__(self, n: int, base: int = 0, extra: int = 0, ends: tuple[int, ...] | None = None) -> None:
        self._n, self._base, self._extra, self._ends = n, base, extra, ends
        self._hash: int | None = None

    @classmethod
    def even(cls, layers: int, pp: int) -> StageBounds:
        """`default_split(layers, pp)`: the first (layers mod pp) stages one layer more (one object per
        (layers, pp), so its hash is computed once however many layouts share it)."""
        return _even_bounds(cls, layers, pp)

    @classmethod
    def explicit(cls, counts: Sequence[int]) -> StageBounds:
        return cls(len(counts), ends=tuple(itertools.accumulate(counts)))

    def _start(self, i: int) -> int:
        if self._ends is not None:
            return self._ends[i - 1] if i else 0
        return i * self._base + min(i, self._extra)

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> tuple[int, int]: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[tuple[int, int], ...]: ...

    def __getitem__(self, i):
        if isinstance(i, slice):
            return tuple(self[j] for j in range(*i.indices(self._n)))
        i = operator.index(i)
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError("stage index out of range")
        return self._start(i), self._start(i + 1)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        start = 0
        for n in self.counts():
            yield start, start + n
            start += n

    def counts(self) -> tuple[int, ...]:
        """Layers per stage."""
        if self._ends is not None:
            return tuple(b - a for a, b in zip((0,) + self._ends, self._ends, strict=False))
        return (self._base + 1,) * self._extra + (self._base,) * (self._n - self._extra)

    @property
    def layers(self) -> int:
        """Layers of all the stages (the end of the last one)."""
        return self._start(self._n)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StageBounds):
            return self._n == other._n and self.counts() == other.counts()
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(other) == self._n and all(tuple(o) == s for o, s in zip(other, self, strict=False))
        return NotImplemented

    def __hash__(self) -> int:
        if self._hash is None:               # the tuple of pairs' hash (they compare equal), once
            self._hash = hash(tuple(self))
        return self._hash

    def __repr__(self) -> str:
        if self._n <= 8:
            return repr(tuple(self))
        return f"StageBounds({self._n} stages: {', '.join(map(str, self[:3]))}, …, {self[-1]})"


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
    microbatches_requested: int = 0     # as written (or pp by default); 0: same as `microbatches`
    batch: int = 0                      # requests of the workload, split by `requests`

    # The work split. A request belongs to one attention-DP group for its whole life: the batch is
    # split over replicas, each replica's requests over its attention-DP groups, and then each
    # group's requests over the micro-batches (as even as possible, the first parts one more).

    @property
    def replica_requests(self) -> tuple[int, ...]:
        """Requests of each replica."""
        return even_split(self.batch, self.dp)

    def group_requests(self, replica: int = 0) -> tuple[int, ...]:
        """Requests of each attention-DP group of a replica, for their whole life."""
        return even_split(self.replica_requests[replica], self.adp)

    def requests(self, replica: int = 0) -> np.ndarray:
        """Requests of a replica per (micro-batch, attention-DP group), as float64 (the DAG's
        shapes); replica 0, the busiest, is the one the DAG builds."""
        return request_matrix(self.group_requests(replica), self.microbatches)

    def microbatch_requests(self, replica: int = 0) -> tuple[int, ...]:
        """Requests of each micro-batch of a replica, all its attention-DP groups together: the row
        sums of `requests()` (`microbatch_requests`)."""
        return microbatch_requests(self.replica_requests[replica], self.adp, self.microbatches)

    def distinct_request_rows(self) -> list[tuple[float, ...]]:
        """The distinct rows of `requests()`, in order of first appearance (remembered by what they
        read: replica 0's requests, the attention-DP groups and the micro-batches)."""
        return list(_replica_rows(self.replica_requests[0], self.adp, self.microbatches))

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
        return self.experts // self.ep if self.ep else 0

    def experts_of(self, ep_index: int) -> range:
        """Routed experts held by expert-parallel index `ep_index` (contiguous)."""
        n = self.experts_per_ep_rank
        return range(ep_index * n, (ep_index + 1) * n)

    def stage_ranks(self, replica: int, stage: int) -> range:
        start = (replica * self.pp + stage) * self.group_size
        return range(start, start + self.group_size)

    @functools.cached_property
    def coords(self) -> dict[str, np.ndarray]:
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
        # rank r sends to r + g: some pair straddles a node boundary iff a multiple of gpn lies in
        # (first, first + 2g − 1], first being the stage's first rank
        g, gpn = self.group_size, self.gpus_per_node
        first = stage * g
        return (first + 2 * g - 1) // gpn > first // gpn

    def node_offset(self, stage: int) -> int:
        """Where a stage's group starts in its node, as far as it can change a node crossing inside the
        stage: 0 when every stage's groups sit alike (the group divides the node, or the node the group)."""
        gpn, g = self.gpus_per_node, self.group_size
        if gpn % g == 0 or g % gpn == 0:
            return 0
        return (stage * g) % gpn

    def stage_of_layer(self, layer: int) -> int:
        for s, (a, b) in enumerate(self.stage_layers):
            if a <= layer < b:
                return s
        raise ValueError(f"layer {layer} is on no stage")


@functools.lru_cache(maxsize=4096)
def _even_bounds(cls: type[StageBounds], layers: int, pp: int) -> StageBounds:
    base, extra = divmod(layers, pp)
    return cls(pp, base, extra)


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


def effective_microbatches(requested: int, batch: int, dp: int, adp: int) -> int:
    """Micro-batches that carry requests: at most the requests of one attention-DP group,
    ceil(batch / (dp·adp)), and at least one.

    A replica's requests are split over its attention-DP groups, and each group's requests over
    the micro-batches; a micro-batch beyond the busiest group's requests would be empty while
    still costing its latencies.

    Example:
        >>> effective_microbatches(64, batch=8, dp=1, adp=1)
        8
        >>> effective_microbatches(4, batch=8, dp=1, adp=4)
        2
    """
    return max(1, min(requested, busiest_group_requests(batch, dp, adp)))


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


class LayoutSketch:
    """A layout as the search's timer reads it (`dagc.serve.fastsched.Timer`: the keys of its tables, and the
    op shapes its floors make, `dagc.ir.op_shapes.Shapes`, read only these fields and where ranks sit
    in their nodes), made from a search candidate's degrees; the `Layout` itself (`make`, e.g.
    `resolve`) is made on the first read of anything else — the requests of a table that misses —
    and answers every read after that (`layout`). The fields must be those `resolve` gives
    (`tests/test_search_bound.py` compares them)."""

    __slots__ = ("dp", "pp", "tp", "cp", "sp", "ep", "etp", "group_size", "adp", "stage_layers", "microbatches",
                 "batch", "gpus_per_node", "_make", "_layout")

    def __init__(self, dp: int, pp: int, tp: int, cp: int, sp: bool, ep: int, etp: int, group_size: int, adp: int,
                 stage_layers: StageBounds, microbatches: int, batch: int, gpus_per_node: int,
                 make: Callable[[], Layout]):
        self.dp, self.pp, self.tp, self.cp, self.sp, self.ep, self.etp = dp, pp, tp, cp, sp, ep, etp
        self.group_size, self.adp, self.stage_layers, self.microbatches = group_size, adp, stage_layers, microbatches
        self.batch, self.gpus_per_node = batch, gpus_per_node
        self._make = make
        self._layout: Layout | None = None

    @property
    def gpus_used(self) -> int:
        return self.dp * self.pp * self.group_size

    # where ranks sit in their nodes reads only the group size and the node's GPUs: the layout's own
    blocks_cross_nodes = Layout.blocks_cross_nodes
    send_crosses_nodes = Layout.send_crosses_nodes
    node_offset = Layout.node_offset

    def layout(self) -> Layout:
        """The layout itself, made once."""
        if self._layout is None:
            self._layout = self._make()
        return self._layout

    def __getattr__(self, name: str) -> Any:
        """Any other field or method of the layout's."""
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.layout(), name)


def resolve(model: Model, cluster: Cluster, workload: Workload, strategy: Strategy) -> Layout:
    """Resolve a strategy into a `Layout`. Never fails: divisibility is checked by the rules.

    Example:
        >>> from dagc.plan.plan import Strategy
        >>> from dagc.lang.lower import model_from_preset
        >>> from dagc.plan.plan import Cluster, Workload
        >>> from dagc.plan.presets import GPU_PRESETS
        >>> m = model_from_preset("mixtral-8x7b")
        >>> c = Cluster(gpus=16, gpu=GPU_PRESETS["h100-sxm"], intra_node_bytes_per_s=450e9)
        >>> w = Workload(batch=64, prompt=2048, generate=256)
        >>> lay = resolve(m, c, w, Strategy(text="pp 2 < tp 2 ; ep 8 >", pp=2, tp=2, ep=8, etp=1))
        >>> lay.group_size, lay.adp, lay.edp, lay.gpus_used, lay.stage_layers
        (8, 4, 1, 16, ((0, 16), (16, 32)))
    """
    s = strategy
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
        gpus_per_node=cluster.gpus_per_node, gpus_available=cluster.gpus, microbatches_requested=requested,
        batch=workload.batch,
    )

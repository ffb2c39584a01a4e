"""LayoutSketch: the search's light view of a layout (SPEC 3.5).

Input: a search candidate's degrees and a way to make its `Layout`. Output: a `LayoutSketch`,
which answers the fields the search's timer reads without resolving the layout, and makes the
`Layout` on the first read of anything else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..plan.expert_padding import HeldExperts
from .layout import Layout
from .shards import RankDims, StageCounts
from .stages import StageBounds

__all__ = ["LayoutDegrees", "LayoutSketch", "StageGroup"]


@dataclass(frozen=True, slots=True)
class LayoutDegrees:
    """A layout's degrees: data, pipeline, tensor and context parallelism, sequence parallelism, and its
    expert domain's EP and ETP (as `dagc.layout.layout.stage_group` gives them)."""

    dp: int
    pp: int
    tp: int
    cp: int
    sp: bool
    ep: int
    etp: int


@dataclass(frozen=True, slots=True)
class StageGroup:
    """A layout's stage group: its GPUs (`group_size`), its attention-DP groups, its stages' layers and those
    layers by kind (`Layout.stage_counts`)."""

    group_size: int
    adp: int
    stage_layers: StageBounds
    stage_counts: StageCounts


class LayoutSketch:
    """A layout as the search's timer reads it (`dagc.schedule.timer.Timer`: the keys of its tables, and the
    op shapes its floors make, `dagc.ir.op_shapes.Shapes`, read only these fields, where ranks sit
    in their nodes and the requests of each micro-batch), made from a search candidate's degrees; the
    `Layout` itself (`make`, e.g. `resolve`) is made on the first read of anything else and answers every
    read after that (`layout`). The fields must be those `resolve` gives (`tests/test_search_bound.py`
    compares them)."""

    __slots__ = ("dp", "pp", "tp", "cp", "sp", "ep", "etp", "dims", "group_size", "adp", "stage_layers", "stage_counts",
                 "microbatches", "batch", "gpus_per_node", "held", "_make", "_layout")

    def __init__(self, degrees: LayoutDegrees, dims: RankDims, group: StageGroup, microbatches: int, batch: int,
                 gpus_per_node: int, make: Callable[[], Layout]):
        d = degrees
        self.dp, self.pp, self.tp, self.cp, self.sp, self.ep, self.etp = d.dp, d.pp, d.tp, d.cp, d.sp, d.ep, d.etp
        self.dims = dims            # the op shapes' per-rank dimensions at its degrees (`Layout.dims`)
        self.group_size, self.adp, self.stage_layers = group.group_size, group.adp, group.stage_layers
        self.stage_counts = group.stage_counts
        self.microbatches, self.batch, self.gpus_per_node = microbatches, batch, gpus_per_node
        self._make = make
        self._layout: Layout | None = None

    @property
    def gpus_used(self) -> int:
        return self.dp * self.pp * self.group_size

    redundant, eplb = 0, False     # the search's candidates place experts contiguously, no redundant slots
    held: HeldExperts      # what a rank holds of an expert (the op floors' expert reads), once set; else the layout's

    # the busiest attention-DP rank's requests (in flight: its share of a step, `dagc.layout.mix`), each
    # micro-batch's requests and where ranks sit in their nodes read only these fields: the layout's own
    requests_per_rank = Layout.requests_per_rank
    request_rows = Layout.request_rows
    blocks_cross_nodes = Layout.blocks_cross_nodes
    send_crosses_nodes = Layout.send_crosses_nodes
    node_offset = Layout.node_offset
    placements = Layout.placements

    def layout(self) -> Layout:
        """The layout itself, made once."""
        if self._layout is None:
            self._layout = self._make()
        return self._layout

    def __getattr__(self, name: str) -> object:
        """Every other field or method of the layout's."""
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.layout(), name)

"""The bounds of a candidate's TTFT and TPOT that the branch and bound tries, and the best it could do at them.

Input: a plan, an objective and the plan's `dagc.schedule.timer.Timer`; a candidate's layout and
workload, or a search item (`dagc.search.space.Item`) and its strategy's figures. Output: its TTFT and
TPOT bounds — the physical bounds of its GPUs and of its pipeline (`dagc.rules.bounds.bounds`,
`stage_pipeline_bounds`), its attention split's floors (`dagc.schedule.recurrence.split_floor`), each
op's own lower bound (`op_floor`) — each with the best a candidate could do at them (`BestAtBounds`, for
`dagc.search.bar`), remembered by what they read of the layout and workload. The window screen
(`dagc.search.screen.Columns`) asks for them by search item: the `item_…`, `split_row` and
`op_floor_row` methods, from a search item and no `Layout` but where a figure is made.
"""

from __future__ import annotations

from typing import cast

from ..layout.layout import Layout, rank_figures, resolve, stage_group
from ..layout.shards import StageCounts
from ..layout.sketch import LayoutDegrees, LayoutSketch, StageGroup
from ..layout.split import busiest_group_requests, effective_microbatches, microbatch_requests
from ..layout.stages import StageBounds
from ..memory.resident import kv_requests_judged
from ..plan.expert_padding import HeldExperts, held_experts
from ..plan.objective import OBJECTIVES
from ..plan.plan import Plan
from ..plan.workload import Overlap, Workload
from ..rules.bounds import Bounds, StageShape, bounds, stage_pipeline_bounds
from ..schedule.recurrence import op_floor, tpot_split_floor, ttft_split_floor
from ..schedule.timer import Timer
from ..serve.rates import rate_metrics
from ..verdict.steady import steady_metrics
from .bar import BestAtBounds, surely_misses
from .memory_screen import MemoryScreen
from .result import score_key
from .space import Item, ItemDegrees, item_strategy

__all__ = ["CandidateBounds"]


class CandidateBounds:
    """The bounds of the figures of the candidates of one plan under one objective, remembered. `memory`: the
    plan's memory screen, whose resident bytes bound the batch a layout's figures are for."""

    def __init__(self, plan: Plan, objective: str, timer: Timer, memory: MemoryScreen):
        self.plan, self.timer, self.memory = plan, timer, memory
        self.objective = objective
        self.ttft_first = not OBJECTIVES[objective].reads_tpot      # the score is TTFT alone: its bounds come first
        self._physical: dict[tuple[int, int], tuple[Bounds, BestAtBounds]] = {}
        self._first: dict[_FirstKey, tuple[float, float, BestAtBounds]] = {}
        self._split: dict[_SplitKey, tuple[float, float, BestAtBounds]] = {}
        self._workloads: dict[tuple[int, str], Workload] = {}
        self._strategies: dict[ItemDegrees, tuple[int, int, StageBounds, bool] | None] = {}   # `_strategy_figures`
        self._judged: dict[tuple[int, int], int] = {}     # `kv_requests_judged` by replicas and attention-DP groups
        self._held: dict[int, HeldExperts] = {}           # `held_experts` by ETP, for `sketch`
        self._best: dict[tuple[float, float, int, int, int | None], tuple[Workload, BestAtBounds]] = {}   # `best`

    def workload(self, mb: int, overlap: Overlap) -> Workload:
        """The plan's workload with `mb` micro-batches and `overlap`: one object per pair, shared."""
        return self.workload_of(mb, overlap.value)

    def workload_of(self, mb: int, overlap: str) -> Workload:
        """`workload` of an overlap given by its value (a search item's)."""
        hit = self._workloads.get((mb, overlap))
        if hit is None:
            hit = self._workloads[(mb, overlap)] = self.plan.workload.model_copy(
                update={"microbatches": mb, "overlap": Overlap(overlap)})
        return hit

    def physical(self, workload: Workload, gpus: int, dp: int) -> tuple[Bounds, BestAtBounds]:
        """`dagc.rules.bounds.bounds` for `gpus` GPUs and `dp` replicas and the best a candidate could do
        at them (they do not depend on micro-batches or overlap, which is all the search varies in
        the workload)."""
        hit = self._physical.get((gpus, dp))
        if hit is None:
            b = bounds(self.plan.model, workload, self.plan.cluster, gpus=gpus, dp=dp)
            hit = self._physical[(gpus, dp)] = (b, self.best(b.ttft_s, b.tpot_s, workload, gpus))
        return hit

    def first_bounds(self, workload: Workload, lay: Layout) -> tuple[float, float, BestAtBounds]:
        """The TTFT and TPOT bounds of the candidate's GPUs and of its pipeline together
        (`dagc.rules.bounds.bounds`, `pipeline_bounds`) and the best a candidate could do at them,
        remembered by what they read of the layout and workload (`_first_key`: the search varies
        micro-batches and overlap in the workload; the batch is the plan's)."""
        return self.stage_bounds(workload, lay.group_size, lay.pp, lay.dp, lay.adp, lay.microbatches)

    def stage_bounds(self, workload: Workload, g: int, pp: int, dp: int, adp: int, microbatches: int
                     ) -> tuple[float, float, BestAtBounds]:
        """`first_bounds` of a layout of `pp` stages of `g` GPUs, `dp` replicas, `adp` attention-DP
        groups and `microbatches` micro-batches (all it reads of one: no layout needed)."""
        batch = self.plan.workload.batch
        key = _first_key(g, pp, dp, adp, microbatches, batch, workload.overlap.value)
        hit = self._first.get(key)
        if hit is None:
            gpus = dp * pp * g
            physical, _ = self.physical(workload, gpus, dp)
            requests = microbatch_requests(busiest_group_requests(batch, dp, 1), adp, microbatches)   # replica 0
            shape = StageShape(g, pp, requests, adp, dp)
            ttft, tpot = stage_pipeline_bounds(self.plan.model, workload, self.plan.cluster, shape)
            ttft, tpot = max(ttft, physical.ttft_s), max(tpot, physical.tpot_s)
            hit = self._first[key] = (ttft, tpot, self.best(ttft, tpot, workload, gpus))
        return hit

    def best(self, ttft: float, tpot: float, workload: Workload, gpus: int, batch: int | None = None) -> BestAtBounds:
        """What a candidate on `gpus` GPUs whose TTFT and TPOT are at least `ttft` and `tpot` could
        do at best (with `batch` requests: at most that many, with `batch = max`); remembered by those and the
        workload object (the search's are shared: `workload_of`), as many candidates' bounds are the same."""
        key = (ttft, tpot, id(workload), gpus, batch)
        hit = self._best.get(key)
        if hit is not None and hit[0] is workload:
            return hit[1]
        frontend_s = self.plan.cluster.engine.terms.frontend_alone_s
        best = steady_metrics(rate_metrics(ttft, tpot, workload, gpus, batch, frontend_s))
        missed = surely_misses(self.plan, best, gpus)
        found = BestAtBounds((missed, -score_key(OBJECTIVES[self.objective].score_of(best, gpus)), gpus), missed,
                             (-score_key(best.decode_tokens_per_s_per_gpu), score_key(best.tpot_s)))
        self._best[key] = (workload, found)
        return found

    def split_bounds(self, workload: Workload, lay: Layout, tpot_floors: bool) -> tuple[float, float, BestAtBounds]:
        """The candidate's TTFT and TPOT bounds from `first_bounds` and its attention split's floors —
        of its prefill when the rank reads TTFT first (`ttft_first`: `dagc.schedule.recurrence.split_floor`),
        of its decode with `tpot_floors` (the same, of decode) — and the best a candidate
        could do at them, remembered by what they read of the layout and workload: the expert domain
        aside (`_split_key`)."""
        key = _split_key((lay.tp, lay.cp, lay.sp), lay.group_size, lay.stage_layers, lay.dp, lay.microbatches,
                         workload.overlap.value, tpot_floors)
        hit = self._split.get(key)
        if hit is None:
            ttft, tpot, _ = self.first_bounds(workload, lay)
            if self.ttft_first:
                ttft = max(ttft, ttft_split_floor(self.timer, workload, lay))
            if tpot_floors:
                tpot = max(tpot, tpot_split_floor(self.timer, workload, lay))
            hit = self._split[key] = (ttft, tpot, self.best(ttft, tpot, workload, lay.gpus_used))
        return hit

    def item_microbatches(self, item: Item, adp: int) -> int:
        """The micro-batches a search item's candidate schedules (those that carry requests), with `adp`
        attention-DP groups."""
        return effective_microbatches(self.workload_of(item[7], item[8]).microbatches_for(item[1]),
                                      self.plan.workload.batch, item[0], adp)

    def physical_best(self, item: Item, gpus: int) -> BestAtBounds:
        """The best a search item's candidate could do at the physical bounds of its `gpus` GPUs (`physical`)."""
        return self.physical(self.workload_of(item[7], item[8]), gpus, item[0])[1]

    def item_stage_best(self, item: Item, g: int, adp: int, microbatches: int) -> BestAtBounds:
        """The best a search item's candidate could do at the bounds of its GPUs and its pipeline
        (`stage_bounds`), its stage group of `g` GPUs and `adp` attention-DP groups scheduling
        `microbatches` micro-batches."""
        return self.stage_bounds(self.workload_of(item[7], item[8]), g, item[1], item[0], adp, microbatches)[2]

    def split_row(self, item: Item, figures: tuple[int, int, StageBounds, bool], microbatches: int,
                  tpot_floors: bool) -> tuple[float, ...]:
        """`split_bounds` of a search item's candidate (its strategy's `strategy_figures`, the
        micro-batches it schedules) as its best's `BestAtBounds.row` followed by its TTFT and TPOT bounds;
        made, when no candidate of its attention split made them, on its layout's `sketch`."""
        dp, pp, tp, cp, sp, _, _, mb, overlap = item
        g, _, stages, _ = figures
        hit = self._split.get(_split_key((tp, cp, sp), g, stages, dp, microbatches, overlap, tpot_floors))
        if hit is None:
            workload = self.workload_of(mb, overlap)
            lay = self.sketch(item, figures, microbatches)
            hit = self.split_bounds(workload, lay, tpot_floors)
        ttft, tpot, best = hit
        return (*best.row(), ttft, tpot)

    def sketch(self, item: Item, figures: tuple[int, int, StageBounds, bool], microbatches: int) -> Layout:
        """A search item's layout as a `LayoutSketch` (read like a `Layout`, resolved only when a table
        misses: `layout_of`)."""
        dp, pp, tp, cp, sp, ep, etp = item[:7]
        ep, etp, _, _ = stage_group(tp, cp, ep, etp)
        g, adp, stages, _ = figures
        group = StageGroup(g, adp, stages, StageCounts(self.plan.model, stages))
        _, dims = rank_figures(self.plan.model, tp, cp, sp)
        held = self._held.get(etp)
        if held is None:
            held = self._held[etp] = held_experts(self.plan.model, self.plan.cluster.gpu, self.plan.cluster.engine, etp)
        sketch = LayoutSketch(LayoutDegrees(dp, pp, tp, cp, sp, ep, etp), dims, group, microbatches,
                              self.plan.workload.batch, self.plan.cluster.gpus_per_node, lambda: self.layout_of(item))
        sketch.held = held              # no layout resolved for the expert FFN's op floor
        return cast(Layout, sketch)

    def layout_of(self, item: Item) -> Layout:
        """A search item's layout, resolved."""
        return resolve(self.plan.model, self.plan.cluster, self.workload_of(item[7], item[8]), item_strategy(item))

    def op_floor_row(self, item: Item, figures: tuple[int, int, StageBounds, bool], microbatches: int,
                     ttft: float, tpot: float) -> tuple[float, ...]:
        """The `BestAtBounds.row` of a search item's candidate at each op's own lower bound
        (`dagc.schedule.recurrence.op_floor`), its TTFT and TPOT at least `ttft` and `tpot` (its `split_row`'s),
        as `_reach` bounds it."""
        workload = self.workload_of(item[7], item[8])
        lay = self.sketch(item, figures, microbatches)
        return self.best(ttft, max(tpot, op_floor(self.timer, workload, lay)), workload, lay.gpus_used).row()

    def strategy_figures(self, shape: ItemDegrees) -> tuple[int, int, StageBounds, bool] | None:
        """`_strategy_figures`, remembered (the window screen reads them: `dagc.search.screen.Columns`)."""
        if shape not in self._strategies:
            self._strategies[shape] = self._strategy_figures(shape)
        return self._strategies[shape]

    def _strategy_figures(self, shape: ItemDegrees) -> tuple[int, int, StageBounds, bool] | None:
        """What the window screen reads of a strategy whatever its micro-batches and overlap (`shape`: an
        item's degrees): its stage group's G and attention-DP groups, its stages, and whether its
        weights, KV cache and reserve overflow a GPU; None when it has more stages than layers (E303:
        `screen` says so). Its sequence parallelism is not read (`Columns` asks once for the strategies that
        differ in it alone)."""
        dp, pp, tp, cp, _, ep, etp = shape
        m = self.plan.model
        if pp > m.layers:
            return None
        ep, etp, g, adp = stage_group(tp, cp, ep, etp)
        stages = StageBounds.even(m.layers, pp)
        requests = self._judged.get((dp, adp))
        if requests is None:       # thousands of strategies, a few dozen replica and attention-DP counts
            requests = self._judged[(dp, adp)] = kv_requests_judged(
                self.plan.workload, busiest_group_requests(self.plan.workload.batch, dp, adp))
        return g, adp, stages, self.memory.resident_exceeds(tp, cp, ep, etp, stages, requests)


# (tp, cp, sp), G, stages, dp, micro-batches, overlap, whether TPOT is bounded too
_Attention = tuple[int, int, bool]
_SplitKey = tuple[_Attention, int, StageBounds, int, int, str, bool]
_FirstKey = tuple[int, int, int, int, int, int, str]     # G, pp, dp, attention-DP groups, micro-batches, batch, overlap


def _split_key(attention: _Attention, group_size: int, stage_layers: StageBounds, dp: int, microbatches: int,
               overlap: str, tpot_floors: bool) -> _SplitKey:
    """What `CandidateBounds.split_bounds` reads of a layout and workload (the batch and the rest are the plan's):
    its attention split (tp, cp, sp), its stages, its units of micro-batches; not its expert domain. And
    whether it bounds TPOT too."""
    return attention, group_size, stage_layers, dp, microbatches, overlap, tpot_floors


def _first_key(group_size: int, pp: int, dp: int, adp: int, microbatches: int, batch: int, overlap: str
               ) -> _FirstKey:
    """What the bounds of a candidate's GPUs and pipeline read of its layout and workload
    (`CandidateBounds.first_bounds`)."""
    return group_size, pp, dp, adp, microbatches, batch, overlap

"""Branch and bound for the strategy search: which candidates cannot change its result.

Input: a candidate's layout and workload, and `Bar` — what the search has found so far (the
`k`-th best rank key among legal candidates, the Pareto front's figures: decode tokens/s per
GPU and TPOT). Output: whether the
candidate could still enter the best `k` or the front (`matters`). A candidate that cannot is
not evaluated further (no prefill schedule, memory model or rules): the search counts it as
pruned. Its best possible figures are

- TPOT: exact, the static schedule's decode recurrence (`dagc.serve.fastsched.fast_tpot`: decode
  starts on idle streams, so it is priced without prefill), hence decode tokens/s too;
- TTFT: a lower bound, `dagc.rules.bounds.bounds` for its GPUs and replicas and `pipeline_bounds`
  for its stages (no schedule beats its busiest rank's FLOPs at peak or its bytes at peak HBM
  bandwidth, and a micro-batch crosses every stage);
- requirements: met, unless a TTFT, TPOT or throughput line is out of reach of those figures.

Before any bound, a candidate whose weights, KV cache and reserve alone overflow a GPU is set aside
(`Pruner.surely_illegal`): `check` rejects it with E402 whatever its activations, so the search
counts it as evaluated and not legal, as the full check would. After the bounds that time no
stage pass of its own (`Pruner.screen`), so is one whose weights, KV cache and reserve with the prefill
working set of its attention or routed experts alone overflow a GPU (`Pruner.overflows`): its
activations are at least that. `Pruner.screen` runs every step in order.

Before the exact TPOT, the candidate is tried at the physical bounds of its GPUs and of its
pipeline (`dagc.rules.bounds.bounds` and `pipeline_bounds`, TTFT and TPOT), at the times of its
attention split's ops alone (`dagc.serve.fastsched.fast_tpot_split_floor`: shared by every expert
split, no op of the expert domain made; under `ttft` its prefill's too, `fast_ttft_split_floor`),
at each op's own lower bound (`dagc.serve.fastsched.fast_tpot_op_floor`: those ops at their times, the
routed experts without routing statistics or interpolated kernel tables, a collective at its time,
the other compute ops' kernels at the roofline over their table's best efficiency), then at a
floor of its TPOT from its stage costs
(`dagc.serve.fastsched.fast_tpot_floor`: a micro-batch crosses every stage between two tokens, and
the busiest stage runs every micro-batch), without running the recurrence; when its TTFT matters,
likewise at a floor of its TTFT from its prefill stage costs (`fast_ttft_floor`) before the
prefill recurrence — first of all under the `ttft` objective, whose score is TTFT alone.
Every objective's score falls as TTFT and TPOT grow, so the score at these figures is an upper
bound, and a candidate whose best rank key comes after the `k`-th best and whose best figures a
front point beats can be neither: the result is the one an exhaustive search gives
(`tests/test_search_bound.py` compares both).

With `batch = max` each candidate runs at the largest batch it serves, found by probing batches
(`dagc.verdict.batch_max`): its probing stops as soon as no batch it can still end with could matter
(`Pruner.batch_needed`: its TTFT and TPOT at the largest batch known served are lower bounds at
any larger batch, and its batch is at most the bracket's end and what its weights and KV cache
leave room for).

What the screen computes is remembered by what it reads (the resident bytes by the layout's
degrees, stages and requests per rank; the bounds of the GPUs and the pipeline by the stage group,
stages, replicas and micro-batches; the attention split's floor by all that but the expert
domain). The search asks for them a window of candidates at a time (`dagc.search.screen.Columns`:
the `item_…`, `split_row` and `op_floor_row` methods, from a search item and no `Layout` but
where a figure is made), tests the bars on whole columns and leaves to `screen` only what those
steps do not decide; it decides what `screen` would (`tests/test_search_bound.py`).

Determinism: the search hands each chunk of candidates the bar as it stood a fixed number of
chunks earlier (`BAR_LAG`; with `batch = max`, whose candidates each cost many fast checks,
`BAR_LAG_BATCH_MAX`, so that more worker processes have chunks in flight), in one process as in
many, so what is pruned — and every count the result reports — does not depend on `--jobs` or
the machine.
"""

from __future__ import annotations

import bisect
import enum
from dataclasses import dataclass
from typing import NamedTuple, cast

from ..ir.dag import Phase
from ..ir.ops import Op
from ..lang.fields import BATCH_LIMIT
from ..layout.layout import (
    Layout,
    LayoutSketch,
    StageBounds,
    busiest_group_requests,
    effective_microbatches,
    microbatch_requests,
    resolve,
    stage_group,
)
from ..memory.memory import (
    WeightTotals,
    kv_cache_bytes_per_layer,
    resident_bytes_exceed,
    resident_weight_figures,
    weight_totals,
    working_set_exceeds,
)
from ..plan.plan import Overlap, Plan, RequirementKind, Workload
from ..rules.bounds import Bounds, bounds, stage_pipeline_bounds, unreachable
from ..serve.fastsched import Recurrence, Timer, op_floor, split_floor
from ..serve.metrics import rate_metrics
from ..verdict.batch_max import largest_batch
from ..verdict.fastcheck import FastCheck
from ..verdict.verdict import METRIC_OF, Objective, RequirementResult
from .result import MOST_GPUS_FIRST, Candidate, _front_key, _rank_key, option_text
from .space import _strategy

__all__ = ["BAR_LAG", "BAR_LAG_BATCH_MAX", "Bar", "BarKeeper", "Pruner", "Screen", "surely_misses"]

BAR_LAG = 2                 # chunks between a bar's making and its use (≥ the chunks in flight)
BAR_LAG_BATCH_MAX = 16      # the same with `batch = max`, whose candidates each probe batches: more in flight

_LOWER_BOUNDED = (RequirementKind.TTFT, RequirementKind.TPOT)   # their figures here are lower bounds
_TTFT_OBJECTIVES = ("ttft", "throughput")                           # objectives whose score reads TTFT
_TTFT_METRICS = (RequirementKind.TTFT, RequirementKind.PREFILL_THROUGHPUT, RequirementKind.THROUGHPUT)
_TPOT_METRICS = (RequirementKind.TPOT, RequirementKind.DECODE_THROUGHPUT, RequirementKind.THROUGHPUT)


@dataclass(frozen=True)
class Bar:
    """What a candidate must beat to matter: the `k`-th best rank key among the legal candidates
    found so far (None: fewer than `k` found) and the front's figures, one row per point:
    (−decode tokens/s per GPU, TPOT); None when the search keeps no front (`search(…, front=False)`),
    so that only the best `k` matter."""

    kth: tuple | None = None
    front: tuple[tuple[float, float], ...] | None = ()


class Screen(enum.Enum):
    """What `Pruner.screen` decides for a candidate short of evaluating it."""

    ASIDE_ALL = "set aside, with every variant"     # weights, KV cache and reserve overflow (E402)
    ASIDE = "set aside"                             # … with one op's working set of its micro-batches
    PRUNED_ALL = "pruned, with every variant"       # its GPUs' physical bounds cannot reach the bar
    PRUNED = "pruned"                               # its own bounds cannot reach the bar


class BarKeeper:
    """The best `k` rank keys of the legal candidates taken so far, and the bars made from them."""

    def __init__(self, k: int):
        self.k = k
        self.keys: list[tuple] = []

    def take(self, c: Candidate) -> None:
        if self.k <= 0:
            return
        key = _rank_key(c)
        if len(self.keys) < self.k or key < self.keys[-1]:
            bisect.insort(self.keys, key)
            del self.keys[self.k:]

    def bar(self, front: list[Candidate] | None) -> Bar:
        """The bar of the best `k` so far and the `front`'s points (None: no front is kept)."""
        kth = self.keys[-1] if self.k > 0 and len(self.keys) >= self.k else None
        if front is None:
            return Bar(kth, None)
        return Bar(kth, tuple((float(k[0]), float(k[1])) for k in (_front_key(c) for c in front)))


def surely_misses(plan: Plan, metrics: dict, gpus: int) -> int:
    """How many requirements are surely missed: a GPU count out of range (exact), or a TTFT, TPOT or
    throughput line out of reach of `metrics` (TTFT and TPOT lower bounds, throughputs upper
    bounds). A lower bound of the requirements the candidate misses."""
    missed = 0
    for req in plan.requirements:
        if req.kind is RequirementKind.GPUS:
            missed += RequirementResult(req, float(gpus)).met is False
            continue
        key = METRIC_OF.get(req.kind)
        if key is None or key not in metrics:
            continue
        value = metrics[key] / gpus if req.per_gpu else metrics[key]
        missed += unreachable(req, value, lower=req.kind in _LOWER_BOUNDED)
    return missed


class Pruner:
    """Decides, for the candidates of one plan and objective, which cannot change the result."""

    def __init__(self, plan: Plan, objective: str, timer: Timer):
        self.plan, self.objective, self.timer = plan, objective, timer
        self._physical: dict[tuple[int, int], tuple[Bounds, _Best]] = {}
        self._first: dict[tuple, tuple[float, float, _Best]] = {}
        self._split: dict[tuple, tuple[float, float, _Best]] = {}
        self._resident: dict[tuple, bool] = {}
        self._resident_batch: dict[tuple, int] = {}
        self._totals: dict[tuple, WeightTotals] = {}             # `weight_totals` of `resident_weight_figures`
        self._working: dict[tuple, bool] = {}
        self._kv_bytes: dict[tuple[int, int, int], float] = {}     # `kv_cache_bytes_per_layer`
        self._workloads: dict[tuple[int, str], Workload] = {}
        self._strategies: dict[tuple, tuple[int, int, StageBounds, bool] | None] = {}   # `_strategy_figures`
        # whether the rank or a requirement reads TTFT: then its exact figure is worth a prefill schedule
        self.needs_ttft = objective in _TTFT_OBJECTIVES or any(r.kind in _TTFT_METRICS for r in plan.requirements)
        # whether the rank or a requirement reads TPOT (the front reads it too): else a TPOT floor prunes nothing
        self.reads_tpot = objective != "ttft" or any(r.kind in _TPOT_METRICS for r in plan.requirements)
        # Visited fewest GPUs first, candidates that one op's working set overflows come before the bar
        # is high, and setting them aside saves their stage passes; visited most GPUs first, the bar
        # prunes them anyway, and the working sets' templates would cost more than they save (measured
        # on the DeepSeek-V3 2048-GPU plan: docs/search.md).
        self.working_sets = objective not in MOST_GPUS_FIRST
        self.ttft_first = objective == "ttft"          # the score is TTFT alone: its bounds come first

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

    def physical(self, workload: Workload, gpus: int, dp: int) -> tuple[Bounds, _Best]:
        """`dagc.rules.bounds.bounds` for `gpus` GPUs and `dp` replicas and the best a candidate could do
        at them (they do not depend on micro-batches or overlap, which is all the search varies in
        the workload)."""
        hit = self._physical.get((gpus, dp))
        if hit is None:
            b = bounds(self.plan.model, workload, self.plan.cluster, gpus=gpus, dp=dp)
            hit = self._physical[(gpus, dp)] = (b, self._best(b.ttft_s, b.tpot_s, workload, gpus))
        return hit

    def first_bounds(self, workload: Workload, lay: Layout) -> tuple[float, float, _Best]:
        """The TTFT and TPOT bounds of the candidate's GPUs and of its pipeline together
        (`dagc.rules.bounds.bounds`, `pipeline_bounds`) and the best a candidate could do at them,
        remembered by what they read of the layout and workload (`_first_key`: the search varies
        micro-batches and overlap in the workload; the batch is the plan's)."""
        return self.stage_bounds(workload, lay.group_size, lay.pp, lay.dp, lay.adp, lay.microbatches)

    def stage_bounds(self, workload: Workload, g: int, pp: int, dp: int, adp: int, microbatches: int
                     ) -> tuple[float, float, _Best]:
        """`first_bounds` of a layout of `pp` stages of `g` GPUs, `dp` replicas, `adp` attention-DP
        groups and `microbatches` micro-batches (all it reads of one: no layout needed)."""
        batch = self.plan.workload.batch
        key = _first_key(g, pp, dp, adp, microbatches, batch, workload.overlap.value)
        hit = self._first.get(key)
        if hit is None:
            gpus = dp * pp * g
            physical, _ = self.physical(workload, gpus, dp)
            requests = microbatch_requests(busiest_group_requests(batch, dp, 1), adp, microbatches)   # replica 0
            ttft, tpot = stage_pipeline_bounds(self.plan.model, workload, self.plan.cluster, g, pp, requests)
            ttft, tpot = max(ttft, physical.ttft_s), max(tpot, physical.tpot_s)
            hit = self._first[key] = (ttft, tpot, self._best(ttft, tpot, workload, gpus))
        return hit

    def _best(self, ttft: float, tpot: float, workload: Workload, gpus: int, batch: int | None = None) -> _Best:
        """What a candidate on `gpus` GPUs whose TTFT and TPOT are at least `ttft` and `tpot` could
        do at best (with `batch` requests: at most that many, with `batch = max`)."""
        best = rate_metrics(ttft, tpot, workload, gpus, batch)
        missed = surely_misses(self.plan, best, gpus)
        return _Best((missed, -Objective.score(self.objective, best, gpus), gpus), missed,
                     (-best["decode_tokens_per_s_per_gpu"], tpot))

    def item_microbatches(self, item: tuple, adp: int) -> int:
        """The micro-batches a search item's candidate schedules (those that carry requests), with `adp`
        attention-DP groups."""
        return effective_microbatches(self.workload_of(item[7], item[8]).microbatches_for(item[1]),
                                      self.plan.workload.batch, item[0], adp)

    def physical_best(self, item: tuple, gpus: int) -> _Best:
        """The best a search item's candidate could do at the physical bounds of its `gpus` GPUs (`physical`)."""
        return self.physical(self.workload_of(item[7], item[8]), gpus, item[0])[1]

    def item_stage_best(self, item: tuple, g: int, adp: int, microbatches: int) -> _Best:
        """The best a search item's candidate could do at the bounds of its GPUs and its pipeline
        (`stage_bounds`), its stage group of `g` GPUs and `adp` attention-DP groups scheduling
        `microbatches` micro-batches."""
        return self.stage_bounds(self.workload_of(item[7], item[8]), g, item[1], item[0], adp, microbatches)[2]

    def split_row(self, item: tuple, figures: tuple[int, int, StageBounds, bool], microbatches: int,
                  tpot_floors: bool) -> tuple[float, ...]:
        """`split_bounds` of a search item's candidate (its strategy's `strategy_figures`, the
        micro-batches it schedules) as its best's `_Best.row` followed by its TTFT and TPOT bounds;
        made, when no candidate of its attention split made them, on its layout's `sketch`."""
        dp, pp, tp, cp, sp, _, _, mb, overlap = item
        g, _, stages, _ = figures
        hit = self._split.get(_split_key(tp, cp, sp, g, stages, dp, microbatches, overlap, tpot_floors))
        if hit is None:
            workload = self.workload_of(mb, overlap)
            lay = self.sketch(item, figures, microbatches)
            hit = self.split_bounds(workload, lay, tpot_floors)
        ttft, tpot, best = hit
        return (*best.row(), ttft, tpot)

    def sketch(self, item: tuple, figures: tuple[int, int, StageBounds, bool], microbatches: int) -> Layout:
        """A search item's layout as a `LayoutSketch` (read like a `Layout`, resolved only when a table
        misses: `layout_of`)."""
        dp, pp, tp, cp, sp, ep, etp = item[:7]
        ep, etp, _, _ = stage_group(tp, cp, ep, etp)
        g, adp, stages, _ = figures
        return cast(Layout, LayoutSketch(dp, pp, tp, cp, sp, ep, etp, g, adp, stages, microbatches,
                                         self.plan.workload.batch, self.plan.cluster.gpus_per_node,
                                         lambda: self.layout_of(item)))

    def layout_of(self, item: tuple) -> Layout:
        """A search item's layout, resolved."""
        return resolve(self.plan.model, self.plan.cluster, self.workload_of(item[7], item[8]), _strategy(item))

    def op_floor_row(self, item: tuple, figures: tuple[int, int, StageBounds, bool], microbatches: int,
                     ttft: float, tpot: float) -> tuple[float, ...]:
        """The `_Best.row` of a search item's candidate at each op's own lower bound
        (`dagc.serve.fastsched.op_floor`), its TTFT and TPOT at least `ttft` and `tpot` (its `split_row`'s),
        as `_reach` bounds it."""
        workload = self.workload_of(item[7], item[8])
        lay = self.sketch(item, figures, microbatches)
        return self._best(ttft, max(tpot, op_floor(self.timer, workload, lay)), workload, lay.gpus_used).row()

    def strategy_figures(self, shape: tuple) -> tuple[int, int, StageBounds, bool] | None:
        """`_strategy_figures`, remembered (the window screen reads them: `dagc.search.screen.Columns`)."""
        if shape not in self._strategies:
            self._strategies[shape] = self._strategy_figures(shape)
        return self._strategies[shape]

    def _strategy_figures(self, shape: tuple) -> tuple[int, int, StageBounds, bool] | None:
        """What the window screen reads of a strategy whatever its micro-batches and overlap (`shape`: an
        item's degrees): its stage group's G and attention-DP groups, its stages, and whether its
        weights, KV cache and reserve overflow a GPU; None when it has more stages than layers (E303:
        `screen` says so)."""
        dp, pp, tp, cp, _, ep, etp = shape
        m = self.plan.model
        if pp > m.layers:
            return None
        ep, etp, g, adp = stage_group(tp, cp, ep, etp)
        stages = StageBounds.even(m.layers, pp)
        requests = busiest_group_requests(self.plan.workload.batch, dp, adp)
        return g, adp, stages, self.resident_exceeds(tp, cp, ep, etp, stages, requests)

    def batch_needed(self, fc: FastCheck, lo: int, most: int, bar: Bar, text: str, mb: int, overlap: Overlap
                     ) -> int | None:
        """None when a `batch = max` candidate (`text` with `mb` micro-batches and `overlap`) could
        matter at no batch of [`lo`, `most`], else a batch b of [lo, least] with no power of two in
        (b, least], `least` the least batch at which it could (what `dagc.verdict.batch_max.bounded_largest_batch`
        reads of it: whether there is one, and the largest power of two not above it). `fc` is
        its fast check at `lo`, the largest batch known served, and `most` the largest batch its
        search of the largest batch served can still end with.

        At any larger batch its TTFT and TPOT are at least `fc`'s (more requests only add work); its
        batch is at most what its weights, KV cache and reserve leave room for (`resident_batch`);
        every objective's score and throughput grow with the batch and fall as TTFT and TPOT grow:
        so its best at batch b is `_best` of `fc`'s TTFT and TPOT with b requests, which only grows
        with b."""
        if bar.kth is None:
            return lo
        lay = fc.layout
        resident = self.resident_batch(lay.tp, lay.cp, lay.ep, lay.etp, lay.stage_layers, lay.dp, lay.adp)
        most = min(most, max(lo, resident))           # `lo` is served, so it fits: never below it
        ttft, tpot, gpus = fc.metrics["ttft_s"], fc.metrics["tpot_s"], lay.gpus_used

        def could(batch: int) -> bool:
            return _could_matter(self._best(ttft, tpot, self.plan.workload, gpus, batch), bar, text, mb, overlap)

        if not could(most):
            return None
        if could(lo):
            return lo
        # least is in (lo, most]: find the least power of two q above lo that could (by its exponent)
        low, high = lo.bit_length(), most.bit_length()      # 2**low > lo; 2**high > most
        while low < high:
            mid = (low + high) // 2
            low, high = (low, mid) if could(1 << mid) else (mid + 1, high)
        if low == most.bit_length():                        # none up to `most`: least > the last power ≤ most
            return max(lo, 1 << (most.bit_length() - 1))
        q = 1 << low                                        # least in (q / 2, q]
        return q if not could(q - 1) else max(lo, q >> 1)

    def resident_batch(self, tp: int, cp: int, ep: int, etp: int, stages: StageBounds, dp: int, adp: int) -> int:
        """The largest batch whose weights, KV cache and reserve fit on every GPU of a layout with these
        degrees, stages, replicas and attention-DP groups (`resident_exceeds`: `check` rejects any larger
        batch with E402), at most `BATCH_LIMIT`; 0 when not even one request fits."""
        key = (tp, cp, ep, etp, stages, dp, adp)
        hit = self._resident_batch.get(key)
        if hit is None:
            def overflows(batch: int) -> str | None:
                requests = busiest_group_requests(batch, dp, adp)
                return "memory" if self.resident_exceeds(tp, cp, ep, etp, stages, requests) else None

            hit = self._resident_batch[key] = largest_batch(overflows, BATCH_LIMIT)[0]
        return hit

    def floors_matter(self, bar: Bar) -> bool:
        """Whether the TPOT floors can prune: the rank or a requirement reads TPOT, or a front is kept."""
        return self.reads_tpot or bar.front is not None

    def surely_illegal(self, workload: Workload, lay: Layout) -> bool:
        """Whether the candidate's weights, KV cache and runtime reserve alone exceed a GPU's memory on
        some stage: `check` rejects it (E402, whatever its activations), so its figures are not
        needed. Remembered by what those bytes read of the layout (not micro-batches or overlap)."""
        return self.resident_exceeds(lay.tp, lay.cp, lay.ep, lay.etp, lay.stage_layers, lay.requests_per_rank)

    def resident_exceeds(self, tp: int, cp: int, ep: int, etp: int, stages: StageBounds, requests_per_rank: int
                         ) -> bool:
        """`dagc.memory.memory.resident_bytes_exceed` of a layout with these degrees, stages and requests per
        rank; remembered by those, and their weights by the degrees and stages alone (the plan's
        workload: the search varies micro-batches and overlap, which they do not read)."""
        key = _resident_key(tp, cp, ep, etp, stages, requests_per_rank)
        hit = self._resident.get(key)
        if hit is None:
            hit = self._resident[key] = resident_bytes_exceed(self.plan.cluster, self._totals_of(tp, ep, etp, stages),
                                                              self._kv(tp, cp, requests_per_rank))
        return hit

    def _totals_of(self, tp: int, ep: int, etp: int, stages: StageBounds) -> WeightTotals:
        """`dagc.memory.memory.weight_totals` of the weights of these degrees and stages, remembered by them."""
        key = (tp, ep, etp, stages)
        hit = self._totals.get(key)
        if hit is None:
            hit = self._totals[key] = weight_totals(resident_weight_figures(self.plan.model, tp, ep, etp, stages))
        return hit

    def _kv(self, tp: int, cp: int, requests_per_rank: int) -> float:
        key = (tp, cp, requests_per_rank)
        hit = self._kv_bytes.get(key)
        if hit is None:
            hit = self._kv_bytes[key] = kv_cache_bytes_per_layer(self.plan.model, self.plan.workload, tp, cp,
                                                                 requests_per_rank)
        return hit

    def overflows(self, workload: Workload, lay: Layout, op: Op) -> bool:
        """Whether the candidate's weights, KV cache and reserve with the prefill working set of `op`
        alone (the attention, the routed experts: `dagc.memory.memory.working_set_exceeds`) exceed a GPU's
        memory on some stage: `check` rejects it (E402) whatever its other ops. Its micro-batches set
        the working set, so this is asked of every variant (its overlap does not: remembered by the
        working set's shapes)."""
        key = (op, lay.tp, lay.cp, lay.sp, lay.ep, lay.etp, lay.group_size, lay.stage_layers, lay.dp, lay.adp,
               lay.microbatches)                 # and the plan's batch: the working sets' and the figures' shapes
        hit = self._working.get(key)
        if hit is None:
            hit = self._working[key] = working_set_exceeds(
                self.plan.cluster, lay, op,
                lambda req: self.timer.working_set_floor(workload, lay, Phase.PREFILL, req, op),
                self._totals_of(lay.tp, lay.ep, lay.etp, lay.stage_layers),
                self._kv(lay.tp, lay.cp, lay.requests_per_rank))
        return hit

    def hopeless(self, workload: Workload, lay: Layout, bar: Bar) -> bool:
        """Whether no variant of the candidate's strategy (any micro-batches, any overlap) can matter:
        at the physical bounds of its GPUs and replicas, which the variants share, it ranks after the
        bar's `k`-th best by more than the name that breaks ties, and no front is kept, or it misses
        a requirement, or a front point beats it. Each variant's own figures are no better, so
        `matters` would say no to every one."""
        return bar.kth is not None and _out_of_reach(self.physical(workload, lay.gpus_used, lay.dp)[1], bar)

    def screen(self, workload: Workload, lay: Layout, bar: Bar, text: str, mb: int, overlap: Overlap,
               first: bool) -> Screen | None:
        """What the search does with one candidate (`text` with `mb` micro-batches and `overlap`) before
        evaluating it, cheapest test first; None: evaluate it. `first`: whether it is the first
        variant of its strategy the search meets (the variants come in a row), which alone is tried
        against the bar for all of them (`hopeless`)."""
        if lay.pp > self.plan.model.layers:
            return None                              # E303: `evaluate` says so
        if self.surely_illegal(workload, lay):
            return Screen.ASIDE_ALL
        if first and self.hopeless(workload, lay, bar):
            return Screen.PRUNED_ALL
        reach = None if bar.kth is None else self._reach(lay, workload, bar, text, mb, overlap)
        if bar.kth is not None and reach is None:
            return Screen.PRUNED                     # its bounds that time no stage pass of its own
        if self.working_sets and (self.overflows(workload, lay, Op.ATTENTION)
                                  or self.overflows(workload, lay, Op.EXPERT_FFN)):
            return Screen.ASIDE                      # the attention's first: one per attention split
        if reach is not None and not self._matters(reach, lay, workload, bar, text, mb, overlap):
            return Screen.PRUNED
        return None

    def _reach(self, lay: Layout, workload: Workload, bar: Bar, text: str, mb: int, overlap: Overlap
               ) -> tuple[float, float, Recurrence] | None:
        """The first steps of `matters`, those that time no stage pass of the candidate's own: the
        physical bounds of its GPUs and of its pipeline, the times of its attention split's ops alone
        (shared by every expert split), then each op's own lower bound (`Recurrence.tpot_op_floor`;
        after the split, whose figures are remembered for every candidate of its attention split).
        None when they rule the candidate out, else its TTFT and TPOT bounds so far and its schedule."""
        assert bar.kth is not None
        gpus = lay.gpus_used
        first_ttft, tpot, best = self.first_bounds(workload, lay)
        if not _could_matter(best, bar, text, mb, overlap):
            return None
        schedule = Recurrence(self.plan, lay, workload, self.timer)      # one per candidate: its stage costs shared
        tpot_floors = self.floors_matter(bar)
        if not (tpot_floors or self.ttft_first):
            return first_ttft, tpot, schedule
        ttft, split_tpot, best = self.split_bounds(workload, lay, tpot_floors)
        if not _could_matter(best, bar, text, mb, overlap):
            return None
        if not tpot_floors:
            return ttft, split_tpot, schedule
        ops = schedule.tpot_op_floor()
        if ops > split_tpot and not _could_matter(self._best(ttft, ops, workload, gpus), bar, text, mb, overlap):
            return None
        return ttft, max(split_tpot, ops), schedule

    def split_bounds(self, workload: Workload, lay: Layout, tpot_floors: bool) -> tuple[float, float, _Best]:
        """The candidate's TTFT and TPOT bounds from `first_bounds` and its attention split's floors —
        of its prefill when the rank reads TTFT first (`ttft_first`: `dagc.serve.fastsched.split_floor`),
        of its decode with `tpot_floors` (the same, of decode) — and the best a candidate
        could do at them, remembered by what they read of the layout and workload: the expert domain
        aside (`_split_key`)."""
        key = _split_key(lay.tp, lay.cp, lay.sp, lay.group_size, lay.stage_layers, lay.dp, lay.microbatches,
                         workload.overlap.value, tpot_floors)
        hit = self._split.get(key)
        if hit is None:
            ttft, tpot, _ = self.first_bounds(workload, lay)
            if self.ttft_first:
                ttft = max(ttft, split_floor(self.timer, workload, lay, Phase.PREFILL))
            if tpot_floors:
                tpot = max(tpot, split_floor(self.timer, workload, lay, Phase.DECODE))
            hit = self._split[key] = (ttft, tpot, self._best(ttft, tpot, workload, lay.gpus_used))
        return hit

    def matters(self, lay: Layout, workload: Workload, bar: Bar, text: str, mb: int, overlap: Overlap) -> bool:
        """Whether the candidate (`text` with `mb` micro-batches and `overlap`) could enter the best
        `k` or the Pareto front, given the `bar`: first at the physical bounds of its GPUs and of
        its pipeline (no schedule), then at each op's own lower bound, then at a floor of its
        TPOT from its stage costs, then at its exact TPOT; when its TTFT matters (the objective or a
        requirement reads it), at a floor of its TTFT from its prefill stage costs and at its exact
        TTFT — before the TPOT figures under the `ttft` objective, whose score is TTFT alone."""
        if bar.kth is None:
            return True
        reach = self._reach(lay, workload, bar, text, mb, overlap)
        return reach is not None and self._matters(reach, lay, workload, bar, text, mb, overlap)

    def _matters(self, reach: tuple[float, float, Recurrence], lay: Layout, workload: Workload, bar: Bar, text: str,
                 mb: int, overlap: Overlap) -> bool:
        """`matters` after `_reach` let the candidate through with `reach`."""
        gpus = lay.gpus_used
        ttft, tpot, schedule = reach

        def could(ttft: float, tpot: float) -> bool:
            return _could_matter(self._best(ttft, tpot, workload, gpus), bar, text, mb, overlap)

        ttft_first = self.ttft_first
        if ttft_first:
            ttft = max(ttft, schedule.prefill_floor())
            if not could(ttft, tpot):
                return False
            ttft = schedule.prefill()
            if not could(ttft, tpot):
                return False
        tpot = max(tpot, schedule.tpot_floor())
        if not could(ttft, tpot):
            return False
        tpot = schedule.tpot()
        if not could(ttft, tpot):
            return False
        if not self.needs_ttft or ttft_first:
            return True
        ttft = max(ttft, schedule.prefill_floor())
        return could(ttft, tpot) and could(schedule.prefill(), tpot)


class _Best(NamedTuple):
    """The best a candidate could do at some bounds of its TTFT and TPOT: its rank key but for the
    names that break ties (requirements surely missed, −score, GPUs), how many it misses, and its
    point for the front (−decode tokens/s per GPU, TPOT)."""

    head: tuple[int, float, int]
    missed: int
    point: tuple[float, float]

    def row(self) -> tuple[float, float, float, float, float]:
        """The best as a row of `dagc.search.screen.out_of_reach`'s columns: its head, then its point
        (integers of a rank key are exact in a float)."""
        missed, score, gpus = self.head
        return float(missed), score, float(gpus), self.point[0], self.point[1]


def _could_matter(best: _Best, bar: Bar, text: str, mb: int, overlap: Overlap) -> bool:
    """Whether a candidate (strategy `text` with `mb` micro-batches and `overlap`) that does at most
    `best` could rank before the bar's `k`-th best or join its front. Its name (`option_text`) breaks
    a tie of the rest of the rank key, and is written only then."""
    assert bar.kth is not None
    head, kth = best.head, bar.kth
    if head < kth[:3] or (head == kth[:3] and (option_text(text, mb, overlap), mb, overlap.value) < kth[3:]):
        return True
    if best.missed or bar.front is None:
        return False                 # ranks after the k-th best, and the front (if kept) holds only what meets
    return not _beaten(bar.front, *best.point)


def _out_of_reach(best: _Best, bar: Bar) -> bool:
    """Whether no candidate that does at most `best` can matter, whatever its name: it ranks after
    the bar's `k`-th best by more than the name, and it misses a requirement, or no front is
    kept, or a front point beats it (`_could_matter` says no to every name)."""
    assert bar.kth is not None
    if best.head <= bar.kth[:3]:
        return False
    return bool(best.missed) or bar.front is None or _beaten(bar.front, *best.point)


def _resident_key(tp: int, cp: int, ep: int, etp: int, stage_layers: StageBounds, requests_per_rank: int) -> tuple:
    """What a layout's weights, KV cache and reserve read of it (`Pruner.surely_illegal`)."""
    return tp, cp, ep, etp, stage_layers, requests_per_rank


def _split_key(tp: int, cp: int, sp: bool, group_size: int, stage_layers: StageBounds, dp: int, microbatches: int,
               overlap: str, tpot_floors: bool) -> tuple:
    """What `Pruner.split_bounds` reads of a layout and workload (the batch and the rest are the plan's):
    its attention split, its stages, its units of micro-batches; not its expert domain. And whether
    it bounds TPOT too."""
    return tp, cp, sp, group_size, stage_layers, dp, microbatches, overlap, tpot_floors


def _first_key(group_size: int, pp: int, dp: int, adp: int, microbatches: int, batch: int, overlap: str) -> tuple:
    """What the bounds of a candidate's GPUs and pipeline read of its layout and workload
    (`Pruner.first_bounds`)."""
    return group_size, pp, dp, adp, microbatches, batch, overlap


def _beaten(front: tuple[tuple[float, float], ...], x: float, y: float) -> bool:
    """Whether a point of the front (−decode tokens/s per GPU, TPOT) is no worse than (x, y) on both
    figures and better on one: then (x, y) cannot join it (a few dozen points)."""
    return any(fx <= x and fy <= y and (fx < x or fy < y) for fx, fy in front)

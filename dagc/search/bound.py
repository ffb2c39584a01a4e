"""Branch and bound for the strategy search: which candidates cannot change its result.

Input: a candidate's layout and workload, and `Bar` — what the search has found so far (the
`k`-th best rank key among legal candidates, the Pareto front's figures: decode tokens/s per
GPU and TPOT). Output: whether the
candidate could still enter the best `k` or the front (`matters`). A candidate that cannot is
not evaluated further (no prefill schedule, memory model or rules): the search counts it as
pruned. Its best possible figures are

- TPOT: exact, the static schedule's decode recurrence (`dagc.schedule.recurrence.fast_tpot`: decode
  starts on idle streams, so it is priced without prefill), hence decode tokens/s too;
- TTFT: a lower bound, `dagc.rules.bounds.bounds` for its GPUs and replicas and `pipeline_bounds`
  for its stages (no schedule beats its busiest rank's FLOPs at peak or its bytes at peak HBM
  bandwidth, and a micro-batch crosses every stage);
- requirements: met, unless a TTFT, TPOT or throughput line is out of reach of those figures.

Before any bound, a candidate whose weights, KV cache and reserve alone overflow a GPU is set aside
(`MemoryScreen.surely_illegal`): `check` rejects it with E402 whatever its activations, so the search
counts it as evaluated and not legal, as the full check would. After the bounds that time no
stage pass of its own (`Pruner.screen`), so is one whose weights, KV cache and reserve with the prefill
working set of its attention or routed experts alone overflow a GPU (`MemoryScreen.overflows`): its
activations are at least that. `Pruner.screen` runs every step in order.

Before the exact TPOT, the candidate is tried at the physical bounds of its GPUs and of its
pipeline (`dagc.rules.bounds.bounds` and `pipeline_bounds`, TTFT and TPOT), at the times of its
attention split's ops alone (`dagc.schedule.recurrence.fast_tpot_split_floor`: shared by every expert
split, no op of the expert domain made; under `ttft` its prefill's too, `fast_ttft_split_floor`),
at each op's own lower bound (`dagc.schedule.recurrence.fast_tpot_op_floor`: those ops at their times, the
routed experts without routing statistics or interpolated kernel tables, a collective at its time,
the other compute ops' kernels at the roofline over their table's best efficiency), then at a
floor of its TPOT from its stage costs
(`dagc.schedule.recurrence.fast_tpot_floor`: a micro-batch crosses every stage between two tokens, and
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

Its parts: the bar and whether the best a candidate could do beats it (`dagc.search.bar`), the
bounds and that best (`dagc.search.candidate_bounds`), and the memory that sets candidates aside
(`dagc.search.memory_screen`); `Pruner` is a `CandidateBounds`, itself a `MemoryScreen`.
"""

from __future__ import annotations

import enum

from ..ir.ops import Op
from ..layout.layout import Layout
from ..plan.objective import OBJECTIVES
from ..plan.plan import Plan
from ..plan.workload import Overlap, RequirementKind, Workload
from ..schedule.recurrence import Recurrence
from ..schedule.timer import Timer
from ..verdict.fastcheck import FastCheck
from .bar import Bar, could_matter, is_out_of_reach
from .candidate_bounds import CandidateBounds
from .memory_screen import MemoryScreen

__all__ = ["Pruner", "Screen"]

_TTFT_METRICS = (RequirementKind.TTFT, RequirementKind.PREFILL_THROUGHPUT, RequirementKind.THROUGHPUT)
_TPOT_METRICS = (RequirementKind.TPOT, RequirementKind.DECODE_THROUGHPUT, RequirementKind.THROUGHPUT)


class Screen(enum.Enum):
    """What `Pruner.screen` decides for a candidate short of evaluating it."""

    ASIDE_ALL = "set aside, with every variant"     # weights, KV cache and reserve overflow (E402)
    ASIDE = "set aside"                             # … with one op's working set of its micro-batches
    PRUNED_ALL = "pruned, with every variant"       # its GPUs' physical bounds cannot reach the bar
    PRUNED = "pruned"                               # its own bounds cannot reach the bar


class Pruner:
    """Decides, for the candidates of one plan and objective, which cannot change the result: from its
    `memory` screen (`MemoryScreen`: what `check` surely rejects for memory) and its candidates' `bounds`
    (`CandidateBounds`: their figures' bounds and the best they could do at them)."""

    def __init__(self, plan: Plan, objective: str, timer: Timer):
        self.plan, self.timer = plan, timer
        self.memory = MemoryScreen(plan, timer)
        self.bounds = CandidateBounds(plan, objective, timer, self.memory)
        scored = OBJECTIVES[objective]
        # whether the rank or a requirement reads TTFT: then its exact figure is worth a prefill schedule
        self.needs_ttft = scored.reads_ttft or any(r.kind in _TTFT_METRICS for r in plan.steady_requirements)
        # whether the rank or a requirement reads TPOT (the front reads it too): else a TPOT floor prunes nothing
        self.reads_tpot = scored.reads_tpot or any(r.kind in _TPOT_METRICS for r in plan.steady_requirements)
        # Visited fewest GPUs first, candidates that one op's working set overflows come before the bar
        # is high, and setting them aside saves their stage passes; visited most GPUs first, the bar
        # prunes them anyway, and the working sets' templates would cost more than they save (measured
        # on the DeepSeek-V3 2048-GPU plan: docs/search.md).
        self.working_sets = not scored.most_gpus_first

    def floors_matter(self, bar: Bar) -> bool:
        """Whether the TPOT floors can prune: the rank or a requirement reads TPOT, or a front is kept."""
        return self.reads_tpot or bar.front is not None

    def hopeless(self, workload: Workload, lay: Layout, bar: Bar) -> bool:
        """Whether no variant of the candidate's strategy (any micro-batches, any overlap) can matter:
        at the physical bounds of its GPUs and replicas, which the variants share, it ranks after the
        bar's `k`-th best by more than the name that breaks ties, and no front is kept, or it misses
        a requirement, or a front point beats it. Each variant's own figures are no better, so
        `matters` would say no to every one."""
        return bar.kth is not None and is_out_of_reach(self.bounds.physical(workload, lay.gpus_used, lay.dp)[1], bar)

    def screen(self, workload: Workload, lay: Layout, bar: Bar, text: str, mb: int, overlap: Overlap,
               first: bool) -> Screen | None:
        """What the search does with one candidate (`text` with `mb` micro-batches and `overlap`) before
        evaluating it, cheapest test first; None: evaluate it. `first`: whether it is the first
        variant of its strategy the search meets (the variants come in a row), which alone is tried
        against the bar for all of them (`hopeless`)."""
        if lay.pp > self.plan.model.layers:
            return None                              # E303: `evaluate` says so
        if self.memory.surely_illegal(workload, lay):
            return Screen.ASIDE_ALL
        if first and self.hopeless(workload, lay, bar):
            return Screen.PRUNED_ALL
        reach = None if bar.kth is None else self._reach(lay, workload, bar, text, mb, overlap)
        if bar.kth is not None and reach is None:
            return Screen.PRUNED                     # its bounds that time no stage pass of its own
        if self.working_sets and (self.memory.overflows(workload, lay, Op.ATTENTION)
                                  or self.memory.overflows(workload, lay, Op.EXPERT_FFN)):
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
        first_ttft, tpot, best = self.bounds.first_bounds(workload, lay)
        if not could_matter(best, bar):
            return None
        schedule = Recurrence(self.plan, lay, workload, self.timer)      # one per candidate: its stage costs shared
        tpot_floors = self.floors_matter(bar)
        if not (tpot_floors or self.bounds.ttft_first):
            return first_ttft, tpot, schedule
        ttft, split_tpot, best = self.bounds.split_bounds(workload, lay, tpot_floors)
        if not could_matter(best, bar):
            return None
        if not tpot_floors:
            return ttft, split_tpot, schedule
        ops = schedule.tpot_op_floor()
        if ops > split_tpot and not could_matter(self.bounds.best(ttft, ops, workload, gpus), bar):
            return None
        return ttft, max(split_tpot, ops), schedule

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
            return could_matter(self.bounds.best(ttft, tpot, workload, gpus), bar)

        ttft_first = self.bounds.ttft_first
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
        so its best at batch b is `CandidateBounds.best` of `fc`'s TTFT and TPOT with b requests, which only grows
        with b. `best` takes what the other bounds give it, the server's TTFT and a decode step's time, and adds
        the engine's front end and divides by the tokens a step emits as `fc`'s figures did: handed `fc`'s
        client TTFT, it counted the front end twice, and pruned a candidate whose TTFT at `lo` was within the
        front end of a TTFT limit (docs/search.md, "Branch and bound")."""
        if bar.kth is None:
            return lo
        lay = fc.layout
        resident = self.memory.resident_batch(lay.tp, lay.cp, lay.ep, lay.etp, lay.stage_layers, lay.dp, lay.adp)
        most = min(most, max(lo, resident))           # `lo` is served, so it fits: never below it
        m, gpus = fc.deployment, lay.gpus_used
        ttft, tpot = m.ttft_server_s, m.tpot_s * self.plan.workload.tokens_per_step

        def could(batch: int) -> bool:
            return could_matter(self.bounds.best(ttft, tpot, self.plan.workload, gpus, batch), bar)

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

"""Which candidates `check` surely rejects for memory (E402), told before their figures are made.

Input: a plan, its `dagc.schedule.timer.Timer`, and a candidate's layout (or the degrees, stages and
requests per rank that its resident bytes read). Output: whether its weights, KV cache and runtime
reserve alone overflow a GPU on some stage (`MemoryScreen.surely_illegal`: `check` rejects it with
E402 whatever its activations), whether they do with the prefill working set of its attention or its
routed experts alone (`overflows`: its activations are at least that), and the largest batch
whose resident bytes fit (`resident_batch`, for `batch = max`). Each remembered by what it reads.
The branch and bound (`dagc.search.bound.Pruner`, through its `memory`) sets such candidates aside: the
search counts them as evaluated and not legal, as the full check would.
"""

from __future__ import annotations

from ..ir.dag import Phase
from ..ir.ops import Op
from ..lang.fields import BATCH_LIMIT
from ..layout.layout import Layout
from ..layout.modes import mode_of
from ..layout.shards import StageCounts, rank_shards
from ..layout.speculative import draft_layer
from ..layout.split import busiest_group_requests
from ..layout.stages import StageBounds
from ..memory.resident import (
    KvPerLayer,
    WeightTotals,
    admits_by_kv,
    kv_cache_bytes_per_layer,
    kv_requests_judged,
    resident_bytes_exceed,
    resident_weight_figures,
    weight_totals,
    working_set_exceeds,
)
from ..plan.expert_padding import held_experts
from ..plan.plan import Plan
from ..plan.workload import Workload
from ..schedule.timer import Timer
from ..verdict.batch_max import largest_batch

__all__ = ["MemoryScreen"]


class MemoryScreen:
    """The resident bytes and working sets of the candidates of one plan against its GPUs' memory."""

    def __init__(self, plan: Plan, timer: Timer):
        self.plan, self.timer = plan, timer
        self._resident: dict[_ResidentKey, bool] = {}
        self._resident_batch: dict[tuple[int, int, int, int, StageBounds, int, int], int] = {}
        # `weight_totals` of `resident_weight_figures`
        self._totals: dict[tuple[int, int, int, StageBounds], WeightTotals] = {}
        self._working: dict[tuple[Op, int, int, bool, int, int, int, StageBounds, int, int, int], bool] = {}
        self._kv_bytes: dict[tuple[int, int, int], KvPerLayer] = {}     # `kv_cache_bytes_per_layer`

    def resident_batch(self, tp: int, cp: int, ep: int, etp: int, stages: StageBounds, dp: int, adp: int) -> int:
        """The largest batch whose weights, KV cache and reserve fit on every GPU of a layout with these
        degrees, stages, replicas and attention-DP groups (`resident_exceeds`: `check` rejects any larger
        batch with E402), at most `BATCH_LIMIT`; 0 when not even one request fits."""
        key = (tp, cp, ep, etp, stages, dp, adp)
        hit = self._resident_batch.get(key)
        if hit is None:
            w = self.plan.workload
            context = w.prompt + w.generate

            def overflows(batch: int) -> str | None:
                requests = busiest_group_requests(batch, dp, adp)
                if admits_by_kv(w):      # in flight the KV cache admits requests at their mean context (at most)
                    requests = requests * (2 * w.prompt + w.generate) // (2 * context)
                return "memory" if self.resident_exceeds(tp, cp, ep, etp, stages, requests) else None

            hit = self._resident_batch[key] = largest_batch(overflows, BATCH_LIMIT)[0]
        return hit

    def surely_illegal(self, workload: Workload, lay: Layout) -> bool:
        """Whether the candidate's weights, KV cache and runtime reserve alone exceed a GPU's memory on
        some stage: `check` rejects it (E402, whatever its activations), so its figures are not
        needed. Remembered by what those bytes read of the layout (not micro-batches or overlap)."""
        return self.resident_exceeds(lay.tp, lay.cp, lay.ep, lay.etp, lay.stage_layers,
                                     kv_requests_judged(workload, lay.requests_per_rank))

    def resident_exceeds(self, tp: int, cp: int, ep: int, etp: int, stages: StageBounds, requests_per_rank: int
                         ) -> bool:
        """`dagc.memory.resident.resident_bytes_exceed` of a layout with these degrees, stages and requests per
        rank; remembered by those, and their weights by the degrees and stages alone (the plan's
        workload: the search varies micro-batches and overlap, which they do not read)."""
        key = _resident_key(tp, cp, ep, etp, stages, requests_per_rank)
        hit = self._resident.get(key)
        if hit is None:
            hit = self._resident[key] = resident_bytes_exceed(self.plan.cluster, self._totals_of(tp, ep, etp, stages),
                                                              self._kv(tp, cp, requests_per_rank))
        return hit

    def _totals_of(self, tp: int, ep: int, etp: int, stages: StageBounds) -> WeightTotals:
        """`dagc.memory.resident.weight_totals` of the weights of these degrees and stages, remembered by them."""
        key = (tp, ep, etp, stages)
        hit = self._totals.get(key)
        if hit is None:
            model = self.plan.model
            cluster = self.plan.cluster
            hit = self._totals[key] = weight_totals(resident_weight_figures(
                model, rank_shards(model, tp), StageCounts(model, stages), ep,
                held_experts(model, cluster.gpu, cluster.engine, etp), draft_layer(model, self.plan.workload)))
        return hit

    def _kv(self, tp: int, cp: int, requests_per_rank: int) -> KvPerLayer:
        key = (tp, cp, requests_per_rank)
        hit = self._kv_bytes.get(key)
        if hit is None:
            hit = self._kv_bytes[key] = kv_cache_bytes_per_layer(self.plan.model, self.plan.workload, tp, cp,
                                                                 requests_per_rank)
        return hit

    def overflows(self, workload: Workload, lay: Layout, op: Op) -> bool:
        """Whether the candidate's weights, KV cache and reserve with the prefill working set of `op`
        alone (the attention, the routed experts: `dagc.memory.resident.working_set_exceeds`) exceed a GPU's
        memory on some stage: `check` rejects it (E402) whatever its other ops. Its micro-batches set
        the working set, so this is asked of every variant (its overlap does not: remembered by the
        working set's shapes)."""
        key = (op, lay.tp, lay.cp, lay.sp, lay.ep, lay.etp, lay.group_size, lay.stage_layers, lay.dp, lay.adp,
               lay.microbatches)                 # and the plan's batch: the working sets' and the figures' shapes
        hit = self._working.get(key)
        if hit is None:
            # in flight the DAG has no prefill: its decode steps' working sets are a floor of its largest
            phase = Phase.DECODE if mode_of(workload).continuous else Phase.PREFILL
            hit = self._working[key] = working_set_exceeds(
                self.plan.cluster, lay, op,
                lambda req: self.timer.floors.working_set_floor(workload, lay, phase, req, op),
                self._totals_of(lay.tp, lay.ep, lay.etp, lay.stage_layers),
                self._kv(lay.tp, lay.cp, kv_requests_judged(workload, lay.requests_per_rank)))
        return hit


_ResidentKey = tuple[int, int, int, int, StageBounds, int]     # tp, cp, ep, etp, stages, requests per rank


def _resident_key(tp: int, cp: int, ep: int, etp: int, stage_layers: StageBounds, requests_per_rank: int
                  ) -> _ResidentKey:
    """What a layout's weights, KV cache and reserve read of it (`MemoryScreen.surely_illegal`)."""
    return tp, cp, ep, etp, stage_layers, requests_per_rank

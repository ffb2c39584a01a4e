"""Disaggregated candidates of a search that varies the batch (`batch = max`, `--vary batch`; SPEC 11.3).

Input: a `Plan` served in flight whose batch varies, the objective, the search's `Timer`, the legal prefill
instances (by their micro-batches and overlap), the decode strategies, the search's bar and a function
that weighs one decode pool against its prefill instances (`dagc.search.pooled`). Output: every decode
instance at its largest batch, weighed with every M and N; `PooledCounts` says what it did and what it
left out.

A decode instance's batch is what `check` gives a disaggregated strategy with `batch = max`
(`dagc.verdict.pools`): the largest batch one instance serves — it fits in memory and meets `tpot`
and `memory` (`dagc.verdict.batch_max.decode_pool_plan`); TTFT and the throughputs are the
deployment's — probed with the fast check (`dagc.verdict.batch_max.probed_largest_batch`). It does not
depend on M: each (B, micro-batches, overlap) is searched once, and then M instances of it, each at
that batch b, are weighed against every prefill instance and N (`dagc.search.pairs.weigh`: the
prefill pool sized to the decode pool's request rate by trying every N); the candidate's batch is
M × b. Pasted with `--set workload.batch=M×b`, its text checks to its figures.

Exact pruning, as the aggregated `batch = max` search's (docs/search.md, "Branch and bound"): a decode
instance whose best pair could not matter at the floor of its step with one request
(`dagc.schedule.recurrence.op_floor`) and at the largest batch its weights and KV cache leave room for
is not probed (`pruned`); while its batch is searched, its TPOT at the largest batch known served
bounds its TPOT at any larger one, and it is pruned as soon as no batch it can still end with could
matter.

Bounded work (SPEC 9: no clock changes a result): at most `max_probes` batches are probed over all
decode instances, counted, not timed. Past it, the remaining decode instances are left out and
counted (`left_out`), and the optimal verdict says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..layout.layout import resolve
from ..layout.split import busiest_group_requests
from ..plan.plan import Plan
from ..plan.strategy import Strategy
from ..plan.workload import PoolRole, Workload
from ..schedule.recurrence import op_floor
from ..verdict.batch_max import BATCH_LIMIT, decode_pool_plan, probed_largest_batch
from ..verdict.fastcheck import FastCheck
from ..verdict.pools import role_workload
from .bar import Bar, is_out_of_reach
from .kv_screen import kv_refused
from .memory_screen import MemoryScreen
from .pairs import Instance, PooledCounts, Prefills, best_at_bounds, best_at_tpot, instance_of
from .run import Run
from .space import replica_counts, variants

__all__ = ["MAX_POOL_PROBES", "decode_pools_at_max"]

MAX_POOL_PROBES = 50_000     # batches probed for decode instances in one search, at most (a count, not a clock)

# weigh M decode instances `Instance` (each at its batch) against the prefill instances that fit beside
# them, as candidates of `Workload` (its batch M × b and what one more request per instance breaks)
Weigh = Callable[[Instance, int, list[Instance], Workload], None]


def decode_pools_at_max(run: Run, strategies: Iterable[Strategy], prefills: Prefills, counts: PooledCounts,
                        bar_of: Callable[[], Bar | None], weigh: Weigh, max_probes: int = MAX_POOL_PROBES) -> None:
    """Every decode instance of `strategies` at its largest batch, weighed by `weigh` with every M that
    leaves room for the smallest prefill instance (`prefills.least` GPUs) — module docstring. `counts` (a
    `dagc.search.pairs.PooledCounts`) gains what was done, pruned and left out; it stops at the search's
    deadline."""
    plan, objective, timer = run.plan, run.objective, run.timer
    w, gpus, least, by_option = plan.workload, plan.cluster.gpus, prefills.least, prefills.by_option
    judged = decode_pool_plan(plan)
    screen = MemoryScreen(plan.model_copy(update={"workload": role_workload(w, PoolRole.DECODE, 1)}), timer)
    for s in strategies:
        lay = resolve(plan.model, plan.cluster, role_workload(w, PoolRole.DECODE, 1), s)
        g, ms = lay.gpus_used, replica_counts((gpus - least) // lay.gpus_used)
        if not ms:
            continue
        resident = screen.resident_batch(lay.tp, lay.cp, lay.ep, lay.etp, lay.stage_layers, lay.dp, lay.adp)
        limit = BATCH_LIMIT // ms[-1]                 # M × b stays a batch a plan may write
        for mb, overlap in variants(s, busiest_group_requests(w.batch, 1, lay.adp), plan, PoolRole.DECODE):
            fits = {m: f for m in ms if (f := [p for p in by_option.get((mb, overlap), ()) if p.gpus + m * g <= gpus])}
            if not fits:
                continue
            if counts.probes >= max_probes:
                counts.left_out += 1
                continue
            if run.late():
                counts.stopped = True
                return
            workload = role_workload(w, PoolRole.DECODE, 1, microbatches=mb, overlap=overlap)
            bar = bar_of()
            if bar is not None and bar.kth is not None and _hopeless(run, workload, s, fits, min(resident, limit), bar):
                counts.pruned += 1
                continue
            chosen, fc, probes = probed_largest_batch(judged, s, workload, timer,
                                                      _needed(plan, objective, fits, g, resident, bar), limit)
            counts.probes += probes
            if chosen is None:
                counts.pruned += 1
                continue
            counts.decode += 1
            if fc is None or fc.layout.microbatches_dropped or kv_refused(judged, s, chosen, fc):
                continue             # not even one request is served; a micro-batch carries none (W510); or the
                                     # engine the plan chose would not start it (E732)
            d = instance_of(fc, s, chosen)
            for m, f in fits.items():
                weigh(d, m, f, w.model_copy(update={"batch": m * chosen.batch, "batch_note": None,
                                                    "batch_breaks": chosen.batch_breaks}))


def _hopeless(run: Run, workload: Workload, s: Strategy, fits: dict[int, list[Instance]], most: int,
              bar: Bar) -> bool:
    """Whether no pool of these decode instances could matter (`bar`) at any batch up to `most`: its step
    at least the floor of its step with one request, each op at its lower bound (`op_floor`; more
    requests only add work)."""
    plan = run.plan
    lay = resolve(plan.model, plan.cluster, workload, s)
    floor = op_floor(run.timer, workload, lay)
    return all(is_out_of_reach(best_at_bounds(plan, run.objective, f, m, lay.gpus_used, max(1, most), floor), bar)
               for m, f in fits.items())


def _needed(plan: Plan, objective: str, fits: dict[int, list[Instance]], g: int, resident: int, bar: Bar | None
            ) -> Callable[[FastCheck, int, int], int | None]:
    """`dagc.verdict.batch_max.bounded_largest_batch`'s `need` for a decode instance of `g` GPUs: None when
    no pool of it at any batch of [lo, most] could matter — its TPOT at least its TPOT at `lo` (`fc`'s),
    its batch at most `most` and what its weights and KV cache leave room for (`resident`) — else `lo`."""

    def needed(fc: FastCheck, lo: int, most: int) -> int | None:
        if bar is None or bar.kth is None:
            return lo
        top, tpot = min(most, max(lo, resident)), fc.metrics.tpot_s
        could = any(not is_out_of_reach(best_at_tpot(plan, objective, f, m, g, top, tpot), bar)
                    for m, f in fits.items())
        return lo if could else None

    return needed

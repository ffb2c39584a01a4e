"""Which GPUs trace.json draws (docs/outputs.md, "trace.json"): every rank up to `ALL_RANKS_UP_TO` GPUs or with
`all_ranks`, as long as the trace stays within its event budget; else representative ranks, the first and last GPU
of every pipeline stage of replica 0.

Input: a DAG, its layout, whether every rank was asked for, and the event budget. Output: the ranks, whether they
are representative, and the warning when every rank was asked for and would pass the budget.

Whether every rank fits is judged on what the trace would hold (`rank_events_at_most`), an upper bound that is
close: a rank's slices are its stage's ops, its HBM counter moves at most once per layer a micro-batch passes
(`trace._rank_memory`), and its metadata is a few events. Until 2026-12-02 the bound was two events per op of a
stage (a counter sample per slice), twice what a trace holds, so `--all-ranks` on
examples/10b-moe-1024-vs-64gpu.moe (`original`, 1,024 GPUs, about 570,000 events) fell back to two ranks, "over
the budget of 1,000,000", as if the flag were not given.
"""

from __future__ import annotations

import numpy as np

from ..ir.dag import Dag
from ..layout.layout import Layout

__all__ = ["ALL_RANKS_UP_TO", "representative_ranks", "rank_events_at_most", "traced_ranks"]

ALL_RANKS_UP_TO = 32          # below this many GPUs every rank is drawn by default
RANK_METADATA_EVENTS = 16     # a rank's process name and sort index, and a name and sort index per thread, at most
SCHEDULE_EVENTS = 64          # the schedule process's metadata and phase slices, at most


def representative_ranks(lay: Layout) -> list[int]:
    """The first and last GPU of every pipeline stage of replica 0: every stage is drawn.

    Example:
        >>> from dagc.verdict.check import load_plan_text, check
        >>> plan = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 64 gpu preset "h100-sxm" } '
        ...                       'workload { batch = 64 prompt = 512 generate = 64 } strategy pp 4 < tp 2 ; ep 8 >')
        >>> lay = check(plan)[0].layout
        >>> ranks = representative_ranks(lay)
        >>> ranks, [int(lay.coords["stage"][r]) for r in ranks]
        ([0, 7, 8, 15, 16, 23, 24, 31], [0, 0, 1, 1, 2, 2, 3, 3])
    """
    return sorted({lay.stage_ranks(0, s).start for s in range(lay.pp)}
                  | {lay.stage_ranks(0, s).stop - 1 for s in range(lay.pp)})


def rank_events_at_most(dag: Dag, lay: Layout) -> int:
    """At most how many events a trace of every rank holds: per rank, a slice per op of its stage, its HBM counter's
    samples (its first; one where each unit starts — a micro-batch's layer, or an op outside the layers — and one
    where each micro-batch's pass ends: `trace._rank_memory`), its metadata; and the schedule's critical path (at
    most every op once) and phases.

    Example:
        >>> from dagc.verdict.check import load_plan_text, check
        >>> plan = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                       'workload { batch = 8 prompt = 512 generate = 64 } strategy tp 8')
        >>> c = check(plan)[0].compiled
        >>> 8 * len(c.dag) < rank_events_at_most(c.dag, c.layout) < 2 * 8 * len(c.dag)
        True
    """
    ops = np.zeros(lay.pp, dtype=np.int64)
    units: list[set[tuple[object, int, int, int]]] = [set() for _ in range(lay.pp)]
    for i in range(len(dag)):
        s = dag.stage[i]
        ops[s] += 1
        units[s].add((dag.phase[i], dag.step[i], dag.mb[i], dag.layer[i] if dag.layer[i] >= 0 else -1 - i))
    # the counter moves where a unit starts, and where the last unit of a micro-batch's pass ends
    samples = np.array([1 + len(u) + len({key[:3] for key in u}) for u in units], dtype=np.int64)
    per_stage = ops + samples + RANK_METADATA_EVENTS
    ranks_per_stage = np.bincount(np.asarray(lay.coords["stage"], dtype=np.int64), minlength=lay.pp)
    return int(per_stage @ ranks_per_stage) + len(dag) + SCHEDULE_EVENTS


def traced_ranks(dag: Dag, lay: Layout, all_ranks: bool, budget: int) -> tuple[list[int], bool, str | None]:
    """The ranks a trace draws, whether they are representative, and the warning when every rank was asked for (or
    the plan has at most `ALL_RANKS_UP_TO` GPUs) and would pass `budget`."""
    representative = representative_ranks(lay)
    if all_ranks or lay.gpus_used <= ALL_RANKS_UP_TO:
        events = rank_events_at_most(dag, lay)
        if events <= budget:
            return list(range(lay.gpus_used)), False, None
        warning = (f"all {lay.gpus_used} ranks would be up to {events:,} events, over the budget of {budget:,}: "
                   "representative ranks only")
        return representative, True, warning
    return representative, True, None

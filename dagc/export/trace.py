"""trace.json: the schedule as a Chrome trace that Perfetto loads (docs/outputs.md, "trace.json").

Input: a scheduled `StrategyResult`. Output: a Trace Event Format file written as a
stream. First a "schedule" process (sorted first) with two tracks: "phases" (prefill, then each
decode step) and "critical path" (the critical ops, in order). Then one process per GPU
(pid = 1 + rank, named with rank, stage and tp/ep coordinates, sorted by rank), threads for
compute and each communication class, complete events (`X`) named by op kind
only (layer, micro-batch and the rest in args, so Perfetto's per-name totals add up across
layers), flow arrows for dependencies across ranks, an HBM counter per GPU,
prefill then decode on one timeline; with a simulated load, a last process of its counters (requests
running and waiting, KV use over the run: trace_load.py). Large plans get representative ranks — the
first and last GPU of every pipeline stage — and say so in the metadata and process names; `all_ranks` draws every GPU
within an event budget.

This module says what each op, rank and phase contributes; trace_writer.py lays the events out in
lanes, keeps the times exact and writes the file as Perfetto's importer requires.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..ir.dag import Category, OpKind, OpTemplate, Phase
from ..ir.op_shapes import chunk_prompt_tokens
from ..layout.modes import mode_of
from ..serve.inflight import InflightRates
from ..serve.load import Load
from ..verdict.compiled import Compiled
from .trace_load import LOAD_EVENTS_AT_MOST, add_load_counters
from .trace_ranks import ALL_RANKS_UP_TO, representative_ranks, traced_ranks
from .trace_writer import (
    EVENT_BUDGET,
    TRACE_MAX_NS,
    TraceWriter,
    Track,
    budget_note,
    seconds_to_ns,
    seconds_to_ns_many,
)
from .what_if import what_if_metadata

__all__ = ["Place", "TraceInfo", "add_instance", "write_trace", "representative_ranks", "phase_offsets", "phase_spans",
           "ALL_RANKS_UP_TO", "traced_ranks"]

CATEGORY_CLASS = {Category.COMPUTE: "compute", Category.TP_COMM: "comm: TP", Category.EP_COMM: "comm: EP (all-to-all)",
                  Category.PP_COMM: "comm: PP"}
CATEGORY_CAT = {Category.COMPUTE: "compute", Category.TP_COMM: "comm.tp", Category.EP_COMM: "comm.ep",
                Category.PP_COMM: "comm.pp"}


@dataclass(frozen=True)
class TraceInfo:
    path: Path
    ranks: tuple[int, ...]
    representative: bool
    events: int
    warning: str | None


def write_trace(c: Compiled, path: Path, all_ranks: bool = False, compress: bool = False,
                budget: int = EVENT_BUDGET, load: Load | None = None, traffic: str = "") -> TraceInfo:
    """Write the trace of a compiled strategy to `path` (+ `.gz` when compressing); with a simulated
    `load` (`traffic`: its traffic in words), its counters in a last process (`dagc.export.trace_load`)."""
    # the load's counters are written before the GPUs' HBM samples: every rank must fit beside them
    room = budget - (LOAD_EVENTS_AT_MOST if load is not None and load.timeline is not None else 0)
    ranks, representative, warning = traced_ranks(c.dag, c.layout, all_ranks, room)
    tw = TraceWriter()
    add_instance(tw, c, ranks, representative, Place(1, 0, "", c.layout.gpus_used + 1))
    metadata = _metadata(c, ranks, representative, warning)
    counters = add_load_counters(tw, load, c.layout.gpus_used + 2, c.layout.gpus_used + 2, traffic)
    if counters is not None:
        metadata["load"] = counters
    target = Path(str(path) + ".gz") if compress and not str(path).endswith(".gz") else Path(path)
    events = tw.write(target, metadata, compress=compress, budget=budget)
    if tw.over_budget and warning is None:
        warning = budget_note(budget, tw.over_budget)
    if tw.cut and warning is None:
        warning = f"{tw.cut:,} events end past {TRACE_MAX_NS:,} ns (~146 years) and were cut"
    return TraceInfo(target, tuple(ranks), representative, events, warning)


@dataclass(frozen=True)
class Place:
    """Where one compiled instance goes in a trace: its ranks' pids from `pid0` (rank r is pid0 + r),
    its timeline from `at_ns`, a `label` before its process names (a pool's, or ''), the pid of its
    "schedule" process (phases and critical path), and the TTFT its prefill slice says when not the instance's
    own (a disaggregated strategy's: its prefill, KV transfer and front end); `node0`, the dag.json id of the
    instance's first node (a disaggregated strategy's decode instance's follow the prefill's: until 2026-12-03 its
    slices' `node` counted from 0 and named the prefill's nodes)."""

    pid0: int
    at_ns: int
    label: str
    schedule_pid: int
    ttft_s: float | None = None
    node0: int = 0


def add_instance(tw: TraceWriter, c: Compiled, ranks: list[int], representative: bool, at: Place) -> None:
    """One compiled instance's processes and events: its schedule process, then one process per drawn
    rank with its op slices, HBM counter and the flows between its ranks."""
    dag, lay = c.dag, c.layout
    tw.process(at.schedule_pid, f"{at.label}schedule · phases and critical path", at.pid0 - 1)
    _phase_slices(tw, c, at)
    kernels = [[(p.kernel.name, p.seconds) for p in priced if p.seconds is not None] for priced in c.priced_kernels()]
    _critical_slices(tw, c, at, kernels)
    coords = lay.coords
    for rank in ranks:
        name = (f"{at.label}GPU {rank} · dp {int(coords['replica'][rank])} · stage {int(coords['stage'][rank])} · "
                f"tp {int(coords['tp'][rank])} · ep {int(coords['ep'][rank])}"
                + (" · representative" if representative else ""))
        tw.process(at.pid0 + rank, name, at.pid0 + rank)
    by_stage: dict[int, list[int]] = {}
    for i in range(len(dag)):
        by_stage.setdefault(dag.stage[i], []).append(i)
    for rank in ranks:
        ops = by_stage.get(int(coords["stage"][rank]), [])
        _rank_slices(tw, c, rank, ops, kernels, at)
        _rank_memory(tw, c, rank, ops, at)
        _rank_flows(tw, c, rank, ops, set(ranks), at)


# What a pool's instance's trace shows from 0, by its mode's name
_POOL_TIMELINE = {"prefill": "its prefill from 0",
                  "decode": "its decode (two steps) from 0, the KV of its requests already transferred"}


def _metadata(c: Compiled, ranks: list[int], representative: bool, warning: str | None) -> dict[str, Any]:
    lay, stage, mode = c.layout, c.layout.coords["stage"], mode_of(c.plan.workload)
    by_stage: dict[str, list[int]] = {}
    for rank in ranks:
        by_stage.setdefault(str(int(stage[rank])), []).append(rank)
    metadata: dict[str, object] = {"generator": "dagc", "plan": c.plan.name, "strategy": c.strategy.text,
                "ranks": "representative" if representative else "all", "ranks_included": ranks,
                "ranks_by_stage": by_stage,
                "ranks_note": ("the first and last GPU of every pipeline stage of replica 0; the others run the "
                               "same ops " + ("(every GPU would pass the event budget: `warning`)" if warning else
                                              "(compile with all ranks to draw every GPU)"))
                              if representative else "every GPU",
                "gpus_used": lay.gpus_used, "pipeline_stages": lay.pp, "dp_replicas": lay.dp,
                "time_unit": "us, from integer ns",
                "timeline": ("decode (two steps) from 0, mixed (two steps, a prompt's chunk in micro-batch 0: its ops "
                             "are named `… (chunk)`) from the end of decode")
                            if mode.continuous else
                            "prefill from 0, decode (two steps) from the end of prefill",
                "tracks": "schedule: phases (" + ("decode steps, then mixed steps" if mode.continuous else
                                                  "prefill, decode steps") + ") and critical path (the critical ops "
                          "in order); then one process per GPU: compute and comm streams, HBM counter",
                "ttft_s": c.metrics.ttft_s, "tpot_s": c.metrics.tpot_s}
    if mode.role is not None:         # one instance of a pool of a disaggregated strategy (`dagc.verdict.pools`)
        metadata.update({"pool": mode.role, "timeline": f"one {mode.role} instance of a disaggregated strategy: "
                         + _POOL_TIMELINE[mode.name],
                         # the figure that is not its own is the other pool's
                         **{key: None for key, own in zip(("ttft_s", "tpot_s"), mode.owns, strict=True) if not own}})
    if warning:
        metadata["warning"] = warning
    metadata.update(what_if_metadata(c.plan))
    return metadata


def phase_spans(c: Compiled, phase: Phase) -> dict[int, tuple[float, float]]:
    """Step → (first op's start, last op's finish) in seconds of the phase's own timeline: prefill
    has step 0 only (it ends at the server's TTFT: the client's adds the engine's front end), decode
    one entry per step (with several micro-batches in a pipeline, decode steps overlap).

    Example:
        >>> from dagc.verdict.check import load_plan_text, check
        >>> plan = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                       'workload { batch = 8 prompt = 512 generate = 64 } strategy tp 8')
        >>> c = check(plan)[0].compiled
        >>> end = phase_spans(c, Phase.PREFILL)[0][1]
        >>> end == c.metrics.rates.ttft_server_s, end + c.plan.cluster.engine.terms.frontend_alone_s == c.metrics.ttft_s
        (True, True)
        >>> sorted(phase_spans(c, Phase.DECODE))
        [0, 1]
    """
    spans: dict[int, tuple[float, float]] = {}
    start, finish = c.schedule.start, c.schedule.finish
    for i in c.dag.indices(phase):
        k = c.dag.step[i]
        lo, hi = spans.get(k, (math.inf, -math.inf))
        spans[k] = (min(lo, float(start[i])), max(hi, float(finish[i])))
    return dict(sorted(spans.items()))


def phase_offsets(c: Compiled) -> dict[Phase, int]:
    """Where each phase's own timeline starts in the trace, in ns: one after the other, each at the
    end of the one before (the prefill's end is TTFT)."""
    out, at = {}, 0
    for phase, path in c.schedule.paths.items():
        out[phase] = at
        at += seconds_to_ns(path.makespan_s)
    return out


def _phase_slices(tw: TraceWriter, c: Compiled, at: Place) -> None:
    """The "phases" track: prefill (ending at TTFT), then each decode step (decode starts at TTFT);
    in flight, each decode step, then each mixed step."""
    offsets, phases = {k: at.at_ns + v for k, v in phase_offsets(c).items()}, Track(at.schedule_pid, "phases")
    mbs = c.layout.microbatches
    for _, (lo, hi) in phase_spans(c, Phase.PREFILL).items():
        tw.slice(phases, at.at_ns + seconds_to_ns(lo), at.at_ns + seconds_to_ns(hi), "prefill", "phase",
                 {"kind": "phase", "phase": "prefill", "microbatches": mbs,
                  "ttft_s": c.metrics.ttft_s if at.ttft_s is None else at.ttft_s})
    met = c.metrics.rates
    for phase in (Phase.DECODE, Phase.MIXED):
        start = offsets.get(phase, at.at_ns)
        for k, (lo, hi) in phase_spans(c, phase).items():
            args: dict[str, object] = {"kind": "phase", "phase": phase.value, "step": k, "microbatches": mbs}
            if k > 0:        # in flight, a step's time; statically, the TPOT
                args.update({"step_s": met.decode_step_s if phase is Phase.DECODE else met.mixed_step_s}
                            if isinstance(met, InflightRates) else {"tpot_s": c.metrics.tpot_s})
            tw.slice(phases, start + seconds_to_ns(lo), start + seconds_to_ns(hi), f"{phase.value} step {k}",
                     "phase", args)


def _critical_slices(tw: TraceWriter, c: Compiled, at: Place,
                     kernels: list[list[tuple[str, np.ndarray]]]) -> None:
    """The "critical path" track: the critical ops of prefill, then of decode, in order; each
    slice spans its op's schedule (its slowest rank, whose kernels it lists) and says how long
    the op waited after the one before it."""
    dag, sched = c.dag, c.schedule
    offsets, track = phase_offsets(c), Track(at.schedule_pid, "critical path")
    for phase, path in sched.paths.items():
        offset = at.at_ns + offsets[phase]
        for i in path.nodes:
            b = sched.binding[i]
            wait_s = float(sched.start[i]) - (float(sched.finish[b]) if b >= 0 else 0.0)
            cat = dag.template[i].category
            args: dict[str, object] = {"node": at.node0 + i, "kind": dag.kind[i].value, "category": cat.value,
                                       "phase": dag.phase[i].value, "step": dag.step[i], "stage": dag.stage[i],
                                       **({"layer": dag.layer[i]} if dag.layer[i] >= 0 else {}),
                                       "microbatch": dag.mb[i],
                                       "waited_before_us": round(max(0.0, wait_s) * 1e6, 3)}
            parts = kernels[dag.template_index[i]]
            if parts:
                slowest = int(np.argmax(c.costs.rank_s(dag, i)))
                args["kernels_us"] = {name: round(float(sec[slowest]) * 1e6, 3) for name, sec in parts}
            tw.slice(track, offset + seconds_to_ns(sched.start[i]),
                     offset + seconds_to_ns(sched.finish[i]), dag.kind[i].value, CATEGORY_CAT[cat], args)


def _ops_ns(c: Compiled, ops: list[int], local: int, offsets: dict[Phase, int]) -> tuple[list[int], list[int]]:
    """Each op's start and end on a rank (local index in its stage group), in ns of the trace: `offsets`, where
    each phase's timeline starts (`phase_offsets` from the instance's start, reckoned once per rank). The ops are
    reckoned together (a large trace has hundreds of thousands): each end the same float sum of the op's start and
    its duration on the rank (`Costs.rank_s`), each rounded as `seconds_to_ns` rounds one."""
    if not ops:
        return [], []
    dag, index = c.dag, np.asarray(ops, dtype=np.int64)
    start_s = np.asarray(c.schedule.start, dtype=np.float64)[index]
    used, which = np.unique(np.asarray(dag.template_index, dtype=np.int64)[index], return_inverse=True)
    on_rank = np.array([c.costs.per_template[t][local] for t in used.tolist()], dtype=np.float64)
    starts, ends = seconds_to_ns_many(start_s), seconds_to_ns_many(start_s + on_rank[which.reshape(-1)])
    at = [offsets[dag.phase[i]] for i in ops]
    return ([a + s for a, s in zip(at, starts, strict=True)], [a + e for a, e in zip(at, ends, strict=True)])


def _rank_slices(tw: TraceWriter, c: Compiled, rank: int, ops: list[int],
                 kernels: list[list[tuple[str, np.ndarray]]], at: Place) -> None:
    """One rank's op slices (prefill from 0, decode after it), named by op kind."""
    dag, coords = c.dag, c.layout.coords
    stage, local, replica = int(coords["stage"][rank]), int(coords["local"][rank]), int(coords["replica"][rank])
    pid = at.pid0 + rank
    tracks = {cat: Track(pid, cls) for cat, cls in CATEGORY_CLASS.items()}
    # in flight, the prompt tokens of a mixed step's chunk on this rank (its first attention-DP group's)
    chunk = (chunk_prompt_tokens(c.plan.workload, c.layout) / c.layout.cp
             if mode_of(c.plan.workload).continuous and int(coords["adp"][rank]) == 0 else 0)
    offsets = {phase: at.at_ns + ns for phase, ns in phase_offsets(c).items()}
    on_rank: dict[int, _OnRank] = {}        # per template: the same on each of this rank's ops
    for i, start_ns, end_ns in zip(ops, *_ops_ns(c, ops, local, offsets), strict=True):
        k = dag.template_index[i]
        o = on_rank.get(k)
        if o is None:
            o = on_rank[k] = _on_rank(dag.template[i], local, kernels[k], tracks)
        args: dict[str, object] = {"node": at.node0 + i, "kind": o.kind, "phase": dag.phase[i].value,
                                   "step": dag.step[i], "stage": stage,
                                   **({"layer": dag.layer[i]} if dag.layer[i] >= 0 else {}),   # none outside the layers
                                   "microbatch": dag.mb[i], "tokens": o.tokens, "flops": o.flops,
                                   "hbm_bytes": o.hbm_bytes, "comm_bytes": o.comm_bytes,
                                   "on_critical_path": bool(c.schedule.critical[i]) if replica == 0 else False}
        if o.group is not None:
            args["group"] = o.group
        if o.kernels_us is not None:       # the kernels the op launches on this rank, in µs
            args["kernels_us"] = o.kernels_us
        name = o.kind
        if chunk and dag.phase[i] is Phase.MIXED and dag.mb[i] == 0 and o.category is Category.COMPUTE:
            args["chunk_tokens"] = chunk        # this rank's ops carry a prompt's chunk too
            name += " (chunk)"
        tw.slice(o.track, start_ns, end_ns, name, o.cat, args, key=(i, pid))


@dataclass(frozen=True, slots=True)
class _OnRank:
    """What a rank's slices of one template say alike (`_rank_slices`): its kind, category and track, its
    figures on the rank, its group, its kernels' µs (None: it launches none)."""

    kind: str
    category: Category
    cat: str
    track: Track
    tokens: float
    flops: float
    hbm_bytes: float
    comm_bytes: float
    group: str | None
    kernels_us: dict[str, float] | None


def _on_rank(t: OpTemplate, local: int, parts: list[tuple[str, np.ndarray]], tracks: dict[Category, Track]) -> _OnRank:
    cat = t.category
    return _OnRank(t.kind.value, cat, CATEGORY_CAT[cat], tracks[cat], float(t.tokens[local]), float(t.flops[local]),
                   float(t.hbm_bytes[local]), float(t.comm_bytes[local]),
                   None if t.group is None else f"{t.group.value} {t.group_size}",
                   {name: round(float(sec[local]) * 1e6, 3) for name, sec in parts} if parts else None)


def _rank_memory(tw: TraceWriter, c: Compiled, rank: int, ops: list[int], at: Place) -> None:
    """One rank's HBM counter: weights and KV cache from 0, plus each micro-batch's activations.

    A micro-batch holds the largest workspace of the layer it is in (its compute ops' inputs
    and outputs) from the layer's first op until its next layer starts; it frees it after its
    last op on the stage. Micro-batches in flight together (overlap) add up. So the counter
    moves where the working set does — at a micro-batch's entry and exit and where one layer's
    peak differs from the last — not twice per op.
    """
    dag, coords = c.dag, c.layout.coords
    stage, local = int(coords["stage"][rank]), int(coords["local"][rank])
    # (phase, step, mb, layer or op) → [start, end, act bytes]
    units: dict[tuple[Phase, int, int, int], list[int]] = {}
    offsets = {phase: at.at_ns + ns for phase, ns in phase_offsets(c).items()}
    for i, start_ns, end_ns in zip(ops, *_ops_ns(c, ops, local, offsets), strict=True):
        key = (dag.phase[i], dag.step[i], dag.mb[i], dag.layer[i] if dag.layer[i] >= 0 else -1 - i)
        act = int(dag.template[i].act_bytes[local]) if dag.template[i].category is Category.COMPUTE else 0
        u = units.setdefault(key, [start_ns, end_ns, 0])
        u[0], u[1], u[2] = min(u[0], start_ns), max(u[1], end_ns), max(u[2], act)
    passes: dict[tuple[Phase, int, int], list[list[int]]] = {}
    for key, u in units.items():
        passes.setdefault(key[:3], []).append(u)
    delta: dict[int, int] = {}
    for seq in passes.values():
        seq.sort()
        ends = [nxt[0] for nxt in seq[1:]] + [seq[-1][1]]
        for (start_ns, _end, act), end_ns in zip(seq, ends, strict=True):
            delta[start_ns] = delta.get(start_ns, 0) + act
            delta[end_ns] = delta.get(end_ns, 0) - act
    base = c.memory.stages[stage].weights_bytes + c.memory.stages[stage].kv_cache_bytes
    level = 0
    tw.counter(at.pid0 + rank, at.at_ns, base)
    for ts in sorted(delta):
        level += delta[ts]
        tw.counter(at.pid0 + rank, ts, base + level)


def _rank_flows(tw: TraceWriter, c: Compiled, rank: int, ops: list[int], included: set[int], at: Place) -> None:
    """Dependencies that cross ranks: pipeline transfers, and decode step 1 waiting for step 0's token."""
    dag, lay = c.dag, c.layout
    local, replica = int(lay.coords["local"][rank]), int(lay.coords["replica"][rank])
    g = lay.group_size
    for i in ops:
        if dag.kind[i] is OpKind.SEND:
            j = dag.pair[i]
            other = (replica * lay.pp + dag.stage[j]) * g + local
            if other in included:
                tw.flow((i, at.pid0 + rank), (j, at.pid0 + other))
        elif dag.kind[i] is OpKind.EMBED and dag.step[i] == 1 and lay.pp > 1:
            for p in dag.preds[i]:
                other = (replica * lay.pp + dag.stage[p]) * g + local
                if other in included:
                    tw.flow((p, at.pid0 + other), (i, at.pid0 + rank))

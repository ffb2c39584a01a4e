"""trace.json: the schedule as a Chrome trace that Perfetto loads (docs/outputs.md, "trace.json").

Input: a scheduled `StrategyResult`. Output: a Trace Event Format file written as a
stream. First a "schedule" process (sorted first) with two tracks: "phases" (prefill, then each
decode step) and "critical path" (the critical ops, in order). Then one process per GPU
(pid = 1 + rank, named with rank, stage and tp/ep coordinates, sorted by rank), threads for
compute and each communication class (lanes 1 compute, 2 comm TP, 3 comm EP, 4 comm PP, then
overflow lanes; tid = pid·1000 + lane, never the pid), complete events (`X`) named by op kind
only (layer, micro-batch and the rest in args, so Perfetto's per-name totals add up across
layers), flow arrows for dependencies across ranks, an HBM counter per GPU sampled only where
its value changes, prefill then decode on one timeline, times as integer nanoseconds printed exactly (at any
magnitude: past 2**51 ns, about 26 days, times are rounded to a multiple of 125 ns, an exact
binary fraction of a µs). Slices of one thread never partly overlap: each (GPU, class) is
split into lanes. Large plans get representative ranks — the first and last GPU of every
pipeline stage — and say so in the metadata and process names; `all_ranks` draws every GPU
within an event budget.

Perfetto's importer requires (docs/outputs.md, "What Perfetto's importer requires"): the object
form, complete, without surrogate escapes or NaN; non-negative times from integer ns; integer
pids and tids with no tid equal to its pid; only X, M, C and v1 flow (s/f, integer id) events;
slices on a thread that nest and never partly overlap, at most 512 deep.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import itertools
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..ir.dag import Category, Dag, OpKind, Phase
from ..layout.layout import Layout
from ..verdict.compiled import Compiled
from .write import atomic_output

__all__ = ["TraceWriter", "TraceInfo", "write_trace", "representative_ranks", "phase_spans", "EVENT_BUDGET",
           "ALL_RANKS_UP_TO", "ns_text", "time_quantum_ns", "EXACT_NS_BELOW", "TRACE_MAX_NS"]

EVENT_BUDGET = 1_000_000
EXACT_NS_BELOW = 2**51        # below this, "µs.nnn" read as a double and × 1000 rounds back to the same ns
TRACE_MAX_NS = 2**62          # ~146 years: later events are cut (Perfetto keeps int64 ns)
ALL_RANKS_UP_TO = 32          # below this many GPUs every rank is drawn by default
CLASS_TID = {"compute": 1, "comm: TP": 2, "comm: EP (all-to-all)": 3, "comm: PP": 4}
SCHEDULE_TID = {"phases": 1, "critical path": 2}      # threads of the "schedule" process
_FIRST_LANE = {**CLASS_TID, **SCHEDULE_TID}
CATEGORY_CLASS = {Category.COMPUTE: "compute", Category.TP_COMM: "comm: TP", Category.EP_COMM: "comm: EP (all-to-all)",
                  Category.PP_COMM: "comm: PP"}
CATEGORY_CAT = {Category.COMPUTE: "compute", Category.TP_COMM: "comm.tp", Category.EP_COMM: "comm.ep",
                Category.PP_COMM: "comm.pp"}


def ns_text(ns: int) -> str:
    """Microseconds with exactly three decimals from integer nanoseconds.

    Example:
        >>> ns_text(1234567), ns_text(5)
        ('1234.567', '0.005')
    """
    return f"{ns // 1000}.{ns % 1000:03d}"


def time_quantum_ns(max_ns: int) -> int:
    """The time resolution (ns) at which every time up to `max_ns` survives the importer exactly.

    Perfetto reads `ts`/`dur` as doubles in µs and multiplies by 1000. Below `EXACT_NS_BELOW`
    that rounds back to the integer ns we printed; above, a time must be an exact binary
    fraction: a multiple of 125 ns (1/8 µs) times 2**j, with (ns / 2**j) < 2**53 so that the
    product by 1000 is exact too.

    Example:
        >>> time_quantum_ns(10**9), time_quantum_ns(5 * 10**15), time_quantum_ns(2**60)
        (1, 125, 32000)
    """
    if max_ns < EXACT_NS_BELOW:
        return 1
    j = 0
    while max_ns >> j >= 2**53:
        j += 1
    return 125 << j


def _quantise(ns: int, q: int) -> int:
    # Round to nearest: monotone, so nesting and lane order are kept.
    return ns if q == 1 else (ns + q // 2) // q * q


def seconds_to_ns(seconds: float) -> int:
    """Seconds → integer ns; non-finite or beyond `TRACE_MAX_NS` becomes TRACE_MAX_NS + 1 (cut)."""
    if not math.isfinite(seconds) or seconds * 1e9 > TRACE_MAX_NS:
        return TRACE_MAX_NS + 1
    return max(0, int(round(seconds * 1e9)))


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


@dataclass
class _Slice:
    start_ns: int
    end_ns: int
    name: str
    cat: str
    args: dict
    key: object = None          # caller's handle, e.g. (dag node, rank), for flows
    tid: int = 0


@dataclass
class TraceWriter:
    """Collects slices per (pid, class), assigns lanes, writes the file."""

    processes: dict[int, tuple[str, int]] = field(default_factory=dict)      # pid → (name, sort index)
    slices: dict[tuple[int, str], list[_Slice]] = field(default_factory=dict)
    counters: dict[int, list[tuple[int, float]]] = field(default_factory=dict)
    flows: list[tuple[object, object]] = field(default_factory=list)           # (producer key, consumer key)
    threads: dict[tuple[int, int], tuple[str, int]] = field(default_factory=dict)
    quantum_ns: int = 1           # set by `write`
    cut: int = 0                  # slices and samples dropped for ending past TRACE_MAX_NS
    _emitted: int = 0             # events written so far by `write`

    def process(self, pid: int, name: str, sort_index: int) -> None:
        self.processes[pid] = (name, sort_index)

    def slice(self, pid: int, cls: str, start_ns: int, end_ns: int, name: str, cat: str, args: dict,
              key: object = None) -> None:
        self.slices.setdefault((pid, cls), []).append(_Slice(start_ns, max(start_ns, end_ns), name, cat, args, key))

    def counter(self, pid: int, ts_ns: int, value: float) -> None:
        self.counters.setdefault(pid, []).append((ts_ns, value))

    def flow(self, producer_key: object, consumer_key: object) -> None:
        self.flows.append((producer_key, consumer_key))

    def _exact_times(self) -> None:
        """Drop what ends past TRACE_MAX_NS; round the rest to a resolution printed exactly."""
        for k, items in self.slices.items():
            kept = [s for s in items if s.end_ns <= TRACE_MAX_NS]
            self.cut += len(items) - len(kept)
            self.slices[k] = kept
        for pid, samples in self.counters.items():
            kept_samples = [x for x in samples if x[0] <= TRACE_MAX_NS]
            self.cut += len(samples) - len(kept_samples)
            self.counters[pid] = kept_samples
        latest = max([s.end_ns for items in self.slices.values() for s in items]
                     + [x[0] for samples in self.counters.values() for x in samples], default=0)
        q = self.quantum_ns = time_quantum_ns(latest)
        if q > 1:
            for items in self.slices.values():
                for s in items:
                    s.start_ns, s.end_ns = _quantise(s.start_ns, q), _quantise(s.end_ns, q)
            for pid, samples in self.counters.items():
                self.counters[pid] = [(_quantise(t, q), v) for t, v in samples]

    def _tracks(self) -> list[tuple[tuple[int, str], list[_Slice]]]:
        """(pid, class) → slices, in display order: processes by sort index, then classes by first lane."""
        def order(kv: tuple[tuple[int, str], list[_Slice]]) -> tuple[int, int, int]:
            pid, cls = kv[0]
            return self.processes.get(pid, ("", pid))[1], pid, _FIRST_LANE.get(cls, 99)
        return sorted(self.slices.items(), key=order)

    def assign_lanes(self) -> dict[object, _Slice]:
        """Give every slice a thread so that no two partly overlap on one thread."""
        by_key: dict[object, _Slice] = {}
        next_tid: dict[int, int] = {}
        for (pid, cls), items in self._tracks():
            items.sort(key=lambda s: (s.start_ns, -(s.end_ns - s.start_ns)))
            lane_end: list[int] = []
            lane_tid: list[int] = []
            for s in items:
                for k, end in enumerate(lane_end):
                    if end <= s.start_ns:
                        lane_end[k] = s.end_ns
                        s.tid = lane_tid[k]
                        break
                else:
                    # Lane k of a process is thread pid·1000 + k: never equal to the pid, so
                    # Perfetto cannot merge it into the process track.
                    if not lane_end and cls in _FIRST_LANE:
                        k = _FIRST_LANE[cls]
                    else:
                        k = next_tid.get(pid, 5)
                        next_tid[pid] = k + 1
                    tid = pid * 1000 + k
                    lane_end.append(s.end_ns)
                    lane_tid.append(tid)
                    s.tid = tid
                    label = cls if len(lane_tid) == 1 else f"{cls} (lane {len(lane_tid)})"
                    # A class's overflow lanes sort right under its first lane.
                    self.threads[(pid, tid)] = (label, 100 * _FIRST_LANE.get(cls, 99) + len(lane_tid) - 1)
                if s.key is not None:
                    by_key[s.key] = s
        return by_key

    def write(self, path: Path, metadata: dict, compress: bool = False, budget: int = EVENT_BUDGET) -> int:
        """Write the file; returns the number of events written (at most `budget` slices and samples)."""
        self._exact_times()
        by_key = self.assign_lanes()
        self._emitted = 0
        written_keys: set[object] = set()
        events = itertools.chain(self._metadata_events(), self._slice_events(budget, written_keys),
                                 self._counter_events(budget), self._flow_events(by_key, written_keys))
        with atomic_output(path, binary=True) as raw, contextlib.ExitStack() as stack:
            sink = stack.enter_context(gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0)) if compress else raw
            f = stack.enter_context(io.TextIOWrapper(sink, encoding="utf-8", newline="\n"))
            f.write('{"traceEvents":[\n')
            for text in events:
                f.write(text if self._emitted == 0 else ",\n" + text)
                self._emitted += 1
            if self.quantum_ns > 1:
                metadata = {**metadata, "time_resolution_ns": self.quantum_ns}
            if self.cut:
                metadata = {**metadata, "cut_past_ns": TRACE_MAX_NS, "cut_events": self.cut}
            f.write('\n],\n"metadata":' + _dumps(metadata) + "}\n")
        return self._emitted

    def _metadata_events(self) -> Iterator[str]:
        for pid, (name, sort_index) in sorted(self.processes.items(), key=lambda kv: (kv[1][1], kv[0])):
            yield _dumps({"ph": "M", "pid": pid, "tid": 0, "name": "process_name", "args": {"name": name}})
            yield _dumps({"ph": "M", "pid": pid, "tid": 0, "name": "process_sort_index",
                          "args": {"sort_index": int(sort_index)}})
        def order(kv: tuple[tuple[int, int], tuple[str, int]]) -> tuple[int, int, int]:
            pid = kv[0][0]
            return self.processes.get(pid, ("", pid))[1], pid, kv[1][1]
        for (pid, tid), (label, sort_index) in sorted(self.threads.items(), key=order):
            yield _dumps({"ph": "M", "pid": pid, "tid": tid, "name": "thread_name", "args": {"name": label}})
            yield _dumps({"ph": "M", "pid": pid, "tid": tid, "name": "thread_sort_index",
                          "args": {"sort_index": int(sort_index)}})

    def _slice_events(self, budget: int, written_keys: set[object]) -> Iterator[str]:
        for (pid, _cls), items in self._tracks():
            for s in items:
                if self._emitted >= budget:
                    break
                yield (f'{{"ph":"X","pid":{pid:d},"tid":{s.tid:d},"ts":{ns_text(s.start_ns)},'
                       f'"dur":{ns_text(s.end_ns - s.start_ns)},"name":{_dumps(s.name)},"cat":{_dumps(s.cat)},'
                       f'"args":{_dumps(s.args)}}}')
                if s.key is not None:
                    written_keys.add(s.key)

    def _counter_events(self, budget: int) -> Iterator[str]:
        """HBM counter samples: one per distinct time (the last value wins), and only where the
        value as printed changes (a track never repeats a value)."""
        for pid, samples in sorted(self.counters.items()):
            samples.sort(key=lambda x: x[0])
            last_at: dict[int, float] = {}
            for ts, v in samples:
                last_at[ts] = v
            prev = None
            for ts, v in last_at.items():
                if self._emitted >= budget:
                    break
                text = _dumps(round(v / 1e9, 6))
                if text == prev:
                    continue
                prev = text
                yield f'{{"ph":"C","pid":{pid:d},"tid":0,"ts":{ns_text(ts)},"name":"HBM","args":{{"used_GB":{text}}}}}'

    def _flow_events(self, by_key: dict[object, _Slice], written_keys: set[object]) -> Iterator[str]:
        flow_id = 0
        for pk, ck in self.flows:
            if pk not in written_keys or ck not in written_keys:
                continue
            p, c = by_key[pk], by_key[ck]
            if c.end_ns <= c.start_ns:
                continue
            flow_id += 1
            yield (f'{{"ph":"s","id":{flow_id:d},"pid":{_pid_of(pk):d},"tid":{p.tid:d},'
                   f'"ts":{ns_text(p.start_ns)},"name":"dependency","cat":"flow"}}')
            yield (f'{{"ph":"f","bp":"e","id":{flow_id:d},"pid":{_pid_of(ck):d},"tid":{c.tid:d},'
                   f'"ts":{ns_text(c.start_ns)},"name":"dependency","cat":"flow"}}')


def _pid_of(key) -> int:
    return key[1] + 1     # keys are (dag node, rank)


@dataclass(frozen=True)
class TraceInfo:
    path: Path
    ranks: tuple[int, ...]
    representative: bool
    events: int
    warning: str | None


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


def _ranks(dag: Dag, lay: Layout, all_ranks: bool, budget: int) -> tuple[list[int], bool, str | None]:
    per_rank = 2 * len(dag) // lay.pp + 4       # slices and counter samples of one rank, about
    everyone = list(range(lay.gpus_used))
    representative = representative_ranks(lay)
    if all_ranks or lay.gpus_used <= ALL_RANKS_UP_TO:
        if per_rank * len(everyone) <= budget:
            return everyone, False, None
        warning = (f"all {len(everyone)} ranks would be about {per_rank * len(everyone):,} events, over the budget "
                   f"of {budget:,}: representative ranks only")
        return representative, True, warning
    return representative, True, None


def write_trace(c: Compiled, path: Path, all_ranks: bool = False, compress: bool = False,
                budget: int = EVENT_BUDGET) -> TraceInfo:
    """Write the trace of a compiled strategy to `path` (+ `.gz` when compressing)."""
    dag, lay = c.dag, c.layout
    ranks, representative, warning = _ranks(dag, lay, all_ranks, budget)
    tw = TraceWriter()
    schedule_pid = lay.gpus_used + 1      # after every rank's pid, but sorted first
    tw.process(schedule_pid, "schedule · phases and critical path", 0)
    _phase_slices(tw, c, schedule_pid)
    kernels = [[(k.name, sec) for k, sec in zip(t.kernels, ks, strict=False)]
               for t, ks in zip(c.dag.templates, c.costs.per_kernel, strict=True)]
    _critical_slices(tw, c, schedule_pid, kernels)
    coords = lay.coords
    for rank in ranks:
        name = (f"GPU {rank} · dp {int(coords['replica'][rank])} · stage {int(coords['stage'][rank])} · "
                f"tp {int(coords['tp'][rank])} · ep {int(coords['ep'][rank])}"
                + (" · representative" if representative else ""))
        tw.process(rank + 1, name, rank + 1)
    by_stage: dict[int, list[int]] = {}
    for i in range(len(dag)):
        by_stage.setdefault(dag.stage[i], []).append(i)
    for rank in ranks:
        ops = by_stage.get(int(coords["stage"][rank]), [])
        _rank_slices(tw, c, rank, ops, kernels)
        _rank_memory(tw, c, rank, ops)
        _rank_flows(tw, c, rank, ops, set(ranks))
    target = Path(str(path) + ".gz") if compress and not str(path).endswith(".gz") else Path(path)
    events = tw.write(target, _metadata(c, ranks, representative, warning), compress=compress, budget=budget)
    if events >= budget and warning is None:
        warning = f"the trace reached the event budget of {budget:,}: later events were cut"
    if tw.cut and warning is None:
        warning = f"{tw.cut:,} events end past {TRACE_MAX_NS:,} ns (~146 years) and were cut"
    return TraceInfo(target, tuple(ranks), representative, events, warning)


def _metadata(c: Compiled, ranks: list[int], representative: bool, warning: str | None) -> dict:
    lay, stage = c.layout, c.layout.coords["stage"]
    by_stage: dict[str, list[int]] = {}
    for rank in ranks:
        by_stage.setdefault(str(int(stage[rank])), []).append(rank)
    metadata = {"generator": "dagc", "plan": c.plan.name, "strategy": c.strategy.text,
                "ranks": "representative" if representative else "all", "ranks_included": ranks,
                "ranks_by_stage": by_stage,
                "ranks_note": ("the first and last GPU of every pipeline stage of replica 0; the others run the "
                               "same ops (compile with all ranks to draw every GPU)") if representative else
                              "every GPU",
                "gpus_used": lay.gpus_used, "pipeline_stages": lay.pp, "dp_replicas": lay.dp,
                "time_unit": "us, from integer ns",
                "timeline": "prefill from 0, decode (two steps) from the end of prefill",
                "tracks": "schedule: phases (prefill, decode steps) and critical path (the critical ops in "
                          "order); then one process per GPU: compute and comm streams, HBM counter",
                "ttft_s": c.metrics.ttft_s, "tpot_s": c.metrics.tpot_s}
    if warning:
        metadata["warning"] = warning
    return metadata


def phase_spans(c: Compiled, phase: Phase) -> dict[int, tuple[float, float]]:
    """Step → (first op's start, last op's finish) in seconds of the phase's own timeline: prefill
    has step 0 only (it ends at TTFT), decode one entry per step (with several micro-batches in
    a pipeline, decode steps overlap).

    Example:
        >>> from dagc.verdict.check import load_plan_text, check
        >>> plan = load_plan_text('model preset "mixtral-8x7b" cluster { gpus = 8 gpu preset "h100-sxm" } '
        ...                       'workload { batch = 8 prompt = 512 generate = 64 } strategy tp 8')
        >>> c = check(plan)[0].compiled
        >>> phase_spans(c, Phase.PREFILL)[0][1] == c.metrics.ttft_s, sorted(phase_spans(c, Phase.DECODE))
        (True, [0, 1])
    """
    spans: dict[int, tuple[float, float]] = {}
    start, finish = c.schedule.start, c.schedule.finish
    for i in c.dag.indices(phase):
        k = c.dag.step[i]
        lo, hi = spans.get(k, (math.inf, -math.inf))
        spans[k] = (min(lo, float(start[i])), max(hi, float(finish[i])))
    return dict(sorted(spans.items()))


def _phase_slices(tw: TraceWriter, c: Compiled, pid: int) -> None:
    """The "phases" track: prefill (ending at TTFT), then each decode step (decode starts at TTFT)."""
    ttft_ns = seconds_to_ns(c.metrics.ttft_s)
    mbs = c.layout.microbatches
    for _, (lo, hi) in phase_spans(c, Phase.PREFILL).items():
        tw.slice(pid, "phases", seconds_to_ns(lo), seconds_to_ns(hi), "prefill", "phase",
                 {"kind": "phase", "phase": "prefill", "microbatches": mbs, "ttft_s": c.metrics.ttft_s})
    for k, (lo, hi) in phase_spans(c, Phase.DECODE).items():
        args: dict[str, object] = {"kind": "phase", "phase": "decode", "step": k, "microbatches": mbs}
        if k > 0:
            args["tpot_s"] = c.metrics.tpot_s
        tw.slice(pid, "phases", ttft_ns + seconds_to_ns(lo), ttft_ns + seconds_to_ns(hi), f"decode step {k}",
                 "phase", args)


def _critical_slices(tw: TraceWriter, c: Compiled, pid: int,
                     kernels: list[list[tuple[str, np.ndarray]]]) -> None:
    """The "critical path" track: the critical ops of prefill, then of decode, in order; each
    slice spans its op's schedule (its slowest rank, whose kernels it lists) and says how long
    the op waited after the one before it."""
    dag, sched = c.dag, c.schedule
    ttft_ns = seconds_to_ns(c.metrics.ttft_s)
    for path, offset in ((sched.prefill_path, 0), (sched.decode_path, ttft_ns)):
        for i in path.nodes:
            b = sched.binding[i]
            wait_s = float(sched.start[i]) - (float(sched.finish[b]) if b >= 0 else 0.0)
            cat = dag.kind[i].category
            args: dict[str, object] = {"node": i, "kind": dag.kind[i].value, "category": cat.value,
                                       "phase": dag.phase[i].value, "step": dag.step[i], "stage": dag.stage[i],
                                       "layer": dag.layer[i], "microbatch": dag.mb[i],
                                       "waited_before_us": round(max(0.0, wait_s) * 1e6, 3)}
            parts = kernels[dag.template_index[i]]
            if parts:
                slowest = int(np.argmax(c.costs.rank_s(dag, i)))
                args["kernels_us"] = {name: round(float(sec[slowest]) * 1e6, 3) for name, sec in parts}
            tw.slice(pid, "critical path", offset + seconds_to_ns(sched.start[i]),
                     offset + seconds_to_ns(sched.finish[i]), dag.kind[i].value, CATEGORY_CAT[cat], args)


def _op_ns(c: Compiled, i: int, local: int) -> tuple[int, int]:
    """One op's start and end on a rank (local index in its stage group), in ns of the timeline."""
    offset = seconds_to_ns(c.metrics.ttft_s) if c.dag.phase[i] is Phase.DECODE else 0
    start_s = float(c.schedule.start[i])
    return (offset + seconds_to_ns(start_s),
            offset + seconds_to_ns(start_s + float(c.costs.rank_s(c.dag, i)[local])))


def _rank_slices(tw: TraceWriter, c: Compiled, rank: int, ops: list[int],
                 kernels: list[list[tuple[str, np.ndarray]]]) -> None:
    """One rank's op slices (prefill from 0, decode after it), named by op kind."""
    dag, coords = c.dag, c.layout.coords
    stage, local, replica = int(coords["stage"][rank]), int(coords["local"][rank]), int(coords["replica"][rank])
    pid = rank + 1
    for i in ops:
        t = dag.template[i]
        start_ns, end_ns = _op_ns(c, i, local)
        cat = dag.kind[i].category
        args: dict[str, object] = {"node": i, "kind": dag.kind[i].value, "phase": dag.phase[i].value,
                                   "step": dag.step[i], "stage": stage, "layer": dag.layer[i],
                                   "microbatch": dag.mb[i], "tokens": float(t.tokens[local]),
                                   "flops": float(t.flops[local]), "hbm_bytes": float(t.hbm_bytes[local]),
                                   "comm_bytes": float(t.comm_bytes[local]),
                                   "on_critical_path": bool(c.schedule.critical[i]) if replica == 0 else False}
        if t.group is not None:
            args["group"] = f"{t.group.value} {t.group_size}"
        parts = kernels[dag.template_index[i]]
        if parts:       # the kernels the op launches on this rank, in µs
            args["kernels_us"] = {name: round(float(sec[local]) * 1e6, 3) for name, sec in parts}
        tw.slice(pid, CATEGORY_CLASS[cat], start_ns, end_ns, dag.kind[i].value, CATEGORY_CAT[cat], args,
                 key=(i, rank))


def _rank_memory(tw: TraceWriter, c: Compiled, rank: int, ops: list[int]) -> None:
    """One rank's HBM counter: weights and KV cache from 0, plus each micro-batch's activations.

    A micro-batch holds the largest workspace of the layer it is in (its compute ops' inputs
    and outputs) from the layer's first op until its next layer starts; it frees it after its
    last op on the stage. Micro-batches in flight together (overlap) add up. So the counter
    moves where the working set does — at a micro-batch's entry and exit and where one layer's
    peak differs from the last — not twice per op.
    """
    dag, coords = c.dag, c.layout.coords
    stage, local = int(coords["stage"][rank]), int(coords["local"][rank])
    units: dict[tuple, list[int]] = {}          # (phase, step, mb, layer or op) → [start, end, act bytes]
    for i in ops:
        start_ns, end_ns = _op_ns(c, i, local)
        key = (dag.phase[i], dag.step[i], dag.mb[i], dag.layer[i] if dag.layer[i] >= 0 else -1 - i)
        act = int(dag.template[i].act_bytes[local]) if dag.kind[i].category is Category.COMPUTE else 0
        u = units.setdefault(key, [start_ns, end_ns, 0])
        u[0], u[1], u[2] = min(u[0], start_ns), max(u[1], end_ns), max(u[2], act)
    passes: dict[tuple, list[list[int]]] = {}
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
    tw.counter(rank + 1, 0, base)
    for ts in sorted(delta):
        level += delta[ts]
        tw.counter(rank + 1, ts, base + level)


def _rank_flows(tw: TraceWriter, c: Compiled, rank: int, ops: list[int], included: set[int]) -> None:
    """Dependencies that cross ranks: pipeline transfers, and decode step 1 waiting for step 0's token."""
    dag, lay = c.dag, c.layout
    local, replica = int(lay.coords["local"][rank]), int(lay.coords["replica"][rank])
    g = lay.group_size
    for i in ops:
        if dag.kind[i] is OpKind.SEND:
            j = dag.pair[i]
            other = (replica * lay.pp + dag.stage[j]) * g + local
            if other in included:
                tw.flow((i, rank), (j, other))
        elif dag.kind[i] is OpKind.EMBED and dag.step[i] == 1 and lay.pp > 1:
            for p in dag.preds[i]:
                other = (replica * lay.pp + dag.stage[p]) * g + local
                if other in included:
                    tw.flow((p, other), (i, rank))

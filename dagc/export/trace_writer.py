"""The Chrome trace file: a `TraceWriter` collects slices, counter samples and flows per process and
track, and writes them as one Trace Event Format file that Perfetto loads (docs/outputs.md,
"trace.json").

Input: slices (pid, track class, start and end in integer ns, name, category, args), counter
samples, flows between slices, process names. Output: the file, written as a stream (+ gzip),
and the number of events written (at most a budget of slices and samples).

Times are integer nanoseconds printed exactly (at any magnitude: past 2**51 ns, about 26 days,
times are rounded to a multiple of 125 ns, an exact binary fraction of a µs); events ending past
`TRACE_MAX_NS` are cut. Slices of one thread never partly overlap: each (process, class) is split
into lanes (lanes 1 compute, 2 comm TP, 3 comm EP, 4 comm PP, then overflow lanes; tid =
pid·1000 + lane, never the pid). An HBM counter is sampled only where its value changes.

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
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

import numpy as np

from .write import atomic_output

__all__ = ["Track", "TraceWriter", "EVENT_BUDGET", "budget_note", "ns_text", "time_quantum_ns", "seconds_to_ns",
           "seconds_to_ns_many", "EXACT_NS_BELOW", "TRACE_MAX_NS", "CLASS_TID", "SCHEDULE_TID"]

EVENT_BUDGET = 1_000_000
EXACT_NS_BELOW = 2**51        # below this, "µs.nnn" read as a double and × 1000 rounds back to the same ns
TRACE_MAX_NS = 2**62          # ~146 years: later events are cut (Perfetto keeps int64 ns)
CLASS_TID = {"compute": 1, "comm: TP": 2, "comm: EP (all-to-all)": 3, "comm: PP": 4}
SCHEDULE_TID = {"phases": 1, "critical path": 2}      # threads of the "schedule" process
_FIRST_LANE = {**CLASS_TID, **SCHEDULE_TID}


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


def seconds_to_ns_many(seconds: np.ndarray) -> list[int]:
    """`seconds_to_ns` of each of an array of seconds, the same integers: float64 products by 1e9, rounded half to
    even (as `round` rounds a float), below 0 none, past `TRACE_MAX_NS` (or not finite) cut."""
    with np.errstate(over="ignore", invalid="ignore"):
        ns = seconds * 1e9
        cut = ~np.isfinite(seconds) | (ns > TRACE_MAX_NS)
    out = np.maximum(np.rint(np.where(cut, 0.0, ns)), 0.0).astype(np.int64)
    out[cut] = TRACE_MAX_NS + 1
    ints: list[int] = out.tolist()
    return ints


# One encoder for every value written: `json.dumps` with options other than its defaults builds a new encoder
# each call, which took a third of `_dumps`' time on a large trace (half a million values).
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


# A slice's args, a dict, each encoded by the encoder's C loop made once (`JSONEncoder.encode` makes it again for each
# value, a third of the time of encoding a slice's args): the same text, without the check for circular references
# (no value written holds one). Where the C loop is missing (another Python), the encoder itself.
_C_LOOP = None if c_make_encoder is None else c_make_encoder(
    None, _ENCODER.default, encode_basestring, None, ":", ",", False, False, False)


def _dumps(obj: Any) -> str:       # `obj`: a JSON value
    if type(obj) is str:                # as the encoder encodes a string (`ensure_ascii=False`)
        return encode_basestring(obj)
    if _C_LOOP is not None and type(obj) is dict:
        return "".join(_C_LOOP(obj, 0))
    return _ENCODER.encode(obj)



# A slice's handle for flows: (dag node, the pid of its rank's process), or a KV transfer's ("kv", pid) and
# ("kv", pid, source pid) (`dagc.export.trace_pools`); the second is always the slice's process.
FlowKey = tuple[int | str, int] | tuple[str, int, int]

@dataclass(frozen=True, slots=True)
class Track:
    """Where a slice goes: its process (`pid`) and the class of its lanes there (`cls`: "phases", a
    category's class…), whose slices share the lanes they are laid out on."""

    pid: int
    cls: str


@dataclass
class _Slice:
    start_ns: int
    end_ns: int
    name: str
    cat: str
    args: dict[str, Any]
    key: FlowKey | None = None  # caller's handle, e.g. (dag node, rank), for flows
    tid: int = 0


@dataclass
class TraceWriter:
    """Collects slices per (pid, class), assigns lanes, writes the file."""

    processes: dict[int, tuple[str, int]] = field(default_factory=dict)      # pid → (name, sort index)
    slices: dict[tuple[int, str], list[_Slice]] = field(default_factory=dict)
    counters: dict[int, list[tuple[int, float]]] = field(default_factory=dict)
    flows: list[tuple[FlowKey, FlowKey]] = field(default_factory=list)           # (producer key, consumer key)
    # named counter tracks: (pid, counter name, args key) → samples (ns, value); Perfetto shows "<name> <key>"
    series: dict[tuple[int, str, str], list[tuple[int, float]]] = field(default_factory=dict)
    threads: dict[tuple[int, int], tuple[str, int]] = field(default_factory=dict)
    quantum_ns: int = 1           # set by `write`
    cut: int = 0                  # slices and samples dropped for ending past TRACE_MAX_NS
    over_budget: int = 0          # slices and samples `write` left out, the event budget reached
    _emitted: int = 0             # events written so far by `write`

    def process(self, pid: int, name: str, sort_index: int) -> None:
        self.processes[pid] = (name, sort_index)

    def slice(self, track: Track, start_ns: int, end_ns: int, name: str, cat: str, args: dict[str, Any],
              key: FlowKey | None = None) -> None:
        self.slices.setdefault((track.pid, track.cls), []).append(
            _Slice(start_ns, max(start_ns, end_ns), name, cat, args, key))

    def counter(self, pid: int, ts_ns: int, value: float) -> None:
        self.counters.setdefault(pid, []).append((ts_ns, value))

    def counter_series(self, pid: int, name: str, key: str, samples: list[tuple[int, float]]) -> None:
        """A counter track of its own ("<name> <key>" under the process): samples (ns, value), written as
        the HBM counter is, only where the value changes."""
        self.series.setdefault((pid, name, key), []).extend(samples)

    def flow(self, producer_key: FlowKey, consumer_key: FlowKey) -> None:
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
        for track, samples in self.series.items():
            kept_samples = [x for x in samples if x[0] <= TRACE_MAX_NS]
            self.cut += len(samples) - len(kept_samples)
            self.series[track] = kept_samples
        latest = max([s.end_ns for items in self.slices.values() for s in items]
                     + [x[0] for samples in self.counters.values() for x in samples]
                     + [x[0] for samples in self.series.values() for x in samples], default=0)
        q = self.quantum_ns = time_quantum_ns(latest)
        if q > 1:
            for items in self.slices.values():
                for s in items:
                    s.start_ns, s.end_ns = _quantise(s.start_ns, q), _quantise(s.end_ns, q)
            for pid, samples in self.counters.items():
                self.counters[pid] = [(_quantise(t, q), v) for t, v in samples]
            for track, samples in self.series.items():
                self.series[track] = [(_quantise(t, q), v) for t, v in samples]

    def _tracks(self) -> list[tuple[tuple[int, str], list[_Slice]]]:
        """(pid, class) → slices, in display order: processes by sort index, then classes by first lane."""
        def order(kv: tuple[tuple[int, str], list[_Slice]]) -> tuple[int, int, int]:
            pid, cls = kv[0]
            return self.processes.get(pid, ("", pid))[1], pid, _FIRST_LANE.get(cls, 99)
        return sorted(self.slices.items(), key=order)

    def assign_lanes(self) -> dict[FlowKey, _Slice]:
        """Give every slice a thread so that no two partly overlap on one thread."""
        by_key: dict[FlowKey, _Slice] = {}
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

    def write(self, path: Path, metadata: dict[str, Any], compress: bool = False, budget: int = EVENT_BUDGET) -> int:
        """Write the file; returns the number of events written (at most `budget` slices and samples)."""
        self._exact_times()
        by_key = self.assign_lanes()
        self._emitted = self.over_budget = 0
        written_keys: set[FlowKey] = set()
        events = itertools.chain(self._metadata_events(), self._slice_events(budget, written_keys),
                                 self._counter_events(budget), self._flow_events(by_key, written_keys))
        with atomic_output(path, binary=True) as raw, contextlib.ExitStack() as stack:
            sink = stack.enter_context(gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0)) if compress else raw
            # errors="replace": a name that was not UTF-8 becomes "?", never a surrogate escape (Perfetto aborts)
            f = stack.enter_context(io.TextIOWrapper(sink, encoding="utf-8", errors="replace", newline="\n"))
            f.write('{"traceEvents":[\n')
            for text in events:
                f.write(text if self._emitted == 0 else ",\n" + text)
                self._emitted += 1
            if self.quantum_ns > 1:
                metadata = {**metadata, "time_resolution_ns": self.quantum_ns}
            if self.cut:
                metadata = {**metadata, "cut_past_ns": TRACE_MAX_NS, "cut_events": self.cut}
            if self.over_budget:        # the file says so itself: Perfetto shows the metadata, not our warning
                note = budget_note(budget, self.over_budget)
                said = metadata.get("warning")
                metadata = {**metadata, "warning": f"{said}; {note}" if said else note,
                            "cut_for_budget": self.over_budget}
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

    def _slice_events(self, budget: int, written_keys: set[FlowKey]) -> Iterator[str]:
        for (pid, _cls), items in self._tracks():
            for s in items:
                if self._emitted >= budget:
                    self.over_budget += 1
                    continue
                yield (f'{{"ph":"X","pid":{pid:d},"tid":{s.tid:d},"ts":{ns_text(s.start_ns)},'
                       f'"dur":{ns_text(s.end_ns - s.start_ns)},"name":{_dumps(s.name)},"cat":{_dumps(s.cat)},'
                       f'"args":{_dumps(s.args)}}}')
                if s.key is not None:
                    written_keys.add(s.key)

    def _counter_events(self, budget: int) -> Iterator[str]:
        """Counter samples, the named tracks first, then each GPU's HBM: one per distinct time (the last
        value wins), and only where the value as printed changes (a track never repeats a value)."""
        tracks: list[tuple[int, str, str, list[tuple[int, float]], float | None]]
        tracks = [(pid, name, key, samples, None) for (pid, name, key), samples in self.series.items()]
        tracks += [(pid, "HBM", "used_GB", samples, 1e9) for pid, samples in sorted(self.counters.items())]
        for pid, name, key, samples, scale in tracks:
            samples.sort(key=lambda x: x[0])
            last_at: dict[int, float] = {}
            for ts, v in samples:
                last_at[ts] = v
            prev = None
            head = f'"name":{_dumps(name)},"args":{{{_dumps(key)}:'
            for ts, v in last_at.items():
                text = _dumps(round(v / scale, 6) if scale else v)
                if text == prev:
                    continue
                prev = text
                if self._emitted >= budget:
                    self.over_budget += 1
                    continue
                yield f'{{"ph":"C","pid":{pid:d},"tid":0,"ts":{ns_text(ts)},{head}{text}}}}}'

    def _flow_events(self, by_key: dict[FlowKey, _Slice], written_keys: set[FlowKey]) -> Iterator[str]:
        flow_id = 0
        for pk, ck in self.flows:
            if pk not in written_keys or ck not in written_keys:
                continue
            p, c = by_key[pk], by_key[ck]
            # Perfetto binds each end to the slice open at its time on its thread: a slice of no duration is
            # closed at once, and an arrow within one thread would point along its own row
            if c.end_ns <= c.start_ns or p.end_ns <= p.start_ns or (_pid_of(pk), p.tid) == (_pid_of(ck), c.tid):
                continue
            flow_id += 1
            yield (f'{{"ph":"s","id":{flow_id:d},"pid":{_pid_of(pk):d},"tid":{p.tid:d},'
                   f'"ts":{ns_text(p.start_ns)},"name":"dependency","cat":"flow"}}')
            yield (f'{{"ph":"f","bp":"e","id":{flow_id:d},"pid":{_pid_of(ck):d},"tid":{c.tid:d},'
                   f'"ts":{ns_text(c.start_ns)},"name":"dependency","cat":"flow"}}')


def budget_note(budget: int, left_out: int) -> str:
    """What a trace cut at the event budget says, in its metadata's `warning` and in dagc's."""
    return f"the trace reached the event budget of {budget:,}: {left_out:,} later slices and samples were cut"


def _pid_of(key: FlowKey) -> int:
    return key[1]         # keys are (dag node, the pid of its rank's process), or a KV transfer's by its pids

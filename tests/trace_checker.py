"""A stand-in for Perfetto's JSON importer: counts what it would report as import errors.

Built from the rules of Perfetto's importer (trace_processor's JSON tokenizer, sorter, slice and
flow trackers) that docs/outputs.md ("What Perfetto's importer requires") lists.
`check_trace(path)` returns a dict of error counters; a trace Perfetto loads cleanly has every
counter at zero. `check_readable(path)` counts, the
same way, what makes a clean trace hard to read (dagc's layout rules: named and sorted tracks,
slice names without layers, counters only where they change, the schedule's tracks first,
the ranks included said in the metadata).

Run: python tests/trace_checker.py TRACE [TRACE …] — prints each file's counters that are not zero
(or "clean") and exits 1 when any file has one, 2 without a file.
"""

from __future__ import annotations

import bisect
import gzip
import itertools
import json
import math
import re
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

KNOWN_PH = {"X", "M", "C", "s", "f", "t", "B", "E", "i", "I", "b", "e", "n", "P", "O", "N", "D"}
USED_M = {"process_name", "thread_name", "process_sort_index", "thread_sort_index"}
MAX_DEPTH = 512


def _ns(value) -> int:
    """µs → ns as the importer does it: a JSON integer exactly, a fraction as a double times
    1000 (in double arithmetic) rounded to the nearest ns. Past 2**53 ns the printed digits are
    no longer what is read back, so a writer must print exact binary fractions there."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value * 1000
    if isinstance(value, str):
        return int((Decimal(value) * 1000).to_integral_value())
    return round(float(value) * 1000.0)


def _is_int(value) -> bool:
    """A JSON integer: `true` is not one, though Python counts a bool as an int."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_time(value) -> bool:
    """A JSON number the importer reads as µs (a numeric string too, as `_ns` reads it); not a bool, NaN or infinite."""
    if isinstance(value, str):
        try:
            return Decimal(value).is_finite()
        except ArithmeticError:
            return False
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _fields_readable(ev: dict, errors: Counter) -> bool:
    """Whether an event's times and names can be read, counting what cannot: a slice, flow or counter without a
    numeric `ts` (`bad_ts`; the importer drops it), a slice with a `dur` that is no number (`bad_dur`), a name or
    category that is not a string (`name_not_string`: Perfetto shows no name), a counter without a name
    (`counter_without_name`: its track has none). False: the event is dropped, so nothing more of it is checked."""
    ph = ev["ph"]
    readable = True
    if ph in ("X", "s", "f", "C") and not _is_time(ev.get("ts")):
        errors["bad_ts"] += 1
        readable = False
    if ph == "X" and "dur" in ev and not _is_time(ev["dur"]):
        errors["bad_dur"] += 1
        readable = False
    if ph == "C" and "name" not in ev:
        errors["counter_without_name"] += 1
    if any(key in ev and not isinstance(ev[key], str) for key in ("name", "cat")):
        errors["name_not_string"] += 1
        readable = readable and ph != "M"
    return readable


def check_trace(path: Path | str, parsed: list | None = None) -> Counter:
    """What a trace importer would refuse or misread in the file at `path`; every counter at zero for a clean trace.
    `parsed`: a list that gets the parsed document, when the text was UTF-8 throughout (no character replaced), for
    `check_readable` to read instead of parsing the file again."""
    errors: Counter = Counter()
    raw = Path(path).read_bytes()
    if str(path).endswith(".gz"):
        raw = gzip.decompress(raw)
    if raw.startswith(b"\xef\xbb\xbf"):
        errors["bom"] += 1
    text = raw.decode("utf-8", errors="replace")
    if not text.lstrip().startswith('{"'):
        errors["container_not_object"] += 1
    lower = text.lower()
    if "\\ud8" in lower or "\\udc" in lower:
        errors["utf16_surrogate_escape"] += 1

    def bad_constant(name):
        errors["nan_or_infinity"] += 1
        return 0

    try:
        data = json.loads(text, parse_constant=bad_constant)
    except json.JSONDecodeError:
        errors["json_parse"] += 1
        return errors
    if parsed is not None and "\ufffd" not in text:
        parsed.append(data)
    if not isinstance(data, dict) or not isinstance(data.get("traceEvents"), list):
        errors["bad_container"] += 1
        return errors
    if "metadata" in data and not isinstance(data["metadata"], dict):
        errors["bad_metadata"] += 1
    slices: dict[tuple[int, int], list[tuple[int, int]]] = {}
    flows_s: dict[int, dict] = {}
    flows_f: dict[int, dict] = {}
    for ev in data["traceEvents"]:
        if not isinstance(ev, dict) or "ph" not in ev:
            errors["missing_ph"] += 1
            continue
        ph = ev["ph"]
        if ph not in KNOWN_PH:
            errors["unknown_ph"] += 1
            continue
        pid, tid = ev.get("pid"), ev.get("tid")
        if not _is_int(pid) or pid < 0 or pid > 2**32 - 1:
            errors["bad_pid"] += 1
        if not _fields_readable(ev, errors):
            continue
        if ph in ("X", "s", "f", "C"):
            if _ns(ev["ts"]) < 0:
                errors["negative_ts"] += 1
        if ph == "X":
            if "dur" not in ev:
                errors["x_without_dur"] += 1
                continue
            if not _is_int(tid) or tid <= 0 or tid > 2**32 - 1 or tid == pid:     # out of range reads as 0: the pid
                errors["tid_merges_into_pid"] += 1
            start, dur = _ns(ev["ts"]), _ns(ev["dur"])
            if dur < 0:
                errors["negative_dur"] += 1
                continue
            if not isinstance(ev.get("args", {}), dict):
                errors["bad_args"] += 1
            slices.setdefault((pid, tid), []).append((start, start + dur))
        elif ph == "M":
            name = ev.get("name")
            if name in ("process_sort_index", "thread_sort_index"):
                if not _is_int(ev.get("args", {}).get("sort_index")):
                    errors["sort_index_not_int"] += 1
            elif name in ("process_name", "thread_name"):
                if not isinstance(ev.get("args", {}).get("name"), str):
                    errors["bad_name"] += 1
            if name == "thread_name" and (not _is_int(tid) or tid <= 0 or tid > 2**32 - 1 or tid == pid):
                errors["tid_merges_into_pid"] += 1
        elif ph == "C":
            args = ev.get("args")
            if not isinstance(args, dict) or not args or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in args.values()):
                errors["counter_bad_args"] += 1
        elif ph in ("s", "f"):
            fid = ev.get("id")
            if not _is_int(fid):
                errors["flow_id_not_int"] += 1
                continue
            table = flows_s if ph == "s" else flows_f
            if fid in table:
                errors["duplicate_flow_id"] += 1
            table[fid] = ev
            if "bind_id" in ev or "flow_in" in ev or "flow_out" in ev:
                errors["flow_v1_v2_mixed"] += 1
            if ph == "f" and ev.get("bp") != "e":      # else bound to the next slice to begin, not the consumer
                errors["flow_f_without_bp_e"] += 1
    # nesting per thread
    for items in slices.values():
        items.sort(key=lambda s: (s[0], -(s[1] - s[0])))
        stack: list[int] = []
        for start, end in items:
            while stack and stack[-1] <= start:
                stack.pop()
            if stack and end > stack[-1]:
                errors["partial_overlap"] += 1
                continue
            stack.append(end)
            if len(stack) > MAX_DEPTH:
                errors["depth_over_512"] += 1
    # flows: pairs, and each end must land inside a slice of its thread — half-open, as slices nest: at a
    # slice's end it is closed, so a flow there (or on a slice of no duration) binds to no slice, or another
    for _ in flows_s.keys() - flows_f.keys():
        errors["flow_s_without_f"] += 1
    for _ in flows_f.keys() - flows_s.keys():
        errors["flow_f_without_s"] += 1
    inside = _inside(slices)
    for ev in flows_f.values():
        if not inside(ev):
            errors["flow_f_outside_slice"] += 1
    for fid, ev in flows_s.items():
        if not inside(ev):
            errors["flow_s_outside_slice"] += 1
        other = flows_f.get(fid)
        if other and (other.get("cat"), other.get("name")) != (ev.get("cat"), ev.get("name")):
            errors["flow_name_mismatch"] += 1
    return errors


def _inside(slices: dict[tuple[int, int], list[tuple[int, int]]]):
    """Whether an event's `ts` lies in a slice of its thread, `any(s <= ts < e for s, e in slices[thread])`, read off
    each thread's slices in the order of their starts (as the nesting check sorts them) and the latest end among the
    first i: the slices begun by `ts` are a prefix, and one of them holds it exactly when their latest end is past
    it. Scanning every slice of the thread for each flow's end made about 12 million comparisons in the traces of 83
    of tests/file_costs.txt's files, most of them tests/test_hardening_output.py's."""
    starts, latest = {}, {}
    for key, items in slices.items():
        starts[key] = [s for s, _ in items]
        latest[key] = list(itertools.accumulate((e for _, e in items), max))

    def inside(ev: dict) -> bool:
        key, ts = (ev.get("pid"), ev.get("tid")), _ns(ev["ts"])
        i = bisect.bisect_right(starts.get(key, ()), ts)
        return i > 0 and latest[key][i - 1] > ts
    return inside


LAYER_IN_NAME = re.compile(r"(?:^|\s)L\d+\b|\blayer\s*\d", re.IGNORECASE)


def check_readable(path: Path | str, data: dict | None = None) -> Counter:
    """What makes a trace that loads cleanly hard to read in Perfetto (dagc's own rules, not
    import errors); every counter at zero for a readable trace.

    - `slice_name_has_layer`: a slice name carries a layer ("norm L12"): per-name totals split.
    - `counter_repeats_value` / `counter_same_ts`: a counter track sampled where nothing changed.
    - `unnamed_process` / `unsorted_process` / `unnamed_thread`: a track without name or order.
    - `no_phases_track` / `no_critical_path_track`: the schedule's two tracks are missing;
      `schedule_not_first`: their process is not sorted before every other.
    - `critical_path_overlap`: two slices of the critical path overlap in time.
    - `unsorted_thread`: a thread of slices without its `thread_sort_index` (Perfetto orders it by tid);
      `timeline_not_from_0`: the first slice or sample is not at 0.
    - `begin_end_events`: a `B`/`E` event (slices are complete `X` events); `flow_same_thread`: a flow arrow
      that starts and ends on one thread.
    - `ranks_not_in_metadata` / `ranks_metadata_mismatch`: the metadata does not say which GPUs
      ("GPU <rank>" processes, pid = 1 + rank) the file includes.

    `data`: the document `check_trace` parsed from the file, when it found nothing wrong (the same value this
    parses: valid UTF-8 without a byte-order mark, no NaN or Infinity), read instead of the file.
    """
    errors: Counter = Counter()
    try:
        if data is None:
            raw = Path(path).read_bytes()
            data = json.loads(gzip.decompress(raw) if str(path).endswith(".gz") else raw)
        events = list(data["traceEvents"])
    except (ValueError, OSError, KeyError, TypeError):    # not JSON, not gzip, no event list: check_trace says which
        errors["not_loadable"] += 1
        return errors
    process_name: dict[int, str] = {}
    process_sort: dict[int, int] = {}
    thread_name: dict[tuple[int, int], str] = {}
    thread_sorted: set[tuple[int, int]] = set()
    for ev in events:
        if ev["ph"] != "M":
            continue
        match ev["name"]:
            case "process_name":
                process_name[ev["pid"]] = ev["args"]["name"]
            case "process_sort_index":
                process_sort[ev["pid"]] = ev["args"]["sort_index"]
            case "thread_name":
                thread_name[(ev["pid"], ev["tid"])] = ev["args"]["name"]
            case "thread_sort_index":
                thread_sorted.add((ev["pid"], ev["tid"]))
    _check_tracks(events, process_name, process_sort, thread_name, errors)
    _check_flows_and_phases(events, errors)
    unsorted = {(ev["pid"], ev["tid"]) for ev in events if ev["ph"] == "X"} - thread_sorted
    if unsorted:
        errors["unsorted_thread"] += len(unsorted)
    if min((_ns(ev["ts"]) for ev in events if ev["ph"] in ("X", "C")), default=0) != 0:
        errors["timeline_not_from_0"] += 1
    _check_counters(events, errors)
    _check_schedule(events, process_sort, thread_name, errors)
    _check_ranks(data.get("metadata", {}), process_name, errors)
    return errors


def _check_tracks(events, process_name, process_sort, thread_name, errors: Counter) -> None:
    for ev in events:
        if ev["ph"] not in ("X", "C"):
            continue
        if ev["pid"] not in process_name:
            errors["unnamed_process"] += 1
        if ev["pid"] not in process_sort:
            errors["unsorted_process"] += 1
        if ev["ph"] == "X":
            if (ev["pid"], ev["tid"]) not in thread_name:
                errors["unnamed_thread"] += 1
            if LAYER_IN_NAME.search(ev["name"]):
                errors["slice_name_has_layer"] += 1


def _check_flows_and_phases(events, errors: Counter) -> None:
    """Slices only as complete events (`X`: a `B`/`E` pair can be left open or closed out of order), and flow
    arrows only between two threads (an arrow within a thread points along its own row)."""
    for ev in events:
        if ev["ph"] in ("B", "E"):
            errors["begin_end_events"] += 1
    starts = {ev["id"]: (ev.get("pid"), ev.get("tid")) for ev in events if ev["ph"] == "s"}
    for ev in events:
        if ev["ph"] == "f" and starts.get(ev["id"]) == (ev.get("pid"), ev.get("tid")):
            errors["flow_same_thread"] += 1


def _check_counters(events, errors: Counter) -> None:
    tracks: dict[tuple[int, str, str], list[tuple[int, object]]] = {}
    for ev in events:
        if ev["ph"] == "C":
            for key, value in ev["args"].items():
                tracks.setdefault((ev["pid"], ev["name"], key), []).append((_ns(ev["ts"]), value))
    for samples in tracks.values():
        samples.sort(key=lambda x: x[0])
        for (t0, v0), (t1, v1) in itertools.pairwise(samples):
            if t0 == t1:
                errors["counter_same_ts"] += 1
            elif v0 == v1:
                errors["counter_repeats_value"] += 1


def _check_schedule(events, process_sort, thread_name, errors: Counter) -> None:
    """The schedule's tracks: a "phases" and a "critical path" track (one of each per pool of a
    disaggregated strategy), a schedule process sorted first, and no overlap on a critical path."""
    phases = {key[0] for key, name in thread_name.items() if name == "phases"}
    critical = {key for key, name in thread_name.items() if name == "critical path"}
    if not phases:
        errors["no_phases_track"] += 1
    if not critical:
        errors["no_critical_path_track"] += 1
        return
    schedules = {pid for pid, _ in critical}
    first = min(process_sort, key=lambda p: (process_sort[p], p))
    if first not in schedules:
        errors["schedule_not_first"] += 1
    for track in critical:
        crit = sorted((_ns(ev["ts"]), _ns(ev["ts"]) + _ns(ev["dur"])) for ev in events
                      if ev["ph"] == "X" and (ev["pid"], ev["tid"]) == track)
        for (_, end), (start, _) in itertools.pairwise(crit):
            if start < end:
                errors["critical_path_overlap"] += 1


def _check_ranks(metadata: dict, process_name, errors: Counter) -> None:
    """The metadata names the GPUs drawn: "GPU <rank>" processes at pid 1 + rank; for a disaggregated
    strategy, per pool, "<pool> · GPU <rank>" processes at the pids its `pools.<pool>.pids` lists."""
    if "ranks_included" not in metadata and "pools" not in metadata or \
            metadata.get("ranks") not in ("all", "representative"):
        errors["ranks_not_in_metadata"] += 1
        return
    if "pools" in metadata:
        for role, pool in metadata["pools"].items():
            drawn = {pid: name for pid, name in process_name.items() if name.startswith(f"{role} · GPU ")}
            ranks = {int(name.split(" · GPU ")[1].split(" ")[0]) for name in drawn.values()}
            if set(drawn) != set(pool["pids"]) or ranks != set(pool["ranks_included"]):
                errors["ranks_metadata_mismatch"] += 1
        return
    gpus = {pid - 1 for pid, name in process_name.items() if name.startswith("GPU ")}
    if gpus != set(metadata["ranks_included"]):
        errors["ranks_metadata_mismatch"] += 1


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python tests/trace_checker.py TRACE [TRACE …]", file=sys.stderr)
        return 2
    bad = False
    for path in argv:
        found = {**{k: v for k, v in check_trace(path).items() if v},
                 **{k: v for k, v in check_readable(path).items() if v}}
        bad = bad or bool(found)
        print(f"{path}: " + (", ".join(f"{k} {v}" for k, v in sorted(found.items())) if found else "clean"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

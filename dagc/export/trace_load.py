"""trace.json's counters of a simulated load: requests running and waiting and the KV cache in use over the
run, in a process of their own (docs/outputs.md, "trace.json").

Input: a `TraceWriter`, a `Load` whose run kept a `Timeline`, and the pid and sort index of its process.
Output: one process named for the simulated load with three counter tracks — `requests running`,
`requests waiting` and `KV cache used_percent` (of what the fullest GPU holds, to one decimal); a
disaggregated run's two queues besides, `requests waiting_prefill` and `requests waiting_decode` (for
a prefill; prefilled, for a decode slot) — and the trace metadata's `load`. The run's clock starts at
0 like the steps': the counters cover the whole run (seconds to hours), the slices two steps. Each
track has at most 2 × `SERIES_INTERVALS` samples (`dagc.export.load_series.envelope`: past that many,
each stretch of the run gives its largest value and its last), and none where the value does not change.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..serve.load import Load
from .load_series import SERIES_INTERVALS, envelope
from .trace_writer import TraceWriter, seconds_to_ns

__all__ = ["LOAD_COUNTERS", "POOL_COUNTERS", "LOAD_EVENTS_AT_MOST", "add_load_counters"]

# (counter name, args key): the tracks Perfetto shows as "<name> <key>"
LOAD_COUNTERS = (("requests", "running"), ("requests", "waiting"), ("KV cache", "used_percent"))
POOL_COUNTERS = (("requests", "waiting_prefill"), ("requests", "waiting_decode"))    # a disaggregated run's queues
# the most events the load's process holds: each track two samples an interval at most, and its metadata
LOAD_EVENTS_AT_MOST = (len(LOAD_COUNTERS) + len(POOL_COUNTERS)) * 2 * SERIES_INTERVALS + 2


def add_load_counters(tw: TraceWriter, load: Load | None, pid: int, sort_index: int,
                      traffic: str) -> dict[str, Any] | None:
    """The load's counters in process `pid` (module docstring); the metadata that says so, None (and
    nothing added) when there is no load or its run kept no timeline."""
    tl = load.timeline if load is not None else None
    if tl is None or len(tl.t) == 0:
        return None
    t = np.asarray(tl.t, dtype=float)
    tw.process(pid, f"simulated load · {traffic}", sort_index)
    values = [np.asarray(tl.running, dtype=float), np.asarray(tl.waiting, dtype=float),
              np.round(np.asarray(tl.kv_share, dtype=float) * 100, 1)]
    counters: tuple[tuple[str, str], ...] = LOAD_COUNTERS
    if tl.waiting_prefill is not None and tl.waiting_decode is not None:
        counters += POOL_COUNTERS
        values += [np.asarray(tl.waiting_prefill, dtype=float), np.asarray(tl.waiting_decode, dtype=float)]
    written = 0
    for (name, key), v in zip(counters, values, strict=True):
        ts, vs = envelope(t, v)
        as_int = key != "used_percent"
        tw.counter_series(pid, name, key, [(seconds_to_ns(a), int(b) if as_int else b)
                                           for a, b in zip(ts.tolist(), vs.tolist(), strict=True)])
        written = max(written, len(ts))
    return {"pid": pid, "counters": [f"{name} {key}" for name, key in counters], "samples": int(len(t)),
            "points_per_counter_at_most": written,
            "note": ("the simulated run over its own clock from 0 (its whole length, not the two steps above); "
                     f"past {SERIES_INTERVALS:,} samples each of {SERIES_INTERVALS:,} equal stretches of the run "
                     "gives its largest value, then its last")}

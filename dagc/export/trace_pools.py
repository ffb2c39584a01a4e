"""trace.json of a disaggregated strategy: both pools' instances on one timeline, and the KV transfer
between them (docs/outputs.md, "trace.json").

Input: a `StrategyResult` whose `pooled` check compiled both pools' instances. Output: one Trace
Event Format file: first the prefill instance — its "schedule" process and one process per drawn GPU,
each named `prefill · …` — its prefill from 0; then the decode instance's, named `decode · …`, its
two decode steps from the end of the visible KV transfer (TTFT). Each drawn prefill GPU has a
`kv transfer` slice on a "comm: KV transfer" track from the prefill's end, for the visible part of
the transfer (`kv_transfer = after`: all of it; `layerwise`: the last layer's share, the rest
overlapping the prefill), and a flow arrow to a `kv receive` slice on the decode GPU it feeds
(prefill GPU r feeds decode GPU r mod G(B), drawn whether or not it is representative).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..serve.load import Load
from ..verdict.check import StrategyResult
from .trace import Place, TraceInfo, add_instance
from .trace_load import LOAD_EVENTS_AT_MOST, add_load_counters
from .trace_ranks import traced_ranks
from .trace_writer import EVENT_BUDGET, TRACE_MAX_NS, TraceWriter, Track, budget_note, seconds_to_ns
from .what_if import what_if_metadata

__all__ = ["KV_CLASS", "write_pooled_trace"]

KV_CLASS = "comm: KV transfer"


def write_pooled_trace(r: StrategyResult, path: Path, all_ranks: bool = False, compress: bool = False,
                       budget: int = EVENT_BUDGET, load: Load | None = None, traffic: str = "") -> TraceInfo:
    """Write both pools' instances and their KV transfer (module docstring) to `path` (+ `.gz`); with a
    simulated `load`, its counters in a last process (`dagc.export.trace_load`)."""
    pooled = r.pooled
    assert pooled is not None and pooled.figures is not None and len(pooled.pools) == 2
    (pre, dec), f = pooled.pools, pooled.figures
    cp, cd = pre.analysis.compiled, dec.analysis.compiled
    assert cp is not None and cd is not None, "a scheduled disaggregated strategy compiled both instances"
    room = budget - (LOAD_EVENTS_AT_MOST if load is not None and load.timeline is not None else 0)
    ranks_p, rep_p, warn_p = traced_ranks(cp.dag, cp.layout, all_ranks, room // 2)
    ranks_d, rep_d, warn_d = traced_ranks(cd.dag, cd.layout, all_ranks, room // 2)
    g_d = cd.layout.gpus_used
    feeds = {rank: rank % g_d for rank in ranks_p}
    ranks_d = sorted(set(ranks_d) | set(feeds.values()))
    ttft_server = f.rates.ttft_server_s       # the client's TTFT adds the engine's front end: no GPU runs it
    t_p = seconds_to_ns(ttft_server - f.transfer_s)
    at_decode = seconds_to_ns(ttft_server)
    place_p = Place(2, 0, "prefill · ", 1, ttft_s=f.ttft_s)      # its prefill slice says the strategy's TTFT
    place_d = Place(cp.layout.gpus_used + 3, at_decode, "decode · ", cp.layout.gpus_used + 2,
                    node0=len(cp.dag.kind))         # dag.json numbers the decode instance's nodes after the prefill's
    tw = TraceWriter()
    add_instance(tw, cp, ranks_p, rep_p, place_p)
    add_instance(tw, cd, ranks_d, rep_d, place_d)
    w = r.plan.workload
    per_gpu = (pooled.kv_bytes_per_request or 0.0) * pre.batch_per_instance / cp.layout.gpus_used
    for rank, fed in feeds.items():
        args = {"kind": "kv_transfer", "kv_transfer": w.kv_transfer, "requests": pre.batch_per_instance,
                "bytes": per_gpu, "visible_s": f.transfer_s, "to_decode_gpu": fed}
        src, dst = place_p.pid0 + rank, place_d.pid0 + fed
        tw.slice(Track(src, KV_CLASS), t_p, at_decode, "kv transfer", "comm.kv", args, key=("kv", src))
        tw.slice(Track(dst, KV_CLASS), t_p, at_decode, "kv receive", "comm.kv",
                 {**args, "from_prefill_gpu": rank}, key=("kv", dst, src))
        tw.flow(("kv", src), ("kv", dst, src))
    warning = "; ".join(f"{role}: {x}" for role, x in (("prefill", warn_p), ("decode", warn_d)) if x) or None
    target = Path(str(path) + ".gz") if compress and not str(path).endswith(".gz") else Path(path)
    metadata = _metadata(r, ranks_p, ranks_d, rep_p or rep_d, place_p, place_d, warning)
    last = place_d.pid0 + g_d
    counters = add_load_counters(tw, load, last, last, traffic)
    if counters is not None:
        metadata["load"] = counters
    events = tw.write(target, metadata, compress=compress, budget=budget)
    if tw.over_budget and warning is None:
        warning = budget_note(budget, tw.over_budget)
    if tw.cut and warning is None:
        warning = f"{tw.cut:,} events end past {TRACE_MAX_NS:,} ns (~146 years) and were cut"
    return TraceInfo(target, tuple(ranks_d), rep_p or rep_d, events, warning)


def _metadata(r: StrategyResult, ranks_p: list[int], ranks_d: list[int], representative: bool, place_p: Place,
              place_d: Place, warning: str | None) -> dict[str, Any]:
    pooled = r.pooled
    assert pooled is not None and pooled.figures is not None
    f = pooled.figures

    def pool(i: int, ranks: list[int], at: Place) -> dict[str, Any]:
        p = pooled.pools[i]
        return {"instances": p.pool.instances, "strategy": p.pool.strategy.text,
                "gpus_per_instance": p.gpus_per_instance, "batch_per_instance": p.batch_per_instance,
                "ranks_included": ranks, "pids": [at.pid0 + k for k in ranks], "schedule_pid": at.schedule_pid}

    metadata: dict[str, object] = {
        "generator": "dagc", "plan": r.plan.name, "strategy": r.strategy.text if r.strategy else None,
        "mode": "disaggregated", "ranks": "representative" if representative else "all",
        "pools": {"prefill": pool(0, ranks_p, place_p), "decode": pool(1, ranks_d, place_d)},
        "ranks_note": "one instance of each pool; prefill GPU r feeds decode GPU r mod the decode instance's GPUs",
        "gpus_used": r.gpus_used, "time_unit": "us, from integer ns",
        "timeline": ("the prefill instance's prefill from 0; its KV transfer (the visible part) to the end of the "
                     "server's TTFT (`ttft_s` less the engine's front end); then the decode instance's two decode "
                     "steps"),
        "tracks": ("per pool: its schedule (phases, critical path), then one process per GPU: compute and comm "
                   f"streams, HBM counter; `{KV_CLASS}` on the GPUs that send and receive"),
        "ttft_s": f.ttft_s, "tpot_s": f.tpot_s, "kv_transfer_s": f.transfer_s,
        "kv_transfer": r.plan.workload.kv_transfer}
    if warning:
        metadata["warning"] = warning
    metadata.update(what_if_metadata(r.plan))
    return metadata

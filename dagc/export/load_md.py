"""The simulated load in words: report.md's table and pictures, and `dagc check`'s line.

Input: report.json's `load` (`dagc.export.report.load_of`: the traffic simulated by `dagc.serve.load`).
Output: markdown lines (`load_md`, and `load_pictures_md` for load_cdf.svg and load_timeline.svg written
beside the report) and one line of text (`load_line`); nothing without traffic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..serve.load_result import RAMP_LIFETIMES
from ..units import Dimension, count_text, format_figure, format_percent, format_si
from ..verdict.carrying import PAST_CAPACITY
from ..verdict.under_load import CAPACITY_MIN_REQUESTS, CAPACITY_WORK_BUDGET
from .binding_text import binding_text
from .md_escape import md_text

__all__ = ["LOAD_PICTURES", "POOLED_TIMELINE", "cached_text", "capacity_text", "load_line", "load_md",
           "load_pictures_md", "traffic_text"]

# The pictures of a simulated load (`dagc.export.load_svg`): file → what report.md says of it
LOAD_PICTURES = {"load_cdf.svg": ("latency CDF", "Every request's TTFT, TPOT and end-to-end latency as a cumulative "
                                  "distribution"),
                 "load_timeline.svg": ("load over time", "Requests running and waiting, and the KV cache in use, "
                                       "over the run")}
# load_timeline.svg of a disaggregated strategy: its waiting split into the two pools' queues
POOLED_TIMELINE = ("Requests running and waiting — for a prefill instance, and prefilled for a slot on a decode "
                   "replica — and the decode slots in use, over the run")


def traffic_text(load: dict[str, Any], name: Callable[[str], str] = str) -> str:
    """The traffic as written: `2,000 requests at 12 requests/s (poisson, seed 0)`, `… from 64 clients in a
    closed loop`, `… of trace.csv at its own times`, `… of trace.csv at 12 requests/s (its times scaled)`;
    the log's file name as `name` makes it text in the format it lands in (`md_text` for report.md)."""
    n = f"{load['requests']:,} request{'' if load['requests'] == 1 else 's'}"
    log = load.get("log")
    if log is not None:
        n += f" of {name(log)}"
        if load["rate_requests_per_s"] is not None:
            return f"{n} at {format_figure(load['rate_requests_per_s'])} requests/s (its times scaled)"
        if load["concurrency"] is None:
            return f"{n} at its own times"
    if load["rate_requests_per_s"] is not None:
        return (f"{n} at {format_figure(load['rate_requests_per_s'])} requests/s ({load['arrival']}, "
                f"seed {load['seed']})")
    return f"{n} from {count_text(load['concurrency'], 'client')} in a closed loop"


def capacity_text(load: dict[str, Any]) -> str:
    """The capacity in words: `capacity 5.133 requests/s` (of a closed loop's traffic, `capacity at open-loop
    (poisson) arrivals …`, of a log's `… (the log's times, scaled) …`: what it serves at once with its clients
    waiting can be more) or `no capacity: …`."""
    capacity = load.get("capacity_requests_per_s")
    least = load.get("capacity_min_requests") or CAPACITY_MIN_REQUESTS
    if load.get("capacity_judged") is False and load.get("log") is not None and load["requests"] < least:
        are = "is" if load["requests"] == 1 else "are"
        need = f"{CAPACITY_MIN_REQUESTS:,}" if load["requests"] < CAPACITY_MIN_REQUESTS else (
            f"{least:,}: {RAMP_LIFETIMES + 1} times its static batch of {load['binding']['requests_cap']:,}, for a "
            "run's queue to show before its arrivals end")
        return (f"capacity not judged: the log's {count_text(load['requests'], 'request')} {are} too few for a "
                f"capacity run (at least {need})")
    if load.get("capacity_judged") is False:
        return (f"capacity not judged (warning): its runs would take about {load.get('capacity_work_events', 0):,} "
                f"engine events, over the budget of {CAPACITY_WORK_BUDGET:,}")
    if capacity is None:
        return "capacity: none — not even a trickle of this traffic meets the percentile requirements"
    # a closed loop's clients wait for their answers, and may be served faster than open-loop arrivals at the
    # capacity: say which arrivals the capacity is of
    closed = load.get("concurrency") is not None
    # a log's trials send its requests at its own times scaled, not at random (until 2026-11-30 "(poisson)" for both)
    how = "the log's times, scaled" if load.get("log") is not None else load.get("arrival") or "poisson"
    opened = f" at open-loop ({how}) arrivals" if closed else ""
    return f"capacity{opened} {format_figure(capacity)} requests/s"


def cached_text(load: dict[str, Any]) -> str:
    """`, 36.3 % of the prompt tokens found in the prefix cache` when a shared `prefix` or a Mooncake log's hash ids
    spared some prefill, else '' (until 2026-11-30 only report.json's `load.cached_prompt_share` said it: a log's
    shared prefixes shortened its TTFTs with no word of it in report.md or `dagc check`)."""
    share = load.get("cached_prompt_share") or 0.0
    return f", {format_percent(share)} of the prompt tokens found in the prefix cache" if share > 0 else ""


def _t(x: float | None) -> str:
    return format_si(x, Dimension.TIME)


def load_md(load: dict[str, Any] | None, faster: str | None = None) -> list[str]:
    """report.md's `Load` section: the traffic, what was served, and the percentiles of each latency; `faster` the
    weights that would make the steps faster (`dagc.export.binding_text.faster_weights`)."""
    if load is None:
        return []
    over = (" **The deployment is overloaded: the queue keeps growing**, so these percentiles grow with the "
            "run's length." if load["overloaded"] else "")
    lines = ["## Load", "",
             f"{traffic_text(load, md_text)}, simulated step by step through the serving mode's scheduler: "
             f"{format_figure(load['served_requests_per_s'])} requests/s served "
             f"({format_figure(load['output_tokens_per_s'])} output tokens/s{cached_text(load)}), goodput "
             f"{format_figure(load['goodput_requests_per_s'])} requests/s within the latency requirements; "
             f"{capacity_text(load)} (the highest arrival rate at which the percentile requirements hold and "
             f"the queue does not keep growing).{over}"
             + (f" {bound}" if (bound := binding_text(load.get("binding"), faster)) is not None else ""), "",
             "TTFT and end to end as a benchmark client measures them (from arrival, queueing and the engine's "
             "front end included), and at the server (without the engine's front end, which every client's adds per "
             "request; the time each request takes of the front end's one server, and its queue there, are the "
             "server's, as the run times them, where the steady state's metrics, without a queue, put a request "
             "alone's in the client's); TPOT and ITL are the same at both.", "",
             "| | mean | p50 | p90 | p95 | p99 |", "|---|---|---|---|---|---|"]
    for key, name in (("ttft_s", "TTFT (client)"), ("ttft_server_s", "TTFT (server)"), ("tpot_s", "TPOT"),
                      ("itl_s", "ITL (between tokens)"), ("e2e_s", "end to end (client)"),
                      ("e2e_server_s", "end to end (server)")):
        q = load.get(key)
        if q is None:
            continue
        lines.append(f"| {name} | " + " | ".join(_t(q[k]) for k in ("mean", "p50", "p90", "p95", "p99")) + " |")
    return lines + [""]


def load_pictures_md(load: dict[str, Any] | None, links: dict[str, str]) -> list[str]:
    """The Load section's pictures (those of `LOAD_PICTURES` that `links` names, written beside the report),
    to follow `load_md`'s table — a disaggregated strategy's timeline said as its two queues; nothing
    without traffic."""
    if load is None:
        return []
    lines = []
    pooled = (load.get("binding") or {}).get("prefill_instances") is not None
    for name, (alt, text) in LOAD_PICTURES.items():
        text = POOLED_TIMELINE if pooled and name == "load_timeline.svg" else text
        if name in links:
            lines += [f"{text} ([{name}]({name})):", "", f"![{alt}]({name})", ""]
    return lines


def load_line(load: dict[str, Any] | None, shown: tuple[int, int] = (99, 99)) -> str | None:
    """`dagc check`'s line of the simulated load, None without traffic: the p50 and the `shown` percentile of TTFT
    and of TPOT — those the plan's requirements bound (`dagc.search.at_rate.shown_percentiles`), p99 where none
    does. Until 2026-12-02 always p99: `tpot_p90 <= 30 ms` judged 10.23 ms where the line read 10.82 ms."""
    if load is None:
        return None
    (hi_t, hi_p), (ttft, tpot) = (p if p > 50 else 99 for p in shown), (load["ttft_s"], load["tpot_s"])
    again = "" if hi_p == hi_t else f"p50/p{hi_p} "          # "p50/p99 TTFT …, TPOT …" when they are the same
    return (f"Load: {traffic_text(load)}: p50/p{hi_t} TTFT {_t(ttft['p50'])}/{_t(ttft[f'p{hi_t}'])}, "
            f"{again}TPOT {_t(tpot['p50'])}/{_t(tpot[f'p{hi_p}'])}; "
            f"{format_figure(load['served_requests_per_s'])} requests/s served{cached_text(load)}, goodput "
            f"{format_figure(load['goodput_requests_per_s'])} requests/s; {capacity_text(load)}"
            + (", the highest rate at which the percentile requirements hold" if _capped_by_requirements(load) else "")
            + ("; OVERLOADED (the queue keeps growing)" if load["overloaded"] else "")
            + (f"; {_not_carried_word(why)}: {why}"
               if not load["overloaded"] and (why := load.get("not_carried_because")) else ""))


def _not_carried_word(why: str) -> str:
    """The Load line's word for a run that keeps up but does not carry its traffic: `BEHIND` when its queue grows
    past a trial's pace (Little's law), `PAST ITS CAPACITY` when its capacity alone lies below the rate — its own
    queue keeps pace, a longer run's does not or misses a percentile (docs/load.md, "Carrying the traffic")."""
    return ("PAST ITS CAPACITY, it does not carry its traffic" if why.startswith(PAST_CAPACITY)
            else "BEHIND, it does not carry its traffic")


def _capped_by_requirements(load: dict[str, Any]) -> bool:
    """Whether a run that kept up had a capacity below its own arrival rate: the percentile requirements, not
    the queue, set it (a capacity read beside a higher served rate says why)."""
    cap, rate = load.get("capacity_requests_per_s"), load.get("rate_requests_per_s")
    return not load["overloaded"] and cap is not None and rate is not None and cap < rate

"""The simulated load in words: report.md's table and `dagc check`'s line.

Input: report.json's `load` (`dagc.export.report.load_of`: the traffic simulated by `dagc.serve.load`).
Output: markdown lines (`load_md`) and one line of text (`load_line`); nothing without traffic.
"""

from __future__ import annotations

from ..units import Dimension, format_figure, format_si

__all__ = ["load_line", "load_md"]


def _traffic(load: dict) -> str:
    """The traffic as written: `2,000 requests at 12 requests/s (poisson, seed 0)` or `… by 64 clients`."""
    n = f"{load['requests']:,} requests"
    if load["rate_requests_per_s"] is not None:
        return (f"{n} at {format_figure(load['rate_requests_per_s'])} requests/s ({load['arrival']}, "
                f"seed {load['seed']})")
    return f"{n} from {load['concurrency']:,} clients in a closed loop"


def _t(x: float | None) -> str:
    return format_si(x, Dimension.TIME)


def load_md(load: dict | None) -> list[str]:
    """report.md's `Load` section: the traffic, what was served, and the percentiles of each latency."""
    if load is None:
        return []
    over = (" **The deployment is overloaded: the queue keeps growing**, so these percentiles grow with the "
            "run's length." if load["overloaded"] else "")
    lines = ["## Load", "",
             f"{_traffic(load)}, simulated step by step through the serving mode's scheduler: "
             f"{format_figure(load['served_requests_per_s'])} requests/s served "
             f"({format_figure(load['output_tokens_per_s'])} output tokens/s), goodput "
             f"{format_figure(load['goodput_requests_per_s'])} requests/s within the `ttft` and `tpot` "
             f"requirements.{over}", "",
             "| | mean | p50 | p90 | p95 | p99 |", "|---|---|---|---|---|---|"]
    for key, name in (("ttft_s", "TTFT"), ("tpot_s", "TPOT"), ("itl_s", "ITL (between tokens)"),
                      ("e2e_s", "end to end")):
        q = load[key]
        lines.append(f"| {name} | " + " | ".join(_t(q[k]) for k in ("mean", "p50", "p90", "p95", "p99")) + " |")
    return lines + [""]


def load_line(load: dict | None) -> str | None:
    """`dagc check`'s line of the simulated load, None without traffic."""
    if load is None:
        return None
    return (f"Load: {_traffic(load)}: p50/p99 TTFT {_t(load['ttft_s']['p50'])}/{_t(load['ttft_s']['p99'])}, "
            f"TPOT {_t(load['tpot_s']['p50'])}/{_t(load['tpot_s']['p99'])}; "
            f"{format_figure(load['served_requests_per_s'])} requests/s served, goodput "
            f"{format_figure(load['goodput_requests_per_s'])}" + ("; OVERLOADED (the queue keeps growing)"
                                                                   if load["overloaded"] else ""))

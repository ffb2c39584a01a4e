"""The comparison page's serving figures: how each strategy of a plan fares under the plan's traffic, side by
side — its capacity, the requests/s it served and its goodput, the p50 and p99 of TTFT, TPOT, ITL and
end-to-end latency — and their latency CDFs overlaid in one picture, compare_cdf.svg.

Input: the `StrategyResult`s of one plan and their names. Output: the rows of the comparison's table (a label
and one cell a strategy; none when no strategy was simulated) and SVG text (None then). Figures follow dagc's
rounding (`dagc.units.format_si`, `format_figure`); every text of the picture is escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..serve.load import sample_percentiles
from ..units import Dimension, format_figure, format_si
from .load_series import cdf_points, load_run
from .load_svg import LATENCIES, L, R, W, cdf_grid, svg_escape, svg_open, time_text, title_lines
from .report import load_of

if TYPE_CHECKING:
    from ..verdict.check import StrategyResult

__all__ = ["COMPARE_CDF_SIGNATURE", "compare_cdf_svg", "load_rows"]

COMPARE_CDF_SIGNATURE = "<!-- dagc: the latency CDFs of several strategies -->"
# one colour a strategy (ColorBrewer's Dark2, told apart in print and by most colour-blind readers), one dash
# a latency
COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666")
DASHES = {"ttft": "", "tpot": "6 3", "e2e": "2 3"}
_LATENCY_ROWS = (("ttft_s", "TTFT"), ("tpot_s", "TPOT"), ("itl_s", "ITL"), ("e2e_s", "end-to-end latency"))


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{format_figure(value)} requests/s"


def load_rows(results: Sequence[StrategyResult]) -> list[tuple[str, list[str]]]:
    """The comparison's rows of the simulated load, `(label, cells)`: none when no strategy was simulated."""
    loads = [load_of(r) for r in results]
    if all(load is None for load in loads):
        return []

    def cell(load: dict[str, Any] | None, fn: Callable[[dict[str, Any]], str]) -> str:
        return "—" if load is None else fn(load)

    rows = [("capacity (under the load requirements)", [cell(x, lambda x: _rate(x.get("capacity_requests_per_s")))
                                                       for x in loads]),
            ("served", [cell(x, lambda x: _rate(x["served_requests_per_s"])) for x in loads]),
            ("goodput", [cell(x, lambda x: _rate(x["goodput_requests_per_s"])) for x in loads])]
    for key, name in _LATENCY_ROWS:
        for p in ("p50", "p99"):
            def latency(x: dict[str, Any], key: str = key, p: str = p) -> str:
                return _time(x[key][p])
            rows.append((f"{p} {name}", [cell(x, latency) for x in loads]))
    return rows


def _time(value: float | None) -> str:
    return "—" if value is None else format_si(value, Dimension.TIME)


def compare_cdf_svg(results: Sequence[StrategyResult], names: Sequence[str], title: str) -> str | None:
    """Every simulated strategy's TTFT, TPOT and end-to-end latency CDFs on one chart (time on a log scale): a
    colour a strategy, a dash a latency (`class="cdf"`, `data-strategy` and `data-latency` on each polyline);
    None when no strategy was simulated."""
    runs = [(name, run) for name, r in zip(names, results, strict=True) if (run := load_run(r)) is not None]
    if not runs:
        return None
    series = [(name, key, label, np.asarray(getattr(run, key), dtype=float)) for name, run in runs
              for key, label, _ in LATENCIES]
    head, top = title_lines(title, ["the share of requests whose latency is at most each time (time on a log scale): a "
                                "colour a strategy; solid TTFT, dashed TPOT, dotted end to end"])
    bottom = top + 300
    height = bottom + 44 + 14 * len(series) + 10
    sx, sy, grid = cdf_grid([x for *_, x in series], top, bottom)
    out = svg_open(W, height, COMPARE_CDF_SIGNATURE, "compare-cdf") + head + grid
    out.append(f'<line x1="{L}" y1="{bottom:.0f}" x2="{W - R}" y2="{bottom:.0f}" stroke="#333333"/>')
    out.append(f'<line x1="{L}" y1="{top:.0f}" x2="{L}" y2="{bottom:.0f}" stroke="#333333"/>')
    out.append(f'<text x="{(L + W - R) / 2}" y="{bottom + 34:.0f}" font-size="12" text-anchor="middle">'
               'latency (log scale)</text>')
    colour = {name: COLOURS[i % len(COLOURS)] for i, (name, _) in enumerate(runs)}
    y = bottom + 44
    for name, key, label, values in series:
        xs, ys = cdf_points(values)
        points = " ".join(f"{sx(a):.2f},{sy(b):.2f}" for a, b in zip(xs.tolist(), ys.tolist(), strict=True))
        dash = f' stroke-dasharray="{DASHES[key]}"' if DASHES[key] else ""
        out.append(f'<polyline class="cdf" data-strategy="{svg_escape(name)}" data-latency="{key}" points="{points}" '
                   f'fill="none" stroke="{colour[name]}" stroke-width="1.5"{dash}/>')
        q = sample_percentiles(values) if values.size else None
        figures = f"p50 {time_text(q['p50'])} · p99 {time_text(q['p99'])}" if q else "no requests"
        y += 14
        out.append(f'<line x1="{L}" y1="{y - 4}" x2="{L + 24}" y2="{y - 4}" stroke="{colour[name]}" '
                   f'stroke-width="2"{dash}/>')
        out.append(f'<text x="{L + 30}" y="{y:.0f}" font-size="10">{svg_escape(name)} {svg_escape(label)}: '
                   f'{svg_escape(figures)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
